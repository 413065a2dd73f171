// Loading the CO-RE probes (probes.bpf.c) and reading their events (events.h): the
// libbpf-bootstrap pattern (BPF object + bpftool skeleton + this loader).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bento::bpf {

struct ProbeOptions {
  std::vector<uint32_t> ignore_tgids;  // kernel-side: drop events of these processes
  uint32_t ringbuf_mb = 16;
  // The fd events (everything from the raw syscall tracepoints: OPEN, PIPE, DUP, CLOSE,
  // FD_SEND, FD_RECV, PIPE_IO, SOCK_*, SOCKETPAIR, MMAP, MUNMAP, FILE_IO, TRUNCATE, RENAME,
  // LINK, UNLINK, CRED, KILL). false: fork/exec/exit only.
  bool fd_events = true;
  // FILE_IO (first read / first write of a process image on a regular file). It adds a
  // lookup to every read and write of a regular file (bpf/README.md has the cost).
  bool file_io = true;
  // FILE_COPY (which file's bytes a write carried): a map update on every read call and a
  // lookup on every write call of a regular file. Needs fd_events, file_io and io_uring's
  // programs (an io_uring write must not go unseen).
  bool copies = true;
  // Key of file_id (events.h), created once (0600) and reused until reboot (/run is a
  // tmpfs), so ids stay comparable across collector restarts. Empty: a random key per open.
  std::string file_id_key_path = "/run/bento/file-id.key";
};

struct ProbeStats {
  uint64_t events = 0;  // delivered into the ring buffer
  uint64_t lost = 0;    // ring buffer full (reserve failed), summed over CPUs
};

class Probes {
 public:
  // Loads and attaches everything. nullptr + *error (one line, says what to do) on failure.
  static std::unique_ptr<Probes> open(const ProbeOptions& opts, std::string* error);
  ~Probes();
  // Waits up to timeout_ms and calls cb(data, size) for each event (a struct from
  // events.h, starting with bento_event_header). Returns events handled or -errno. The
  // probes wake a waiting poll only once 256 KiB of events are pending, so events reach the
  // caller up to timeout_ms late (in order); poll again at least every ~100 ms.
  int poll(int timeout_ms, const std::function<void(const void*, size_t)>& cb);
  ProbeStats stats() const;
  // Drops the events of process tgid from now until it exits. False when the table of
  // ignored processes (64) is full.
  bool ignore_tgid(uint32_t tgid);
  // Whether tgid's events are dropped (until it exits: then its pid is free again).
  bool ignoring(uint32_t tgid) const;
  // What could not be enabled on this kernel (e.g. "fd events: ..."), one line each; the
  // rest works. Empty when everything is attached.
  const std::vector<std::string>& warnings() const;
  // True when every fd event (PIPE_IO and the rest) is being delivered.
  bool fd_events() const;
  // True when AF_UNIX datagram receives name their sender (the skb_copy_datagram_iovec
  // program is attached); else SOCK_RECV of such a socket has only its connected peer.
  bool unix_dgram_senders() const;
  // True when mprotect adding PROT_WRITE to a shared file mapping is reported (bpf_find_vma).
  bool mprotect_events() const;
  // True when FILE_COPY is reported: every write call of a regular file, io_uring's too, is
  // seen by the syscall programs and on_uring.
  bool copy_events() const;

 private:
  struct Impl;
  explicit Probes(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One JSON object per event (tools, debugging, tests).
std::string event_to_json(const void* data, size_t size);

}  // namespace bento::bpf
