// Issue 15: directory-block checksums (ro_compat DIR_CSUM, format/dir.h). The damage the
// corruption campaign found served silently before them: a directory entry whose inode
// number was changed to another in-use inode of the same type. Now every directory block
// read is verified (EUCLEAN + one log line naming the directory and block), fsck -n reports
// it, fsck -y salvages the entries that validate on their own and a second fsck is clean.
#include <algorithm>
#include <cstring>

#include "core/geometry.h"
#include "format/dir.h"
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

struct DirImg {
  std::vector<uint8_t> bytes;
  Geometry g;
  Ino d = 0, a = 0, b = 0;  // /d, /d/a, /d/b
  DiskInode inode(Ino ino) const {
    DiskInode di;
    memcpy(&di, bytes.data() + g.inode_block(ino) * 4096 + g.inode_offset(ino), sizeof di);
    return di;
  }
  // Byte offset of the entry `name` in directory dir's bucket 0.
  size_t entry_offset(Ino dir, const std::string& name) const {
    const size_t blk = inode(dir).direct[kBucketFirstBlock].get() * size_t{4096};
    for (size_t off = sizeof(DirBucket); off + kDirentHeader < 4096;) {
      const uint8_t* p = bytes.data() + blk + off;
      if (p[16] == 0) break;
      if (std::string(reinterpret_cast<const char*>(p + kDirentHeader), p[16]) == name)
        return blk + off;
      off += kDirentHeader + p[16];
    }
    ADD_FAILURE() << name << " not found";
    return 0;
  }
};

// /d holding two regular files a and b with different contents; options: the image's.
DirImg image(FormatOptions o = {}) {
  TestFs t(16384, o);
  DirImg img;
  img.d = t.fs->mkdir(t.r, kRootIno, "d", 0755)->ino;
  img.a = t.create(img.d, "a").ino;
  t.write(img.a, 0, "contents of a");
  img.b = t.create(img.d, "b").ino;
  t.write(img.b, 0, "contents of b");
  t.unmount();
  img.bytes = t.dev->durable_bytes();
  SuperBlock sb;
  memcpy(&sb, img.bytes.data(), sizeof sb);
  img.g = Geometry::from(sb);
  return img;
}

FsckReport fsck(ImageDevice& dev, bool repair) {
  FsckOptions o;
  o.repair = repair;
  o.replay_journal = repair;
  return run_fsck(dev, o);
}

std::string all(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += x + "\n";
  return s;
}

TEST(BentoFsDirCsum, NewImagesHaveIt) {
  DirImg img = image();
  EXPECT_TRUE(img.g.dir_csum);
  // Every block of /d ends in its checksum, bound to /d's inode number and generation.
  DiskInode di = img.inode(img.d);
  for (uint64_t l = 0; l < 2; l++) {
    const uint8_t* p = img.bytes.data() + di.direct[l].get() * size_t{4096};
    EXPECT_EQ(load_le32(p + kDirCsumOffset),
              dir_block_checksum(img.g.dir_seed, img.d, di.generation.get(), l, p));
  }
}

// The campaign's silent case: "a" now names b's inode (same type, in use). The block's
// checksum gives it away before the entry is used.
TEST(BentoFsDirCsum, SwappedInodeNumberInAnEntryIsCaughtAndRepaired) {
  DirImg img = image();
  store_le64(img.bytes.data() + img.entry_offset(img.d, "a") + 8, img.b);
  auto dev = ImageDevice::from_bytes(img.bytes);
  {
    BentoFs fs;
    InitArgs args;
    ASSERT_TRUE(fs.init(root_req(), *dev, args).ok());
    testing::internal::CaptureStderr();
    auto e = fs.lookup(root_req(), img.d, "a");
    std::string log = testing::internal::GetCapturedStderr();
    EXPECT_FALSE(e.ok());
    EXPECT_EQ(e.ok() ? 0 : e.error(), EUCLEAN);
    EXPECT_NE(log.find("directory inode " + std::to_string(img.d) + ": block 1 fails its checksum"),
              std::string::npos)
        << log;
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
    VecFiller f;
    EXPECT_EQ(fs.readdir(root_req(), img.d, 0, 0, f).error(), EUCLEAN);
    // Writing into the damaged directory is refused too (never sealed over the damage).
    auto c = fs.create(root_req(), img.d, "new", 0644, oflag::kReadWrite);
    EXPECT_EQ(c.ok() ? 0 : c.error(), EUCLEAN);
    // The rest of the image is served.
    EXPECT_TRUE(fs.lookup(root_req(), kRootIno, "d").ok());
    fs.destroy(root_req());
  }
  auto n = fsck(*dev, false);
  EXPECT_EQ(n.exit_code, 4);
  EXPECT_NE(all(n.problems).find("fails its checksum (logical block 1)"), std::string::npos)
      << all(n.problems);
  auto y = fsck(*dev, true);
  EXPECT_EQ(y.exit_code, 1) << all(y.problems);
  auto again = fsck(*dev, false);
  EXPECT_EQ(again.exit_code, 0) << all(again.problems);
  // After the repair: "a" and "b" both name b (the entry validated on its own, so it was
  // kept), and a's inode, which lost its only name, is in lost+found with its data.
  BentoFs fs;
  InitArgs args;
  ASSERT_TRUE(fs.init(root_req(), *dev, args).ok());
  auto ea = fs.lookup(root_req(), img.d, "a");
  ASSERT_TRUE(ea.ok());
  EXPECT_EQ(ea->ino, img.b);
  EXPECT_EQ(ea->attr.nlink, 2u);
  auto lf = fs.lookup(root_req(), kRootIno, "lost+found");
  ASSERT_TRUE(lf.ok());
  auto lost = fs.lookup(root_req(), lf->ino, "#" + std::to_string(img.a));
  ASSERT_TRUE(lost.ok());
  std::string out(64, '\0');
  auto r = fs.read(root_req(), img.a, 0, 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  ASSERT_TRUE(r.ok());
  out.resize(*r);
  EXPECT_EQ(out, "contents of a");
  fs.destroy(root_req());
}

// A block copied from another directory (same logical position, valid structure) fails:
// the checksum binds it to its directory.
TEST(BentoFsDirCsum, BlockCopiedFromAnotherDirectoryFails) {
  DirImg img = image();
  const size_t from = img.inode(kRootIno).direct[kBucketFirstBlock].get() * size_t{4096};
  const size_t to = img.inode(img.d).direct[kBucketFirstBlock].get() * size_t{4096};
  memcpy(img.bytes.data() + to, img.bytes.data() + from, 4096);
  auto dev = ImageDevice::from_bytes(img.bytes);
  BentoFs fs;
  InitArgs args;
  ASSERT_TRUE(fs.init(root_req(), *dev, args).ok());
  testing::internal::CaptureStderr();
  auto e = fs.lookup(root_req(), img.d, "d");  // the copied root bucket holds "d"
  (void)testing::internal::GetCapturedStderr();
  EXPECT_EQ(e.ok() ? 0 : e.error(), EUCLEAN);
  fs.destroy(root_req());
}

// Images made without DIR_CSUM (older mkfs) mount read-write and work as before: full
// 4080-byte buckets, no checksum written or expected; nothing turns the bit on.
TEST(BentoFsDirCsum, ImagesWithoutItWorkAsBefore) {
  FormatOptions o;
  o.ro_compat = feature::kRoCompatInodeCsum;
  TestFs t(16384, o);
  auto d = t.fs->mkdir(t.r, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  // Names that fill buckets to their last bytes (and split them).
  for (int i = 0; i < 600; i++) t.create(d->ino, std::string(200, 'n') + std::to_string(i));
  t.remount();
  Ino dd = t.lookup(kRootIno, "d");
  EXPECT_EQ(t.list(dd).size(), 602u);
  EXPECT_NE(t.lookup(dd, std::string(200, 'n') + "599"), 0u);
  auto rep = t.fsck();
  EXPECT_EQ(rep.exit_code, 0) << all(rep.problems);
  t.unmount();
  SuperBlock sb;
  auto bytes = t.dev->durable_bytes();
  memcpy(&sb, bytes.data(), sizeof sb);
  EXPECT_EQ(sb.feature_ro_compat.get(), feature::kRoCompatInodeCsum);
}

}  // namespace
}  // namespace bentofs::test
