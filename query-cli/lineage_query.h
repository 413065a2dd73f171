// The `prov` queries over the collector's database (schema/SCHEMA.md): backward lineage of
// a file (why), forward (impact), a process, a time window, and the subgraph an export
// takes. Each gives JSON.md's native document and a readable text. why and impact follow
// only time-respecting paths (LINEAGE.md). A damaged database throws lineage::DbError.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "bento/lineage/database.h"
#include "lineage_answer.h"

namespace prov_cli {

struct QueryResult {
  bool found = false;
  std::string message;   // when !found: why (unknown path, empty database)
  nlohmann::json graph;  // JSON.md native document
  std::string text;      // the readable form
};

// A regular file on disk as the collector identifies a file outside the mounts (dev, ino,
// collector/file_identity.h): false when it is not there, or not a regular file. What
// finds a file the record knows under another name (lineage_query.cc, file_named).
struct DiskFile {
  uint64_t dev = 0, ino = 0;
  uint32_t gen = 0;  // 0: unknown (no generation, no birth time)
};
bool disk_file(const std::string& path, DiskFile* out);

// How far a query goes by default, in process hops (LINEAGE.md): back far enough for a
// long data pipeline's first source; forward less, as a much-read input fans out to every
// job that ever read it. An answer cut short by the bound says so where it stops.
constexpr int kWhyDepth = 12;
constexpr int kImpactDepth = 6;
// Without --depth, an answer the default cut short is searched again twice as deep, up to
// kDeepestDefault hops, as long as that deeper search reaches at most kDeepenNodes files
// and processes (else the shallower answer stands).
constexpr size_t kDeepenNodes = 2000;
constexpr int kDeepestDefault = 96;

struct LineageOptions {
  int depth = 0;     // 0: the query's default (kWhyDepth, kImpactDepth, deepened)
  bool all = false;  // --all: every runtime read and every process, nothing folded
  bool color = false;
  bool text = true;   // build QueryResult::text
  bool graph = true;  // build QueryResult::graph
  RuntimeRule rule;
};

// Backward lineage of `path` (absolute): who wrote its current version, from what, started
// by whom, recursively, up to `depth` process hops.
QueryResult why(bento::lineage::Database& db, const std::string& path, LineageOptions& o);
// Forward: everything derived from any version of `path`.
QueryResult impact(bento::lineage::Database& db, const std::string& path, LineageOptions& o);

// Which process a pid means: the most recent one with that pid, the one started at
// `start_ns` (±1 ms), or every one.
struct PidSelector {
  int64_t pid = -1;
  int64_t start_ns = 0;  // 0: the most recent
  bool all = false;
};
// Processes that had the pid (newest first): programs, parent, children, what each read,
// wrote and removed, and the marks of their other calls (dup, close, signals...).
QueryResult process(bento::lineage::Database& db, const PidSelector& pid, bool color);
// What happened in [since, until] (CLOCK_MONOTONIC ns), in time order.
QueryResult window(bento::lineage::Database& db, int64_t since_ns, int64_t until_ns, bool color);

// The subgraph `prov export --path|--pid` writes (bounded by the query). Whole-graph and
// time-window exports stream instead (export_stream.h).
struct ExportScope {
  std::string path;
  PidSelector pid;
  int64_t since_ns = 0;
  int64_t until_ns = std::numeric_limits<int64_t>::max();
};
QueryResult export_graph(bento::lineage::Database& db, const ExportScope& scope, LineageOptions& o);

}  // namespace prov_cli
