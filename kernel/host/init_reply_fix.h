// Flags that libfuse 3.14 leaves out of the FUSE INIT reply (see init_reply_fix.cc).
#pragma once

namespace bento::host {

// From the FUSE init callback only: the INIT reply that libfuse sends from this thread
// once the callback returns will enable what is asked for here.
void add_to_init_reply(bool parallel_dirops, bool handle_killpriv_v2);

}  // namespace bento::host
