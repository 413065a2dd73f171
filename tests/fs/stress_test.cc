// Concurrency: threads mixing creates, writes, renames across directories, links,
// unlinks, rmdirs and readdirs must neither deadlock nor corrupt (fsck clean after).
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

TEST(BentoFsStress, MixedNamespaceOpsFromManyThreads) {
  TestFs t(32768);
  std::vector<Ino> dirs;
  for (int i = 0; i < 4; i++)
    dirs.push_back(t.fs->mkdir(t.r, kRootIno, "d" + std::to_string(i), 0755)->ino);
  auto sub = t.fs->mkdir(t.r, dirs[0], "sub", 0755);
  dirs.push_back(sub->ino);
  std::atomic<int> ops{0};
  auto worker = [&](int seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 400; i++) {
      Ino a = dirs[rng() % dirs.size()], b = dirs[rng() % dirs.size()];
      std::string n1 = "n" + std::to_string(rng() % 20), n2 = "n" + std::to_string(rng() % 20);
      switch (rng() % 8) {
        case 0: {
          auto c = t.fs->create(t.r, a, n1, 0644, oflag::kReadWrite);
          if (c.ok()) {
            std::string d(rng() % 9000, 'x');
            (void)t.fs->write(t.r, c->entry.ino, c->open.fh, 0,
                              {reinterpret_cast<const uint8_t*>(d.data()), d.size()});
            (void)t.fs->release(t.r, c->entry.ino, c->open.fh, 0);
            t.fs->forget(c->entry.ino, 1);
          }
          break;
        }
        case 1:
        case 2:
          (void)t.fs->rename(t.r, a, n1, b, n2, rng() % 3 == 0 ? rename_flag::kExchange : 0);
          break;
        case 3:
          (void)t.fs->unlink(t.r, a, n1);
          break;
        case 4: {
          auto m = t.fs->mkdir(t.r, a, n1, 0755);
          if (m.ok()) t.fs->forget(m->ino, 1);
          break;
        }
        case 5:
          (void)t.fs->rmdir(t.r, a, n1);
          break;
        case 6: {
          auto e = t.fs->lookup(t.r, a, n1);
          if (e.ok()) {
            auto l = t.fs->link(t.r, e->ino, b, n2);
            if (l.ok()) t.fs->forget(l->ino, 1);
            t.fs->forget(e->ino, 1);
          }
          break;
        }
        default: {
          VecFiller f;
          (void)t.fs->readdir(t.r, a, 0, 0, f);
        }
      }
      ops++;
    }
  };
  std::vector<std::thread> th;
  for (int i = 0; i < 6; i++) th.emplace_back(worker, i + 1);
  for (auto& x : th) x.join();
  EXPECT_EQ(ops.load(), 6 * 400);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
  t.remount();
  auto rep2 = t.fsck();
  EXPECT_EQ(rep2.exit_code, 0) << (rep2.problems.empty() ? "" : rep2.problems[0]);
}

}  // namespace
}  // namespace bentofs::test
