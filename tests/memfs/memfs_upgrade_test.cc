// Live upgrade memfs -> memfs in-process: state moves between instances with open handles,
// lookup counts and data intact; foreign states are refused untouched; rollback works. Also
// loads the built modules (memfs.so, memfs_refuse.so) the way a host does.
#include <bento/module.h>
#include <dlfcn.h>

#include "memfs_test_util.h"

namespace memfs_test {
namespace {

struct OtherKind {
  static constexpr char kKind[] = "bento-fs";
  static constexpr uint32_t kVersion = 1;
  int x = 0;
};
struct MemfsV2 {  // a future memfs layout this build does not know
  static constexpr char kKind[] = "bento-memfs";
  static constexpr uint32_t kVersion = 2;
  int x = 0;
};

template <typename T>
TransferState make_state() {
  auto p = make_unique<T>();
  EXPECT_TRUE(p.ok());
  return TransferState::make(std::move(p).value());
}

class Upgrade : public MemfsFixture {
 protected:
  struct Filled {
    Ino dir, file, sparse, link, unlinked, appendf;
    Fh read_fh, append_fh, unlinked_fh, dir_fh;
  };

  Filled fill() {
    Filled f{};
    f.dir = mkdir(kRootIno, "dir", 0750);
    f.file = mkfile(f.dir, "file", "file contents");
    EXPECT_EQ(lookup_err(f.dir, "file"), 0);
    (void)fs_.lookup(root_, f.dir, "file");  // lookups now 2 (create + this one)
    f.sparse = mkfile(kRootIno, "sparse");
    EXPECT_TRUE(fs_.write(root_, f.sparse, kNoFh, 5 << 20, bytes("tail")).ok());
    auto s = fs_.symlink(root_, "dir/file", kRootIno, "sym");
    f.link = s->ino;
    EXPECT_TRUE(fs_.link(root_, f.file, kRootIno, "hard").ok());
    EXPECT_TRUE(fs_.setxattr(root_, f.file, "user.tag", bytes("blue"), 0).ok());
    auto ro = fs_.open(root_, f.file, oflag::kReadOnly);
    f.read_fh = ro->fh;
    f.appendf = mkfile(kRootIno, "log", "line1\n");
    auto ap = fs_.open(root_, f.appendf, oflag::kWriteOnly | oflag::kAppend);
    f.append_fh = ap->fh;
    auto tmp = fs_.create(root_, kRootIno, "tmp", 0600, oflag::kReadWrite);
    f.unlinked = tmp->entry.ino;
    f.unlinked_fh = tmp->open.fh;
    EXPECT_TRUE(fs_.write(root_, f.unlinked, f.unlinked_fh, 0, bytes("ghost")).ok());
    EXPECT_TRUE(fs_.unlink(root_, kRootIno, "tmp").ok());
    auto dh = fs_.opendir(root_, f.dir, 0);
    f.dir_fh = dh->fh;
    return f;
  }

  // `b` must serve everything `fill` put into an instance, including its handles.
  void verify(memfs::Memfs& b, const Filled& f) {
    auto e = b.lookup(root_, kRootIno, "dir");
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->ino, f.dir);
    EXPECT_EQ(e->attr.mode & 07777, 0750u);
    b.forget(f.dir, 1);
    std::vector<uint8_t> buf(64);
    auto n = b.read(root_, f.file, f.read_fh, 0, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "file contents");
    auto x = b.getxattr(root_, f.file, "user.tag", buf);
    ASSERT_TRUE(x.ok());
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + *x), "blue");
    EXPECT_EQ(b.getattr(root_, f.file, kNoFh)->nlink, 2u);
    auto sp = b.getattr(root_, f.sparse, kNoFh);
    EXPECT_EQ(sp->size, (5u << 20) + 4);
    char target[32];
    auto t = b.readlink(root_, f.link, target);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(std::string(target, *t), "dir/file");
    auto g = b.read(root_, f.unlinked, f.unlinked_fh, 0, buf);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + *g), "ghost");
    VecFiller entries;
    ASSERT_TRUE(b.readdir(root_, f.dir, f.dir_fh, 0, entries).ok());
    EXPECT_EQ(entries.out.size(), 3u);
  }

  NullDevice dev2_;
};

TEST_F(Upgrade, StateMovesToANewInstanceAndBack) {
  Filled f = fill();
  auto before = fs_.statfs(root_, kRootIno);
  auto st = fs_.update_prepare();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->kind(), "bento-memfs");
  EXPECT_EQ(st->version(), 1u);
  // The old instance is inert: it serves nothing and owns nothing.
  EXPECT_EQ(fs_.getattr(root_, kRootIno, kNoFh).error(), ENOENT);

  memfs::Memfs b;
  ASSERT_TRUE(b.update_transfer(*st, dev2_).ok());
  EXPECT_TRUE(st->empty());
  verify(b, f);
  auto after = b.statfs(root_, kRootIno);
  EXPECT_EQ(after->files_free, before->files_free);
  EXPECT_EQ(after->blocks_free, before->blocks_free);

  // Handles keep their open flags: the append handle still appends.
  ASSERT_TRUE(b.write(root_, f.appendf, f.append_fh, 0, bytes("line2\n")).ok());
  // New inode numbers do not collide with transferred ones.
  auto c = b.create(root_, kRootIno, "new", 0644, oflag::kWriteOnly);
  ASSERT_TRUE(c.ok());
  EXPECT_GT(c->entry.ino, f.unlinked);
  ASSERT_TRUE(b.release(root_, c->entry.ino, c->open.fh, 0).ok());
  // Lookup counts came along: the file has 3 (create, lookup, link); unlink both names and
  // close the handle, forget 1: still alive; forget the other 2: gone.
  ASSERT_TRUE(b.unlink(root_, f.dir, "file").ok());
  ASSERT_TRUE(b.unlink(root_, kRootIno, "hard").ok());
  ASSERT_TRUE(b.release(root_, f.file, f.read_fh, 0).ok());
  b.forget(f.file, 1);
  EXPECT_TRUE(b.getattr(root_, f.file, kNoFh).ok());
  b.forget(f.file, 2);
  EXPECT_EQ(b.getattr(root_, f.file, kNoFh).error(), ENOENT);

  // Rollback direction: hand the state back to the old instance, which accepts its own.
  auto back = b.update_prepare();
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(fs_.update_transfer(*back, dev_).ok());
  EXPECT_EQ(read_all(f.appendf), "line1\nline2\n");
  std::vector<uint8_t> buf(16);
  auto g = fs_.read(root_, f.unlinked, f.unlinked_fh, 0, buf);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, 5u);
  ASSERT_TRUE(fs_.release(root_, f.unlinked, f.unlinked_fh, 0).ok());
  fs_.forget(f.unlinked, 1);
  EXPECT_EQ(fs_.getattr(root_, f.unlinked, kNoFh).error(), ENOENT);
  EXPECT_TRUE(fs_.releasedir(root_, f.dir, f.dir_fh).ok());
  EXPECT_TRUE(fs_.release(root_, f.appendf, f.append_fh, 0).ok());
}

TEST_F(Upgrade, ForeignStatesAreRefusedUntouched) {
  Filled f = fill();
  memfs::Memfs b;
  TransferState other = make_state<OtherKind>();
  EXPECT_EQ(b.update_transfer(other, dev2_).error(), EPROTO);
  EXPECT_TRUE(other.holds<OtherKind>());
  TransferState v2 = make_state<MemfsV2>();
  EXPECT_EQ(b.update_transfer(v2, dev2_).error(), EPROTO);
  EXPECT_TRUE(v2.holds<MemfsV2>());
  TransferState empty;
  EXPECT_EQ(b.update_transfer(empty, dev2_).error(), EPROTO);

  // A refused real state is still whole: the old instance takes it back (rollback).
  auto st = fs_.update_prepare();
  ASSERT_TRUE(st.ok());
  TransferState real = std::move(st).value();
  ASSERT_TRUE(fs_.update_transfer(real, dev_).ok());
  verify(fs_, f);
}

TEST_F(Upgrade, LargeFileSystemMovesInConstantTime) {
  // 64 MiB of data in 2000 files: prepare + transfer must not copy data.
  std::string chunk(32 << 10, 'q');
  for (int i = 0; i < 2000; i++) mkfile(kRootIno, "f" + std::to_string(i), chunk);
  auto t0 = std::chrono::steady_clock::now();
  auto st = fs_.update_prepare();
  ASSERT_TRUE(st.ok());
  memfs::Memfs b;
  ASSERT_TRUE(b.update_transfer(*st, dev2_).ok());
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_LT(us, 5000) << "upgrade took " << us << " us";
  auto e = b.lookup(root_, kRootIno, "f1999");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->attr.size, chunk.size());
}

// The modules as a host loads them.
struct LoadedModule {
  explicit LoadedModule(const char* path) {
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return;
    auto fn = reinterpret_cast<const ModuleInfo* (*)()>(dlsym(handle, BENTO_MODULE_SYMBOL));
    if (fn != nullptr) info = fn();
  }
  ~LoadedModule() {
    if (handle != nullptr) dlclose(handle);
  }
  void* handle = nullptr;
  const ModuleInfo* info = nullptr;
};

TEST_F(Upgrade, BuiltModulesUpgradeAndRefuse) {
  LoadedModule mod(MEMFS_MODULE_PATH);
  ASSERT_NE(mod.info, nullptr) << dlerror();
  EXPECT_EQ(mod.info->api_version, kApiVersion);
  EXPECT_STREQ(mod.info->name, "bento-memfs");
  EXPECT_STREQ(mod.info->version, "1.0.0");
  LoadedModule refuse(MEMFS_REFUSE_MODULE_PATH);
  ASSERT_NE(refuse.info, nullptr) << dlerror();
  EXPECT_STREQ(refuse.info->name, "bento-memfs");
  EXPECT_STREQ(refuse.info->version, "0.0-refusing");

  Filled f = fill();
  auto st = fs_.update_prepare();
  ASSERT_TRUE(st.ok());
  TransferState state = std::move(st).value();
  // The refusing build leaves the state whole...
  FileOperations* r = refuse.info->create();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->update_transfer(state, dev2_).error(), EPROTO);
  EXPECT_TRUE(state.holds<memfs::MemfsStateV1>());
  refuse.info->destroy(r);
  // ...and the real module takes it and serves it.
  FileOperations* m = mod.info->create();
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->update_transfer(state, dev2_).ok());
  EXPECT_TRUE(state.empty());
  std::vector<uint8_t> buf(64);
  auto n = m->read(root_, f.file, f.read_fh, 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "file contents");
  // And back into the in-process instance before the module is unloaded.
  auto back = m->update_prepare();
  ASSERT_TRUE(back.ok());
  mod.info->destroy(m);  // inert: frees nothing that was handed on
  ASSERT_TRUE(fs_.update_transfer(*back, dev_).ok());
  verify(fs_, f);
}

}  // namespace
}  // namespace memfs_test
