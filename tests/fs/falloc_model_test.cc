// Model-checked fallocate: seeded random sequences of write, truncate, fallocate in every
// mode (allocate, keep size, punch hole, zero range, collapse range, insert range), reads,
// SEEK_DATA/SEEK_HOLE and the extent map on a few files, each compared with a model of the
// file's bytes and of which logical blocks are allocated: contents (holes read as zeroes),
// sizes, st_blocks (data plus the pointer blocks the model derives from the allocated
// set), statfs free blocks, every seek result. Remounts in between; fsck clean at the end.
//
// Reproduce one seed: BENTO_FALLOC_SEED=<n> bento_fs_test --gtest_filter='*Falloc*'.
#include <map>
#include <random>
#include <set>

#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;
namespace fl = bento::falloc;

constexpr uint64_t kB = 4096;

struct ModelFile {
  std::string data;           // the bytes (size = data.size())
  std::set<uint64_t> mapped;  // allocated logical blocks (may lie past the size)
};

uint64_t div_up(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

// Data blocks plus the pointer blocks of the trees (FORMAT.md §4.1) that map them.
uint64_t model_blocks(const std::set<uint64_t>& mapped) {
  struct Region {
    uint64_t base, count;
    uint32_t depth;
  };
  const Region regions[] = {{12, 1024, 1},
                            {12 + 1024, 1ull << 20, 2},
                            {12 + 1024 + (1ull << 20), 1ull << 30, 3},
                            {12 + 1024 + (1ull << 20) + (1ull << 30), 1ull << 40, 4}};
  uint64_t n = mapped.size();
  for (const Region& r : regions) {
    std::set<uint64_t> levels[4];
    bool any = false;
    for (uint64_t l : mapped) {
      if (l < r.base || l >= r.base + r.count) continue;
      any = true;
      for (uint32_t k = 1; k < r.depth; k++) levels[k].insert((l - r.base) >> (10 * k));
    }
    if (!any) continue;
    n += 1;  // the root
    for (uint32_t k = 1; k < r.depth; k++) n += levels[k].size();
  }
  return n;
}

class FallocModel : public ::testing::TestWithParam<int> {};

TEST_P(FallocModel, RandomFallocateMatchesModel) {
  const char* env = getenv("BENTO_FALLOC_SEED");
  const uint64_t seed = env ? strtoull(env, nullptr, 10) : static_cast<uint64_t>(GetParam());
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto below = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  TestFs t(16384);
  const uint64_t free0 = t.fs->statfs(t.r, kRootIno)->blocks_free;
  constexpr int kFiles = 3;
  std::vector<Ino> inos;
  std::vector<ModelFile> model(kFiles);
  for (int i = 0; i < kFiles; i++) inos.push_back(t.create(kRootIno, "f" + std::to_string(i)).ino);
  const uint64_t free_after_create = t.fs->statfs(t.r, kRootIno)->blocks_free;
  ASSERT_EQ(free_after_create, free0);  // empty files own no blocks

  // Offsets: mostly near the start, sometimes around the indirect and double-indirect edges.
  auto pick_off = [&]() -> uint64_t {
    switch (below(6)) {
      case 0:
        return (12 * kB - 3 * kB) + below(6 * kB);
      case 1:
        return ((12 + 1024) * kB - 4 * kB) + below(8 * kB);
      default:
        return below(40 * kB);
    }
  };
  auto check = [&](int i, const std::string& what) {
    SCOPED_TRACE(what);
    ModelFile& m = model[i];
    auto a = t.fs->getattr(t.r, inos[i], 0);
    ASSERT_TRUE(a.ok());
    ASSERT_EQ(a->size, m.data.size());
    ASSERT_EQ(a->blocks, model_blocks(m.mapped) * 8);
    std::string got = t.read(inos[i], 0, m.data.size() + 100);
    ASSERT_EQ(got.size(), m.data.size());
    for (size_t k = 0; k < got.size(); k++)
      ASSERT_EQ(got[k], m.data[k]) << "byte " << k << " of file " << i;
    // SEEK_DATA / SEEK_HOLE at a few offsets, including block edges.
    const uint64_t size = m.data.size();
    const uint64_t nb = div_up(size, kB);
    for (int probe = 0; probe < 6; probe++) {
      uint64_t off = below(size + 2 * kB);
      if (probe == 0) off = 0;
      for (uint32_t whence : {seek::kData, seek::kHole}) {
        auto r = t.fs->lseek(t.r, inos[i], 0, off, whence);
        if (off >= size) {
          ASSERT_EQ(r.error(), ENXIO) << "off " << off;
          continue;
        }
        uint64_t l = off / kB;
        if (whence == seek::kData) {
          auto it = m.mapped.lower_bound(l);
          if (it == m.mapped.end() || *it >= nb) {
            ASSERT_EQ(r.error(), ENXIO) << "SEEK_DATA " << off;
          } else {
            ASSERT_TRUE(r.ok()) << "SEEK_DATA " << off << ": " << r.error();
            ASSERT_EQ(*r, std::max(off, *it * kB)) << "SEEK_DATA " << off;
          }
        } else {
          while (l < nb && m.mapped.count(l)) l++;
          ASSERT_TRUE(r.ok()) << "SEEK_HOLE " << off;
          ASSERT_EQ(*r, std::max(off, std::min(l * kB, size))) << "SEEK_HOLE " << off;
        }
      }
    }
    // The extent map covers exactly the allocated blocks.
    std::vector<Extent> ext(4096);
    auto n = t.fs->fiemap(t.r, inos[i], 0, ~0ull, ext);
    ASSERT_TRUE(n.ok());
    std::set<uint64_t> from_map;
    for (size_t k = 0; k < *n; k++) {
      ASSERT_EQ(ext[k].logical % kB, 0u);
      for (uint64_t b = 0; b < ext[k].length / kB; b++) from_map.insert(ext[k].logical / kB + b);
      ASSERT_EQ((ext[k].flags & extent_flag::kLast) != 0, k + 1 == *n);
    }
    ASSERT_EQ(from_map, m.mapped);
  };
  auto check_free = [&]() {
    uint64_t owned = 0;
    for (auto& m : model) owned += model_blocks(m.mapped);
    ASSERT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, free0 - owned);
  };

  const int ops = 120;
  for (int op = 0; op < ops; op++) {
    const int i = static_cast<int>(below(kFiles));
    ModelFile& m = model[i];
    const uint64_t size = m.data.size();
    Fh fh = t.open(inos[i]);
    std::string what;
    switch (below(9)) {
      case 0: {  // write
        uint64_t off = pick_off();
        std::string d(1 + below(3 * kB), static_cast<char>('a' + below(26)));
        what = "write " + std::to_string(off) + "+" + std::to_string(d.size());
        auto w = t.fs->write(t.r, inos[i], fh, off,
                             {reinterpret_cast<const uint8_t*>(d.data()), d.size()});
        ASSERT_TRUE(w.ok()) << what;
        if (m.data.size() < off + d.size()) m.data.resize(off + d.size(), '\0');
        m.data.replace(off, d.size(), d);
        for (uint64_t l = off / kB; l < div_up(off + d.size(), kB); l++) m.mapped.insert(l);
        break;
      }
      case 1: {  // truncate
        uint64_t ns = below(2) ? below(size + 1) : pick_off();
        what = "truncate " + std::to_string(ns);
        SetAttr sa;
        sa.valid = SetAttr::kSize;
        sa.size = ns;
        ASSERT_TRUE(t.fs->setattr(t.r, inos[i], sa, fh).ok()) << what;
        m.data.resize(ns, '\0');
        m.mapped.erase(m.mapped.lower_bound(div_up(ns, kB)), m.mapped.end());
        break;
      }
      case 2:
      case 3: {  // allocate (mode 0 or keep size) / zero range (with or without keep size)
        const bool zero = below(2) != 0;
        const bool keep = below(2) != 0;
        uint64_t off = pick_off(), len = 1 + below(5 * kB);
        uint32_t mode = (zero ? fl::kZeroRange : 0) | (keep ? fl::kKeepSize : 0);
        what = "fallocate " + std::to_string(mode) + " " + std::to_string(off) + "+" +
               std::to_string(len);
        ASSERT_TRUE(t.fs->fallocate(t.r, inos[i], fh, mode, off, len).ok()) << what;
        for (uint64_t l = off / kB; l < div_up(off + len, kB); l++) m.mapped.insert(l);
        if (!keep && off + len > m.data.size()) m.data.resize(off + len, '\0');
        if (zero) {
          for (uint64_t k = off; k < off + len && k < m.data.size(); k++) m.data[k] = '\0';
        }
        break;
      }
      case 4:
      case 5: {  // punch hole
        uint64_t off = pick_off(), len = 1 + below(6 * kB);
        what = "punch " + std::to_string(off) + "+" + std::to_string(len);
        ASSERT_TRUE(
            t.fs->fallocate(t.r, inos[i], fh, fl::kPunchHole | fl::kKeepSize, off, len).ok())
            << what;
        for (uint64_t k = off; k < off + len && k < m.data.size(); k++) m.data[k] = '\0';
        for (uint64_t l = div_up(off, kB); l < (off + len) / kB; l++) m.mapped.erase(l);
        break;
      }
      case 6: {  // collapse range
        uint64_t off = below(div_up(size, kB) + 1) * kB, len = (1 + below(4)) * kB;
        what = "collapse " + std::to_string(off) + "+" + std::to_string(len);
        auto s = t.fs->fallocate(t.r, inos[i], fh, fl::kCollapseRange, off, len);
        if (off + len >= size) {
          ASSERT_EQ(s.error(), EINVAL) << what;
          break;
        }
        ASSERT_TRUE(s.ok()) << what << ": " << s.error();
        m.data.erase(off, len);
        std::set<uint64_t> next;
        for (uint64_t l : m.mapped) {
          if (l < off / kB)
            next.insert(l);
          else if (l >= (off + len) / kB)
            next.insert(l - len / kB);
        }
        m.mapped = next;
        break;
      }
      case 7: {  // insert range
        uint64_t off = below(div_up(size, kB) + 1) * kB, len = (1 + below(4)) * kB;
        what = "insert " + std::to_string(off) + "+" + std::to_string(len);
        auto s = t.fs->fallocate(t.r, inos[i], fh, fl::kInsertRange, off, len);
        if (off >= size) {
          ASSERT_EQ(s.error(), EINVAL) << what;
          break;
        }
        ASSERT_TRUE(s.ok()) << what << ": " << s.error();
        m.data.insert(off, std::string(len, '\0'));
        std::set<uint64_t> next;
        for (uint64_t l : m.mapped) next.insert(l < off / kB ? l : l + len / kB);
        m.mapped = next;
        break;
      }
      case 8: {  // misaligned collapse/insert and invalid mode combinations
        what = "invalid modes";
        EXPECT_EQ(t.fs->fallocate(t.r, inos[i], fh, fl::kCollapseRange, 100, kB).error(), EINVAL);
        EXPECT_EQ(t.fs->fallocate(t.r, inos[i], fh, fl::kInsertRange, kB, 10).error(), EINVAL);
        EXPECT_EQ(t.fs->fallocate(t.r, inos[i], fh, fl::kPunchHole, 0, kB).error(), EOPNOTSUPP);
        EXPECT_EQ(t.fs->fallocate(t.r, inos[i], fh, 0x40, 0, kB).error(), EOPNOTSUPP);
        EXPECT_EQ(t.fs->fallocate(t.r, inos[i], fh, 0, 0, 0).error(), EINVAL);
        break;
      }
    }
    ASSERT_TRUE(t.fs->release(t.r, inos[i], fh, 0).ok());
    ASSERT_NO_FATAL_FAILURE(check(i, "after op " + std::to_string(op) + ": " + what));
    ASSERT_NO_FATAL_FAILURE(check_free());
    if (op % 50 == 49) {
      t.remount();
      for (int k = 0; k < kFiles; k++) ASSERT_NO_FATAL_FAILURE(check(k, "after remount"));
    }
  }
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

INSTANTIATE_TEST_SUITE_P(Seeds, FallocModel, ::testing::Range(1, 5));

// fallocate that cannot fit fails with ENOSPC up front: nothing allocated, size unchanged.
TEST(BentoFsFalloc, EnospcChangesNothing) {
  TestFs t(4096);
  auto e = t.create(kRootIno, "f");
  t.write(e.ino, 0, "keep");
  Fh fh = t.open(e.ino);
  const uint64_t free = t.fs->statfs(t.r, kRootIno)->blocks_free;
  auto s = t.fs->fallocate(t.r, e.ino, fh, 0, 0, (free + 10) * kB);
  EXPECT_EQ(s.error(), ENOSPC);
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, free);
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->size, 4u);
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->blocks, 8u);
  // What fits is allocated, and counted in statfs.
  ASSERT_TRUE(t.fs->fallocate(t.r, e.ino, fh, fl::kKeepSize, 0, 100 * kB).ok());
  EXPECT_EQ(t.fs->statfs(t.r, kRootIno)->blocks_free, free - 99 - 1);  // + indirect block
  EXPECT_EQ(t.fs->getattr(t.r, e.ino, 0)->size, 4u);
  ASSERT_TRUE(t.fs->release(t.r, e.ino, fh, 0).ok());
  EXPECT_EQ(t.read(e.ino), "keep");
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
}

// Through a read-only handle or on a directory: the errors fallocate(2) gives.
TEST(BentoFsFalloc, Errors) {
  TestFs t;
  auto e = t.create(kRootIno, "f");
  Fh ro = t.open(e.ino, oflag::kReadOnly);
  EXPECT_EQ(t.fs->fallocate(t.r, e.ino, ro, 0, 0, kB).error(), EBADF);
  ASSERT_TRUE(t.fs->release(t.r, e.ino, ro, 0).ok());
  EXPECT_EQ(t.fs->fallocate(t.r, kRootIno, 0, 0, 0, kB).error(), EISDIR);
  auto fifo = t.fs->mknod(t.r, kRootIno, "p", mode::kFifo | 0644, 0);
  ASSERT_TRUE(fifo.ok());
  EXPECT_EQ(t.fs->fallocate(t.r, fifo->ino, 0, 0, 0, kB).error(), ENODEV);
  EXPECT_EQ(t.fs->lseek(t.r, e.ino, 0, 0, seek::kData).error(), ENXIO);  // empty file
}

}  // namespace
}  // namespace bentofs::test
