// bentofs's FUSE request loop: `threads` worker threads read /dev/fuse themselves and hand
// every request to libfuse (fuse_session_process_buf), except the two that Debian 12's
// libfuse 3.14 does not know and would answer ENOSYS, which the kernel then remembers for
// the life of the mount:
//   FUSE_TMPFILE (opcode 51, Linux 6.1+): open(O_TMPFILE)      -> FileOperations::tmpfile
//   FUSE_STATX   (opcode 52, Linux 6.6+): statx(STATX_BTIME)   -> getattr's birth time
// (extra_ops.cc). Replaces fuse_session_loop_mt, which cannot be told about them.
//
// With `uring`, the INIT reply also asks for FUSE_OVER_IO_URING when the kernel offers it,
// and once the kernel has taken that reply the io_uring queues are registered
// (uring_transport.h); /dev/fuse workers keep serving what still comes that way. Where
// the kernel does not offer it or refuses the queues, one log line says so and
// everything stays on /dev/fuse.
#pragma once

#include <pthread.h>

#include <string>

#include "fuse_headers.h"

namespace bento::host {

class Connection;

struct SessionOptions {
  unsigned threads = 10;  // /dev/fuse workers, and about as many ring workers in all
  bool uring = false;     // try FUSE over io_uring
};

// Runs until the session exits (unmount, signal). 0 on a normal end. Reports the
// transport in use to conn (status).
int run_session(fuse_session* se, Connection& conn, const SessionOptions& options);

// Joins t, waking it with `sig` (installed without SA_RESTART by run_session) until it
// leaves: it may be blocked in a system call, or about to enter one.
void join_waking(pthread_t t, int sig);

// Answers the request at `msg` (`len` bytes, a fuse_in_header first) if libfuse cannot;
// false: leave it to libfuse.
bool serve_extra_op(fuse_session* se, Connection& conn, const void* msg, size_t len);

}  // namespace bento::host
