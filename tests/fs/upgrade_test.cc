// Live upgrade in-process: A.update_prepare -> B.update_transfer; B serves the same files
// and the same open handles. Foreign states are refused untouched; rollback works.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "core/upgrade_state.h"
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

TEST(BentoFsUpgrade, NewInstanceServesFilesAndOpenHandles) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "before");
  auto ap = t.fs->open(t.r, e.ino, oflag::kWriteOnly | oflag::kAppend);
  ASSERT_TRUE(ap.ok());
  // An unlinked-but-open file must survive the upgrade too.
  auto tmp = t.create(kRootIno, "tmp");
  t.write(tmp.ino, 0, "orphan");
  auto tfh = t.fs->open(t.r, tmp.ino, oflag::kReadOnly);
  ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "tmp").ok());

  auto st = t.fs->update_prepare();
  ASSERT_TRUE(st.ok()) << st.error();
  EXPECT_EQ(st->kind(), "bento-fs");
  EXPECT_EQ(st->version(), 3u);
  auto b = std::make_unique<BentoFs>();
  ASSERT_TRUE(b->update_transfer(*st, *t.dev).ok());
  EXPECT_TRUE(st->empty());
  t.fs->destroy(t.r);  // the old instance is inert: destroy touches nothing
  t.fs = std::move(b);

  std::string more = "+after";
  // The handle opened with O_APPEND still appends.
  ASSERT_TRUE(t.fs->write(t.r, e.ino, ap->fh, 0,
                          {reinterpret_cast<const uint8_t*>(more.data()), more.size()})
                  .ok());
  EXPECT_EQ(t.read(e.ino), "before+after");
  EXPECT_EQ(t.read(tmp.ino), "orphan");
  ASSERT_TRUE(t.fs->release(t.r, e.ino, ap->fh, 0).ok());
  t.fs->forget(tmp.ino, 1);
  ASSERT_TRUE(t.fs->release(t.r, tmp.ino, tfh->fh, 0).ok());
  EXPECT_EQ(t.fs->getattr(t.r, tmp.ino, 0).error(), ENOENT);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

struct OtherState {
  static constexpr char kKind[] = "memfs";
  static constexpr uint32_t kVersion = 1;
  int x = 7;
};
struct FutureState {
  static constexpr char kKind[] = "bento-fs";
  static constexpr uint32_t kVersion = 99;
  int x = 7;
};

TEST(BentoFsUpgrade, RefusesOtherKindsAndVersionsUntouched) {
  TestFs t;
  auto other = TransferState::make(std::move(make_unique<OtherState>()).value());
  BentoFs b;
  EXPECT_EQ(b.update_transfer(other, *t.dev).error(), EPROTO);
  EXPECT_FALSE(other.empty());
  EXPECT_EQ(other.kind(), "memfs");
  auto future = TransferState::make(std::move(make_unique<FutureState>()).value());
  EXPECT_EQ(b.update_transfer(future, *t.dev).error(), EPROTO);
  EXPECT_TRUE(future.holds<FutureState>());
}

TEST(BentoFsUpgrade, RollbackGivesTheOldInstanceItsStateBack) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "data");
  auto fh = t.open(e.ino);
  auto st = t.fs->update_prepare();
  ASSERT_TRUE(st.ok());
  // The new instance refuses (pretend), so the host hands the state back.
  ASSERT_TRUE(t.fs->update_transfer(*st, *t.dev).ok());
  EXPECT_EQ(t.read(e.ino), "data");
  std::string x = "X";
  EXPECT_TRUE(t.fs->write(t.r, e.ino, fh, 0, {reinterpret_cast<const uint8_t*>(x.data()), 1}).ok());
  EXPECT_EQ(t.read(e.ino), "Xata");
  ASSERT_TRUE(t.fs->release(t.r, e.ino, fh, 0).ok());
}

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string pause_summary(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  char buf[160];
  std::snprintf(buf, sizeof buf, "n=%zu p50=%.1fus p99=%.1fus max=%.1fus", v.size(), at(0.5) / 1e3,
                at(0.99) / 1e3, v.back() / 1e3);
  return buf;
}

// One upgrade as the host does it: old->update_prepare, new->update_transfer. Returns the
// pause (ns) or -1.
int64_t upgrade(std::unique_ptr<BentoFs>& cur, ImageDevice& dev) {
  int64_t t0 = mono_ns();
  auto st = cur->update_prepare();
  if (!st.ok()) return -1;
  auto next = std::make_unique<BentoFs>();
  if (!next->update_transfer(*st, dev).ok()) return -1;
  int64_t t1 = mono_ns();
  cur->destroy(root_req());  // inert
  cur = std::move(next);
  return t1 - t0;
}

uint8_t pattern(uint64_t off) {
  uint64_t x = (off / 4096) * 0x9E3779B97F4A7C15ull + (off % 4096);
  return static_cast<uint8_t>(x ^ (x >> 29));
}

TEST(BentoFsUpgrade, HandsOverLargeDirtyJournalWithoutWriting) {
  FormatOptions opts;
  opts.journal_blocks = 32768;
  TestFs t(61440, opts);
  t.unmount();
  t.mount("commit=600000");  // no periodic commit during the test
  t.dev->set_capacity(1 << 20);
  // fsync'ed before the upgrade: must survive a crash right after it.
  auto synced = t.create(kRootIno, "synced");
  t.write(synced.ino, 0, "durable before the upgrade");
  {
    Fh fh = t.open(synced.ino);
    ASSERT_TRUE(t.fs->fsync(t.r, synced.ino, fh, false).ok());
    ASSERT_TRUE(t.fs->release(t.r, synced.ino, fh, 0).ok());
  }
  // 50 MB written without fsync: all of it in the running transaction.
  constexpr uint64_t kSize = 50ull << 20, kChunk = 1 << 20;
  auto big = t.create(kRootIno, "big");
  Fh bfh = t.open(big.ino);
  std::vector<uint8_t> buf(kChunk);
  for (uint64_t off = 0; off < kSize; off += kChunk) {
    for (uint64_t i = 0; i < kChunk; i++) buf[i] = pattern(off + i);
    auto w = t.fs->write(t.r, big.ino, bfh, off, buf);
    ASSERT_TRUE(w.ok()) << w.error();
  }

  t.dev->start_recording();
  int64_t pause = upgrade(t.fs, *t.dev);
  ASSERT_GE(pause, 0);
  std::printf("[ pause    ] 50 MB dirty, uncommitted: prepare+transfer %.1f us\n", pause / 1e3);
  EXPECT_EQ(t.dev->recorded(), 0u) << "the upgrade wrote to the device";

  // Crash right after the upgrade: the durable image is consistent and has the fsync'ed data.
  {
    auto crashed = ImageDevice::from_bytes(t.dev->durable_bytes());
    auto rep = run_fsck(*crashed, {});
    EXPECT_LE(rep.exit_code, 1);
    EXPECT_TRUE(rep.problems.empty()) << rep.problems[0];
    EXPECT_EQ(run_fsck(*crashed, {}).exit_code, 0);
    BentoFs c;
    bento::InitArgs a;
    ASSERT_TRUE(c.init(t.r, *crashed, a).ok());
    auto e = c.lookup(t.r, kRootIno, "synced");
    ASSERT_TRUE(e.ok());
    std::string out(100, '\0');
    auto n = c.read(t.r, e->ino, 0, 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(out.substr(0, *n), "durable before the upgrade");
    c.destroy(t.r);
    EXPECT_EQ(run_fsck(*crashed, {}).exit_code, 0);
  }

  // The new instance serves everything (the handle opened before the upgrade too).
  for (uint64_t off = 0; off < kSize; off += kChunk) {
    auto n = t.fs->read(t.r, big.ino, bfh, off, buf);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, kChunk);
    for (uint64_t i = 0; i < kChunk; i++) ASSERT_EQ(buf[i], pattern(off + i)) << off + i;
  }
  ASSERT_TRUE(t.fs->fsync(t.r, big.ino, bfh, false).ok());
  EXPECT_GT(t.dev->recorded(), 0u);
  ASSERT_TRUE(t.fs->release(t.r, big.ino, bfh, 0).ok());
  t.remount();
  EXPECT_EQ(t.read(synced.ino), "durable before the upgrade");
  for (uint64_t off = 0; off < kSize; off += kChunk) {
    auto n = t.fs->read(t.r, big.ino, 0, off, buf);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, kChunk);
    for (uint64_t i = 0; i < kChunk; i++) ASSERT_EQ(buf[i], pattern(off + i)) << off + i;
  }
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

TEST(BentoFsUpgrade, AcceptsVersion1StateFromAnOlderModule) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "v1");
  t.unmount();  // what a v1 module's prepare did: commit, checkpoint, sync
  auto st = TransferState::make(std::move(make_unique<BentoFsStateV1>()).value());
  t.fs = std::make_unique<BentoFs>();
  ASSERT_TRUE(t.fs->update_transfer(st, *t.dev).ok());
  EXPECT_TRUE(st.empty());
  EXPECT_EQ(t.read(e.ino), "v1");
  t.write(e.ino, 2, "+");
  EXPECT_EQ(t.read(e.ino), "v1+");
  EXPECT_EQ(t.fsck().exit_code, 0);
}

TEST(BentoFsUpgrade, RefusesAnotherDeviceAndRollsBack) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "dirty");
  auto st = t.fs->update_prepare();
  ASSERT_TRUE(st.ok());
  auto other = ImageDevice::memory(16384);
  BentoFs b;
  EXPECT_EQ(b.update_transfer(*st, *other).error(), EINVAL);
  ASSERT_TRUE(st->holds<BentoFsStateV3>());
  EXPECT_EQ(b.update_prepare().error(), EINVAL);  // not running
  ASSERT_TRUE(t.fs->update_transfer(*st, *t.dev).ok());
  EXPECT_EQ(t.read(e.ino), "dirty");
  EXPECT_EQ(t.fsck().exit_code, 0);
}

// Upgrade and rollback both failed: the host drops the state. Like a crash: the durable
// image is consistent and keeps what was fsync'ed; nothing hangs (retired thread joined).
TEST(BentoFsUpgrade, DroppedStateIsLikeACrash) {
  TestFs t;
  auto f = t.create(kRootIno, "f");
  t.write(f.ino, 0, "synced");
  ASSERT_TRUE(t.fs->commit_now().ok());
  auto g = t.create(kRootIno, "g");
  t.write(g.ino, 0, "not synced");
  {
    auto st = t.fs->update_prepare();
    ASSERT_TRUE(st.ok());
    st->reset();
  }
  t.fs.reset();
  auto crashed = ImageDevice::from_bytes(t.dev->durable_bytes());
  auto rep = run_fsck(*crashed, {});
  EXPECT_LE(rep.exit_code, 1);
  EXPECT_TRUE(rep.problems.empty()) << rep.problems[0];
  BentoFs c;
  ASSERT_TRUE(c.init(t.r, *crashed, bento::InitArgs{}).ok());
  auto e = c.lookup(t.r, kRootIno, "f");
  ASSERT_TRUE(e.ok());
  std::string out(16, '\0');
  auto n = c.read(t.r, e->ino, 0, 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(out.substr(0, *n), "synced");
  c.destroy(t.r);
}

// The host's protocol under load: workers hold the lock shared per call, the upgrader
// exclusively while it runs prepare + transfer. 100 upgrades, no failed operation.
TEST(BentoFsUpgrade, RepeatedUpgradesUnderConcurrentLoad) {
  TestFs t(32768);
  std::shared_mutex mu;
  std::unique_ptr<BentoFs>& cur = t.fs;
  constexpr int kWorkers = 4;
  constexpr int kUpgrades = 100;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<uint64_t> ops{0};
  struct Expect {
    std::map<std::string, std::string> files;  // name in the worker's directory -> data
    std::string log;                           // appended through a long-lived handle
    Ino dir = 0, log_ino = 0;
  };
  std::vector<Expect> expect(kWorkers);
  auto call = [&](auto f) {
    std::shared_lock l(mu);
    ops++;
    return f(*cur);
  };
  auto bytes = [](const std::string& s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  std::vector<std::thread> th;
  for (int w = 0; w < kWorkers; w++) {
    th.emplace_back([&, w] {
      Expect& ex = expect[w];
      auto fail = [&](const char* what, int err) {
        std::fprintf(stderr, "worker %d: %s failed: %d\n", w, what, err);
        failures++;
      };
      auto d =
          call([&](BentoFs& fs) { return fs.mkdir(t.r, kRootIno, "w" + std::to_string(w), 0755); });
      if (!d.ok()) return fail("mkdir", d.error());
      ex.dir = d->ino;
      auto lc = call([&](BentoFs& fs) {
        return fs.create(t.r, ex.dir, "log", 0644, oflag::kWriteOnly | oflag::kAppend);
      });
      if (!lc.ok()) return fail("create log", lc.error());
      ex.log_ino = lc->entry.ino;
      Fh log_fh = lc->open.fh;
      for (int i = 0; !stop.load(); i++) {
        std::string name = "f" + std::to_string(i);
        std::string data(100 + (i * 7919 + w * 131) % 20000, static_cast<char>('a' + (i + w) % 26));
        auto c = call(
            [&](BentoFs& fs) { return fs.create(t.r, ex.dir, name, 0644, oflag::kReadWrite); });
        if (!c.ok()) return fail("create", c.error());
        auto wr = call(
            [&](BentoFs& fs) { return fs.write(t.r, c->entry.ino, c->open.fh, 0, bytes(data)); });
        if (!wr.ok() || *wr != data.size()) return fail("write", wr.ok() ? -1 : wr.error());
        if (i % 3 == 0) {
          auto s =
              call([&](BentoFs& fs) { return fs.fsync(t.r, c->entry.ino, c->open.fh, false); });
          if (!s.ok()) return fail("fsync", s.error());
        }
        auto rl = call([&](BentoFs& fs) { return fs.release(t.r, c->entry.ino, c->open.fh, 0); });
        if (!rl.ok()) return fail("release", rl.error());
        call([&](BentoFs& fs) {  // as the kernel does: unlinked files can then be freed
          fs.forget(c->entry.ino, 1);
          return 0;
        });
        std::string final_name = name;
        if (i % 2 == 0) {
          final_name = "g" + std::to_string(i);
          auto rn = call(
              [&](BentoFs& fs) { return fs.rename(t.r, ex.dir, name, ex.dir, final_name, 0); });
          if (!rn.ok()) return fail("rename", rn.error());
        }
        ex.files[final_name] = data;
        if (i % 5 == 4 || ex.files.size() > 20) {  // drop an older file
          auto victim = ex.files.begin();
          auto u = call([&](BentoFs& fs) { return fs.unlink(t.r, ex.dir, victim->first); });
          if (!u.ok()) return fail("unlink", u.error());
          ex.files.erase(victim);
        }
        std::string rec = "<" + std::to_string(w) + ":" + std::to_string(i) + ">";
        auto la =
            call([&](BentoFs& fs) { return fs.write(t.r, ex.log_ino, log_fh, 0, bytes(rec)); });
        if (!la.ok()) return fail("append", la.error());
        ex.log += rec;
        if (ex.log.size() > 200000) stop = true;  // bounded space
      }
      auto rl = call([&](BentoFs& fs) { return fs.release(t.r, ex.log_ino, log_fh, 0); });
      if (!rl.ok()) fail("release log", rl.error());
    });
  }
  std::vector<int64_t> pauses;
  for (int u = 0; u < kUpgrades && failures.load() == 0; u++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    std::unique_lock l(mu);
    int64_t p = upgrade(cur, *t.dev);
    if (p < 0) {
      failures++;
      break;
    }
    pauses.push_back(p);
  }
  stop = true;
  for (auto& x : th) x.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(pauses.size(), static_cast<size_t>(kUpgrades));
  std::printf("[ pause    ] %d upgrades under load (%llu ops): %s\n", kUpgrades,
              static_cast<unsigned long long>(ops.load()), pause_summary(pauses).c_str());
  auto verify = [&] {
    for (auto& ex : expect) {
      for (auto& [name, data] : ex.files) {
        Ino ino = t.lookup(ex.dir, name);
        ASSERT_EQ(t.read(ino), data) << name;
      }
      EXPECT_EQ(t.read(ex.log_ino), ex.log);
      EXPECT_EQ(t.list(ex.dir).size(), ex.files.size() + 3);  // ".", "..", log
    }
  };
  verify();
  t.remount();
  verify();
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

// Baseline for the numbers above: an idle small fs, with nothing dirty.
TEST(BentoFsUpgrade, IdlePause) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "x");
  ASSERT_TRUE(t.fs->sync_now().ok());
  std::vector<int64_t> pauses;
  for (int i = 0; i < 200; i++) {
    int64_t p = upgrade(t.fs, *t.dev);
    ASSERT_GE(p, 0);
    pauses.push_back(p);
  }
  std::printf("[ pause    ] idle: %s\n", pause_summary(pauses).c_str());
  EXPECT_EQ(t.read(e.ino), "x");
}

// State v3 carries the atime options and the linkability of O_TMPFILE inodes across a live
// upgrade.
TEST(BentoFsUpgrade, AtimeOptionsAndTmpfilesSurviveAnUpgrade) {
  TestFs t;
  t.unmount();
  t.mount("noatime,commit=50");
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "x");
  auto tf = t.fs->tmpfile(t.r, kRootIno, 0600, oflag::kReadWrite | oflag::kTmpFile);
  ASSERT_TRUE(tf.ok());
  auto st = t.fs->update_prepare();
  ASSERT_TRUE(st.ok());
  auto next = std::make_unique<BentoFs>();
  ASSERT_TRUE(next->update_transfer(*st, *t.dev).ok());
  t.fs->destroy(t.r);
  t.fs = std::move(next);
  Timespec a = t.fs->getattr(t.r, e.ino, 0)->atime;
  EXPECT_EQ(t.read(e.ino), "x");
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->atime, a) << "noatime was lost in the upgrade";
  EXPECT_TRUE(t.fs->link(t.r, tf->entry.ino, kRootIno, "named").ok());
  ASSERT_TRUE(t.fs->release(t.r, tf->entry.ino, tf->open.fh, 0).ok());
}

}  // namespace
}  // namespace bentofs::test
