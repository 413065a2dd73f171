// Test helpers: a formatted in-memory image with a mounted BentoFs, plus shorthands.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/bento_fs.h"
#include "core/format_device.h"
#include "path_parts.h"
#include "tools/fsck_check.h"
#include "tools/image_device.h"

namespace bentofs {
// What tests reach inside a BentoFs for (a friend of BentoFs).
struct FsAccess {
  // An inode being deleted, as delete_inode notes it while it gives a big file's blocks back
  // step by step (the window a test cannot catch otherwise).
  static bool note_deleting(BentoFs& fs, Ino ino) {
    return fs.deleting_.lock()->push_back(ino).ok();
  }
  // A journal handle, held as an operation in progress holds it.
  static Result<Handle> begin(BentoFs& fs, uint32_t credits) { return fs.journal_->begin(credits); }
  // The journal quiesces for a commit: a log-only handle cannot begin now.
  static bool quiescing(BentoFs& fs) {
    auto h = fs.journal_->try_begin_log_only(1);
    return !h.ok() && h.error() == EAGAIN;
  }
};
}  // namespace bentofs

namespace bentofs::test {

using bento::Ino;
using bento::Request;

// umask 0: modes are exactly what a test asks for (Bento-fs applies the caller's umask
// itself, as the FUSE host lets it: FUSE_DONT_MASK).
inline Request root_req() {
  Request r;
  r.umask = 0;
  return r;
}
inline Request user_req(uint32_t uid, uint32_t gid) {
  Request r;
  r.uid = uid;
  r.gid = gid;
  r.umask = 0;
  return r;
}

class VecFiller final : public bento::DirFiller {
 public:
  struct Item {
    std::string name;
    Ino ino;
    uint32_t mode;
    uint64_t next;
  };
  explicit VecFiller(size_t limit = SIZE_MAX, bool plus = false) : limit_(limit), plus_(plus) {}
  bool wants_entries() const override { return plus_; }
  bool add(std::string_view name, Ino ino, uint32_t mode, uint64_t next,
           const bento::Entry*) override {
    if (items.size() >= limit_) return false;
    items.push_back({std::string(name), ino, mode, next});
    return true;
  }
  std::vector<Item> items;

 private:
  size_t limit_;
  bool plus_;
};

struct TestFs {
  std::unique_ptr<ImageDevice> dev;
  std::unique_ptr<BentoFs> fs;
  Request r = root_req();
  bool tracking = false;  // mount Bento-prov (provenance records) instead of plain Bento-fs

  explicit TestFs(uint64_t blocks = 16384, FormatOptions opts = {}, bool track = false)
      : tracking(track) {
    dev = ImageDevice::memory(blocks);
    opts.device_is_zeroed = true;
    EXPECT_TRUE(format_device(*dev, opts).ok());
    mount();
  }
  void mount(std::string_view options = "commit=50") {
    fs = std::make_unique<BentoFs>(tracking);
    bento::InitArgs a;
    a.options = options;
    bento::Status s = fs->init(r, *dev, a);
    ASSERT_TRUE(s.ok()) << "mount failed: " << s.error();
  }
  void unmount() {
    if (fs) fs->destroy(r);
    fs.reset();
  }
  void remount() {
    unmount();
    dev->drop_clean_cache();
    mount();
  }
  FsckReport fsck() {
    (void)fs->sync_now();
    auto copy = ImageDevice::from_bytes(dev->durable_bytes());
    return run_fsck(*copy, {});
  }

  bento::Entry create(Ino parent, const std::string& name, uint32_t mode = 0644) {
    auto c = fs->create(r, parent, name, mode, bento::oflag::kReadWrite);
    EXPECT_TRUE(c.ok()) << name << ": " << c.error();
    if (!c.ok()) return {};
    EXPECT_TRUE(fs->release(r, c->entry.ino, c->open.fh, 0).ok());
    return c->entry;
  }
  bento::Fh open(Ino ino, uint32_t flags = bento::oflag::kReadWrite) {
    auto o = fs->open(r, ino, flags);
    EXPECT_TRUE(o.ok()) << o.error();
    return o.ok() ? o->fh : 0;
  }
  void write(Ino ino, uint64_t off, const std::string& data) {
    bento::Fh fh = open(ino);
    auto w =
        fs->write(r, ino, fh, off, {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
    ASSERT_TRUE(w.ok()) << w.error();
    ASSERT_EQ(*w, data.size());
    ASSERT_TRUE(fs->release(r, ino, fh, 0).ok());
  }
  std::string read(Ino ino, uint64_t off = 0, size_t len = 1 << 20) {
    std::string out(len, '\0');
    auto n = fs->read(r, ino, 0, off, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
    EXPECT_TRUE(n.ok()) << n.error();
    out.resize(n.ok() ? *n : 0);
    return out;
  }
  int lookup_err(Ino parent, const std::string& name) {
    auto e = fs->lookup(r, parent, name);
    return e.ok() ? 0 : e.error();
  }
  Ino lookup(Ino parent, const std::string& name) {
    auto e = fs->lookup(r, parent, name);
    EXPECT_TRUE(e.ok()) << name << ": " << e.error();
    return e.ok() ? e->ino : 0;
  }
  std::vector<std::string> list(Ino dir) {
    VecFiller f;
    EXPECT_TRUE(fs->readdir(r, dir, 0, 0, f).ok());
    std::vector<std::string> names;
    for (auto& i : f.items) names.push_back(i.name);
    std::sort(names.begin(), names.end());
    return names;
  }
};

using path_parts::name_of;
using path_parts::parent_of;

}  // namespace bentofs::test
