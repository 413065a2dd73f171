// Issue 15 (file-system half): a damaged image never destroys data. Damaged bitmaps refuse
// a read-write mount (and a read-only one serves the files); the allocator never hands out
// metadata; damaged inodes give EUCLEAN instead of wild reads and writes; read-only mounts
// never write the image, even with a journal to replay.
#include <cstring>
#include <functional>

#include "core/allocator.h"
#include "core/geometry.h"
#include "core/superblock_check.h"
#include "fs_test_util.h"

namespace bentofs::test {
namespace {

using namespace bento;

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

struct Img {
  std::vector<uint8_t> bytes;
  SuperBlock sb{};
  Geometry g;
  void refresh() {
    memcpy(&sb, bytes.data(), sizeof sb);
    g = Geometry::from(sb);
  }
  void reseal() {
    seal_superblock(sb);
    memcpy(bytes.data(), &sb, sizeof sb);
  }
};

// A clean image (64 MiB unless told) holding /big (6 MiB of a pattern) and /d/small.
Img image_with_big_file(uint64_t blocks = 16384) {
  TestFs t(blocks);
  auto big = t.create(kRootIno, "big");
  t.write(big.ino, 0, pattern(6 << 20, 7));
  auto d = t.fs->mkdir(t.r, kRootIno, "d", 0755);
  auto s = t.create(d->ino, "small");
  t.write(s.ino, 0, "small file");
  t.unmount();
  Img img{t.dev->durable_bytes(), {}, {}};
  img.refresh();
  return img;
}

int mount_err(ImageDevice& dev, std::string_view opts = "", BentoFs* fs = nullptr) {
  BentoFs local;
  BentoFs& f = fs != nullptr ? *fs : local;
  InitArgs a;
  a.options = opts;
  Status s = f.init(root_req(), dev, a);
  if (s.ok() && fs == nullptr) f.destroy(root_req());
  return s.ok() ? 0 : s.error();
}

std::string read_all(BentoFs& fs, const std::string& name, size_t len) {
  auto e = fs.lookup(root_req(), kRootIno, name);
  if (!e.ok()) return "<lookup " + std::to_string(e.error()) + ">";
  std::string out(len, '\0');
  auto n = fs.read(root_req(), e->ino, 0, 0, {reinterpret_cast<uint8_t*>(out.data()), len});
  fs.forget(e->ino, 1);
  if (!n.ok()) return "<read " + std::to_string(n.error()) + ">";
  out.resize(*n);
  return out;
}

TEST(BentoFsHarden, ZeroedBlockBitmapRefusesMountAndLosesNothing) {
  Img img = image_with_big_file();
  ASSERT_EQ(img.g.block_bitmap_blocks, 1u);
  memset(img.bytes.data() + img.g.block_bitmap_start * 4096, 0, 4096);
  auto dev = ImageDevice::from_bytes(img.bytes);
  EXPECT_EQ(mount_err(*dev), EUCLEAN) << "a read-write mount of a zeroed bitmap is refused";
  EXPECT_EQ(dev->durable_bytes(), img.bytes) << "a refused mount writes nothing";
  // Read-only: the files are served and nothing is written.
  {
    BentoFs fs;
    ASSERT_EQ(mount_err(*dev, "ro", &fs), 0);
    EXPECT_TRUE(read_all(fs, "big", 7 << 20) == pattern(6 << 20, 7));
    auto c = fs.create(root_req(), kRootIno, "new", 0644, oflag::kReadWrite);
    EXPECT_EQ(c.error(), EROFS);
    fs.destroy(root_req());
  }
  EXPECT_EQ(dev->durable_bytes(), img.bytes) << "a read-only mount writes nothing";
  // fsck finds it, -y repairs it, then 9 MiB of new files leave the old one intact.
  auto rep = run_fsck(*dev, {});
  EXPECT_EQ(rep.exit_code, 4);
  FsckOptions fix;
  fix.repair = true;
  EXPECT_EQ(run_fsck(*dev, fix).exit_code, 1);
  EXPECT_EQ(run_fsck(*dev, {}).exit_code, 0);
  BentoFs fs;
  ASSERT_EQ(mount_err(*dev, "", &fs), 0);
  for (int i = 0; i < 9; i++) {
    auto c = fs.create(root_req(), kRootIno, "n" + std::to_string(i), 0644, oflag::kReadWrite);
    ASSERT_TRUE(c.ok());
    std::string data = pattern(1 << 20, 100 + i);
    ASSERT_TRUE(fs.write(root_req(), c->entry.ino, c->open.fh, 0,
                         {reinterpret_cast<const uint8_t*>(data.data()), data.size()})
                    .ok());
    (void)fs.release(root_req(), c->entry.ino, c->open.fh, 0);
    fs.forget(c->entry.ino, 1);
  }
  EXPECT_TRUE(read_all(fs, "big", 7 << 20) == pattern(6 << 20, 7));
  fs.destroy(root_req());
  EXPECT_EQ(run_fsck(*dev, {}).exit_code, 0);
}

TEST(BentoFsHarden, ZeroedBitmapOfAnotherGroupIsCaughtByTheFreeCount) {
  Img img = image_with_big_file(65536);  // two bitmap blocks
  ASSERT_EQ(img.g.block_bitmap_blocks, 2u);
  // Group 1 holds no metadata; only the clean superblock's free count shows the damage.
  uint8_t* bm = img.bytes.data() + (img.g.block_bitmap_start + 1) * 4096;
  for (int i = 0; i < 4096; i++) bm[i] = 0xFF;  // "used": fewer free blocks than recorded
  auto dev = ImageDevice::from_bytes(img.bytes);
  EXPECT_EQ(mount_err(*dev), EUCLEAN);
  FsckOptions fix;
  fix.repair = true;
  EXPECT_EQ(run_fsck(*dev, fix).exit_code, 1);
  EXPECT_EQ(mount_err(*dev), 0);
  EXPECT_EQ(run_fsck(*dev, {}).exit_code, 0);
}

TEST(BentoFsHarden, AllocatorNeverHandsOutMetadata) {
  Img img = image_with_big_file();
  memset(img.bytes.data() + img.g.block_bitmap_start * 4096, 0, 4096);
  auto dev = ImageDevice::from_bytes(img.bytes);
  Journal j(*dev, img.g.journal_start, img.g.journal_blocks, 1);
  BitmapAllocator a;
  ASSERT_TRUE(a.load(*dev, img.g.block_bitmap_start, img.g.block_count, 0, img.g.data_start).ok());
  EXPECT_EQ(a.reserved_clear(), img.g.data_start);
  auto h = j.begin(64);
  ASSERT_TRUE(h.ok());
  for (int i = 0; i < 40; i++) {
    auto b = a.alloc(*h, i == 0 ? 1 : 0);  // even a goal inside the metadata
    ASSERT_TRUE(b.ok());
    EXPECT_GE(*b, img.g.data_start);
  }
  EXPECT_EQ(a.free(*h, 0).error(), EUCLEAN) << "freeing the superblock is refused";
  EXPECT_EQ(a.free(*h, img.g.inode_table_start).error(), EUCLEAN);
}

void poke_inode(Img& img, uint64_t ino, const std::function<void(DiskInode&)>& change) {
  DiskInode di;
  uint64_t off = img.g.inode_block(ino) * 4096 + img.g.inode_offset(ino);
  memcpy(&di, img.bytes.data() + off, sizeof di);
  change(di);
  memcpy(img.bytes.data() + off, &di, sizeof di);
}

uint64_t ino_of(Img& img, const std::string& name) {
  auto dev = ImageDevice::from_bytes(img.bytes);
  BentoFs fs;
  EXPECT_EQ(mount_err(*dev, "ro", &fs), 0);
  auto e = fs.lookup(root_req(), kRootIno, name);
  uint64_t ino = e.ok() ? e->ino : 0;
  fs.destroy(root_req());
  return ino;
}

TEST(BentoFsHarden, DamagedInodesGiveEucleanNotWildWrites) {
  Img img = image_with_big_file();
  uint64_t big = ino_of(img, "big"), d = ino_of(img, "d");
  ASSERT_NE(big, 0u);
  // The file's first block pointer names the superblock; the directory's size is 2^47.
  poke_inode(img, big, [](DiskInode& di) { di.direct[0].set(0); });
  poke_inode(img, big, [&](DiskInode& di) { di.direct[1].set(img.g.inode_table_start); });
  poke_inode(img, d, [](DiskInode& di) { di.size.set(uint64_t{1} << 47); });
  auto dev = ImageDevice::from_bytes(img.bytes);
  // The counts still match, so a read-write mount goes ahead.
  BentoFs fs;
  ASSERT_EQ(mount_err(*dev, "", &fs), 0);
  testing::internal::CaptureStderr();
  auto e = fs.lookup(root_req(), kRootIno, "big");
  EXPECT_EQ(e.error(), EUCLEAN);
  auto de = fs.lookup(root_req(), kRootIno, "d");
  EXPECT_EQ(de.error(), EUCLEAN);
  // One line each, naming the inode and what to run.
  const std::string log = testing::internal::GetCapturedStderr();
  for (uint64_t ino : {big, d})
    EXPECT_NE(log.find("bento-fs: inode " + std::to_string(ino) + " is damaged ("),
              std::string::npos)
        << log;
  EXPECT_NE(log.find("); run fsck.bento"), std::string::npos) << log;
  fs.destroy(root_req());
  // The inode table is untouched by the attempt.
  auto after = dev->durable_bytes();
  EXPECT_EQ(0, memcmp(after.data() + img.g.inode_table_start * 4096,
                      img.bytes.data() + img.g.inode_table_start * 4096, 4096));
  auto rep = run_fsck(*ImageDevice::from_bytes(after), {});
  EXPECT_EQ(rep.exit_code, 4);
}

TEST(BentoFsHarden, ReadOnlyMountReplaysInMemoryAndWritesNothing) {
  TestFs t;
  auto e = t.create(kRootIno, "durable");
  bento::Fh fh = t.open(e.ino);
  std::string data = pattern(3 * 4096 + 100, 3);
  ASSERT_TRUE(
      t.fs->write(t.r, e.ino, fh, 0, {reinterpret_cast<const uint8_t*>(data.data()), data.size()})
          .ok());
  ASSERT_TRUE(t.fs->fsync(t.r, e.ino, fh, false).ok());
  auto img = t.dev->durable_bytes();  // crash: committed, not checkpointed
  (void)t.fs->release(t.r, e.ino, fh, 0);
  auto crashed = ImageDevice::from_bytes(img);
  {
    BentoFs fs;
    ASSERT_EQ(mount_err(*crashed, "ro", &fs), 0);
    EXPECT_TRUE(read_all(fs, "durable", 1 << 20) == data) << "replayed in memory";
    EXPECT_EQ(fs.update_prepare().error(), EBUSY) << "its replay lives in this instance only";
    fs.destroy(root_req());
  }
  EXPECT_EQ(crashed->durable_bytes(), img) << "the image is byte-identical";
  // The journal is still there for a read-write mount.
  EXPECT_EQ(mount_err(*crashed), 0);
  EXPECT_EQ(run_fsck(*crashed, {}).exit_code, 0);
}

TEST(BentoFsHarden, UnknownRoCompatFeatureMountsReadOnlyOnly) {
  Img img = image_with_big_file();
  img.sb.feature_ro_compat.set(img.sb.feature_ro_compat.get() | 0x80000000u);
  img.reseal();
  auto dev = ImageDevice::from_bytes(img.bytes);
  EXPECT_EQ(mount_err(*dev), EINVAL);
  BentoFs fs;
  ASSERT_EQ(mount_err(*dev, "ro", &fs), 0);
  EXPECT_TRUE(read_all(fs, "big", 7 << 20) == pattern(6 << 20, 7));
  fs.destroy(root_req());
  EXPECT_EQ(dev->durable_bytes(), img.bytes);
}

// fsck -y repairs, and a second fsck -n is then clean.
void expect_repaired(const std::vector<uint8_t>& bytes, const std::string& what) {
  auto dev = ImageDevice::from_bytes(bytes);
  FsckOptions n;
  n.replay_journal = false;
  auto before = run_fsck(*dev, n);
  EXPECT_EQ(before.exit_code, 4) << what << ": fsck -n must see the damage";
  FsckOptions y;
  y.repair = true;
  auto fixed = run_fsck(*dev, y);
  EXPECT_EQ(fixed.exit_code, 1) << what << ": "
                                << (fixed.problems.empty() ? "" : fixed.problems[0]);
  auto after = run_fsck(*dev, n);
  EXPECT_EQ(after.exit_code, 0) << what << ": "
                                << (after.problems.empty() ? "" : after.problems[0]);
  EXPECT_EQ(mount_err(*dev), 0) << what;
}

TEST(BentoFsHarden, FsckRepairsCrossLinkedBlocks) {
  Img img = image_with_big_file();
  uint64_t big = ino_of(img, "big");
  // /d/small's first block also becomes /big's first block.
  auto dev0 = ImageDevice::from_bytes(img.bytes);
  BentoFs fs;
  ASSERT_EQ(mount_err(*dev0, "ro", &fs), 0);
  auto d = fs.lookup(root_req(), kRootIno, "d");
  auto s = fs.lookup(root_req(), d->ino, "small");
  uint64_t sino = s->ino;
  fs.destroy(root_req());
  DiskInode si;
  memcpy(&si, img.bytes.data() + img.g.inode_block(sino) * 4096 + img.g.inode_offset(sino),
         sizeof si);
  poke_inode(img, big, [&](DiskInode& di) { di.direct[0].set(si.direct[0].get()); });
  expect_repaired(img.bytes, "cross-linked block");
}

TEST(BentoFsHarden, FsckRebuildsADamagedJournalSuperblock) {
  Img img = image_with_big_file();
  img.bytes[img.g.journal_start * 4096 + 20] ^= 0x5A;
  auto dev = ImageDevice::from_bytes(img.bytes);
  EXPECT_EQ(mount_err(*dev), EUCLEAN) << "a mount refuses it";
  expect_repaired(img.bytes, "journal superblock");
}

TEST(BentoFsHarden, FsckFixesAbsurdSizesAndXattrCounts) {
  Img img = image_with_big_file();
  uint64_t d = ino_of(img, "d");
  poke_inode(img, d, [](DiskInode& di) { di.size.set(uint64_t{1} << 47); });
  expect_repaired(img.bytes, "directory size 2^47");
  // Attribute header counts of 0 and 255 (the attribute block of the root).
  for (uint16_t count : {uint16_t{0}, uint16_t{255}}) {
    TestFs t;
    std::string v = "value";
    ASSERT_TRUE(t.fs->setxattr(t.r, kRootIno, "user.a", bytes_of(v), 0).ok());
    ASSERT_TRUE(t.fs->setxattr(t.r, kRootIno, "user.b", bytes_of(v), 0).ok());
    t.unmount();
    Img x{t.dev->durable_bytes(), {}, {}};
    x.refresh();
    DiskInode root;
    memcpy(&root, x.bytes.data() + x.g.inode_block(1) * 4096 + x.g.inode_offset(1), sizeof root);
    ASSERT_NE(root.xattr_block.get(), 0u);
    uint8_t* hdr = x.bytes.data() + root.xattr_block.get() * 4096;
    hdr[4] = static_cast<uint8_t>(count);  // XattrMapHeader::count (LE u32 at byte 4)
    hdr[5] = hdr[6] = hdr[7] = 0;
    auto dev = ImageDevice::from_bytes(x.bytes);
    {
      BentoFs fs;
      ASSERT_EQ(mount_err(*dev, "", &fs), 0);
      char buf[64];
      EXPECT_EQ(fs.getxattr(root_req(), kRootIno, "user.a", {reinterpret_cast<uint8_t*>(buf), 64})
                    .error(),
                EUCLEAN);
      fs.destroy(root_req());
    }
    expect_repaired(x.bytes, "xattr count " + std::to_string(count));
  }
}

TEST(BentoFsHarden, FsckRebuildsTheProvenanceLogHeaderKeepingRecords) {
  TestFs t(16384, {}, true);
  for (int i = 0; i < 20; i++) t.create(kRootIno, "f" + std::to_string(i));
  t.unmount();
  Img img{t.dev->durable_bytes(), {}, {}};
  img.refresh();
  ASSERT_GT(img.g.prov_blocks, 0u);
  img.bytes[img.g.prov_start * 4096 + 17] ^= 0x01;  // one byte of the header
  auto dev = ImageDevice::from_bytes(img.bytes);
  FsckOptions y;
  y.repair = true;
  auto r = run_fsck(*dev, y);
  EXPECT_EQ(r.exit_code, 1);
  bool kept = false;
  for (auto& f : r.fixed)
    if (f.find("provenance log header rebuilt") != std::string::npos &&
        f.find(" 0 record(s) kept") == std::string::npos)
      kept = true;
  EXPECT_TRUE(kept) << "records that verify are kept";
  FsckOptions n;
  n.replay_journal = false;
  EXPECT_EQ(run_fsck(*dev, n).exit_code, 0);
  // Tracking works again.
  BentoFs fs(true);
  InitArgs a;
  ASSERT_TRUE(fs.init(root_req(), *dev, a).ok());
  fs.destroy(root_req());
}

}  // namespace
}  // namespace bentofs::test
