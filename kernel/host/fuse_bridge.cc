#include "fuse_bridge.h"

#include <bento/fiemap_ioctl.h>
#include <bento/file_operations.h>
#include <bento/log.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "connection.h"
#include "dir_filler.h"
#include "init_reply_fix.h"

namespace bento::host {
namespace {

// getattr/setattr replies carry no timeout in the API; the kernel may cache attributes
// this long (only this process changes the file system).
constexpr double kAttrTimeoutSec = 1.0;
// How long the kernel may remember that a name does not exist (see may_cache_absence).
constexpr double kNegativeTimeoutSec = 3600.0;
constexpr int kMaxGroups = 64;
constexpr size_t kMaxWrite = 1 << 20;

static_assert(sizeof(gid_t) == sizeof(uint32_t));

// Per-thread scratch space for replies: allocated on first use, grown, never shrunk.
class ScratchBuffer {
 public:
  char* get(size_t n) {
    if (n > cap_) {
      data_.reset(new (std::nothrow) char[n]);
      cap_ = data_ ? n : 0;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t cap_ = 0;
};

thread_local ScratchBuffer t_buf;
thread_local std::vector<Ino> t_sent;
thread_local std::vector<Ino> t_rejected;
thread_local gid_t t_groups[kMaxGroups];

Connection& conn_of(fuse_req_t req) {
  return *static_cast<Connection*>(fuse_req_userdata(req));
}

// Groups cost a read of /proc/PID/status, so only the calls that check permissions
// themselves ask for them (the kernel checks the rest: we mount with default_permissions).
Request make_request(fuse_req_t req, bool with_groups = false) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Request r;
  r.uid = ctx->uid;
  r.gid = ctx->gid;
  r.pid = static_cast<uint32_t>(ctx->pid);
  r.umask = ctx->umask;
  if (with_groups && ctx->uid != 0) {
    int n = fuse_req_getgroups(req, kMaxGroups, t_groups);
    if (n > 0) {
      r.groups = reinterpret_cast<const uint32_t*>(t_groups);
      r.ngroups = static_cast<uint32_t>(std::min(n, kMaxGroups));
    }
  }
  return r;
}

// The kernel accepts errors in (0, 512); anything else from a buggy fs becomes EIO.
int sane_errno(int err) {
  return (err > 0 && err < 512) ? err : EIO;
}

void reply_status(fuse_req_t req, Status s) {
  fuse_reply_err(req, s.ok() ? 0 : sane_errno(s.error()));
}

void reply_error(fuse_req_t req, int err) {
  fuse_reply_err(req, sane_errno(err));
}

// Runs f(fs) under the connection lock; an exception becomes EIO (f replies last, so
// nothing has been replied when one is thrown).
template <typename F>
void serve(fuse_req_t req, F&& f) noexcept {
  try {
    conn_of(req).call(std::forward<F>(f));
  } catch (const std::exception& e) {
    log(LogLevel::kError, std::string("bentofs: internal error: ") + e.what());
    fuse_reply_err(req, EIO);
  } catch (...) {
    fuse_reply_err(req, EIO);
  }
}

// Replies with an Entry; when the kernel never receives it (the request was interrupted)
// the lookup the fs counted for it is forgotten again.
void reply_entry(fuse_req_t req, FileOperations& fs, const Result<Entry>& res) {
  if (!res.ok()) return reply_error(req, res.error());
  fuse_entry_param e;
  to_fuse_entry(*res, &e);
  if (fuse_reply_entry(req, &e) != 0) fs.forget(res->ino, 1);
}

void reply_attr(fuse_req_t req, const Result<Attr>& res) {
  if (!res.ok()) return reply_error(req, res.error());
  struct stat st;
  to_stat(*res, &st);
  fuse_reply_attr(req, &st, kAttrTimeoutSec);
}

void apply_open_reply(const OpenReply& o, fuse_file_info* fi) {
  fi->fh = o.fh;
  fi->direct_io = o.direct_io;
  fi->keep_cache = o.keep_cache;
  fi->nonseekable = o.nonseekable;
  fi->cache_readdir = o.cache_readdir;
}

Fh fh_of(const fuse_file_info* fi) {
  return fi != nullptr ? fi->fh : kNoFh;
}

Timespec ts(const struct timespec& t) {
  return {static_cast<int64_t>(t.tv_sec), static_cast<uint32_t>(t.tv_nsec)};
}

FileLock from_flock(const struct flock& l) {
  FileLock f;
  f.start = static_cast<uint64_t>(l.l_start);
  f.end = l.l_len == 0 ? UINT64_MAX : static_cast<uint64_t>(l.l_start + l.l_len - 1);
  f.type = static_cast<uint32_t>(l.l_type);
  f.pid = static_cast<uint32_t>(l.l_pid);
  return f;
}

struct flock to_flock(const FileLock& f) {
  struct flock l;
  std::memset(&l, 0, sizeof l);
  l.l_type = static_cast<short>(f.type);
  l.l_whence = SEEK_SET;
  l.l_start = static_cast<off_t>(f.start);
  l.l_len = f.end == UINT64_MAX ? 0 : static_cast<off_t>(f.end - f.start + 1);
  l.l_pid = static_cast<pid_t>(f.pid);
  return l;
}

// ---- lifecycle ----

void op_init(void* userdata, fuse_conn_info* conn) {
  auto* c = static_cast<Connection*>(userdata);
  const Capabilities caps = c->capabilities();
  auto want = [conn](unsigned cap, bool on) {
    if (on && (conn->capable & cap)) {
      conn->want |= cap;
    } else {
      conn->want &= ~cap;
    }
  };
  want(FUSE_CAP_ASYNC_READ, true);
  want(FUSE_CAP_PARALLEL_DIROPS, true);
  want(FUSE_CAP_READDIRPLUS, true);
  want(FUSE_CAP_READDIRPLUS_AUTO, true);
  want(FUSE_CAP_WRITEBACK_CACHE, caps.writeback_cache);
  want(FUSE_CAP_POSIX_LOCKS, caps.posix_locks);
  want(FUSE_CAP_FLOCK_LOCKS, false);
  // chattr/lsattr on directories arrive as FUSE_IOCTL with FUSE_IOCTL_DIR.
  want(FUSE_CAP_IOCTL_DIR, true);
  // File handles (open_by_handle_at, NFS): the kernel encodes (ino, generation) and, when
  // the inode is not cached, asks the fs to look up "." in it.
  want(FUSE_CAP_EXPORT_SUPPORT, caps.export_support);
  want(FUSE_CAP_POSIX_ACL, caps.posix_acls);
  want(FUSE_CAP_DONT_MASK, caps.applies_umask);
  // The API's open() does not promise to handle O_TRUNC: let the kernel send setattr.
  want(FUSE_CAP_ATOMIC_O_TRUNC, false);
  // An fs that drops set-id bits itself gets HANDLE_KILLPRIV_V2 (kernel protocol 7.33+):
  // no GETATTR before a chown, and no security.capability GETXATTR before most writes
  // (the kernel marks the superblock SB_NOSEC). op_write() keeps the kernel's cached mode
  // honest. v1 is not asked for: it would keep the GETXATTR.
  want(FUSE_CAP_HANDLE_KILLPRIV, false);
  const bool killpriv_v2 =
      caps.clears_setid_bits && conn->proto_major == 7 && conn->proto_minor >= 33;
  // Only this mount changes the fs, and writes go through the page cache: a changed mtime
  // must not throw the file's cached pages away (it did after every write).
  want(FUSE_CAP_AUTO_INVAL_DATA, false);
  // Splicing only pays with write_buf/fd-backed replies; we copy through memory anyway.
  want(FUSE_CAP_SPLICE_READ, false);
  want(FUSE_CAP_SPLICE_WRITE, false);
  want(FUSE_CAP_SPLICE_MOVE, false);
  const bool no_open = !caps.needs_open && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
  conn->max_write = kMaxWrite;  // libfuse 3.14 turns this into max_pages
  conn->time_gran = 1;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  // max_readahead: libfuse starts from the kernel's maximum; keep it.
  // libfuse 3.14 asks the kernel for neither of these, whatever `want` says.
  add_to_init_reply((conn->want & FUSE_CAP_PARALLEL_DIROPS) != 0, killpriv_v2);
  c->set_negotiated((conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0, no_open, killpriv_v2);
}

// The fs is destroyed by the host after the session loop (Connection::shutdown), not
// here: the kernel sends DESTROY only for fuseblk mounts.
void op_destroy(void*) {}

// ---- names and attributes ----

// A name the fs may make appear by itself, without the kernel creating it: the root's
// ".bento-*" names (the provenance log, which a live upgrade into Bento-prov brings and
// which only root sees). Everything else changes only through this mount's kernel, which
// drops a negative dentry when it creates the name.
bool may_cache_absence(fuse_ino_t parent, const char* name) {
  return !(parent == kRootIno && std::strncmp(name, ".bento-", 7) == 0);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    Result<Entry> res = fs.lookup(r, parent, name);
    if (!res.ok() && res.error() == ENOENT && may_cache_absence(parent, name)) {
      // A negative entry (ino 0): the kernel remembers the absence instead of asking again.
      fuse_entry_param e;
      std::memset(&e, 0, sizeof e);
      e.entry_timeout = kNegativeTimeoutSec;
      return (void)fuse_reply_entry(req, &e);
    }
    reply_entry(req, fs, res);
  });
}

// forget has no reply, so it cannot go through serve() (which answers EIO on error).
template <typename F>
void serve_no_reply(fuse_req_t req, F&& f) noexcept {
  try {
    conn_of(req).call(std::forward<F>(f));
  } catch (...) {
    log(LogLevel::kError, "bentofs: internal error in forget");
  }
  fuse_reply_none(req);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  serve_no_reply(req, [&](FileOperations& fs) { fs.forget(ino, nlookup); });
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  serve_no_reply(req, [&](FileOperations& fs) {
    for (size_t i = 0; i < count; i++) fs.forget(forgets[i].ino, forgets[i].nlookup);
  });
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) { reply_attr(req, fs.getattr(r, ino, fh_of(fi))); });
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  const Request r = make_request(req, true);
  SetAttr sa;
  struct Bit {
    int fuse;
    uint32_t api;
  };
  static constexpr Bit kBits[] = {
      {FUSE_SET_ATTR_MODE, SetAttr::kMode},
      {FUSE_SET_ATTR_UID, SetAttr::kUid},
      {FUSE_SET_ATTR_GID, SetAttr::kGid},
      {FUSE_SET_ATTR_SIZE, SetAttr::kSize},
      {FUSE_SET_ATTR_ATIME, SetAttr::kAtime},
      {FUSE_SET_ATTR_MTIME, SetAttr::kMtime},
      {FUSE_SET_ATTR_ATIME_NOW, SetAttr::kAtimeNow},
      {FUSE_SET_ATTR_MTIME_NOW, SetAttr::kMtimeNow},
      {FUSE_SET_ATTR_CTIME, SetAttr::kCtime},
  };
  for (const Bit& b : kBits) {
    if (to_set & b.fuse) sa.valid |= b.api;
  }
  sa.mode = attr->st_mode;
  sa.uid = attr->st_uid;
  sa.gid = attr->st_gid;
  sa.size = static_cast<uint64_t>(attr->st_size);
  sa.atime = ts(attr->st_atim);
  sa.mtime = ts(attr->st_mtim);
  sa.ctime = ts(attr->st_ctim);
  serve(req, [&](FileOperations& fs) { reply_attr(req, fs.setattr(r, ino, sa, fh_of(fi))); });
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  const Request r = make_request(req);
  char* buf = t_buf.get(kPathMax);
  if (buf == nullptr) return reply_error(req, ENOMEM);
  serve(req, [&](FileOperations& fs) {
    Result<size_t> res = fs.readlink(r, ino, std::span<char>(buf, kPathMax - 1));
    if (!res.ok()) return reply_error(req, res.error());
    buf[std::min<size_t>(*res, kPathMax - 1)] = '\0';
    fuse_reply_readlink(req, buf);
  });
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    reply_entry(req, fs, fs.mknod(r, parent, name, mode, static_cast<uint32_t>(rdev)));
  });
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  const Request r = make_request(req);
  // The kernel sends permission bits only; the API's mode is a full st_mode.
  const uint32_t m = (mode & mode::kPermMask) | mode::kDirectory;
  serve(req, [&](FileOperations& fs) { reply_entry(req, fs, fs.mkdir(r, parent, name, m)); });
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) { reply_status(req, fs.unlink(r, parent, name)); });
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) { reply_status(req, fs.rmdir(r, parent, name)); });
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  const Request r = make_request(req);
  serve(req,
        [&](FileOperations& fs) { reply_entry(req, fs, fs.symlink(r, target, parent, name)); });
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
               const char* newname, unsigned int flags) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    reply_status(req, fs.rename(r, parent, name, newparent, newname, flags));
  });
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  const Request r = make_request(req);
  serve(req,
        [&](FileOperations& fs) { reply_entry(req, fs, fs.link(r, ino, newparent, newname)); });
}

// ---- files ----

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (conn_of(req).no_open()) return reply_error(req, ENOSYS);  // kernel stops sending opens
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    Result<OpenReply> res = fs.open(r, ino, static_cast<uint32_t>(fi->flags));
    if (!res.ok()) return reply_error(req, res.error());
    apply_open_reply(*res, fi);
    if (fuse_reply_open(req, fi) != 0) {
      (void)fs.release(r, ino, fi->fh, static_cast<uint32_t>(fi->flags));
    }
  });
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  const Request r = make_request(req);
  auto* buf = reinterpret_cast<uint8_t*>(t_buf.get(size));
  if (buf == nullptr && size != 0) return reply_error(req, ENOMEM);
  serve(req, [&](FileOperations& fs) {
    Result<size_t> res =
        fs.read(r, ino, fi->fh, static_cast<uint64_t>(off), std::span<uint8_t>(buf, size));
    if (!res.ok()) return reply_error(req, res.error());
    fuse_reply_buf(req, reinterpret_cast<const char*>(buf), std::min(*res, size));
  });
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* data, size_t size, off_t off,
              fuse_file_info* fi) {
  const Request r = make_request(req);
  Connection& c = conn_of(req);
  serve(req, [&](FileOperations& fs) {
    // Under handle_killpriv_v2 the fs drops set-id bits when someone else writes, and the
    // kernel would keep serving (and exec'ing with) the mode it cached: make it refetch.
    bool drops_setid = false;
    if (r.uid != 0 && c.fs_clears_setid()) {
      Result<Attr> a = fs.getattr(r, ino, fi->fh);
      drops_setid = a.ok() && (a->mode & (S_ISUID | S_ISGID)) != 0;
    }
    Result<size_t> res =
        fs.write(r, ino, fi->fh, static_cast<uint64_t>(off),
                 std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), size));
    if (!res.ok()) return reply_error(req, res.error());
    if (drops_setid && c.session() != nullptr) {
      (void)fuse_lowlevel_notify_inval_inode(c.session(), ino, -1, 0);  // attributes only
    }
    // An O_DIRECT write bypasses the page cache, and the kernel drops the cached pages of
    // the range only for synchronous ones: after an asynchronous (AIO, io_uring) direct
    // write, buffered readers kept reading the old bytes (keep_cache is on, auto_inval_data
    // off). fi->flags here are the writer's open flags (fuse_write_in.flags).
    if ((fi->flags & O_DIRECT) && *res > 0 && c.session() != nullptr) {
      (void)fuse_lowlevel_notify_inval_inode(c.session(), ino, off,
                                             static_cast<off_t>(std::min(*res, size)));
    }
    fuse_reply_write(req, std::min(*res, size));
  });
}

void op_flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req,
        [&](FileOperations& fs) { reply_status(req, fs.flush(r, ino, fi->fh, fi->lock_owner)); });
}

void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    reply_status(req, fs.release(r, ino, fi->fh, static_cast<uint32_t>(fi->flags)));
  });
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req,
        [&](FileOperations& fs) { reply_status(req, fs.fsync(r, ino, fi->fh, datasync != 0)); });
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    Result<CreateReply> res = fs.create(r, parent, name, mode, static_cast<uint32_t>(fi->flags));
    if (!res.ok()) return reply_error(req, res.error());
    fuse_entry_param e;
    to_fuse_entry(res->entry, &e);
    apply_open_reply(res->open, fi);
    if (fuse_reply_create(req, &e, fi) != 0) {
      // Interrupted: the kernel has neither the inode reference nor the handle.
      (void)fs.release(r, res->entry.ino, fi->fh, static_cast<uint32_t>(fi->flags));
      fs.forget(res->entry.ino, 1);
    }
  });
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                  fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    reply_status(req, fs.fallocate(r, ino, fh_of(fi), static_cast<uint32_t>(mode),
                                   static_cast<uint64_t>(off), static_cast<uint64_t>(len)));
  });
}

// The kernel sends only SEEK_DATA and SEEK_HOLE; ENOSYS makes it treat files as all data.
void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    Result<uint64_t> res =
        fs.lseek(r, ino, fh_of(fi), static_cast<uint64_t>(off), static_cast<uint32_t>(whence));
    if (!res.ok()) return reply_error(req, res.error());
    fuse_reply_lseek(req, static_cast<off_t>(*res));
  });
}

// FS_IOC_FSGETXATTR/FSSETXATTR carry the chattr flags as FS_XFLAG_* bits.
struct XflagMap {
  uint32_t fs_fl, xflag;
};
constexpr XflagMap kXflags[] = {{FS_IMMUTABLE_FL, FS_XFLAG_IMMUTABLE},
                                {FS_APPEND_FL, FS_XFLAG_APPEND},
                                {FS_NODUMP_FL, FS_XFLAG_NODUMP},
                                {FS_NOATIME_FL, FS_XFLAG_NOATIME}};

// Restricted ioctls (the kernel sizes the buffers from cmd): chattr flags, which the VFS
// turns into FUSE_IOCTL through fileattr_get/set (so lsattr/chattr work), and
// BENTO_IOC_FIEMAP (bento/fiemap_ioctl.h). Everything else: ENOTTY.
void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void*, fuse_file_info*,
              unsigned flags, const void* in_buf, size_t in_bufsz, size_t out_bufsz) {
  if (flags & FUSE_IOCTL_COMPAT) return reply_error(req, ENOSYS);
  const Request r = make_request(req, true);
  serve(req, [&](FileOperations& fs) {
    switch (cmd) {
      case FS_IOC_GETFLAGS:
      case FS_IOC_FSGETXATTR: {
        Result<uint32_t> res = fs.getflags(r, ino);
        if (!res.ok()) return reply_error(req, res.error());
        if (cmd == FS_IOC_GETFLAGS) {
          uint32_t v = *res;  // the kernel passes an int, whatever _IOC_SIZE says
          return (void)fuse_reply_ioctl(req, 0, &v, std::min(out_bufsz, sizeof v));
        }
        struct fsxattr x {};
        for (const XflagMap& m : kXflags)
          if (*res & m.fs_fl) x.fsx_xflags |= m.xflag;
        return (void)fuse_reply_ioctl(req, 0, &x, std::min(out_bufsz, sizeof x));
      }
      case FS_IOC_SETFLAGS:
      case FS_IOC_FSSETXATTR: {
        uint32_t v = 0;
        if (cmd == FS_IOC_SETFLAGS) {
          if (in_bufsz < sizeof v) return reply_error(req, EINVAL);
          std::memcpy(&v, in_buf, sizeof v);
        } else {
          struct fsxattr x {};
          if (in_bufsz < sizeof x) return reply_error(req, EINVAL);
          std::memcpy(&x, in_buf, sizeof x);
          uint32_t known = 0;
          for (const XflagMap& m : kXflags) {
            known |= m.xflag;
            if (x.fsx_xflags & m.xflag) v |= m.fs_fl;
          }
          if (x.fsx_xflags & ~known) return reply_error(req, EOPNOTSUPP);
          // Keep the flags FSSETXATTR cannot express.
          Result<uint32_t> cur = fs.getflags(r, ino);
          if (!cur.ok()) return reply_error(req, cur.error());
          uint32_t mapped = 0;
          for (const XflagMap& m : kXflags) mapped |= m.fs_fl;
          v |= *cur & ~mapped;
        }
        Status st = fs.setflags(r, ino, v);
        if (!st.ok()) return reply_error(req, st.error());
        return (void)fuse_reply_ioctl(req, 0, nullptr, 0);
      }
      case kBentoIocFiemap: {
        BentoFiemap m{};
        if (in_bufsz < sizeof m || out_bufsz < sizeof m) return reply_error(req, EINVAL);
        std::memcpy(&m, in_buf, sizeof m);
        Extent ext[BentoFiemap::kMaxExtents];
        Result<size_t> n = fs.fiemap(r, ino, m.start, m.length, std::span<Extent>(ext));
        if (!n.ok()) return reply_error(req, n.error());
        m.count = static_cast<uint32_t>(*n);
        for (size_t i = 0; i < *n; i++)
          m.extents[i] = {ext[i].logical, ext[i].physical, ext[i].length, ext[i].flags, 0};
        return (void)fuse_reply_ioctl(req, 0, &m, sizeof m);
      }
      default:
        return reply_error(req, ENOTTY);
    }
  });
}

// ---- directories ----

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    Result<OpenReply> res = fs.opendir(r, ino, static_cast<uint32_t>(fi->flags));
    if (!res.ok()) return reply_error(req, res.error());
    apply_open_reply(*res, fi);
    if (fuse_reply_open(req, fi) != 0) (void)fs.releasedir(r, ino, fi->fh);
  });
}

void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                bool plus) {
  const Request r = make_request(req);
  char* buf = t_buf.get(size);
  if (buf == nullptr && size != 0) return reply_error(req, ENOMEM);
  try {
    // Reserved up front so that add(), called from fs code, never allocates.
    t_sent.reserve(FuseDirFiller::max_entries(size));
    t_rejected.reserve(FuseDirFiller::kMaxRejected);
  } catch (...) {
    return reply_error(req, ENOMEM);
  }
  serve(req, [&](FileOperations& fs) {
    FuseDirFiller filler(req, buf, size, plus, &t_sent, &t_rejected);
    Status s = fs.readdir(r, ino, fi->fh, static_cast<uint64_t>(off), filler);
    for (Ino rejected : t_rejected) fs.forget(rejected, 1);
    if (!s.ok() && filler.used() == 0) return reply_error(req, s.error());
    // On a late error the entries already added (and counted) still go out.
    if (fuse_reply_buf(req, buf, filler.used()) != 0) {
      for (Ino sent : t_sent) fs.forget(sent, 1);  // the kernel never saw them
    }
  });
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  do_readdir(req, ino, size, off, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  do_readdir(req, ino, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) { reply_status(req, fs.releasedir(r, ino, fi->fh)); });
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  const Request r = make_request(req);
  serve(req,
        [&](FileOperations& fs) { reply_status(req, fs.fsyncdir(r, ino, fi->fh, datasync != 0)); });
}

// ---- file system ----

void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    Result<StatFs> res = fs.statfs(r, ino);
    if (!res.ok()) return reply_error(req, res.error());
    struct statvfs st;
    std::memset(&st, 0, sizeof st);
    st.f_bsize = res->block_size;
    st.f_frsize = res->block_size;
    st.f_blocks = res->blocks;
    st.f_bfree = res->blocks_free;
    st.f_bavail = res->blocks_avail;
    st.f_files = res->files;
    st.f_ffree = res->files_free;
    st.f_favail = res->files_free;
    st.f_namemax = res->name_max;
    fuse_reply_statfs(req, &st);
  });
}

void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  const Request r = make_request(req, true);
  serve(req, [&](FileOperations& fs) {
    reply_status(req, fs.access(r, ino, static_cast<uint32_t>(mask)));
  });
}

// ---- extended attributes ----

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                 int flags) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    reply_status(
        req, fs.setxattr(r, ino, name,
                         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value), size),
                         static_cast<uint32_t>(flags)));
  });
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  const Request r = make_request(req);
  auto* buf = reinterpret_cast<uint8_t*>(size != 0 ? t_buf.get(size) : nullptr);
  if (buf == nullptr && size != 0) return reply_error(req, ENOMEM);
  serve(req, [&](FileOperations& fs) {
    Result<size_t> res = fs.getxattr(r, ino, name, std::span<uint8_t>(buf, size));
    if (!res.ok()) return reply_error(req, res.error());
    if (size == 0) return (void)fuse_reply_xattr(req, *res);
    if (*res > size) return reply_error(req, ERANGE);
    fuse_reply_buf(req, reinterpret_cast<const char*>(buf), *res);
  });
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  const Request r = make_request(req);
  char* buf = size != 0 ? t_buf.get(size) : nullptr;
  if (buf == nullptr && size != 0) return reply_error(req, ENOMEM);
  serve(req, [&](FileOperations& fs) {
    Result<size_t> res = fs.listxattr(r, ino, std::span<char>(buf, size));
    if (!res.ok()) return reply_error(req, res.error());
    if (size == 0) return (void)fuse_reply_xattr(req, *res);
    if (*res > size) return reply_error(req, ERANGE);
    fuse_reply_buf(req, buf, *res);
  });
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) { reply_status(req, fs.removexattr(r, ino, name)); });
}

// ---- locks and block mapping ----

void op_getlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock) {
  const Request r = make_request(req);
  const FileLock in = from_flock(*lock);
  serve(req, [&](FileOperations& fs) {
    Result<FileLock> res = fs.getlk(r, ino, fi->fh, fi->lock_owner, in);
    if (!res.ok()) return reply_error(req, res.error());
    struct flock out = to_flock(*res);
    fuse_reply_lock(req, &out);
  });
}

// A sleeping setlk must not wait inside the fs: it would hold the connection lock, block
// every upgrade and, behind the upgrade's writer preference, every other call (including
// the unlock it waits for). So it is retried without sleeping, with the lock released
// between attempts.
void op_setlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock, int sleep) {
  const Request r = make_request(req);
  const FileLock in = from_flock(*lock);
  Connection& c = conn_of(req);
  useconds_t delay_us = 100;
  for (;;) {
    Status s = Status::Ok();
    try {
      s = c.call(
          [&](FileOperations& fs) { return fs.setlk(r, ino, fi->fh, fi->lock_owner, in, false); });
    } catch (...) {
      return reply_error(req, EIO);
    }
    if (!sleep || s.error() != EAGAIN) return reply_status(req, s);
    if (fuse_req_interrupted(req)) return reply_error(req, EINTR);
    usleep(delay_us);
    delay_us = std::min<useconds_t>(delay_us * 2, 10000);
  }
}

void op_bmap(fuse_req_t req, fuse_ino_t ino, size_t blocksize, uint64_t idx) {
  const Request r = make_request(req);
  serve(req, [&](FileOperations& fs) {
    Result<uint64_t> res = fs.bmap(r, ino, static_cast<uint32_t>(blocksize), idx);
    if (!res.ok()) return reply_error(req, res.error());
    fuse_reply_bmap(req, *res);
  });
}

}  // namespace

fuse_lowlevel_ops make_fuse_ops(const Capabilities& caps) {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof ops);
  ops.init = op_init;
  ops.destroy = op_destroy;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.readlink = op_readlink;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.symlink = op_symlink;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.fsyncdir = op_fsyncdir;
  ops.statfs = op_statfs;
  ops.setxattr = op_setxattr;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.removexattr = op_removexattr;
  ops.access = op_access;
  ops.create = op_create;
  if (caps.posix_locks) {
    ops.getlk = op_getlk;
    ops.setlk = op_setlk;
  }
  ops.bmap = op_bmap;
  ops.fallocate = op_fallocate;
  ops.lseek = op_lseek;
  ops.ioctl = op_ioctl;
  return ops;
}

}  // namespace bento::host
