// The collector: joins the probes' process facts and the file systems' provenance records
// into the lineage graph (schema/SCHEMA.md). Three parts: the graph rules (ingest.h), the
// SQLite store (sqlite_store.h) and the machine's facts (host_facts.h); this class wires
// them and runs the batches. Single-threaded; provd.cc drives it, tests feed it directly.
//
// Errors: input that cannot be understood (a malformed probe event or record) is counted
// and skipped; a database failure fails the whole batch: commit() then rolls back and
// returns false, so nothing of a batch with a failed statement is ever stored.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "bento/lineage/database.h"
#include "format/prov_log.h"
#include "host_facts.h"
#include "ingest.h"
#include "retention.h"
#include "sqlite_store.h"

namespace bento::collector {

class Collector {
 public:
  // host: the machine's facts (default: /proc and the real mounts).
  explicit Collector(lineage::Database& db, std::unique_ptr<HostFacts> host = nullptr);

  // A tracked mount: its source row (created if new). *cursor/*last_seq: where to resume.
  int64_t fs_source(const std::string& mountpoint, uint64_t* cursor, uint64_t* last_seq);
  int64_t probes_source();
  // Once the probes are loaded: the processes running now are remembered, so that one that
  // exits before its first event is read is still named (HostFacts).
  void remember_running_processes() { host_->remember_running_processes(); }

  void begin();
  // Stores each source's read position with the batch. False (+ *error) when the batch
  // failed: it is rolled back and every cached row id is forgotten.
  bool commit(std::string* error);

  // A probe event (bpf/include/bento_bpf/events.h). False: malformed (counted, skipped).
  bool on_probe_event(const void* data, size_t size);
  // One fs record; `next_offset` is the log offset after it (the cursor stored with it).
  // Records with seq <= the source's last_seq were stored before a restart: skipped.
  // A record from after the probes' horizon waits (copied) until the probe events of its
  // time have been ingested: the process that made it may not be known before them.
  void on_fs_record(int64_t source, const bentofs::prov::Record& r, uint64_t next_offset);
  // Every probe event stamped before `t` (CLOCK_MONOTONIC) has been given to the collector
  // (provd: the time before it drained the ring buffer). Without probes: never called.
  void set_probe_horizon(uint64_t t);
  // The log position stored (or about to be, with the batch): what provd acknowledges.
  uint64_t stored_cursor(int64_t source) const;
  void on_fs_malformed(int64_t source, uint64_t next_offset);
  void set_lost(int64_t source, uint64_t lost);
  // meta(key) = value, in the running transaction (provd's status for `prov status`).
  void set_meta(const std::string& key, const std::string& value);

  uint64_t records_ingested() const { return ingested_; }
  uint64_t tree_walks() const { return ingest_.tree_walks(); }
  uint64_t dropped_waiting() const { return ingest_.dropped_waiting(); }
  // True once a statement of the running batch failed (commit() will refuse).
  bool batch_failed() const { return !batch_error_.empty(); }
  void set_exec_std_pipes(bool on) { ingest_.set_exec_std_pipes(on); }
  // The probes report FILE_COPY for every write from `t_ns` on (Probes::copy_events()).
  void copies_reported_since(uint64_t t_ns) { ingest_.copies_reported_since(t_ns); }
  // The mount's log holds every record stamped before `t_ns` (CLOCK_MONOTONIC: the time
  // before a sync of the log, after which a read found nothing more) and all of them were
  // read: what waits for a record from before then may go on (ingest.h "scope").
  // (Records still waiting for the probes' horizon are not in yet: the horizon caps it.)
  void log_drained(int64_t source, uint64_t t_ns) {
    ingest_.log_drained(source, std::min(t_ns, probe_horizon_));
  }
  bool waits_for_logs() const { return ingest_.waits_for_logs(); }
  // provd stops: its last round drains the logs, and what waited for them applies then.
  void stopping() { ingest_.stopping(); }

  // Scope and retention (retention.h); prune() runs one bounded round in the batch.
  void set_retention(const RetentionPolicy& p);
  PruneCounts prune(uint64_t now_ns, uint64_t db_bytes);
  const PruneCounts& pruned_total() const { return retention_.totals(); }
  std::string retention_json() const { return retention_.totals_json(); }

 private:
  // Runs f; a database error marks the batch failed (the rest of it is skipped).
  template <typename F>
  bool guarded(F&& f);

  std::unique_ptr<HostFacts> host_;
  uint64_t probes_lost_ = 0;  // the probes' lost events as last told (set_lost)
  SqliteStore store_;
  Ingest ingest_;
  lineage::Database& db_;
  Retention retention_;
  struct Position {
    uint64_t cursor = 0, last_seq = 0, records = 0;
    bool moved = false;
  };
  std::map<int64_t, Position> positions_;  // fs sources: read position of this batch
  struct Queued {
    bentofs::prov::Record r;
    std::string name, name2;
    uint64_t next_offset;
  };
  std::map<int64_t, std::deque<Queued>> queued_;  // fs records past the probes' horizon
  uint64_t probe_horizon_ = UINT64_MAX;
  void ingest_record(int64_t source, const bentofs::prov::Record& r, uint64_t next_offset);
  void drain_queued();
  std::string batch_error_;
  uint64_t ingested_ = 0;
  int64_t wall_offset_stored_ = 0;  // meta wall_offset_ns as last written
};

}  // namespace bento::collector
