// Flags that libfuse 3.14 leaves out of the FUSE INIT reply (see init_reply_fix.cc).
#pragma once

#include <cstdint>

namespace bento::host {

// From the FUSE init callback only: the INIT reply that libfuse sends from this thread
// once the callback returns will enable what is asked for here.
void add_to_init_reply(bool parallel_dirops, bool handle_killpriv_v2);

// From the thread about to process an INIT request: its reply also gets these flags2 bits
// (and FUSE_INIT_EXT, which makes the kernel read flags2). FUSE_OVER_IO_URING this way.
void add_flags2_to_init_reply(uint32_t flags2);

}  // namespace bento::host
