// Crash consistency: record every write of a workload, rebuild the image at every flush
// (and every 7th write), and check each crash image: fsck finds nothing, it mounts, and
// every file whose fsync had returned before the crash point has exactly its content.
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

TEST(BentoFsCrash, EveryPrefixMountsCleanWithFsyncedData) {
  TestFs t(4096);
  t.unmount();
  t.mount("commit=600000");  // commits happen only when fsync asks (deterministic)
  t.dev->start_recording();
  struct Synced {
    std::string name, data;
    size_t at;  // records written when fsync returned
  };
  std::vector<Synced> synced;
  for (int i = 0; i < 8; i++) {
    std::string name = "f" + std::to_string(i);
    std::string data(1000 * (i + 1) + 5000 * (i % 3), static_cast<char>('a' + i));
    auto c = t.fs->create(t.r, kRootIno, name, 0644, oflag::kReadWrite);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(t.fs->write(t.r, c->entry.ino, c->open.fh, 0,
                            {reinterpret_cast<const uint8_t*>(data.data()), data.size()})
                    .ok());
    // Unsynced noise around it: other files, renames, removals.
    auto g = t.create(kRootIno, "g" + std::to_string(i));
    t.write(g.ino, 0, std::string(3000, 'g'));
    if (i > 0) {
      ASSERT_TRUE(t.fs->rename(t.r, kRootIno, "g" + std::to_string(i - 1), kRootIno,
                               "h" + std::to_string(i), 0)
                      .ok());
    }
    if (i > 1) {
      ASSERT_TRUE(t.fs->unlink(t.r, kRootIno, "h" + std::to_string(i - 1)).ok());
    }
    ASSERT_TRUE(t.fs->fsync(t.r, c->entry.ino, c->open.fh, false).ok());
    synced.push_back({name, data, t.dev->recorded()});
    ASSERT_TRUE(t.fs->release(t.r, c->entry.ino, c->open.fh, 0).ok());
    if (i == 4) {
      ASSERT_TRUE(t.fs->sync_now().ok());  // one checkpoint in the middle
    }
  }
  size_t total = t.dev->recorded();
  ASSERT_GT(total, 20u);
  int checked = 0;
  for (size_t n = 0; n <= total; n++) {
    bool at_flush = n > 0 && t.dev->record_is_flush(n - 1);
    if (!at_flush && n % 7 != 0 && n != total) continue;
    auto img = t.dev->image_after(n);
    {
      auto d = ImageDevice::from_bytes(img);
      auto rep = run_fsck(*d, {});
      ASSERT_LE(rep.exit_code, 1) << "prefix " << n << ": " << rep.problems[0];
    }
    auto d = ImageDevice::from_bytes(img);
    BentoFs fs;
    ASSERT_TRUE(fs.init(t.r, *d, {}).ok()) << "prefix " << n;
    for (const auto& s : synced) {
      if (s.at > n) continue;
      auto e = fs.lookup(t.r, kRootIno, s.name);
      ASSERT_TRUE(e.ok()) << "prefix " << n << " lost fsync'ed " << s.name;
      std::string out(s.data.size() + 10, '\0');
      auto r = fs.read(t.r, e->ino, 0, 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
      ASSERT_TRUE(r.ok());
      out.resize(*r);
      ASSERT_EQ(out, s.data) << "prefix " << n << " file " << s.name;
    }
    fs.destroy(t.r);
    checked++;
  }
  EXPECT_GT(checked, 10);
}

// Regression (issue 19): mkfs on a device that held a crashed Bento-fs (committed
// transactions still in its journal) made a journal whose first mount replayed the old
// file system's transactions, so the old files reappeared in the new one.
TEST(BentoFsCrash, MkfsOnADirtyDeviceMakesAFreshJournal) {
  TestFs t(8192);
  t.unmount();
  t.mount("commit=600000");
  for (int i = 0; i < 20; i++) {
    auto e = t.create(kRootIno, "old" + std::to_string(i));
    t.write(e.ino, 0, std::string(5000, 'o'));
  }
  ASSERT_TRUE(t.fs->commit_now().ok());  // in the journal, not yet written home
  auto crashed = t.dev->durable_bytes();
  t.unmount();
  auto d = ImageDevice::from_bytes(crashed);
  {
    // The crashed image itself: replay brings the old files back, as it must.
    auto copy = ImageDevice::from_bytes(crashed);
    BentoFs old;
    ASSERT_TRUE(old.init(t.r, *copy, {}).ok());
    EXPECT_TRUE(old.lookup(t.r, kRootIno, "old7").ok());
    old.destroy(t.r);
  }
  FormatOptions o;
  o.device_is_zeroed = false;  // a reused device: nothing known about its contents
  o.time_sec = 1;
  ASSERT_TRUE(format_device(*d, o).ok());
  auto rep = run_fsck(*d, {});
  EXPECT_EQ(rep.exit_code, 0) << (rep.problems.empty() ? "" : rep.problems[0]);
  BentoFs fs;
  ASSERT_TRUE(fs.init(t.r, *d, {}).ok());
  VecFiller f;
  ASSERT_TRUE(fs.readdir(t.r, kRootIno, 0, 0, f).ok());
  std::vector<std::string> names;
  for (auto& it : f.items) names.push_back(it.name);
  EXPECT_EQ(names, (std::vector<std::string>{".", ".."})) << "the old file system came back";
  fs.destroy(t.r);
  auto rep2 = run_fsck(*d, {});
  EXPECT_EQ(rep2.exit_code, 0) << (rep2.problems.empty() ? "" : rep2.problems[0]);
}

}  // namespace
}  // namespace bentofs::test
