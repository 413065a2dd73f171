// Scope and retention (collector/retention.h): processes that moved no data anyone keeps
// are dropped once they ended (their ancestors of kept processes stay), the audit trail
// goes by age or size, and no `prov why` answer changes.
#include <gtest/gtest.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;
using nlohmann::json;

int64_t rows(bento::lineage::Database& db, const char* table) {
  bento::lineage::Stmt q(db.handle(), (std::string("SELECT COUNT(*) FROM ") + table).c_str());
  return q.step() ? q.int64(0) : -1;
}

// A host: a shell with many unrelated short processes (some with children), and two
// pipelines on the mount started from a session deep in a process tree.
void busy_host(World& w, std::vector<std::string>* outputs) {
  auto init = w.run({1, 1}, 100, {"init"});
  for (uint32_t i = 0; i < 200; i++) {
    auto p = w.run(init, 1000 + 2 * i, {"cron-job"});
    if (i % 3 == 0) {
      auto c = w.run(p, 1001 + 2 * i, {"date"});
      w.exit(c);
    }
    w.exit(p);
  }
  auto sshd = w.run(init, 5000, {"sshd"});
  auto session = w.run(sshd, 5001, {"bash"});
  w.write_new(5001, 10, "in");
  for (uint32_t k = 0; k < 2; k++) {
    auto job = w.run(session, 6000 + k, {"sort", "in"});
    w.read(6000 + k, 10);
    w.write_new(6000 + k, 20 + k, "out" + std::to_string(k));
    w.exit(job);
    outputs->push_back(path("out" + std::to_string(k)));
  }
  outputs->push_back(path("in"));
  w.commit();
}

TEST(Retention, UnrelatedProcessesGoAndNoAnswerChanges) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  std::vector<std::string> outputs;
  busy_host(w, &outputs);
  std::map<std::string, json> before;
  for (const auto& p : outputs) before[p] = why(*w.db, p).graph;
  const int64_t activities = rows(*w.db, "activities");
  // Rounds until nothing more goes (chains go from their leaves).
  uint64_t total = 0;
  for (int round = 0; round < 20; round++) {
    auto c = w.col->prune(w.t + 3'600'000'000'000ULL, 0);
    w.commit();
    total += c.activities;
    if (c.total() == 0) break;
  }
  EXPECT_GE(total, 200u + 67u) << "every cron job and its children";
  EXPECT_LT(rows(*w.db, "activities"), activities - 260);
  EXPECT_EQ(rows(*w.db,
                 "processes p WHERE p.exit_ns IS NOT NULL AND NOT EXISTS (SELECT 1 FROM activities "
                 "a WHERE a.process_id = p.id)"),
            0)
      << "no ended process is left without its activities";
  EXPECT_EQ(rows(*w.db,
                 "activities a WHERE NOT EXISTS (SELECT 1 FROM processes p WHERE p.id = "
                 "a.process_id)"),
            0)
      << "no activity lost its process";
  for (const auto& p : outputs) {
    json after = why(*w.db, p).graph;
    EXPECT_EQ(edges(after), edges(before[p])) << p;
  }
  // The kept session's ancestors stay: who ran the jobs.
  auto e = edges(why(*w.db, path("out0")).graph);
  EXPECT_TRUE(e.count("generated(out0, sort in)")) << json(e).dump(1);
  bento::lineage::Stmt sshd(w.db->handle(),
                            "SELECT COUNT(*) FROM activities WHERE argv = '[\"sshd\"]'");
  ASSERT_TRUE(sshd.step());
  EXPECT_GE(sshd.int64(0), 1) << "an ancestor of kept processes is kept";
  EXPECT_EQ(w.col->pruned_total().activities, total);
}

TEST(Retention, ScopeAllKeepsEverythingAndTheAuditTrailGoesByAge) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  bento::collector::RetentionPolicy p;
  p.keep_everything = true;
  p.keep_ns = 1'000'000'000ULL;  // one second of audit trail
  w.col->set_retention(p);
  std::vector<std::string> outputs;
  busy_host(w, &outputs);
  std::map<std::string, json> before;
  for (const auto& o : outputs) before[o] = why(*w.db, o).graph;
  const int64_t activities = rows(*w.db, "activities"), events = rows(*w.db, "events");
  ASSERT_GT(events, 0);
  for (int round = 0; round < 10; round++) {
    auto c = w.col->prune(w.t + 3'600'000'000'000ULL, 0);
    w.commit();
    if (c.total() == 0) break;
  }
  EXPECT_EQ(rows(*w.db, "activities"), activities) << "--scope all";
  EXPECT_EQ(rows(*w.db, "events"), 0) << "the audit trail older than --keep";
  for (const auto& o : outputs) EXPECT_EQ(edges(why(*w.db, o).graph), edges(before[o])) << o;
  bento::lineage::Stmt m(w.db->handle(), "SELECT value FROM meta WHERE key = 'pruned'");
  ASSERT_TRUE(m.step());
  json pruned = json::parse(m.text(0));
  EXPECT_EQ(pruned.value("events", 0), events);
  EXPECT_EQ(pruned.value("scope", ""), "all");
}

}  // namespace
