// The journal: committed transactions survive a crash before checkpoint (replay at
// mount), uncommitted ones vanish atomically, and fsync waits for the commit.
#include "core/journal.h"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "format/crc32c.h"
#include "format/journal.h"
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

// Counts committed transactions waiting in the journal of a raw image.
uint64_t pending_txns(std::vector<uint8_t> img) {
  auto d = ImageDevice::from_bytes(std::move(img));
  SuperBlock sb;
  d->peek(0, &sb, sizeof(sb));
  uint64_t n = 0;
  EXPECT_TRUE(Journal::replay(*d, sb.journal_start.get(), sb.journal_blocks.get(), &n).ok());
  return n;
}

TEST(BentoFsJournal, FsyncedDataSurvivesCrashBeforeCheckpoint) {
  TestFs t;
  auto e = t.create(kRootIno, "durable");
  bento::Fh fh = t.open(e.ino);
  std::string data(3 * 4096 + 100, 'd');
  ASSERT_TRUE(
      t.fs->write(t.r, e.ino, fh, 0, {reinterpret_cast<const uint8_t*>(data.data()), data.size()})
          .ok());
  ASSERT_TRUE(t.fs->fsync(t.r, e.ino, fh, false).ok());
  // Crash right after the commit: the home blocks were never written.
  auto img = t.dev->durable_bytes();
  EXPECT_GE(pending_txns(img), 1u) << "the data must be in the journal only";
  auto crashed = ImageDevice::from_bytes(img);
  BentoFs fs2;
  ASSERT_TRUE(fs2.init(t.r, *crashed, {}).ok());
  auto l = fs2.lookup(t.r, kRootIno, "durable");
  ASSERT_TRUE(l.ok());
  std::string out(data.size(), '\0');
  auto n = fs2.read(t.r, l->ino, 0, 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(out, data);
  fs2.destroy(t.r);
  auto rep = run_fsck(*crashed, {});
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
  (void)t.fs->release(t.r, e.ino, fh, 0);
}

TEST(BentoFsJournal, UncommittedChangesVanishAtomically) {
  TestFs t;
  t.unmount();
  t.mount("commit=600000");  // the thread never commits on its own during the test
  auto keep = t.create(kRootIno, "keep");
  ASSERT_TRUE(t.fs->commit_now().ok());
  auto img_before = t.dev->durable_bytes();
  for (int i = 0; i < 10; i++) t.create(kRootIno, "lost" + std::to_string(i));
  auto img = t.dev->durable_bytes();
  EXPECT_EQ(img, img_before) << "nothing reaches the disk before a commit";
  auto crashed = ImageDevice::from_bytes(img);
  BentoFs fs2;
  ASSERT_TRUE(fs2.init(t.r, *crashed, {}).ok());
  EXPECT_TRUE(fs2.lookup(t.r, kRootIno, "keep").ok());
  EXPECT_EQ(fs2.lookup(t.r, kRootIno, "lost0").error(), ENOENT);
  fs2.destroy(t.r);
  EXPECT_EQ(run_fsck(*crashed, {}).exit_code, 0);
  (void)keep;
}

TEST(BentoFsJournal, FsckReplaysTheJournalToo) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "abc");
  ASSERT_TRUE(t.fs->commit_now().ok());
  auto crashed = ImageDevice::from_bytes(t.dev->durable_bytes());
  auto rep = run_fsck(*crashed, {});
  EXPECT_EQ(rep.exit_code, 1);  // replayed = corrected
  EXPECT_TRUE(rep.problems.empty()) << rep.problems[0];
  EXPECT_EQ(run_fsck(*crashed, {}).exit_code, 0);
}

TEST(BentoFsJournal, ConcurrentWritersShareCommits) {
  TestFs t(32768);
  constexpr int kThreads = 8, kFiles = 40;
  std::vector<std::thread> th;
  for (int w = 0; w < kThreads; w++) {
    th.emplace_back([&, w] {
      for (int i = 0; i < kFiles; i++) {
        std::string name = "t" + std::to_string(w) + "_" + std::to_string(i);
        auto c = t.fs->create(t.r, kRootIno, name, 0644, oflag::kReadWrite);
        ASSERT_TRUE(c.ok());
        std::string data(5000, static_cast<char>('a' + w));
        ASSERT_TRUE(t.fs->write(t.r, c->entry.ino, c->open.fh, 0,
                                {reinterpret_cast<const uint8_t*>(data.data()), data.size()})
                        .ok());
        if (i % 10 == 0) {
          ASSERT_TRUE(t.fs->fsync(t.r, c->entry.ino, c->open.fh, false).ok());
        }
        ASSERT_TRUE(t.fs->release(t.r, c->entry.ino, c->open.fh, 0).ok());
      }
    });
  }
  for (auto& x : th) x.join();
  t.remount();
  for (int w = 0; w < kThreads; w++) {
    for (int i = 0; i < kFiles; i += 7) {
      EXPECT_EQ(t.read(t.lookup(kRootIno, "t" + std::to_string(w) + "_" + std::to_string(i))),
                std::string(5000, static_cast<char>('a' + w)));
    }
  }
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

TEST(BentoFsJournal, LargeWritesCycleThroughCheckpoints) {
  TestFs t(16384);  // journal of 1024 blocks: 12 MiB forces several checkpoints
  auto e = t.create(kRootIno, "big");
  std::string data(12 << 20, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7 + i / 4096);
  t.write(e.ino, 0, data);
  t.remount();
  EXPECT_EQ(t.read(t.lookup(kRootIno, "big"), 0, data.size()), data);
}

// A checkpoint writes frozen copies of its blocks home, so handles run during its
// write-back, and what they change stays out of the home blocks until it commits.
TEST(BentoFsJournal, HandlesRunWhileACheckpointWritesHome) {
  using namespace std::chrono_literals;
  TestFs t(4096);
  t.unmount();
  t.mount("commit=600000");  // commits only when asked
  auto a = t.create(kRootIno, "a");
  t.write(a.ino, 0, std::string(8192, '1'));
  ASSERT_TRUE(t.fs->commit_now().ok());
  t.write(a.ino, 0, std::string(8192, '2'));  // committed by the checkpoint itself
  // Hold the checkpoint at its second flush (its transaction's commit block), before it
  // writes anything home.
  std::mutex mu;
  std::condition_variable cv;
  int flushes = 0;
  bool held = false, gate_open = false;
  std::thread::id checkpointer;
  t.dev->set_flush_hook([&] {
    std::unique_lock lk(mu);
    if (std::this_thread::get_id() != checkpointer || ++flushes != 2) return;
    held = true;
    cv.notify_all();
    cv.wait(lk, [&] { return gate_open; });
  });
  t.dev->start_recording();
  std::thread ckp([&] {
    {
      std::lock_guard lk(mu);
      checkpointer = std::this_thread::get_id();
    }
    EXPECT_TRUE(t.fs->sync_now().ok());
  });
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, 10s, [&] { return held; })) << "the checkpoint never flushed";
  }
  auto change = std::async(std::launch::async, [&] {
    t.write(a.ino, 0, std::string(8192, '3'));
    t.create(kRootIno, "b");
  });
  const bool ran = change.wait_for(10s) == std::future_status::ready;
  {
    std::lock_guard lk(mu);
    gate_open = true;
    cv.notify_all();
  }
  ckp.join();
  change.get();
  t.dev->set_flush_hook({});
  EXPECT_TRUE(ran) << "a write and a create waited for the checkpoint's write-back";
  const auto after = t.dev->durable_bytes();  // a crash now: the change is not committed

  auto expect_image = [&](std::vector<uint8_t> img, char content, bool has_b) {
    auto crashed = ImageDevice::from_bytes(std::move(img));
    EXPECT_EQ(pending_txns(crashed->durable_bytes()), has_b ? 1u : 0u);
    BentoFs fs2;
    ASSERT_TRUE(fs2.init(t.r, *crashed, {}).ok());
    auto l = fs2.lookup(t.r, kRootIno, "a");
    ASSERT_TRUE(l.ok());
    std::string out(8192, '\0');
    auto n = fs2.read(t.r, l->ino, 0, 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(out == std::string(8192, content))
        << "a holds '" << out.substr(0, 4) << "...', not '" << content << "...'";
    EXPECT_EQ(fs2.lookup(t.r, kRootIno, "b").ok(), has_b);
    fs2.destroy(t.r);
    auto rep = run_fsck(*crashed, {});
    EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
  };
  // The log was reset with nothing after it: the home blocks alone hold the checkpointed
  // state, none of the changes made before its blocks were written home.
  expect_image(after, '2', false);
  ASSERT_TRUE(t.fs->commit_now().ok());
  expect_image(t.dev->durable_bytes(), '3', true);  // committed into the fresh log

  // A crash at any write of it all: a clean file system whose `a` only moves forward, with
  // `b` only beside the content written with it.
  const size_t total = t.dev->recorded();
  ASSERT_GT(total, 8u);
  auto img = t.dev->image_after(0);
  char last = '1';
  for (size_t n = 0; n <= total; n++) {
    if (n > 0) t.dev->apply_records(&img, n - 1, n);
    auto crashed = ImageDevice::from_bytes(img);
    BentoFs fs2;
    ASSERT_TRUE(fs2.init(t.r, *crashed, {}).ok()) << "prefix " << n;
    auto l = fs2.lookup(t.r, kRootIno, "a");
    ASSERT_TRUE(l.ok()) << "prefix " << n;
    std::string out(8192, '\0');
    ASSERT_TRUE(
        fs2.read(t.r, l->ino, 0, 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()}).ok());
    const char now = out[0];
    EXPECT_TRUE(out == std::string(8192, now)) << "prefix " << n << ": a is torn";
    EXPECT_GE(now, last) << "prefix " << n << ": a went back";
    last = now;
    EXPECT_EQ(fs2.lookup(t.r, kRootIno, "b").ok(), now == '3') << "prefix " << n;
    fs2.destroy(t.r);
    auto rep = run_fsck(*crashed, {});
    EXPECT_LE(rep.exit_code, 1) << "prefix " << n << ": "
                                << (rep.problems.empty() ? "" : rep.problems[0]);
  }
  EXPECT_EQ(last, '3');
}

// Where the device writes around its cache, a checkpoint starts once half the log is in
// use, without a commit being due or the log being full: its write-back then overlaps with
// the other half filling.
TEST(BentoFsJournal, HalfTheLogStartsACheckpoint) {
  using namespace std::chrono_literals;
  TestFs t;  // a journal of 1024 blocks: half of what handles may use is 384
  t.unmount();
  t.mount("commit=600000");  // no commit falls due during the test
  auto e = t.create(kRootIno, "big");
  const std::string chunk(256 << 10, 'q');                                        // 64 blocks
  for (int i = 0; i < 8; i++) t.write(e.ino, uint64_t(i) * chunk.size(), chunk);  // 512 blocks
  // The checkpoint runs on the commit thread: wait for a crash image that has the file.
  bool durable = false;
  for (int i = 0; i < 200 && !durable; i++) {
    auto crashed = ImageDevice::from_bytes(t.dev->durable_bytes());
    BentoFs fs2;
    if (fs2.init(t.r, *crashed, {}).ok()) {
      auto l = fs2.lookup(t.r, kRootIno, "big");
      durable = l.ok() && l->attr.size >= 4 * chunk.size();
      fs2.destroy(t.r);
    }
    if (!durable) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(durable) << "512 blocks written in a 1024-block journal, and nothing committed";
}

// Work deferred to the commit hook while the journal quiesced (a provenance record whose
// log-only handle would have waited, Journal::defer_log_only) is committed by a commit of
// its own when the hook could not take it in the commit under way (it was deferred after
// that hook ran): even with no other change, and fsync waits for it.
struct DeferredHook {
  std::atomic<int> calls{0};
  std::atomic<bool> take{false};  // the hook takes the deferred work
  std::atomic<bool> write{true};  // ... and changes a block for it
};
Status deferred_hook(void* arg, Handle& h) {
  auto* s = static_cast<DeferredHook*>(arg);
  s->calls++;
  if (!s->take) return Status::Ok();
  if (s->write) {
    BENTO_ASSIGN_OR_RETURN(BufferHead bh, h.get_write(1500));
    bh.data_mut()[0] = 0x5a;
  }
  h.journal().deferred_done();
  return Status::Ok();
}

TEST(BentoFsJournal, WorkDeferredToTheHookIsCommittedEvenWithNoOtherChange) {
  using namespace std::chrono_literals;
  auto dev = ImageDevice::from_bytes(std::vector<uint8_t>(2048 * 4096, 0));
  ASSERT_TRUE(Journal::write_super(*dev, 1, 1024, 1).ok());
  DeferredHook hook;
  {
    Journal j(*dev, 1, 1024, 1);
    j.set_commit_hook(&deferred_hook, &hook);
    ASSERT_TRUE(j.start_thread(600000).ok());
    EXPECT_FALSE(j.defer_log_only()) << "deferred with no commit under way";
    auto held = j.begin(1);  // an operation in progress: the commit below waits for it
    ASSERT_TRUE(held.ok());
    ASSERT_TRUE(held->get_write(1600).ok());
    const uint64_t first = held->tid();
    auto commit = std::async(std::launch::async, [&] { return j.wait_commit(first); });
    bool quiescing = false;
    for (int i = 0; i < 10000 && !quiescing; i++) {
      auto h = j.try_begin_log_only(1);
      quiescing = !h.ok() && h.error() == EAGAIN;
      if (!quiescing) std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(quiescing) << "the commit never quiesced";
    EXPECT_TRUE(j.defer_log_only());
    held->end();
    ASSERT_TRUE(commit.get().ok());
    EXPECT_GE(hook.calls, 1);  // which did not take the work: as if deferred after it ran
    EXPECT_EQ(j.committed_tid(), first);

    int calls = hook.calls;
    hook.take = true;
    ASSERT_TRUE(j.wait_commit(j.next_sequence()).ok());  // does not return before it
    EXPECT_GT(hook.calls, calls);
    EXPECT_EQ(j.committed_tid(), first + 1) << "the deferred work alone was not committed";
    calls = hook.calls;
    ASSERT_TRUE(j.wait_commit(j.next_sequence()).ok());  // nothing deferred: no commit
    EXPECT_EQ(hook.calls, calls);

    // Deferred work that leaves nothing to commit gives its transaction id back.
    held = j.begin(1);
    ASSERT_TRUE(held.ok());
    ASSERT_TRUE(held->get_write(1601).ok());
    hook.take = false;
    commit = std::async(std::launch::async, [&, tid = held->tid()] { return j.wait_commit(tid); });
    quiescing = false;
    for (int i = 0; i < 10000 && !quiescing; i++) {
      auto h = j.try_begin_log_only(1);
      quiescing = !h.ok() && h.error() == EAGAIN;
      if (!quiescing) std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(quiescing);
    EXPECT_TRUE(j.defer_log_only());
    held->end();
    ASSERT_TRUE(commit.get().ok());
    const uint64_t committed = j.committed_tid();
    calls = hook.calls;
    hook.take = true;
    hook.write = false;
    const uint64_t next = j.next_sequence();
    ASSERT_TRUE(j.wait_commit(next).ok());
    EXPECT_GT(hook.calls, calls);
    EXPECT_EQ(j.next_sequence(), next) << "an id taken for an empty transaction";
    EXPECT_EQ(j.committed_tid(), committed);
    ASSERT_TRUE(j.shutdown().ok());
  }
  // Replay finds every commit, in order, with the hook's block.
  auto crashed = ImageDevice::from_bytes(dev->durable_bytes());
  uint64_t replayed = 0;
  ASSERT_TRUE(Journal::replay(*crashed, 1, 1024, &replayed).ok());
  uint8_t b = 0;
  crashed->peek(1500 * 4096, &b, 1);
  EXPECT_EQ(b, 0x5a);
}

}  // namespace
}  // namespace bentofs::test

namespace {

// A CRC-32C implementation against the standard check value and a byte-at-a-time
// reference, at every length and alignment a block checksum can meet, and in pieces.
void expect_crc32c(uint32_t (*update)(uint32_t, const uint8_t*, size_t), const char* what) {
  const char* check = "123456789";
  EXPECT_EQ(~update(~0u, reinterpret_cast<const uint8_t*>(check), 9), 0xE3069283u) << what;
  const auto table = bentofs::make_crc32c_table();
  std::vector<uint8_t> data(4096 + 16);
  uint32_t x = 12345;
  for (auto& b : data) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
  for (size_t off : {0, 1, 3, 7}) {
    for (size_t len : {0, 1, 7, 8, 9, 63, 64, 4095, 4096}) {
      uint32_t ref = ~0u;
      for (size_t i = 0; i < len; i++) ref = table[(ref ^ data[off + i]) & 0xff] ^ (ref >> 8);
      EXPECT_EQ(update(~0u, data.data() + off, len), ref)
          << what << ", offset " << off << " length " << len;
    }
  }
  uint32_t whole = update(~0u, data.data(), 4096);
  uint32_t parts = update(~0u, data.data(), 13);
  parts = update(parts, data.data() + 13, 4096 - 13);
  EXPECT_EQ(whole, parts) << what;
}

TEST(Crc32c, PortableAndDispatchedMatchTheStandard) {
  expect_crc32c(bentofs::crc32c_update_sw, "slicing-by-8");
  expect_crc32c(bentofs::crc32c_update, "crc32c_update (what the journal calls)");
  const char* check = "123456789";
  EXPECT_EQ(bentofs::crc32c(reinterpret_cast<const uint8_t*>(check), 9), 0xE3069283u);
}

// The CRC32 instruction is what the journal uses on CPUs that have it.
TEST(Crc32c, CpuInstructionMatchesTheStandard) {
  if (!bentofs::crc32c_hw_available())
    GTEST_SKIP() << "SKIPPED LOUDLY: this CPU has no SSE4.2 CRC32 instruction; only the "
                    "portable slicing-by-8 CRC-32C is tested";
  expect_crc32c(bentofs::crc32c_update_hw, "CRC32 instruction");
}

}  // namespace
