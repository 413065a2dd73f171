// bentofs's FUSE request loop: `threads` worker threads read /dev/fuse themselves and hand
// every request to libfuse (fuse_session_process_buf), except the two that Debian 12's
// libfuse 3.14 does not know and would answer ENOSYS, which the kernel then remembers for
// the life of the mount:
//   FUSE_TMPFILE (opcode 51, Linux 6.1+): open(O_TMPFILE)      -> FileOperations::tmpfile
//   FUSE_STATX   (opcode 52, Linux 6.6+): statx(STATX_BTIME)   -> getattr's birth time
// (extra_ops.cc). Replaces fuse_session_loop_mt, which cannot be told about them.
#pragma once

#include "fuse_headers.h"

namespace bento::host {

class Connection;

// Runs until the session exits (unmount, signal). 0 on a normal end.
int run_session(fuse_session* se, Connection& conn, unsigned threads);

// Answers the request at `msg` (`len` bytes, a fuse_in_header first) if libfuse cannot;
// false: leave it to libfuse.
bool serve_extra_op(fuse_session* se, Connection& conn, const void* msg, size_t len);

}  // namespace bento::host
