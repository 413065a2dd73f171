// Lineage queries over the collector's database (schema/SCHEMA.md): the backward lineage of
// a path (`prov why`), as a subgraph (JSON.md's native format) and as a readable tree.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "bento/lineage/database.h"

namespace prov_cli {

struct WhyResult {
  bool found = false;
  std::string message;   // when !found: why (unknown path, empty database)
  nlohmann::json graph;  // JSON.md "prov why --json"
  std::string tree;      // the readable tree
};

// Backward lineage of `path` (absolute) up to `depth` activity hops.
WhyResult why(bento::lineage::Database& db, const std::string& path, int depth, bool color);

}  // namespace prov_cli
