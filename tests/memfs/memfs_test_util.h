// Shared helpers for the memfs tests: drive a Memfs in-process through the API.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "memfs.h"

namespace memfs_test {

using namespace bento;

// memfs ignores its device; this one only exists to be passed.
class NullDevice final : public BlockDevice {
 public:
  uint32_t block_size() const override { return 4096; }
  uint64_t block_count() const override { return 0; }
  Result<BufferHead> bread(uint64_t) override { return Err(EIO); }
  Result<BufferHead> getblk(uint64_t) override { return Err(EIO); }
  Status sync_all() override { return Status::Ok(); }
  Status flush() override { return Status::Ok(); }

 protected:
  void buffer_mark_dirty(BufferSlot*) override {}
  Status buffer_sync(BufferSlot*) override { return Status::Ok(); }
  void buffer_release(BufferSlot*) override {}
};

struct DirEnt {
  std::string name;
  Ino ino;
  uint32_t mode;
  uint64_t next;
  bool has_entry;
};

// Collects readdir output; accepts at most `max` entries per call.
class VecFiller final : public DirFiller {
 public:
  explicit VecFiller(bool plus = false, size_t max = SIZE_MAX) : plus_(plus), max_(max) {}
  bool wants_entries() const override { return plus_; }
  bool add(std::string_view name, Ino ino, uint32_t mode, uint64_t next, const Entry* e) override {
    if (out.size() >= max_) return false;
    out.push_back({std::string(name), ino, mode, next, e != nullptr});
    return true;
  }
  std::vector<DirEnt> out;

 private:
  bool plus_;
  size_t max_;
};

inline Request root_req() {
  return Request{};
}
inline Request user_req(uint32_t uid, uint32_t gid) {
  Request r;
  r.uid = uid;
  r.gid = gid;
  r.umask = 0;
  return r;
}

inline std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class MemfsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = root_req();
    root_.umask = 0;
    ASSERT_TRUE(fs_.init(root_, dev_, InitArgs{}).ok());
  }

  // Creates a file with `data`; returns its inode (handle released, one lookup held).
  Ino mkfile(Ino parent, const std::string& name, const std::string& data = "",
             uint32_t mode = 0644) {
    auto c = fs_.create(root_, parent, name, mode, oflag::kReadWrite | oflag::kCreate);
    EXPECT_TRUE(c.ok()) << name << ": " << c.error();
    if (!c.ok()) return 0;
    if (!data.empty()) {
      auto w = fs_.write(root_, c->entry.ino, c->open.fh, 0, bytes(data));
      EXPECT_TRUE(w.ok());
    }
    EXPECT_TRUE(fs_.release(root_, c->entry.ino, c->open.fh, 0).ok());
    return c->entry.ino;
  }
  Ino mkdir(Ino parent, const std::string& name, uint32_t mode = 0755) {
    auto e = fs_.mkdir(root_, parent, name, mode);
    EXPECT_TRUE(e.ok()) << name << ": " << e.error();
    return e.ok() ? e->ino : 0;
  }
  std::string read_all(Ino ino, const Request* req = nullptr) {
    const Request& r = req ? *req : root_;
    auto o = fs_.open(r, ino, oflag::kReadOnly);
    if (!o.ok()) return "<open error " + std::to_string(o.error()) + ">";
    std::string out;
    std::vector<uint8_t> buf(65536);
    for (uint64_t off = 0;;) {
      auto n = fs_.read(r, ino, o->fh, off, buf);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      out.append(reinterpret_cast<char*>(buf.data()), *n);
      off += *n;
    }
    EXPECT_TRUE(fs_.release(r, ino, o->fh, 0).ok());
    return out;
  }
  std::vector<DirEnt> list(Ino dir, bool plus = false) {
    auto o = fs_.opendir(root_, dir, 0);
    EXPECT_TRUE(o.ok());
    std::vector<DirEnt> all;
    uint64_t off = 0;
    for (;;) {
      VecFiller f(plus, 3);
      EXPECT_TRUE(fs_.readdir(root_, dir, o->fh, off, f).ok());
      if (f.out.empty()) break;
      for (auto& e : f.out) all.push_back(e);
      off = f.out.back().next;
    }
    EXPECT_TRUE(fs_.releasedir(root_, dir, o->fh).ok());
    return all;
  }
  std::vector<std::string> names(Ino dir) {
    std::vector<std::string> out;
    for (auto& e : list(dir))
      if (e.name != "." && e.name != "..") out.push_back(e.name);
    std::sort(out.begin(), out.end());
    return out;
  }
  Attr attr(Ino ino) {
    auto a = fs_.getattr(root_, ino, kNoFh);
    EXPECT_TRUE(a.ok());
    return a.ok() ? *a : Attr{};
  }
  int lookup_err(Ino parent, const std::string& name) {
    auto e = fs_.lookup(root_, parent, name);
    if (e.ok()) fs_.forget(e->ino, 1);
    return e.error();
  }
  Ino lookup(Ino parent, const std::string& name) {
    auto e = fs_.lookup(root_, parent, name);
    if (!e.ok()) return 0;
    fs_.forget(e->ino, 1);
    return e->ino;
  }

  NullDevice dev_;
  memfs::Memfs fs_;
  Request root_;
};

}  // namespace memfs_test
