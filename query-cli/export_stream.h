// `prov export` of the whole graph or of a time window, streamed: relation rows are read in
// chunks by row id, each chunk in its own short read transaction (a long export never pins
// the WAL), and written as they are read; nodes follow, read the same way. Memory stays
// bounded whatever the graph's size: a window export keeps one bit per node id to list
// each node it references once. Ids are the stable ones of JSON.md ("u:17", "e:42").
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "bento/lineage/database.h"

namespace prov_cli {

enum class ExportFormat { kNative, kProvJson, kDot };

struct StreamScope {
  bool window = false;  // false: the whole graph
  int64_t since_ns = 0, until_ns = 0;
  size_t chunk = 5000;  // rows per read transaction
};

// Writes the document to `out`. Throws lineage::DbError on a database failure; false and
// *error when writing fails.
bool stream_export(bento::lineage::Database& db, ExportFormat format, const StreamScope& scope,
                   std::FILE* out, std::string* error);

}  // namespace prov_cli
