// Flags that libfuse 3.14 leaves out of the FUSE INIT reply (see init_reply_fix.cc).
#pragma once

namespace bento::host {

// From the FUSE init callback only: the INIT reply that libfuse sends from this thread
// once the callback returns will enable parallel directory operations if asked.
void add_to_init_reply(bool parallel_dirops);

}  // namespace bento::host
