// The connection's lock protocol and live upgrade, in-process (no FUSE).
#include "connection.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "fs_client.h"
#include "test_paths.h"

namespace bento::host {
namespace {

using namespace std::chrono_literals;
using test::FsClient;
using test::memfs_refuse_so;
using test::memfs_so;
using test::mount_module;
using test::pattern;
using test::test_module;

TEST(CapabilityConflict, FixedFeaturesMustMatch) {
  Capabilities base;  // defaults: no locks, writeback ok, needs open
  EXPECT_EQ(capability_conflict(base, base), "");
  Capabilities locks = base;
  locks.posix_locks = true;
  EXPECT_NE(capability_conflict(base, locks).find("POSIX locks"), std::string::npos);
  EXPECT_NE(capability_conflict(locks, base).find("POSIX locks"), std::string::npos);
  Capabilities no_wb = base;
  no_wb.writeback_cache = false;
  EXPECT_NE(capability_conflict(base, no_wb).find("writeback"), std::string::npos);
  EXPECT_EQ(capability_conflict(no_wb, base), "");  // tolerating more is fine
  Capabilities no_open = base;
  no_open.needs_open = false;
  EXPECT_NE(capability_conflict(no_open, base).find("no-open"), std::string::npos);
  EXPECT_EQ(capability_conflict(base, no_open), "");
}

TEST(Connection, MountServeStatus) {
  auto conn = mount_module(memfs_so());
  ASSERT_NE(conn, nullptr);
  FsClient c(*conn);
  ASSERT_NE(c.create_file("a", pattern(1, 5000)), 0u) << c.last_failure();
  std::vector<uint8_t> got;
  ASSERT_TRUE(c.read_file("a", &got)) << c.last_failure();
  EXPECT_EQ(got, pattern(1, 5000));
  ConnectionStatus st = conn->status();
  EXPECT_TRUE(st.mounted);
  EXPECT_EQ(st.module.path, load_module(memfs_so()).module->path());
  EXPECT_FALSE(st.module.name.empty());
  EXPECT_GT(st.ops, 5u);
  EXPECT_TRUE(st.cache.has_value());
  EXPECT_TRUE(st.history.empty());
}

TEST(Connection, UpgradeWaitsForCallsInFlight) {
  auto conn = mount_module(memfs_so());
  ASSERT_NE(conn, nullptr);
  std::atomic<bool> entered{false};
  std::thread slow([&] {
    conn->call([&](FileOperations&) {
      entered = true;
      std::this_thread::sleep_for(100ms);
    });
  });
  while (!entered) std::this_thread::yield();
  UpgradeRecord rec = conn->upgrade(memfs_so());
  slow.join();
  ASSERT_TRUE(rec.ok) << rec.error;
  EXPECT_GE(rec.wait_ns, 50'000'000) << "the upgrade did not wait for the call in flight";
  EXPECT_GT(rec.pause_ns, 0);
  EXPECT_LT(rec.pause_ns, rec.wait_ns);
}

// N threads create, write, read back and delete files through the dispatch path while the
// main thread upgrades memfs -> memfs over and over.
TEST(Connection, UpgradeUnderConcurrentLoad) {
  auto conn = mount_module(memfs_so());
  ASSERT_NE(conn, nullptr);
  FsClient main_client(*conn);

  // A file held open across every upgrade: its handle must survive them.
  const auto held_data = pattern(999, 70000);
  Ino held = main_client.create_file("held", held_data);
  ASSERT_NE(held, 0u) << main_client.last_failure();
  Result<Entry> he =
      conn->call([&](FileOperations& fs) { return fs.lookup(Request{}, kRootIno, "held"); });
  ASSERT_TRUE(he.ok());
  Result<OpenReply> hopen =
      conn->call([&](FileOperations& fs) { return fs.open(Request{}, held, oflag::kReadOnly); });
  ASSERT_TRUE(hopen.ok());

  constexpr int kThreads = 4;
  constexpr int kUpgrades = 40;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<long> verified{0};
  std::mutex kept_mu;
  std::map<std::string, std::vector<uint8_t>> kept;  // files left behind, to check at the end
  std::string first_failure;

  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; t++) {
    workers.emplace_back([&, t] {
      FsClient c(*conn);
      for (int k = 0; !stop.load(); k++) {
        std::string name = "w" + std::to_string(t) + "-" + std::to_string(k);
        auto data = pattern(static_cast<uint64_t>(t) * 1000003 + k, (k * 7919) % 40000);
        std::vector<uint8_t> got;
        bool ok = c.create_file(name, data) != 0 && c.read_file(name, &got) && got == data;
        if (ok) verified++;
        if (ok && k % 2 == 0) ok = c.unlink(name);
        if (ok && k % 2 == 1) {
          std::lock_guard<std::mutex> g(kept_mu);
          kept[name] = data;
        }
        if (!ok) {
          if (failures++ == 0) first_failure = name + ": " + c.last_failure();
        }
      }
    });
  }
  for (int i = 0; i < kUpgrades; i++) {
    std::this_thread::sleep_for(3ms);
    UpgradeRecord rec = conn->upgrade(memfs_so());
    ASSERT_TRUE(rec.ok) << rec.error;
  }
  stop = true;
  for (auto& w : workers) w.join();

  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(verified.load(), kUpgrades) << "the workload hardly ran";
  FsClient check(*conn);
  for (const auto& [name, data] : kept) {
    std::vector<uint8_t> got;
    ASSERT_TRUE(check.read_file(name, &got)) << name << ": " << check.last_failure();
    ASSERT_EQ(got, data) << name;
  }
  std::vector<uint8_t> got;
  ASSERT_TRUE(check.read_fh(held, hopen->fh, &got)) << check.last_failure();
  EXPECT_EQ(got, held_data);
  (void)conn->call([&](FileOperations& fs) { return fs.release(Request{}, held, hopen->fh, 0); });
  conn->call([&](FileOperations& fs) { fs.forget(held, 1); });

  ConnectionStatus st = conn->status();
  ASSERT_EQ(st.history.size(), static_cast<size_t>(kUpgrades));
  int64_t max_pause = 0;
  for (const auto& rec : st.history) {
    EXPECT_TRUE(rec.ok);
    EXPECT_GT(rec.pause_ns, 0);
    max_pause = std::max(max_pause, rec.pause_ns);
  }
  std::printf("[ info ] %d upgrades under load, %ld files verified, max pause %.3f ms\n", kUpgrades,
              verified.load(), max_pause / 1e6);
}

TEST(Connection, RefusedUpgradeRollsBack) {
  auto conn = mount_module(memfs_so());
  ASSERT_NE(conn, nullptr);
  FsClient c(*conn);
  for (int i = 0; i < 20; i++)
    ASSERT_NE(c.create_file("f" + std::to_string(i), pattern(i, 3000 * i)), 0u);
  Result<Entry> e =
      conn->call([&](FileOperations& fs) { return fs.lookup(Request{}, kRootIno, "f7"); });
  ASSERT_TRUE(e.ok());
  Result<OpenReply> o =
      conn->call([&](FileOperations& fs) { return fs.open(Request{}, e->ino, oflag::kReadOnly); });
  ASSERT_TRUE(o.ok());
  const ModuleIdentity before = conn->status().module;

  UpgradeRecord rec = conn->upgrade(memfs_refuse_so());
  EXPECT_FALSE(rec.ok);
  EXPECT_TRUE(rec.rolled_back);
  EXPECT_FALSE(rec.state_lost);
  EXPECT_NE(rec.error.find("refused the state"), std::string::npos) << rec.error;
  EXPECT_NE(rec.error.find("rolled back"), std::string::npos) << rec.error;
  EXPECT_GT(rec.pause_ns, 0);

  // The old instance serves with all its state: files, and the handle opened before.
  ConnectionStatus st = conn->status();
  EXPECT_EQ(st.module.path, before.path);
  EXPECT_EQ(st.module.version, before.version);
  for (int i = 0; i < 20; i++) {
    std::vector<uint8_t> got;
    ASSERT_TRUE(c.read_file("f" + std::to_string(i), &got)) << c.last_failure();
    EXPECT_EQ(got, pattern(i, 3000 * i));
  }
  std::vector<uint8_t> got;
  ASSERT_TRUE(c.read_fh(e->ino, o->fh, &got));
  EXPECT_EQ(got, pattern(7, 21000));
  ASSERT_EQ(st.history.size(), 1u);
  EXPECT_FALSE(st.history[0].ok);
  EXPECT_EQ(st.history[0].to.path, load_module(memfs_refuse_so()).module->path());

  // And a good upgrade still works afterwards.
  UpgradeRecord again = conn->upgrade(memfs_so());
  EXPECT_TRUE(again.ok) << again.error;
  ASSERT_TRUE(c.read_fh(e->ino, o->fh, &got));
  EXPECT_EQ(got, pattern(7, 21000));
  (void)conn->call([&](FileOperations& fs) { return fs.release(Request{}, e->ino, o->fh, 0); });
  conn->call([&](FileOperations& fs) { fs.forget(e->ino, 1); });
}

TEST(Connection, CapabilityMismatchRefusedWithoutPause) {
  auto conn = mount_module(memfs_so());
  ASSERT_NE(conn, nullptr);
  FsClient c(*conn);
  ASSERT_NE(c.create_file("x", pattern(5, 100)), 0u);
  UpgradeRecord rec = conn->upgrade(test_module("locks_fs"));
  EXPECT_FALSE(rec.ok);
  EXPECT_FALSE(rec.rolled_back);
  EXPECT_NE(rec.error.find("POSIX locks"), std::string::npos) << rec.error;
  EXPECT_EQ(rec.pause_ns, 0) << "refused before taking the lock";
  std::vector<uint8_t> got;
  ASSERT_TRUE(c.read_file("x", &got));
  EXPECT_EQ(got, pattern(5, 100));
  EXPECT_EQ(conn->status().history.size(), 1u);
}

TEST(Connection, UnloadableModulesAreReported) {
  auto conn = mount_module(memfs_so());
  ASSERT_NE(conn, nullptr);
  UpgradeRecord a = conn->upgrade("/nonexistent/x.so");
  EXPECT_FALSE(a.ok);
  EXPECT_NE(a.error.find("No such file"), std::string::npos) << a.error;
  UpgradeRecord b = conn->upgrade(test_module("bad_api"));
  EXPECT_NE(b.error.find("built for API 99"), std::string::npos) << b.error;
  UpgradeRecord n = conn->upgrade(test_module("null_create"));
  EXPECT_NE(n.error.find("create() returned null"), std::string::npos) << n.error;
  FsClient c(*conn);
  EXPECT_NE(c.create_file("still-serving", pattern(1, 10)), 0u) << c.last_failure();
}

TEST(Connection, ShutdownIsFinal) {
  auto conn = mount_module(memfs_so());
  ASSERT_NE(conn, nullptr);
  conn->shutdown(Request{});
  conn->shutdown(Request{});  // idempotent
  EXPECT_FALSE(conn->status().mounted);
  Result<Attr> a =
      conn->call([](FileOperations& fs) { return fs.getattr(Request{}, kRootIno, kNoFh); });
  EXPECT_FALSE(a.ok());
  UpgradeRecord rec = conn->upgrade(memfs_so());
  EXPECT_FALSE(rec.ok);
  EXPECT_NE(rec.error.find("nothing is mounted"), std::string::npos);
}

}  // namespace
}  // namespace bento::host

namespace bento::host {
namespace {

// The leftover payload's destructor lives in the old module: it must run before that
// module is unloaded (ASan / a crash would tell otherwise).
TEST(ConnectionMisbehavingModules, LeftoverStateIsDestroyedBeforeTheOldModuleGoes) {
  auto conn = test::mount_module(test::test_module("leaves_state"));
  ASSERT_NE(conn, nullptr);
  for (int i = 0; i < 3; i++) {
    UpgradeRecord rec = conn->upgrade(test::test_module("leaves_state"));
    ASSERT_TRUE(rec.ok) << rec.error;
  }
  Result<Attr> a =
      conn->call([](FileOperations& fs) { return fs.getattr(Request{}, kRootIno, kNoFh); });
  EXPECT_TRUE(a.ok());
}

TEST(ConnectionMisbehavingModules, FailedRollbackKeepsOldInstanceAndSaysSo) {
  auto conn = test::mount_module(test::test_module("refuses_all"));
  ASSERT_NE(conn, nullptr);
  const ModuleIdentity before = conn->status().module;
  UpgradeRecord rec = conn->upgrade(test::test_module("refuses_all"));
  EXPECT_FALSE(rec.ok);
  EXPECT_FALSE(rec.rolled_back);
  EXPECT_TRUE(rec.state_lost);
  EXPECT_NE(rec.error.find("ROLLBACK FAILED"), std::string::npos) << rec.error;
  EXPECT_NE(rec.error.find("state may be lost"), std::string::npos) << rec.error;
  EXPECT_EQ(conn->status().module.path, before.path);
  Result<Attr> a =
      conn->call([](FileOperations& fs) { return fs.getattr(Request{}, kRootIno, kNoFh); });
  EXPECT_TRUE(a.ok()) << "the old instance no longer serves";
}

}  // namespace
}  // namespace bento::host
