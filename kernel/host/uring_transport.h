// FUSE over io_uring (Linux 6.14+, CONFIG_FUSE_IO_URING, the fuse module's enable_uring
// switch): requests arrive in ring entries instead of read(/dev/fuse) and are answered
// with one COMMIT_AND_FETCH command that also waits for the next request.
//
// Design: the kernel keeps one queue per possible CPU and hands a request to the queue of
// the CPU its caller runs on; a queue serves it in any of its available entries. Each
// queue gets `threads / queues` (at least 1) worker threads, each with its own io_uring
// (SQE128) and one registered entry, so an idle worker takes the next request while a busy
// one is still inside the fs. A request is rebuilt in place as the /dev/fuse message
// libfuse expects (header and per-op struct copied just in front of the payload, which
// is never copied) and handed to fuse_session_process_buf; the reply comes back through
// reply_sink.h. /dev/fuse stays open for what the kernel still sends there: FORGETs,
// INTERRUPTs, and every request until all queues are registered.
#pragma once

#include <memory>
#include <string>

#include "fuse_headers.h"

namespace bento::host {

class Connection;

class UringTransport {
 public:
  // Registers every queue on the session's /dev/fuse descriptor. Only after the INIT reply
  // that granted FUSE_OVER_IO_URING. Null with the reason when the kernel refuses.
  static std::unique_ptr<UringTransport> start(fuse_session* se, Connection& conn, unsigned threads,
                                               std::string* why);
  ~UringTransport();  // stop()s
  UringTransport(const UringTransport&) = delete;
  UringTransport& operator=(const UringTransport&) = delete;

  // Wakes the workers (with wake_signal, which must interrupt a blocking system call)
  // and joins them; pending ring commands are cancelled when their rings close.
  void stop(int wake_signal);

  // "io_uring (2 queues x 5 workers)".
  std::string describe() const;

  struct State;

 private:
  explicit UringTransport(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// The fuse module's enable_uring switch. Turns it on when it is off and we may (root);
// false with a reason when it stays off.
bool ensure_kernel_uring_enabled(std::string* why);

}  // namespace bento::host
