#include "collector.h"

#include <cstdlib>

#include "wall_clock.h"

namespace bento::collector {

Collector::Collector(lineage::Database& db, std::unique_ptr<HostFacts> host)
    : host_(host ? std::move(host) : std::make_unique<ProcHostFacts>()),
      store_(db),
      ingest_(store_, *host_),
      db_(db),
      retention_(db, RetentionPolicy{}) {}

void Collector::set_retention(const RetentionPolicy& p) {
  retention_.set_policy(p);
  ingest_.set_keep_all(p.keep_everything);
  guarded([&] { retention_.load_totals(); });
}

PruneCounts Collector::prune(uint64_t now_ns, uint64_t db_bytes) {
  PruneCounts c;
  guarded([&] {
    store_.flush_events();  // its age limit applies to this batch's audit rows too
    c = retention_.run(now_ns, db_bytes);
  });
  if (c.activities + c.processes > 0) {
    // Cached row ids and thread attributions may name what is gone.
    store_.forget_row_caches();
    ingest_.forget_attribution();
  }
  return c;
}

template <typename F>
bool Collector::guarded(F&& f) {
  if (!batch_error_.empty()) return false;
  try {
    f();
    return true;
  } catch (const lineage::DbError& e) {
    batch_error_ = e.what();
    return false;
  }
}

int64_t Collector::fs_source(const std::string& mountpoint, uint64_t* cursor, uint64_t* last_seq) {
  int64_t id = store_.fs_source(mountpoint, cursor, last_seq);
  if (id == 0) return 0;
  Position& p = positions_[id];
  p.cursor = *cursor;
  p.last_seq = *last_seq;
  ingest_.add_mount(id, mountpoint, *last_seq);
  return id;
}

int64_t Collector::probes_source() {
  return store_.probes_source();
}

void Collector::begin() {
  batch_error_.clear();
  store_.begin();
}

bool Collector::commit(std::string* error) {
  guarded([&] {
    ingest_.end_batch();
    store_.flush_events();
    // Queries turn monotonic times into wall times with this: one stored value keeps every
    // answer and export the same (it moves only when the wall clock is stepped).
    const int64_t off = wall_offset_ns();
    if (std::llabs(off - wall_offset_stored_) > 1000000) {
      store_.set_meta("wall_offset_ns", std::to_string(off));
      wall_offset_stored_ = off;
    }
    for (auto& [id, p] : positions_) {
      if (!p.moved) continue;
      store_.set_position(id, p.cursor, p.last_seq, p.records);
    }
  });
  if (batch_error_.empty() && store_.commit(error)) {
    for (auto& [id, p] : positions_) {
      p.moved = false;
      p.records = 0;
    }
    return true;
  }
  if (!batch_error_.empty()) {
    *error = "a statement failed, the batch is not stored: " + batch_error_;
    store_.rollback();
  }
  ingest_.forget_after_rollback();
  batch_error_.clear();
  return false;
}

bool Collector::on_probe_event(const void* data, size_t size) {
  bool ok = true;
  guarded([&] { ok = ingest_.on_probe_event(data, size); });
  return ok;
}

void Collector::on_fs_record(int64_t source, const bentofs::prov::Record& r, uint64_t next_offset) {
  auto& q = queued_[source];
  if (q.empty() && r.monotonic_ns < probe_horizon_) {
    ingest_record(source, r, next_offset);
    return;
  }
  Queued item{r, std::string(r.name, r.name_len), std::string(r.name2, r.name2_len), next_offset};
  q.push_back(std::move(item));
  q.back().r.name = q.back().name.data();
  q.back().r.name2 = q.back().name2.data();
}

void Collector::set_probe_horizon(uint64_t t) {
  probe_horizon_ = t;
  drain_queued();
}

void Collector::drain_queued() {
  for (auto& [source, q] : queued_) {
    while (!q.empty() && q.front().r.monotonic_ns < probe_horizon_) {
      Queued item = std::move(q.front());
      q.pop_front();
      item.r.name = item.name.data();
      item.r.name2 = item.name2.data();
      ingest_record(source, item.r, item.next_offset);
    }
  }
}

uint64_t Collector::stored_cursor(int64_t source) const {
  auto it = positions_.find(source);
  return it != positions_.end() ? it->second.cursor : 0;
}

void Collector::ingest_record(int64_t source, const bentofs::prov::Record& r,
                              uint64_t next_offset) {
  guarded([&] {
    if (!ingest_.on_fs_record(source, r)) return;  // stored before a restart
    Position& p = positions_[source];
    p.cursor = next_offset;
    p.last_seq = r.seq;
    p.records++;
    p.moved = true;
    ingested_++;
  });
}

void Collector::on_fs_malformed(int64_t source, uint64_t next_offset) {
  if (!queued_[source].empty()) return;  // the queued records' positions come first
  guarded([&] {
    store_.count_malformed(source);
    Position& p = positions_[source];
    p.cursor = next_offset;
    p.moved = true;
  });
}

void Collector::set_lost(int64_t source, uint64_t lost) {
  guarded([&] { store_.set_lost(source, lost); });
  if (lost > probes_lost_ && source == store_.probes_source()) {
    probes_lost_ = lost;  // what running activities copied is no longer known
    ingest_.probe_events_lost(static_cast<uint64_t>(clock_ns(CLOCK_MONOTONIC)));
  }
}

void Collector::set_meta(const std::string& key, const std::string& value) {
  guarded([&] { store_.set_meta(key, value); });
}

}  // namespace bento::collector
