#include "retention.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "json_text.h"

namespace bento::collector {

using lineage::Stmt;

namespace {

int64_t i64(uint64_t v) {
  return static_cast<int64_t>(v);
}

}  // namespace

void Retention::load_totals() {
  Stmt& q = db_.cached("SELECT value FROM meta WHERE key = 'pruned'");
  if (!q.step()) return;
  nlohmann::json j = nlohmann::json::parse(q.text(0), nullptr, false);
  q.reset();
  if (!j.is_object()) return;
  auto get = [&](const char* k) {
    return j.contains(k) && j[k].is_number_unsigned() ? j[k].get<uint64_t>() : 0;
  };
  totals_ = {get("activities"), get("processes"), get("tasks"), get("events"), get("actions")};
}

std::string Retention::totals_json() const {
  return to_json_text({{"activities", totals_.activities},
                       {"processes", totals_.processes},
                       {"tasks", totals_.tasks},
                       {"events", totals_.events},
                       {"actions", totals_.actions},
                       {"scope", policy_.keep_everything ? "all" : "relevant"},
                       {"keep_s", policy_.keep_ns / 1000000000ULL},
                       {"max_db_bytes", policy_.max_db_bytes}});
}

PruneCounts Retention::run(uint64_t now_ns, uint64_t db_bytes, int64_t budget) {
  PruneCounts c;
  if (!policy_.keep_everything && now_ns > policy_.grace_ns) {
    // Processes' activities: their leaves first; a parent becomes a leaf once its last
    // child went, so chains go over a few rounds.
    c.activities = prune_activities(now_ns - policy_.grace_ns, budget);
    // Processes with no activity left that ended, then their threads.
    Stmt& procs = db_.cached(
        "SELECT p.id FROM processes p WHERE p.exit_ns IS NOT NULL AND p.exit_ns < ? AND NOT "
        "EXISTS (SELECT 1 FROM activities a WHERE a.process_id = p.id) AND NOT EXISTS (SELECT 1 "
        "FROM processes k WHERE k.parent_id = p.id) LIMIT ?");
    procs.bind(1, i64(now_ns - policy_.grace_ns)).bind(2, budget);
    std::vector<int64_t> gone;
    while (procs.step()) gone.push_back(procs.int64(0));
    procs.reset();
    for (int64_t p : gone) {
      Stmt& tasks = db_.cached("DELETE FROM tasks WHERE process_id = ?");
      tasks.bind(1, p).run();
      c.tasks += static_cast<uint64_t>(sqlite3_changes(db_.handle()));
      db_.cached("DELETE FROM processes WHERE id = ?").bind(1, p).run();
      c.processes++;
    }
  }
  if (policy_.keep_ns != 0 && now_ns > policy_.keep_ns)
    prune_audit(now_ns - policy_.keep_ns, budget, &c);
  if (policy_.max_db_bytes != 0 && db_bytes > policy_.max_db_bytes)
    prune_audit(now_ns, budget, &c);  // over size: the oldest audit rows, whatever their age
  totals_.activities += c.activities;
  totals_.processes += c.processes;
  totals_.tasks += c.tasks;
  totals_.events += c.events;
  totals_.actions += c.actions;
  if (c.total() > 0)
    db_.cached("INSERT OR REPLACE INTO meta(key, value) VALUES('pruned', ?)")
        .bind(1, totals_json())
        .run();
  return c;
}

// Activities that ended before `cutoff` and moved no data anyone keeps. Candidates come
// from the ended-time index in rounds (a watermark in meta), plus the informants of what
// the previous round pruned (they may have become leaves).
uint64_t Retention::prune_activities(uint64_t cutoff, int64_t budget) {
  int64_t mark = 0;
  {
    Stmt& q = db_.cached("SELECT value FROM meta WHERE key = 'prune_watermark'");
    if (q.step()) mark = std::atoll(q.text(0).c_str());
    q.reset();
  }
  std::set<int64_t> candidates;
  int64_t scanned_to = mark;
  {
    Stmt& q = db_.cached(
        "SELECT id, end_ns FROM activities WHERE end_ns IS NOT NULL AND end_ns >= ? AND end_ns < "
        "? ORDER BY end_ns LIMIT ?");
    q.bind(1, mark).bind(2, i64(cutoff)).bind(3, budget);
    int64_t n = 0;
    while (q.step()) {
      candidates.insert(q.int64(0));
      scanned_to = q.int64(1);
      n++;
    }
    q.reset();
    if (n < budget) scanned_to = i64(cutoff);
  }
  {
    Stmt& q = db_.cached(
        "SELECT a.id FROM activities a JOIN prune_recheck r ON r.id = a.id WHERE a.end_ns < ?");
    q.bind(1, i64(cutoff));
    while (q.step()) candidates.insert(q.int64(0));
    q.reset();
    db_.cached("DELETE FROM prune_recheck").run();
  }
  uint64_t pruned = 0;
  for (int64_t a : candidates) {
    Stmt& keep = db_.cached(
        "SELECT EXISTS (SELECT 1 FROM used WHERE activity_id = ?1) OR EXISTS (SELECT 1 FROM "
        "generated WHERE activity_id = ?1) OR EXISTS (SELECT 1 FROM informed WHERE informant_id "
        "= ?1) OR EXISTS (SELECT 1 FROM actions WHERE activity_id = ?1) OR EXISTS (SELECT 1 FROM "
        "actions WHERE other_activity_id = ?1) OR EXISTS (SELECT 1 FROM invalidated WHERE "
        "activity_id = ?1)");
    keep.bind(1, a);
    const bool kept = keep.step() && keep.int64(0) != 0;
    keep.reset();
    if (kept) continue;
    // Its informants may be leaves now: look at them next round.
    db_.cached(
           "INSERT OR IGNORE INTO prune_recheck SELECT informant_id FROM informed WHERE "
           "informed_id = ?")
        .bind(1, a)
        .run();
    db_.cached("DELETE FROM informed WHERE informed_id = ?").bind(1, a).run();
    db_.cached("DELETE FROM copies WHERE activity_id = ?").bind(1, a).run();
    db_.cached("DELETE FROM thread_io WHERE activity_id = ?").bind(1, a).run();
    db_.cached("DELETE FROM activities WHERE id = ?").bind(1, a).run();
    pruned++;
  }
  db_.cached("INSERT OR REPLACE INTO meta(key, value) VALUES('prune_watermark', ?)")
      .bind(1, std::to_string(scanned_to))
      .run();
  return pruned;
}

uint64_t Retention::prune_audit(uint64_t cutoff, int64_t budget, PruneCounts* c) {
  db_.cached(
         "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts_ns < ? ORDER BY ts_ns "
         "LIMIT ?)")
      .bind(1, i64(cutoff))
      .bind(2, budget)
      .run();
  const uint64_t events = static_cast<uint64_t>(sqlite3_changes(db_.handle()));
  db_.cached(
         "DELETE FROM actions WHERE id IN (SELECT id FROM actions WHERE time_ns < ? ORDER BY id "
         "LIMIT ?)")
      .bind(1, i64(cutoff))
      .bind(2, budget)
      .run();
  const uint64_t actions = static_cast<uint64_t>(sqlite3_changes(db_.handle()));
  c->events += events;
  c->actions += actions;
  return events + actions;
}

}  // namespace bento::collector
