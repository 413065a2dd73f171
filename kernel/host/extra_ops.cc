// The FUSE requests libfuse 3.14 does not dispatch (see session_loop.h), answered from the
// raw message: FUSE_TMPFILE and FUSE_STATX. Replies are written to the session's
// /dev/fuse descriptor (or the ring entry, reply_sink.h) like libfuse's own.
#include <bento/file_operations.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "connection.h"
#include "reply_sink.h"
#include "session_loop.h"

namespace bento::host {
namespace {

// Opcodes and structures newer than the kernel headers Debian 12 ships (7.38). Layouts from
// the kernel's include/uapi/linux/fuse.h (protocol 7.39, FUSE_STATX).
constexpr uint32_t kOpTmpfile = 51;
constexpr uint32_t kOpStatx = 52;

struct SxTime {
  int64_t tv_sec;
  uint32_t tv_nsec;
  int32_t reserved;
};
struct FuseStatx {
  uint32_t mask;
  uint32_t blksize;
  uint64_t attributes;
  uint32_t nlink;
  uint32_t uid;
  uint32_t gid;
  uint16_t mode;
  uint16_t spare0;
  uint64_t ino;
  uint64_t size;
  uint64_t blocks;
  uint64_t attributes_mask;
  SxTime atime, btime, ctime, mtime;
  uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
  uint64_t spare2[14];
};
static_assert(sizeof(FuseStatx) == 256);
struct FuseStatxIn {
  uint32_t getattr_flags;
  uint32_t reserved;
  uint64_t fh;
  uint32_t sx_flags;
  uint32_t sx_mask;
};
static_assert(sizeof(FuseStatxIn) == 24);
struct FuseStatxOut {
  uint64_t attr_valid;
  uint32_t attr_valid_nsec;
  uint32_t flags;
  uint64_t spare[2];
  FuseStatx stat;
};
static_assert(sizeof(FuseStatxOut) == 288);
constexpr uint32_t kStatxBasic = 0x7ff;  // STATX_BASIC_STATS
constexpr uint32_t kStatxBtime = 0x800;  // STATX_BTIME

// Writes a reply; false when the kernel did not take it (the request was interrupted).
bool reply(fuse_session* se, uint64_t unique, int err, const void* data, size_t size) {
  fuse_out_header out{};
  out.unique = unique;
  out.error = err == 0 ? 0 : -err;
  out.len = static_cast<uint32_t>(sizeof out + (err == 0 ? size : 0));
  iovec iov[2] = {{&out, sizeof out}, {const_cast<void*>(data), err == 0 ? size : 0}};
  ssize_t n = send_to_kernel(fuse_session_fd(se), iov, err == 0 && size > 0 ? 2 : 1);
  return n == static_cast<ssize_t>(out.len);
}

int sane(int err) {
  return (err > 0 && err < 512) ? err : EIO;
}

void to_fuse_attr(const Attr& a, Ino ino, fuse_attr* out) {
  std::memset(out, 0, sizeof *out);
  out->ino = a.ino != 0 ? a.ino : ino;
  out->size = a.size;
  out->blocks = a.blocks;
  out->atime = static_cast<uint64_t>(a.atime.sec);
  out->mtime = static_cast<uint64_t>(a.mtime.sec);
  out->ctime = static_cast<uint64_t>(a.ctime.sec);
  out->atimensec = a.atime.nsec;
  out->mtimensec = a.mtime.nsec;
  out->ctimensec = a.ctime.nsec;
  out->mode = a.mode;
  out->nlink = a.nlink;
  out->uid = a.uid;
  out->gid = a.gid;
  out->rdev = a.rdev;
  out->blksize = a.blksize;
}

Request request_of(const fuse_in_header& in, uint32_t umask) {
  Request r;
  r.uid = in.uid;
  r.gid = in.gid;
  r.pid = in.pid;
  r.umask = umask;
  return r;
}

void serve_tmpfile(fuse_session* se, Connection& conn, const fuse_in_header& in, const uint8_t* p,
                   size_t len) {
  if (len < sizeof(fuse_create_in)) return (void)reply(se, in.unique, EINVAL, nullptr, 0);
  fuse_create_in arg;
  std::memcpy(&arg, p, sizeof arg);
  const Request r = request_of(in, arg.umask);
  conn.call([&](FileOperations& fs) {
    Result<CreateReply> res = fs.tmpfile(r, in.nodeid, arg.mode, arg.flags);
    if (!res.ok()) return (void)reply(se, in.unique, sane(res.error()), nullptr, 0);
    struct {
      fuse_entry_out entry;
      fuse_open_out open;
    } out{};
    const Entry& e = res->entry;
    out.entry.nodeid = e.ino;
    out.entry.generation = e.generation;
    out.entry.entry_valid = e.entry_timeout_ms / 1000;
    out.entry.entry_valid_nsec = (e.entry_timeout_ms % 1000) * 1000000;
    out.entry.attr_valid = e.attr_timeout_ms / 1000;
    out.entry.attr_valid_nsec = (e.attr_timeout_ms % 1000) * 1000000;
    to_fuse_attr(e.attr, e.ino, &out.entry.attr);
    out.open.fh = res->open.fh;
    out.open.open_flags = (res->open.keep_cache ? FOPEN_KEEP_CACHE : 0u) |
                          (res->open.direct_io ? FOPEN_DIRECT_IO : 0u);
    if (!reply(se, in.unique, 0, &out, sizeof out)) {
      // Interrupted: the kernel has neither the inode reference nor the handle.
      (void)fs.release(r, e.ino, res->open.fh, arg.flags);
      fs.forget(e.ino, 1);
    }
  });
}

void fill_time(SxTime* t, const Timespec& ts) {
  t->tv_sec = ts.sec;
  t->tv_nsec = ts.nsec;
}

void serve_statx(fuse_session* se, Connection& conn, const fuse_in_header& in, const uint8_t* p,
                 size_t len) {
  if (len < sizeof(FuseStatxIn)) return (void)reply(se, in.unique, EINVAL, nullptr, 0);
  FuseStatxIn arg;
  std::memcpy(&arg, p, sizeof arg);
  const Request r = request_of(in, 0);
  const Fh fh = (arg.getattr_flags & FUSE_GETATTR_FH) ? arg.fh : kNoFh;
  conn.call([&](FileOperations& fs) {
    Result<Attr> a = fs.getattr(r, in.nodeid, fh);
    if (!a.ok()) return (void)reply(se, in.unique, sane(a.error()), nullptr, 0);
    FuseStatxOut out{};
    out.attr_valid = 1;  // as getattr replies (fuse_bridge.cc kAttrTimeoutSec)
    FuseStatx& s = out.stat;
    s.mask = kStatxBasic | (a->has_btime ? kStatxBtime : 0u);
    s.blksize = a->blksize;
    s.nlink = a->nlink;
    s.uid = a->uid;
    s.gid = a->gid;
    s.mode = static_cast<uint16_t>(a->mode);
    s.ino = a->ino != 0 ? a->ino : in.nodeid;
    s.size = a->size;
    s.blocks = a->blocks;
    fill_time(&s.atime, a->atime);
    fill_time(&s.mtime, a->mtime);
    fill_time(&s.ctime, a->ctime);
    if (a->has_btime) fill_time(&s.btime, a->btime);
    s.rdev_major = major(a->rdev);
    s.rdev_minor = minor(a->rdev);
    (void)reply(se, in.unique, 0, &out, sizeof out);
  });
}

}  // namespace

bool serve_extra_op(fuse_session* se, Connection& conn, const void* msg, size_t len) {
  if (len < sizeof(fuse_in_header)) return false;
  fuse_in_header in;
  std::memcpy(&in, msg, sizeof in);
  if (in.opcode != kOpTmpfile && in.opcode != kOpStatx) return false;
  const uint8_t* p = static_cast<const uint8_t*>(msg) + sizeof in;
  const size_t n = len - sizeof in;
  try {
    if (in.opcode == kOpTmpfile)
      serve_tmpfile(se, conn, in, p, n);
    else
      serve_statx(se, conn, in, p, n);
  } catch (...) {
    (void)reply(se, in.unique, EIO, nullptr, 0);
  }
  return true;
}

}  // namespace bento::host
