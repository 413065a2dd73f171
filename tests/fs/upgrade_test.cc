// Live upgrade in-process: A.update_prepare -> B.update_transfer; B serves the same files
// and the same open handles. Foreign states are refused untouched; rollback works.
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
  EXPECT_EQ(st->version(), 1u);
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

}  // namespace
}  // namespace bentofs::test
