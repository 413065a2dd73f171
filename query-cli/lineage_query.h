// The `prov` queries over the collector's database (schema/SCHEMA.md): backward lineage of
// a file (why), forward (impact), a process, a time window, and the subgraph an export
// takes. Each gives JSON.md's native document and a readable text.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "bento/lineage/database.h"

namespace prov_cli {

struct QueryResult {
  bool found = false;
  std::string message;   // when !found: why (unknown path, empty database)
  nlohmann::json graph;  // JSON.md native document
  std::string text;      // the readable form
};

// Backward lineage of `path` (absolute): its current version, who wrote it, from what, up
// to `depth` activity hops.
QueryResult why(bento::lineage::Database& db, const std::string& path, int depth, bool color);
// Forward: everything derived from any version of `path`: its readers, what they wrote
// (and the programs they started), recursively.
QueryResult impact(bento::lineage::Database& db, const std::string& path, int depth, bool color);
// Every process that had `pid` (pids are reused), newest first: its programs, parent,
// children, what each read, wrote and removed.
QueryResult process(bento::lineage::Database& db, int64_t pid, bool color);
// What happened in [since, until] (CLOCK_MONOTONIC ns), in time order.
QueryResult window(bento::lineage::Database& db, int64_t since_ns, int64_t until_ns, bool color);

// The subgraph `prov export` writes: around a path (why + impact), a pid, a time window,
// or (nothing selected) the whole graph.
struct ExportScope {
  std::string path;
  int64_t pid = -1;
  int64_t since_ns = 0;
  int64_t until_ns = std::numeric_limits<int64_t>::max();
  int depth = 6;
};
QueryResult export_graph(bento::lineage::Database& db, const ExportScope& scope);

}  // namespace prov_cli
