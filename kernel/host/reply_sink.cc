#include "reply_sink.h"

#include <linux/fuse.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bento::host {
namespace {

thread_local RingReply* t_target = nullptr;

ssize_t custom_writev(int fd, struct iovec* iov, int count, void*) {
  return send_to_kernel(fd, iov, count);
}

ssize_t custom_read(int fd, void* buf, size_t len, void*) {
  return ::read(fd, buf, len);
}

}  // namespace

ScopedRingReply::ScopedRingReply(RingReply& r) {
  t_target = &r;
}
ScopedRingReply::~ScopedRingReply() {
  t_target = nullptr;
}

ssize_t send_to_kernel(int fd, const struct iovec* iov, int count) {
  RingReply* r = t_target;
  fuse_out_header out{};
  if (r == nullptr || r->sent || count < 1 || iov[0].iov_len != sizeof out)
    return ::writev(fd, iov, count);
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.unique != r->unique) return ::writev(fd, iov, count);  // a notification
  size_t payload = 0;
  for (int i = 1; i < count; i++) payload += iov[i].iov_len;
  if (payload > r->payload_cap || sizeof out + payload != out.len) {
    errno = EINVAL;  // what /dev/fuse says to a malformed reply
    return -1;
  }
  uint8_t* p = r->payload;
  for (int i = 1; i < count; i++) {
    if (iov[i].iov_len > 0) std::memcpy(p, iov[i].iov_base, iov[i].iov_len);
    p += iov[i].iov_len;
  }
  std::memcpy(r->header->in_out, &out, sizeof out);
  r->header->ring_ent_in_out.payload_sz = static_cast<uint32_t>(payload);
  r->sent = true;
  return static_cast<ssize_t>(out.len);
}

int install_reply_path(fuse_session* se) {
  fuse_custom_io io{};
  io.writev = custom_writev;
  io.read = custom_read;
  return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

}  // namespace bento::host
