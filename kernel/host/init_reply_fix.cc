// Why this exists: libfuse before 3.16 never copies FUSE_CAP_PARALLEL_DIROPS (nor
// FUSE_CAP_HANDLE_KILLPRIV) from conn->want into its INIT reply, and has no way at all to
// ask for FUSE_HANDLE_KILLPRIV_V2. On Debian 12's 3.14 the callback's `want` had
// PARALLEL_DIROPS and the reply's flags did not (strace), so the kernel serialised every
// lookup and readdir in a directory behind its inode lock; and without KILLPRIV_V2 it
// asks the fs for security.capability before every write(2) and for the mode before
// every chown.
//
// libfuse sends that reply with writev() on the thread that ran the init callback, right
// after the callback returns. bentofs defines writev() itself (an executable's definition
// takes precedence over libc's for the libraries it loads): on that thread, the first
// message written after add_to_init_reply() gets the flags added if it has the shape of
// an INIT reply; every other call goes straight to the system call. Adding a flag libfuse
// already sets changes nothing, so this stays harmless on a fixed libfuse.
#include "init_reply_fix.h"

#include <linux/fuse.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bento::host {
namespace {
thread_local uint32_t t_pending_flags = 0;
thread_local uint32_t t_pending_flags2 = 0;
constexpr uint32_t kInitExt = 1u << 30;  // FUSE_INIT_EXT: flags2 is valid
}  // namespace

void add_flags2_to_init_reply(uint32_t flags2) {
  t_pending_flags2 |= flags2;
}

void add_to_init_reply(bool parallel_dirops, bool handle_killpriv_v2) {
  t_pending_flags = (parallel_dirops ? FUSE_PARALLEL_DIROPS : 0u) |
                    (handle_killpriv_v2 ? FUSE_HANDLE_KILLPRIV_V2 : 0u);
}

namespace {

ssize_t sys_writev(int fd, const struct iovec* iov, int iovcnt) {
  return static_cast<ssize_t>(::syscall(SYS_writev, fd, iov, iovcnt));
}

bool looks_like_init_reply(const struct iovec* iov, int iovcnt) {
  if (iovcnt != 2 || iov[0].iov_len != sizeof(fuse_out_header)) return false;
  if (iov[1].iov_len < offsetof(fuse_init_out, flags) + sizeof(uint32_t)) return false;
  if (iov[1].iov_len > sizeof(fuse_init_out)) return false;
  fuse_out_header h;
  std::memcpy(&h, iov[0].iov_base, sizeof h);
  fuse_init_out o{};
  std::memcpy(&o, iov[1].iov_base, iov[1].iov_len);
  return h.error == 0 && h.len == sizeof h + iov[1].iov_len && o.major == FUSE_KERNEL_VERSION;
}

}  // namespace
}  // namespace bento::host

extern "C" ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  using namespace bento::host;
  const uint32_t add = t_pending_flags;
  const uint32_t add2 = t_pending_flags2;
  if (add == 0 && add2 == 0) return sys_writev(fd, iov, iovcnt);
  t_pending_flags = 0;  // only the first message after the callback
  t_pending_flags2 = 0;
  if (!looks_like_init_reply(iov, iovcnt)) return sys_writev(fd, iov, iovcnt);
  fuse_init_out o{};
  std::memcpy(&o, iov[1].iov_base, iov[1].iov_len);
  o.flags |= add;
  if (add2 != 0 && iov[1].iov_len >= offsetof(fuse_init_out, flags2) + sizeof o.flags2) {
    o.flags |= kInitExt;
    o.flags2 |= add2;
  }
  struct iovec patched[2] = {iov[0], {&o, iov[1].iov_len}};
  return sys_writev(fd, patched, 2);
}
