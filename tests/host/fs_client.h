// Drives a Connection the way the FUSE bridge does (every call through Connection::call),
// keeping the kernel's side of lookup counting: every Entry received is forgotten again.
#pragma once

#include <bento/user/buffer_cache.h>
#include <bento/user/test_disks.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "connection.h"
#include "test_paths.h"

namespace bento::host::test {

inline std::unique_ptr<Connection> mount_module(const std::string& path) {
  auto disk = std::make_unique<user::MemoryDisk>(4096, 256);
  auto conn = std::make_unique<Connection>(
      std::make_unique<user::BufferCache>(std::move(disk), 256), "mem:test", "/test");
  ModuleLoadResult loaded = load_module(path);
  EXPECT_NE(loaded.module, nullptr) << loaded.error;
  if (!loaded.module) return nullptr;
  std::string err;
  FsInstance inst = FsInstance::create(loaded.module, &err);
  EXPECT_TRUE(inst) << err;
  Status s = conn->mount(std::move(inst), Request{}, InitArgs{});
  EXPECT_TRUE(s.ok()) << s.error();
  return s.ok() ? std::move(conn) : nullptr;
}

class FsClient {
 public:
  explicit FsClient(Connection& c) : c_(c) {}

  // Creates `name` in the root with `data`; returns its inode (0 on failure).
  Ino create_file(const std::string& name, const std::vector<uint8_t>& data) {
    Result<CreateReply> cr = c_.call([&](FileOperations& fs) {
      return fs.create(req_, kRootIno, name, mode::kRegular | 0644, oflag::kReadWrite);
    });
    if (!cr.ok()) return fail("create " + name, cr.error());
    Ino ino = cr->entry.ino;
    Fh fh = cr->open.fh;
    bool ok = write_all(ino, fh, data);
    Status rel =
        c_.call([&](FileOperations& fs) { return fs.release(req_, ino, fh, oflag::kReadWrite); });
    c_.call([&](FileOperations& fs) { fs.forget(ino, 1); });
    if (!ok) return 0;
    if (!rel.ok()) return fail("release " + name, rel.error());
    return ino;
  }

  bool write_all(Ino ino, Fh fh, const std::vector<uint8_t>& data) {
    size_t off = 0;
    while (off < data.size()) {
      size_t n = std::min<size_t>(data.size() - off, 128 * 1024);
      Result<size_t> w = c_.call([&](FileOperations& fs) {
        return fs.write(req_, ino, fh, off, std::span<const uint8_t>(data.data() + off, n));
      });
      if (!w.ok() || *w == 0) {
        fail("write", w.ok() ? EIO : w.error());
        return false;
      }
      off += *w;
    }
    return true;
  }

  // Reads `name` from the root: lookup, open, read to the end, release, forget.
  bool read_file(const std::string& name, std::vector<uint8_t>* out) {
    Result<Entry> e = c_.call([&](FileOperations& fs) { return fs.lookup(req_, kRootIno, name); });
    if (!e.ok()) return fail("lookup " + name, e.error()) != 0;
    Ino ino = e->ino;
    bool ok = read_ino(ino, out);
    c_.call([&](FileOperations& fs) { fs.forget(ino, 1); });
    return ok;
  }

  bool read_ino(Ino ino, std::vector<uint8_t>* out) {
    Result<OpenReply> o =
        c_.call([&](FileOperations& fs) { return fs.open(req_, ino, oflag::kReadOnly); });
    if (!o.ok()) return fail("open", o.error()) != 0;
    bool ok = read_fh(ino, o->fh, out);
    Status rel =
        c_.call([&](FileOperations& fs) { return fs.release(req_, ino, o->fh, oflag::kReadOnly); });
    return ok && rel.ok();
  }

  bool read_fh(Ino ino, Fh fh, std::vector<uint8_t>* out) {
    out->clear();
    std::vector<uint8_t> buf(64 * 1024);
    for (;;) {
      Result<size_t> r = c_.call([&](FileOperations& fs) {
        return fs.read(req_, ino, fh, out->size(), std::span<uint8_t>(buf));
      });
      if (!r.ok()) return fail("read", r.error()) != 0;
      if (*r == 0) return true;
      out->insert(out->end(), buf.begin(), buf.begin() + static_cast<long>(*r));
    }
  }

  bool unlink(const std::string& name) {
    Status s = c_.call([&](FileOperations& fs) { return fs.unlink(req_, kRootIno, name); });
    if (!s.ok()) fail("unlink " + name, s.error());
    return s.ok();
  }

  int failures() const { return failures_; }
  const std::string& last_failure() const { return last_; }

 private:
  int fail(const std::string& what, int err) {
    failures_++;
    last_ = what + ": errno " + std::to_string(err);
    return 0;
  }

  Connection& c_;
  Request req_;
  int failures_ = 0;
  std::string last_;
};

inline std::vector<uint8_t> pattern(uint64_t seed, size_t size) {
  std::vector<uint8_t> v(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  return v;
}

}  // namespace bento::host::test
