// The FUSE-over-io_uring kernel ABI (protocol 7.42, Linux 6.14+), carried here because
// Debian 12's <linux/fuse.h> stops at 7.38. Layouts from the kernel's
// include/uapi/linux/fuse.h; kept in our own namespace so a newer system header never
// clashes. The static_asserts pin the sizes the kernel checks.
#pragma once

#include <cstdint>

namespace bento::host::uring_abi {

// INIT flag (bit 41 of the 64-bit flags: bit 9 of fuse_init_in/out.flags2).
constexpr uint32_t kFlags2OverIoUring = 1u << (41 - 32);
// fuse_init_in/out.flags bit saying flags2 is valid (FUSE_INIT_EXT).
constexpr uint32_t kInitExt = 1u << 30;

constexpr uint32_t kInOutHeaderSize = 128;  // FUSE_URING_IN_OUT_HEADER_SZ
constexpr uint32_t kOpInSize = 128;         // FUSE_URING_OP_IN_OUT_SZ

struct EntInOut {  // struct fuse_uring_ent_in_out
  uint64_t flags;
  uint64_t commit_id;   // the request's unique, echoed in the commit
  uint32_t payload_sz;  // bytes used in the payload buffer, either direction
  uint32_t padding;
  uint64_t reserved;
};

// iov[0] of a REGISTER: fuse_in_header on fetch / fuse_out_header on commit, the request's
// first argument (its per-opcode struct), and the entry's bookkeeping.
struct ReqHeader {  // struct fuse_uring_req_header
  char in_out[kInOutHeaderSize];
  char op_in[kOpInSize];
  EntInOut ring_ent_in_out;
};
static_assert(sizeof(ReqHeader) == 288);

enum Cmd : uint32_t {  // enum fuse_uring_cmd, the SQE's cmd_op
  kCmdRegister = 1,
  kCmdCommitAndFetch = 2,
};

// In the SQE128's command area.
struct CmdReq {  // struct fuse_uring_cmd_req
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;
  uint8_t padding[6];
};
static_assert(sizeof(CmdReq) == 24);

}  // namespace bento::host::uring_abi
