// What the lineage database keeps (SCHEMA.md "Scope and retention"). The probes see every
// process on the host; most never touch a tracked mount. By default (scope "relevant")
// provd drops, once they have ended and a grace period passed, the activities that
// moved no data anyone keeps: no read, no write, no mark, no removal, and no activity
// informed by them (so the ancestors of everything kept stay: a chain is pruned from its
// leaves), then their processes and threads. `--scope all` keeps everything (and the
// collector keeps every activity in full: Ingest::set_keep_all).
//
// Retention (`--keep AGE`, `--max-db-size BYTES`) removes only what no answer uses: the
// audit trail of fs records (`events`) and the marks of calls (`actions`) older than AGE,
// oldest first while the database is over its size. Lineage relations are never pruned by
// age: an answer that was true stays true. What was pruned is counted in meta `pruned`.
#pragma once

#include <cstdint>
#include <string>

#include "bento/lineage/database.h"

namespace bento::collector {

struct RetentionPolicy {
  bool keep_everything = false;            // --scope all
  uint64_t grace_ns = 120'000'000'000ULL;  // an ended activity may still get late fs records
  uint64_t keep_ns = 0;                    // --keep: 0 = keep the audit trail forever
  uint64_t max_db_bytes = 0;               // --max-db-size: 0 = no limit
};

struct PruneCounts {
  uint64_t activities = 0, processes = 0, tasks = 0, events = 0, actions = 0;
  uint64_t total() const { return activities + processes + tasks + events + actions; }
};

class Retention {
 public:
  Retention(lineage::Database& db, RetentionPolicy policy) : db_(db), policy_(policy) {}

  // One bounded round of pruning inside the caller's transaction (at most `budget` rows of
  // each kind). now_ns: CLOCK_MONOTONIC of the newest fact seen. Throws lineage::DbError.
  PruneCounts run(uint64_t now_ns, uint64_t db_bytes, int64_t budget = 5000);
  // Everything pruned so far (meta `pruned`, JSON), restored from the database.
  const PruneCounts& totals() const { return totals_; }
  void load_totals();
  std::string totals_json() const;
  const RetentionPolicy& policy() const { return policy_; }
  void set_policy(const RetentionPolicy& p) { policy_ = p; }

 private:
  uint64_t prune_activities(uint64_t cutoff, int64_t budget);
  uint64_t prune_audit(uint64_t cutoff, int64_t budget, PruneCounts* c);

  lineage::Database& db_;
  RetentionPolicy policy_;
  PruneCounts totals_;
};

}  // namespace bento::collector
