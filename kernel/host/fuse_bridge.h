// The FUSE side of the userspace host: a fuse_lowlevel_ops table whose every callback
// turns the request into a File Operations call under the connection lock and the
// result into a FUSE reply. The session's userdata must be the Connection.
//
// No callback lets an exception escape, allocates on the hot path (per-thread buffers
// are reused) or logs per call.
#pragma once

#include <bento/fs_types.h>

#include "fuse_headers.h"

namespace bento::host {

// The ops table for a file system with these capabilities (getlk/setlk are registered
// only with posix_locks: otherwise the kernel does POSIX locking locally).
fuse_lowlevel_ops make_fuse_ops(const Capabilities& caps);

}  // namespace bento::host
