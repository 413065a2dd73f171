// Where a FUSE reply goes. Over /dev/fuse a reply is a writev() on the device; over an
// io_uring queue it is copied into the ring entry the request came in on and committed
// by the worker afterwards. libfuse 3.14 cannot be told about rings, but it sends every
// reply through the session's custom I/O writev (fuse_session_custom_io), and all of our
// replies are sent from the thread that serves the request, before the op returns: so a
// thread-local "this thread is serving ring entry X" decides, and every op's code path
// stays the same on both transports.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "fuse_headers.h"
#include "uring_uapi.h"

namespace bento::host {

// The ring entry a worker thread is answering.
struct RingReply {
  uint64_t unique = 0;
  uring_abi::ReqHeader* header = nullptr;  // the entry's header buffer
  uint8_t* payload = nullptr;              // the entry's payload buffer
  size_t payload_cap = 0;
  bool sent = false;  // a reply for `unique` has been written into the entry
};

// Makes `r` this thread's reply target for its lifetime.
class ScopedRingReply {
 public:
  explicit ScopedRingReply(RingReply& r);
  ~ScopedRingReply();
  ScopedRingReply(const ScopedRingReply&) = delete;
  ScopedRingReply& operator=(const ScopedRingReply&) = delete;
};

// Sends one message (fuse_out_header first): into this thread's ring entry when it is the
// reply to that entry's request, else writev() on fd (notifications, /dev/fuse requests).
// Returns the bytes taken, or -1 with errno like writev().
ssize_t send_to_kernel(int fd, const struct iovec* iov, int count);

// Routes the session's replies through send_to_kernel. After fuse_session_mount.
int install_reply_path(fuse_session* se);

}  // namespace bento::host
