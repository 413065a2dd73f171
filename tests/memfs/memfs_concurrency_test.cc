// memfs under concurrent calls: per-thread files in a shared directory, renames between two
// directories, readers and listers running alongside, then a consistency check.
#include <atomic>
#include <set>
#include <thread>

#include "memfs_test_util.h"

namespace memfs_test {
namespace {

using Concurrency = MemfsFixture;

TEST_F(Concurrency, ThreadsCreateWriteReadRenameDelete) {
  Ino shared = mkdir(kRootIno, "shared");
  Ino other = mkdir(kRootIno, "other");
  constexpr int kThreads = 6;
  constexpr int kIters = 300;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  auto fail = [&](const char* what, int err) {
    if (failures.fetch_add(1) < 10) ADD_FAILURE() << what << ": " << err;
  };

  auto worker = [&](int t) {
    Request req = root_;
    req.pid = 100 + t;
    for (int i = 0; i < kIters; i++) {
      std::string name = "t" + std::to_string(t) + "_" + std::to_string(i % 7);
      std::string data(100 + (i * 37 + t) % 9000, static_cast<char>('a' + t));
      auto c = fs_.create(req, shared, name, 0644, oflag::kReadWrite | oflag::kCreate);
      if (!c.ok()) {
        fail("create", c.error());
        continue;
      }
      auto w = fs_.write(req, c->entry.ino, c->open.fh, 0, bytes(data));
      if (!w.ok() || *w != data.size()) fail("write", w.error());
      std::vector<uint8_t> buf(data.size() + 10);
      auto r = fs_.read(req, c->entry.ino, c->open.fh, 0, buf);
      if (!r.ok() || *r < data.size() ||
          std::string(buf.begin(), buf.begin() + data.size()) != data)
        fail("read back", r.error());
      (void)fs_.release(req, c->entry.ino, c->open.fh, 0);
      switch (i % 3) {
        case 0:  // delete it
          if (auto s = fs_.unlink(req, shared, name); !s.ok()) fail("unlink", s.error());
          break;
        case 1: {  // move it to the other directory and back under a new name
          std::string moved = name + "_m";
          if (auto s = fs_.rename(req, shared, name, other, moved, 0); !s.ok())
            fail("rename out", s.error());
          if (auto s = fs_.rename(req, other, moved, shared, name, 0); !s.ok())
            fail("rename back", s.error());
          break;
        }
        default:  // replace a sibling of our own by rename-over
          (void)fs_.rename(req, shared, name, shared, "t" + std::to_string(t) + "_keep", 0);
          break;
      }
      fs_.forget(c->entry.ino, 1);
    }
  };
  // Readers: list both directories and stat what they see, racing with everything above.
  auto lister = [&]() {
    while (!stop.load()) {
      for (Ino dir : {shared, other}) {
        auto o = fs_.opendir(root_, dir, 0);
        if (!o.ok()) {
          fail("opendir", o.error());
          continue;
        }
        // A name may legitimately show up twice (renamed away and back mid-listing gets a
        // new cookie), but offsets must strictly increase: the cursor never goes back.
        uint64_t off = 0;
        for (;;) {
          VecFiller f(true, 16);
          if (auto s = fs_.readdir(root_, dir, o->fh, off, f); !s.ok()) fail("readdir", s.error());
          if (f.out.empty()) break;
          for (auto& e : f.out) {
            if (e.next <= off) fail("readdir offset went backwards", 0);
            off = e.next;
            if (e.name != "." && e.name != "..") fs_.forget(e.ino, 1);
          }
        }
        (void)fs_.releasedir(root_, dir, o->fh);
      }
      (void)fs_.statfs(root_, kRootIno);
      (void)fs_.getattr(root_, shared, kNoFh);
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) threads.emplace_back(worker, t);
  std::thread l1(lister), l2(lister);
  for (auto& th : threads) th.join();
  stop = true;
  l1.join();
  l2.join();
  EXPECT_EQ(failures.load(), 0);

  // Expected survivors: for each thread the names whose last iteration kept them, plus _keep.
  std::set<std::string> expect;
  for (int t = 0; t < kThreads; t++) {
    for (int j = 0; j < 7; j++) {
      int last = -1;
      for (int i = 0; i < kIters; i++)
        if (i % 7 == j) last = i;
      if (last % 3 == 1) expect.insert("t" + std::to_string(t) + "_" + std::to_string(j));
    }
    expect.insert("t" + std::to_string(t) + "_keep");
  }
  auto got = names(shared);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), expect);
  EXPECT_TRUE(names(other).empty());
  EXPECT_EQ(attr(shared).nlink, 2u);
  EXPECT_EQ(attr(kRootIno).nlink, 4u);
  // Every surviving file has exactly one link and readable data of its thread.
  for (const auto& n : got) {
    Ino ino = lookup(shared, n);
    ASSERT_NE(ino, 0u);
    EXPECT_EQ(attr(ino).nlink, 1u);
    std::string data = read_all(ino);
    ASSERT_FALSE(data.empty());
    EXPECT_EQ(data.find_first_not_of(data[0]), std::string::npos) << n;
  }
  // Nothing leaked: root, two dirs and the survivors (lookups were all forgotten).
  auto st = fs_.statfs(root_, kRootIno);
  EXPECT_EQ(st->files - st->files_free, 3 + expect.size());
}

TEST_F(Concurrency, ParallelWritersToOneFileAndAppenders) {
  Ino f = mkfile(kRootIno, "big");
  constexpr int kThreads = 4;
  constexpr int kChunks = 200;
  constexpr size_t kChunk = 5000;  // not page aligned: neighbouring writes share pages
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      auto o = fs_.open(root_, f, oflag::kReadWrite);
      ASSERT_TRUE(o.ok());
      for (int i = t; i < kChunks; i += kThreads) {
        std::string chunk(kChunk, static_cast<char>('A' + i % 26));
        ASSERT_TRUE(fs_.write(root_, f, o->fh, uint64_t(i) * kChunk, bytes(chunk)).ok());
      }
      ASSERT_TRUE(fs_.release(root_, f, o->fh, 0).ok());
    });
  }
  Ino log = mkfile(kRootIno, "log");
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      auto o = fs_.open(root_, log, oflag::kWriteOnly | oflag::kAppend);
      ASSERT_TRUE(o.ok());
      for (int i = 0; i < 500; i++)
        ASSERT_TRUE(fs_.write(root_, log, o->fh, 0, bytes("0123456789\n")).ok());
      ASSERT_TRUE(fs_.release(root_, log, o->fh, 0).ok());
    });
  }
  for (auto& th : threads) th.join();
  std::string all = read_all(f);
  ASSERT_EQ(all.size(), kChunks * kChunk);
  for (int i = 0; i < kChunks; i++)
    ASSERT_EQ(all.substr(i * kChunk, kChunk), std::string(kChunk, 'A' + i % 26)) << i;
  std::string lines = read_all(log);
  EXPECT_EQ(lines.size(), size_t(kThreads) * 500 * 11);
  for (size_t i = 0; i < lines.size(); i += 11) ASSERT_EQ(lines.substr(i, 11), "0123456789\n");
}

TEST_F(Concurrency, CrossRenamesOfDirectoriesDoNotDeadlockOrLoop) {
  Ino a = mkdir(kRootIno, "a");
  Ino b = mkdir(kRootIno, "b");
  mkdir(a, "x");
  mkdir(b, "y");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; i++) {
        // Try to move a into b and b into a at the same time: exactly the loop case.
        if (t % 2 == 0)
          (void)fs_.rename(root_, kRootIno, "a", b, "a", 0),
              (void)fs_.rename(root_, b, "a", kRootIno, "a", 0);
        else
          (void)fs_.rename(root_, kRootIno, "b", a, "b", 0),
              (void)fs_.rename(root_, a, "b", kRootIno, "b", 0);
      }
    });
  }
  for (auto& th : threads) th.join();
  // Both directories are reachable from the root (no detached cycle), with sane counts.
  auto walk_up = [&](Ino d) {
    for (int steps = 0; steps < 10; steps++) {
      if (d == kRootIno) return true;
      d = lookup(d, "..");
    }
    return false;
  };
  EXPECT_TRUE(walk_up(a));
  EXPECT_TRUE(walk_up(b));
  uint32_t dirs_in_root = 0;
  for (const auto& n : names(kRootIno)) dirs_in_root += (n == "a" || n == "b");
  EXPECT_EQ(attr(kRootIno).nlink, 2 + dirs_in_root);
}

}  // namespace
}  // namespace memfs_test
