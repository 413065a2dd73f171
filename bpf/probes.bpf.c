// SPDX-License-Identifier: GPL-2.0
/* CO-RE probes for the lineage collector (events: include/bento_bpf/events.h).
 * Everything is tp_btf (BTF-typed raw tracepoints): the kernel this was built on (6.18,
 * no CONFIG_KPROBES) refuses fentry/fexit/lsm programs with EPERM, so the fd events come
 * from the raw syscall tracepoints, which exist on any kernel with syscall tracing. They
 * are decoded for x86_64 native syscalls; 32-bit compat syscalls are skipped. No helper or
 * kfunc newer than Linux 6.1 is used (bpf_find_vma 5.17, bpf_loop 5.17, bpf_task_pt_regs
 * 5.15, ring buffer 5.8).
 *   sched_process_fork  -> FORK   (+ the child inherits reported fds and shared mappings)
 *   sched_process_exec  -> MUNMAP (how EXEC) of the old image's shared mappings, EXEC,
 *                          CLOSE for reported fds closed on exec
 *   sched_process_exit  -> MUNMAP (how EXIT), EXIT
 *   sys_exit  open/openat/openat2/creat   -> OPEN (regular files, no pseudo fs, once per
 *                                            process image and inode generation)
 *   sys_exit  pipe/pipe2                  -> PIPE
 *   sys_exit  dup/dup2/dup3/fcntl(F_DUPFD*) -> DUP (sys_enter notes what dup2/3 replace)
 *   sys_enter close/close_range           -> CLOSE (only fds reported above)
 *   sys_exit  sendmsg/sendmmsg/recvmsg/recvmmsg -> FD_SEND/FD_RECV (SCM_RIGHTS on AF_UNIX)
 *   sys_enter write-side calls (write, writev, pwrite*, sendto, sendmsg, sendmmsg, and the
 *             output of sendfile, splice, tee, vmsplice, copy_file_range)
 *   sys_exit  read-side calls (read, readv, pread*, recvfrom, recvmsg, recvmmsg, and the
 *             input of sendfile, splice, tee, vmsplice, copy_file_range); the write-side
 *             calls that can write a regular file: FILE_IO "failed" when the write their
 *             entry reported wrote nothing
 *   sys_enter the regular-file input of sendfile, splice, copy_file_range: these read and
 *             write in one call, so the read is stamped before the write it feeds
 *                     -> by the fd's type: PIPE_IO (pipe/FIFO), SOCK_SEND/SOCK_RECV (socket),
 *                        FILE_IO (regular file), each once per process image, object and
 *                        direction, and again after news (pipes, stream sockets) or a
 *                        change of the file (reads)
 *   skb_copy_datagram_iovec -> SOCK_RECV on AF_UNIX datagram sockets: the datagram's sender
 *   sys_exit  connect/accept/accept4/bind/socketpair -> SOCK_CONNECT/_ACCEPT/_BIND, SOCKETPAIR
 *   sys_exit  mmap/mprotect/munmap/mremap -> MMAP/MUNMAP (shared writable file mappings),
 *                                            FILE_IO read for mmap(PROT_READ) of a file
 *   sys_exit  truncate/ftruncate, rename*, link*, unlink*, rmdir -> TRUNCATE, RENAME, LINK,
 *                                                                   UNLINK
 *   sys_exit  set*id, setfs*id, capset   -> CRED;  kill, tkill, tgkill, rt_(tg)sigqueueinfo,
 *                                           pidfd_send_signal -> KILL
 *   task_newtask       -> FORK (is_thread) of an io_uring worker or SQPOLL thread
 *   io_uring_complete  a request that opened (OPENAT/OPENAT2 -> OPEN), read or received
 *                      (READ*, RECV*), wrote or sent (WRITE*, SEND*): the same events as the
 *                      syscalls, from the request's file, stamped at its completion
 * At sys_exit the arguments are read back from pt_regs (x86_64 leaves di/si/dx/r10/r8/r9
 * untouched for these calls), which avoids a per-call stash map on the hot paths.
 * Kernel-side filter: tgids in `ignored` (the collector itself) send nothing.
 * Lost events (ring buffer full) are counted per CPU in `lost`. */
/* vmlinux.h must come before the libbpf headers: keep clang-format from sorting them. */
// clang-format off
#include "vmlinux.h"

#include <asm/unistd_64.h> /* __NR_* of x86_64 */
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <linux/magic.h> /* s_magic of the pseudo file systems skipped by OPEN */

#include "bento_bpf/events.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

/* uapi macros vmlinux.h cannot carry */
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFIFO 0010000
#define S_IFBLK 0060000
#define S_IFCHR 0020000
#define S_IFDIR 0040000
/* Regular files and block devices: files whose bytes are data (a disk imaged with
 * `dd if=/dev/sda` is the image's source); one bit per S_IFMT >> 12. */
#define DATA_FILE_TYPES ((1u << (S_IFREG >> 12)) | (1u << (S_IFBLK >> 12)))
#define O_ACCMODE 03
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_PATH 010000000
#define O_DIRECTORY 0200000
#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#define AT_FDCWD -100
#define AT_EMPTY_PATH 0x1000
#define AT_REMOVEDIR 0x200
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define TCP_ESTABLISHED 1 /* also a connected UDP socket's sk_state */
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define FMODE_WRITE 0x2
#define FMODE_CREATED_BIT 20 /* FMODE_CREATED (0x100000), the same from 4.19 to 6.18 */
#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define MAP_SHARED 0x01
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE 0x0f
#define PF_IO_WORKER 0x00000010 /* an io_uring worker or SQPOLL thread of a process */
#define PF_KTHREAD 0x00200000
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define VM_SHARED 0x8
#define SHM_RDONLY 010000 /* shmat's flag */
#define EINPROGRESS 115
#define PAGE_MASK_4K (~4095ULL)
#define TS_COMPAT 0x0002 /* x86 thread_info.status: a 32-bit syscall is running */
#define CONFIGFS_MAGIC 0x62656570
#define FUSECTL_SUPER_MAGIC 0x65735543
#define FUSE_SUPER_MAGIC 0x65735546
#define PID_FS_MAGIC 0x50494446
#define MAX_CMSGS 4  /* control messages looked at per msghdr */
#define MAX_MMSGS 4  /* messages looked at per sendmmsg/recvmmsg */
#define FD_BITS 64   /* fds below this are also tracked per process (fork, exec, exit) */
#define MAPS_MAX 16  /* shared writable mappings tracked per process */
#define DIR_DEPTH 16 /* path components of a bento_dir_ref */

#define container_of_core(ptr, type, member) \
  ((type*)((void*)(ptr)-bpf_core_field_offset(type, member)))

/* Set by the loader before load: the per-boot key of file_id (SipHash-2-4 of the address),
 * and which optional parts are on (the verifier drops the code of those that are off). */
const volatile __u64 file_id_key[2] = {0, 0};
const volatile __u32 cfg_file_io = 1;  /* FILE_IO events */
const volatile __u32 cfg_find_vma = 1; /* MMAP on mprotect (bpf_find_vma) */
const volatile __u32 cfg_copies = 1;   /* FILE_COPY events (copy_write, copy_read) */
/* The loader's mount namespace (inode of /proc/self/ns/mnt): the host's, whose paths the
 * collector understands. 0: every task counts as in it. */
const volatile __u32 cfg_host_mnt_ns = 0;
/* Set by the loader once on_skb_copy is attached: AF_UNIX datagram receives are reported
 * from there (with their sender), not from sys_exit. */
__u32 unix_dgram_by_skb = 0;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2); /* 0: lost, 1: sent */
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u8);
} ignored SEC(".maps");

/* (tgid, fd) -> file_id of every fd an OPEN/PIPE/DUP/FD_RECV event reported: CLOSE is only
 * sent for these. LRU: entries the cleanup below misses (fds >= FD_BITS) age out. */
struct fd_key {
  __u32 tgid;
  __s32 fd;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct fd_key);
  __type(value, __u64);
} fds SEC(".maps");

/* tgid -> bitmap of its reported fds below FD_BITS: lets fork, exec, exit and close_range
 * find them without walking `fds`; processes without reported fds cost one lookup. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);
  __type(value, __u64);
} fd_bits SEC(".maps");

/* Deduplication of OPEN, PIPE_IO, SOCK_SEND/RECV and FILE_IO: one event per (process image,
 * object, kind). The process image is (tgid, start time, exec count), so pid reuse and exec
 * start afresh. a/b/c name the object: OPEN: dev, ino, i_generation; FILE_*: the inode
 * object's address and i_generation (see file_io); PIPE_*: ino and the inode object;
 * SOCK_*: the socket's inode and the peer for unconnected datagram sockets (the remote
 * address, with the port in kind's high half, or the sending sock). */
enum {
  SEEN_OPEN = 0,
  SEEN_READ = 1, /* pipe */
  SEEN_WRITE = 2,
  SEEN_SEND = 3, /* socket */
  SEEN_RECV = 4,
  SEEN_FILE_READ = 5,
  SEEN_FILE_WRITE = 6,
  SEEN_FILE_COPY = 7,      /* a: the written inode object, b: its gen | the source's << 32, c: the
                              source's inode object (0: not one file's bytes) */
  SEEN_DGRAM = 0x100,      /* with SEEN_SEND/RECV: a datagram socket's (per-peer) key */
  SEEN_OPEN_WRITE = 0x200, /* with SEEN_OPEN: an open for writing (reported apart from reads) */
  SEEN_PROC_MEMORY = 9,    /* a: the target's tgid, b: its start; with SEEN_OPEN_WRITE: writev */
  SEEN_LISTING = 10,       /* a/b/c as OPEN's: the directory listed */
};
struct seen_key {
  __u32 tgid;
  __u32 kind;
  __u64 start_ns;
  __u64 exec_id;
  __u64 a, b, c;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct seen_key);
  __type(value, __u8);
} seen_open SEC(".maps");
/* A write's: the image's input count (image_news) when its write was last reported, and
 * how many of its writes of the pipe were reported; a read's: the pipe's reported writes
 * by others and the image's fork count when its read was last reported (pipe_io). A
 * stream socket's send and receive are kept alike (stream_report). */
struct pipe_seen {
  __u64 now;
  __u64 writes;
  __u32 reports;
  __u32 open; /* BENTO_PIPE_IO_OPEN sent: no more reports */
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 32768);
  __type(key, struct seen_key);
  __type(value, struct pipe_seen);
} seen_pipe SEC(".maps");

/* A report of key k went out at the image's news count `now`: after BENTO_PIPE_IO_REPORTS
 * of them the key is open (its reads or writes last from then on, unreported). A first
 * record starts with `writes`. */
static __always_inline void note_report(struct pipe_seen* seen, void* k, __u64 now, __u64 writes) {
  if (seen) {
    seen->now = now;
    if (++seen->reports >= BENTO_PIPE_IO_REPORTS) seen->open = 1;
    return;
  }
  struct pipe_seen v = {.now = now, .writes = writes, .reports = 1};
  bpf_map_update_elem(&seen_pipe, k, &v, BPF_ANY);
}

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct seen_key);
  __type(value, __u8);
} seen_sock SEC(".maps");
/* FILE_* keys' values: a read's, file_changes when the image's read was last reported or
 * found current (file_io); a write's, WRITE_DONE or, while the call that reported it runs,
 * WRITE_PENDING | its tid << 32 (WRITE_SHARED once another call of the image writes too). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct seen_key);
  __type(value, __u64);
} seen_file SEC(".maps");
enum {
  WRITE_DONE = 1,
  WRITE_PENDING = 2,
  WRITE_SHARED = 3,
};

/* A FILE_IO write reported at a call's entry, until that call returns (tid -> the call): a
 * call that wrote nothing is reported as failed (write_returned). */
struct write_call {
  struct seen_key k; /* the image's write key in seen_file */
  __u64 task_start;  /* the thread's start time: an entry of an earlier thread with this tid
                        (it left before its call returned) is not this call's */
  __u64 file_id, dev, ino;
  __s32 fd;
  __u32 nr;
  __u32 gen;
  __u32 pad;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct write_call);
} write_calls SEC(".maps");
/* Where a write_call is built before it goes into write_calls: off the stack, which the
 * syscall programs' call chains use up (the 6.1 verifier counts 512 bytes for all). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct write_call);
} write_call_scratch SEC(".maps");
/* Entries added to write_calls minus those taken: while 0 (nearly always), a write's
 * return costs no lookup. An entry the LRU drops keeps it above 0: only slower. */
__u64 write_calls_open = 0;

/* Files changed while watched: (inode object, i_generation) -> the value of file_changes
 * when the last change began, so that a process image holding a file open reports its next
 * read again (file_io). file_changes counts changes on the machine: a read whose image's
 * value equals it needs no look here. */
struct file_ref {
  __u64 inode;
  __u32 gen;
  __u32 pad;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct file_ref);
  __type(value, __u64);
} file_epoch SEC(".maps");
__u64 file_changes = 0;

/* Pipes and FIFOs (events.h v10): a process image's write is reported again when it has
 * reported an input since its last reported write there (it may be sending other data
 * now), and a read again when someone's write of the pipe was reported since its last
 * reported read (it may be reading that data now), or when it started a process since (a
 * shell's `while read f; do cmd "$f"; done < list`: what it read for this command). So what
 * a reader got by its last reported read came from the writers' states at their last
 * reported writes before it. Its own writes are no news to a reader (an event loop's
 * self-pipe: else each of its reads and writes would be reported). image_news: (tgid,
 * start, exec id) -> inputs reported of that image (pipe, file and socket reads) and
 * processes it forked. pipe_gen: the pipe's inode object -> its reported writes. */
struct image_ref {
  __u32 tgid;
  __u32 pad;
  __u64 start_ns;
  __u64 exec_id;
};
struct image_news {
  __u64 inputs;
  __u64 forks;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct image_ref);
  __type(value, struct image_news);
} image_news SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64);
  __type(value, __u64);
} pipe_gen SEC(".maps");

/* Stream sockets (events.h v11), like pipes: a process image's send is reported again
 * after news of the image since its last reported send there, and a receive again after a
 * reported send of the peer, or a fork by the receiver, since its last reported receive.
 * Their state is in seen_pipe (kinds SEEN_SEND/SEEN_RECV, a: the socket's inode). A flow
 * is one direction of a connection, named the same by both ends: AF_UNIX, the sending
 * struct sock (the receiver's peer; a datagram's owner); TCP, (netns, sender's address and
 * port, receiver's address and port). stream_gen: a flow -> its reported sends. AF_UNIX
 * datagram sockets send the same way; their receives are per sender (unix_dgram_recv). */
struct flow_ref {
  __u64 src[2], dst[2];
  __u32 netns;
  __u16 sport, dport;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct flow_ref);
  __type(value, __u64);
} stream_gen SEC(".maps");

/* dup2/dup3 at sys_enter: what newfd held before (so sys_exit can say `replaced`). */
struct dup_stash {
  __u32 replaced;
  __u32 pad;
  __u64 replaced_file_id;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32); /* tid */
  __type(value, struct dup_stash);
} dup_stash SEC(".maps");

/* FD_SEND/FD_RECV are built here and copied out only when SCM_RIGHTS was found, so that
 * ordinary recvmsg traffic never reserves ring buffer space. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bento_fd_pass_event);
} fd_pass_scratch SEC(".maps");

/* A first send on an INET socket without a local port yet (UDP autobind): built at entry,
 * sent at the call's return with the port the kernel picked (tid -> the event). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bento_sock_event);
} sock_scratch SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, struct bento_sock_event);
} deferred_send SEC(".maps");

/* UDP sends reported per destination port ({netns, port} -> count): a receive on an
 * unconnected UDP socket that asks for no source address (recv, read: nothing names its
 * sender) is reported again once someone sent to its port since (sock_io). */
struct udp_port_ref {
  __u32 netns;
  __u32 port;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct udp_port_ref);
  __type(value, __u64);
} udp_port_sends SEC(".maps");

/* Shared writable file mappings per process (tgid), so that munmap, mremap, exec and exit
 * can report their end and fork can hand them to the child. A slot is free when start == 0. */
struct map_ent {
  __u64 start, end, off, file_id, dev, ino;
  __u32 gen;
  __u32 pad;
};
struct map_table {
  struct map_ent e[MAPS_MAX];
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct map_table);
} maps SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY); /* never written: the initial value of a `maps` entry */
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct map_table);
} map_table_zero SEC(".maps");

/* tid -> (tgid, the process's start_ns) of every task forked since the probes were loaded:
 * KILL resolves its target here (no pid -> task helper before 6.2). Entries stay after the
 * task exits (a signal's target may exit before the sender's sys_exit looks it up) until a
 * new task with that tid replaces them or the LRU drops them. */
struct task_ref {
  __u32 tgid;
  __u32 pad;
  __u64 start_ns;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, struct task_ref);
} tasks SEC(".maps");

/* bento_dir_ref.path is assembled here back to front. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, char[2 * BENTO_PATH_MAX]);
} path_scratch SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64* v = bpf_map_lookup_elem(&counters, &which);
  if (v) *v += 1;
}

/* counters: [1] every record tried, [0] those the full ring buffer refused (events sent =
 * [1] - [0]). A reserved record is null-checked once, by the caller, which counts a failure
 * with lost(): 6.1's verifier cannot tell that a record tested twice is still non-null. */
static __always_inline void* reserve(__u32 size) {
  count(1);
  return bpf_ringbuf_reserve(&events, size, 0);
}

/* The consumer is woken when the waiting bytes cross a multiple of WAKE_BYTES; otherwise
 * it finds the records at its next poll timeout (Probes::poll consumes after every
 * timeout). A wakeup per record cost a connection-per-request workload about half its CPU
 * (bench_probes `conn`). Only at the crossing, not for every record past it: while the
 * consumer is busy elsewhere (provd between polls: its database) the waiting bytes stay
 * above WAKE_BYTES, and each forced wakeup is an irq_work self-IPI (an APIC write, a VM
 * exit under a hypervisor): 18% of a create/delete loop's CPU. A wakeup that finds the
 * consumer busy is not lost: it marks the ring ready for its next epoll_wait. */
#define WAKE_BYTES (256 << 10)
static __always_inline __u64 wake_flags(__u64 before, __u64 after) {
  return after / WAKE_BYTES != before / WAKE_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}
/* What a record of size bytes takes in the ring: an 8-byte header, rounded up to 8. */
static __always_inline __u64 ring_len(__u32 size) {
  return ((__u64)size + 8 + 7) & ~7ULL;
}

/* e starts with a bento_event_header whose size is filled in. */
static __always_inline void submit(void* e) {
  __u64 after = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA); /* with e's reservation */
  __u64 len = ring_len(((struct bento_event_header*)e)->size);
  bpf_ringbuf_submit(e, wake_flags(after > len ? after - len : 0, after));
}

static __always_inline int lost(void) {
  count(0);
  return 0;
}

/* 1 if the event went out. */
static __always_inline int output(void* e, __u32 size) {
  count(1);
  __u64 before = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
  if (bpf_ringbuf_output(&events, e, size, wake_flags(before, before + ring_len(size))) != 0) {
    count(0);
    return 0;
  }
  return 1;
}

static __always_inline int ignored_tgid(__u32 tgid) {
  return bpf_map_lookup_elem(&ignored, &tgid) != 0;
}

/* The ignored processes again, as a few words the loader fills (0: a free slot): the
 * syscall programs check these first, for a handful of loads instead of a map lookup on
 * every call of every process. A slot is freed when its process exits (its pid may come
 * back as someone else); one that does not fit is still in `ignored`, checked later. */
#define FAST_IGNORED 8
volatile __u32 fast_ignored[FAST_IGNORED] = {};

static __always_inline int fast_ignored_tgid(__u32 tgid) {
  int hit = 0;
#pragma unroll
  for (int i = 0; i < FAST_IGNORED; i++) hit |= fast_ignored[i] == tgid;
  return hit;
}

static __always_inline __u32 current_tgid(void) {
  return bpf_get_current_pid_tgid() >> 32;
}

/* t's mount namespace when it is not the loader's (events.h, bento_event_header.mnt_ns),
 * else 0. */
static __always_inline __u32 foreign_mnt_ns(struct task_struct* t) {
  if (cfg_host_mnt_ns == 0) return 0;
  __u32 ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
  return ns != 0 && ns != cfg_host_mnt_ns ? ns : 0;
}

static __always_inline void fill_header(struct bento_event_header* h, __u32 type, __u32 size,
                                        struct task_struct* t) {
  h->type = type;
  h->size = size;
  h->ts_ns = bpf_ktime_get_ns();
  h->pid = BPF_CORE_READ(t, tgid);
  h->tid = BPF_CORE_READ(t, pid);
  h->start_ns = BPF_CORE_READ(t, group_leader, start_time);
  h->uid = BPF_CORE_READ(t, real_cred, uid.val);
  h->gid = BPF_CORE_READ(t, real_cred, gid.val);
  h->euid = BPF_CORE_READ(t, real_cred, euid.val);
  h->egid = BPF_CORE_READ(t, real_cred, egid.val);
  h->mnt_ns = 0; /* set by the events that carry paths (events.h): not read for the others,
                  * whose call chains are at the 6.1 verifier's 512-byte stack bound */
  h->pad = 0;
}

/* The kernel's dev_t (major << 20 | minor) as stat's st_dev (new_encode_dev). */
static __always_inline __u64 encode_dev(__u32 dev) {
  __u32 major = dev >> 20, minor = dev & 0xfffff;
  return (minor & 0xff) | (major << 8) | ((__u64)(minor & ~0xffu) << 12);
}

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                              \
  do {                                                        \
    v0 += v1, v1 = ROTL(v1, 13), v1 ^= v0, v0 = ROTL(v0, 32); \
    v2 += v3, v3 = ROTL(v3, 16), v3 ^= v2;                    \
    v0 += v3, v3 = ROTL(v3, 21), v3 ^= v0;                    \
    v2 += v1, v1 = ROTL(v1, 17), v1 ^= v2, v2 = ROTL(v2, 32); \
  } while (0)

/* file_id (and sock_id): SipHash-2-4 of the struct file (struct sock) address under the
 * loader's per-boot key; keyed and one-way, so ids neither reveal the address nor the
 * distance between two objects. */
static __noinline __u64 file_id(__u64 addr) {
  if (!addr) return 0;
  __u64 k0 = file_id_key[0], k1 = file_id_key[1];
  __u64 v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
  __u64 v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
  __u64 b = 8ULL << 56;
  v3 ^= addr;
  SIPROUND;
  SIPROUND;
  v0 ^= addr;
  v3 ^= b;
  SIPROUND;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

/* The struct file behind fd in t's table, or 0. The table walk uses direct BTF loads (no
 * helper calls): it runs on every read/write on the machine. */
static __always_inline struct file* fd_file(struct task_struct* t, int fd) {
  struct fdtable* fdt = t->files->fdt;
  if (fd < 0 || !fdt || (unsigned int)fd >= fdt->max_fds) return 0;
  struct file** arr = fdt->fd;
  struct file* f = 0;
  bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
  return f;
}

static __always_inline __u32 file_mode(struct file* f) {
  return BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT;
}

static __always_inline int compat_syscall(struct task_struct* t) {
  if (!bpf_core_field_exists(t->thread_info.status)) return 0;
  return (t->thread_info.status & TS_COMPAT) != 0;
}

static __always_inline void seen_key_init(struct seen_key* k, struct task_struct* t, __u32 kind,
                                          __u64 a, __u64 b, __u64 c) {
  k->tgid = t->tgid;
  k->kind = kind;
  k->start_ns = t->group_leader->start_time;
  k->exec_id = t->self_exec_id; /* u32 on older kernels: CO-RE adjusts the load */
  k->a = a;
  k->b = b;
  k->c = c;
}

/* 1 if k is new (and now recorded), 0 if this process image already had it. */
static __always_inline int first_time(void* map, struct seen_key* k) {
  __u8 one = 1;
  if (bpf_map_lookup_elem(map, k)) return 0;
  return bpf_map_update_elem(map, k, &one, BPF_NOEXIST) == 0;
}

static __always_inline int pseudo_fs(__u64 magic) {
  switch (magic) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
    case SELINUX_MAGIC:
    case SMACK_MAGIC:
    case PSTOREFS_MAGIC:
    case EFIVARFS_MAGIC:
    case BINFMTFS_MAGIC:
    case CONFIGFS_MAGIC:
    case FUSECTL_SUPER_MAGIC:
    case NSFS_MAGIC:
    case ANON_INODE_FS_MAGIC:
    case DEVPTS_SUPER_MAGIC:
      return 1;
  }
  return 0;
}

/* procfs's environ and mem of a process (/proc/PID/..., /proc/PID/task/TID/...): the one
 * pseudo file whose open is reported. A reader of another process's environment or memory
 * takes in what that process had read (the collector names the process; its own are
 * runtime, left out there). */
static __always_inline int proc_memory_file(struct file* f) {
  char n[8] = {};
  bpf_probe_read_kernel_str(n, sizeof(n), BPF_CORE_READ(f, f_path.dentry, d_name.name));
  if (n[0] == 'm' && n[1] == 'e' && n[2] == 'm' && n[3] == 0) return 1;
  return n[0] == 'e' && n[1] == 'n' && n[2] == 'v' && n[3] == 'i' && n[4] == 'r' && n[5] == 'o' &&
         n[6] == 'n' && n[7] == 0;
}

/* A regular file worth reporting: not on a pseudo file system. */
static __always_inline int tracked_regular(struct inode* inode) {
  if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFREG) return 0;
  return !pseudo_fs(BPF_CORE_READ(inode, i_sb, s_magic));
}

/* ---- reported fds ---- */

static __always_inline void track_fd(__u32 tgid, int fd, __u64 id) {
  struct fd_key k = {.tgid = tgid, .fd = fd};
  bpf_map_update_elem(&fds, &k, &id, BPF_ANY);
  if (fd < 0 || fd >= FD_BITS) return;
  __u64 bit = 1ULL << fd;
  __u64* bits = bpf_map_lookup_elem(&fd_bits, &tgid);
  if (bits) {
    __sync_fetch_and_or(bits, bit);
  } else if (bpf_map_update_elem(&fd_bits, &tgid, &bit, BPF_NOEXIST) != 0) {
    bits = bpf_map_lookup_elem(&fd_bits, &tgid); /* another thread created it */
    if (bits) __sync_fetch_and_or(bits, bit);
  }
}

static __always_inline void untrack_fd(__u32 tgid, int fd) {
  struct fd_key k = {.tgid = tgid, .fd = fd};
  bpf_map_delete_elem(&fds, &k);
  if (fd < 0 || fd >= FD_BITS) return;
  __u64* bits = bpf_map_lookup_elem(&fd_bits, &tgid);
  if (bits) __sync_fetch_and_and(bits, ~(1ULL << fd));
}

static __always_inline void send_close(struct task_struct* t, int fd, __u64 id, __u32 how) {
  struct bento_close_event* e = reserve(sizeof(*e));
  if (!e) {
    lost();
    return;
  }
  fill_header(&e->h, BENTO_EV_CLOSE, sizeof(*e), t);
  e->fd = fd;
  e->how = how;
  e->file_id = id;
  submit(e);
}

/* struct file before 6.13 counted its references in f_count; 6.13 made that file_ref_t
 * f_ref, which holds the count minus one. */
struct file___count {
  atomic_long_t f_count;
} __attribute__((preserve_access_index));

static __always_inline long file_refs(struct file* f) {
  if (bpf_core_field_exists(struct file___count, f_count))
    return BPF_CORE_READ((struct file___count*)f, f_count.counter);
  return BPF_CORE_READ(f, f_ref.refcnt.counter) + 1;
}

/* Whether closing f (about to drop a reference) ends the last open file description of a
 * regular file opened for writing: no write goes through it afterwards, so the collector
 * can end this image's write there. The image's OPEN and FILE_IO write of the file are then
 * reported again, so that a later open or write of it (`echo x >> f` again) is seen. A
 * mapping, a forked child or a dup holds another reference: then it is not the last. */
static __noinline __u32 last_write_close(struct task_struct* t, struct file* f) {
  if (!f || !(BPF_CORE_READ(f, f_mode) & FMODE_WRITE)) return 0;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  if (!tracked_regular(inode) || file_refs(f) != 1) return 0;
  __u32 gen = BPF_CORE_READ(inode, i_generation);
  struct seen_key k = {};
  seen_key_init(&k, t, SEEN_FILE_WRITE, (__u64)inode, gen, 0);
  bpf_map_delete_elem(&seen_file, &k);
  seen_key_init(&k, t, SEEN_OPEN | SEEN_OPEN_WRITE, encode_dev(BPF_CORE_READ(inode, i_sb, s_dev)),
                BPF_CORE_READ(inode, i_ino), gen);
  bpf_map_delete_elem(&seen_open, &k);
  return 1;
}

/* close(fd) or one fd of close_range: reported only if fd still holds the reported file. */
static __noinline int close_fd(int fd, __u32 how) {
  __u32 tgid = current_tgid();
  struct fd_key k = {.tgid = tgid, .fd = fd};
  __u64* v = bpf_map_lookup_elem(&fds, &k);
  if (!v) return 0;
  __u64 id = *v;
  untrack_fd(tgid, fd);
  if (ignored_tgid(tgid)) return 0; /* ignored after its fds were reported */
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (file_id((__u64)f) != id) return 0; /* reused by an unreported file */
  if (last_write_close(t, f)) how |= BENTO_CLOSE_LAST_WRITE;
  send_close(t, fd, id, how);
  return 0;
}

struct range_ctx {
  __u64 bits;
  __u32 first, last;
};

static long close_range_cb(__u32 fd, void* ctx) {
  struct range_ctx* c = ctx;
  if (fd >= c->first && fd <= c->last && (c->bits & (1ULL << fd))) close_fd(fd, BENTO_CLOSE_RANGE);
  return 0;
}

/* close_range only reaches fds below FD_BITS (the bitmap); larger ones age out of `fds`. */
static __always_inline void on_close_range(__u32 first, __u32 last, __u32 flags) {
  __u32 tgid = current_tgid();
  if (flags & CLOSE_RANGE_CLOEXEC) return; /* only marks them */
  __u64* bits = bpf_map_lookup_elem(&fd_bits, &tgid);
  if (!bits || !*bits || first >= FD_BITS) return;
  struct range_ctx c = {.bits = *bits, .first = first, .last = last};
  bpf_loop(FD_BITS, close_range_cb, &c, 0);
}

/* ---- data flow: PIPE_IO, SOCK_SEND/RECV, FILE_IO ---- */

/* How the caller names the other end of a datagram (sock_io's name argument). */
enum {
  NAME_NONE = 0,
  NAME_SOCKADDR = 1,        /* a: struct sockaddr *, b: its length (sendto) */
  NAME_SOCKADDR_LENPTR = 2, /* a: struct sockaddr *, b: socklen_t * (recvfrom, after) */
  NAME_MSGHDR = 3,          /* a: struct user_msghdr * (sendmsg, recvmsg, first mmsghdr) */
};
/* on_io's op: the syscall number, the direction and the name kind. */
#define IO_OP(nr, dir, name) ((nr) | ((dir) << 16) | ((name) << 20))
enum {
  IO_READ = 0,
  IO_WRITE = 1,
  IO_VMSPLICE_WRITE = 2, /* vmsplice at entry: only if the fd is a pipe's write end */
  IO_VMSPLICE_READ = 3,  /* vmsplice at return: only if it is the read end */
};

static __always_inline void image_ref_init(struct image_ref* r, struct task_struct* t) {
  r->tgid = t->tgid;
  r->pad = 0;
  r->start_ns = t->group_leader->start_time;
  r->exec_id = t->self_exec_id;
}

/* The current image has news: it reported a read of a pipe, a file or a socket (a stream
 * socket's or an AF_UNIX datagram's receive), or received on a UDP socket (any receive: a
 * UDP socket's later data is not reported). Its next write of a pipe or send on a stream
 * or AF_UNIX datagram socket is reported again (pipe_io, stream_report). Global: verified
 * once, on its own. */
__noinline int note_input(void) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct image_ref r;
  image_ref_init(&r, t);
  struct image_news* n = bpf_map_lookup_elem(&image_news, &r);
  if (n)
    __sync_fetch_and_add(&n->inputs, 1);
  else
    bpf_map_update_elem(&image_news, &r, &(struct image_news){.inputs = 1}, BPF_NOEXIST);
  return 0;
}

/* The image `parent` forked a process: its next read of a pipe is reported again. */
static __always_inline void note_fork(struct task_struct* parent) {
  struct image_ref r;
  image_ref_init(&r, parent);
  struct image_news* n = bpf_map_lookup_elem(&image_news, &r);
  if (n)
    __sync_fetch_and_add(&n->forks, 1);
  else
    bpf_map_update_elem(&image_news, &r, &(struct image_news){.forks = 1}, BPF_NOEXIST);
}

/* pipe_io's `how`: bit 0 a write; the rest the channel (enum bento_channel) << 1. */
#define PIPE_TERMINAL (BENTO_CHANNEL_TERMINAL << 1)
#define PIPE_MQUEUE (BENTO_CHANNEL_MQUEUE << 1)

/* A stream as PIPE_IO names it: `key` tells it apart while it lives (the inode object for
 * a pipe, FIFO, terminal or POSIX queue). */
struct stream_ref {
  __u64 key, ino, dev, file_id;
  __u32 generation;
  int fd;
};

/* Keyed by the stream's inode number (pipefs numbers are never reused while the pipe
 * lives) and its key. Reported: an image's first read and first write, then a write
 * after news of the image since its last reported write, and a read after someone else's
 * reported write or a fork since its last reported read (image_news, pipe_gen above); at
 * most BENTO_PIPE_IO_REPORTS times. A repeated write with nothing new costs two lookups, a
 * repeated read three. */
static __noinline int stream_io(struct task_struct* t, struct stream_ref* s, int how) {
  const int is_write = how & 1;
  __u64 ino = s->ino;
  __u64 pipe = s->key;
  struct seen_key k = {};
  seen_key_init(&k, t, is_write ? SEEN_WRITE : SEEN_READ, ino, pipe, 0);
  struct pipe_seen* seen = bpf_map_lookup_elem(&seen_pipe, &k);
  if (seen && seen->open) return 0;
  struct image_ref r;
  image_ref_init(&r, t);
  struct image_news* news = bpf_map_lookup_elem(&image_news, &r);
  __u64 now;
  if (is_write) {
    now = news ? news->inputs : 0;
  } else {
    /* The pipe's reported writes by others, and the forks (< 2^24). */
    __u64* gen = bpf_map_lookup_elem(&pipe_gen, &pipe);
    now = (gen ? *gen : 0) + ((news ? news->forks : 0) << 40);
    if (!seen || seen->now != now) { /* its own writes are no news */
      struct seen_key wk = k;
      wk.kind = SEEN_WRITE;
      struct pipe_seen* mine = bpf_map_lookup_elem(&seen_pipe, &wk);
      if (mine) now -= mine->writes;
    }
  }
  if (seen && seen->now == now) return 0;
  if (ignored_tgid(t->tgid)) return 0;
  struct bento_pipe_io_event* e = reserve(sizeof(*e));
  if (!e) {
    lost(); /* nothing recorded: the next I/O tries again */
    return 0;
  }
  fill_header(&e->h, BENTO_EV_PIPE_IO, sizeof(*e), t);
  e->fd = s->fd;
  e->is_write = is_write;
  e->again = !seen ? 0 : seen->reports + 1 >= BENTO_PIPE_IO_REPORTS ? BENTO_PIPE_IO_OPEN : 1;
  e->channel = (how >> 1) & 0x7f;
  e->pad = 0;
  e->file_id = s->file_id;
  e->dev = s->dev;
  e->ino = ino;
  e->generation = s->generation;
  e->pad_end = 0;
  if (is_write) {
    __u64* gen = bpf_map_lookup_elem(&pipe_gen, &pipe);
    if (gen)
      __sync_fetch_and_add(gen, 1);
    else
      bpf_map_update_elem(&pipe_gen, &pipe, &(__u64){1}, BPF_NOEXIST);
  }
  submit(e);
  if (seen && is_write) __sync_fetch_and_add(&seen->writes, 1);
  note_report(seen, &k, now, is_write ? 1 : 0);
  if (!is_write) note_input();
  return 0;
}

/* A pipe's, FIFO's, terminal's or POSIX message queue's I/O through f (its inode). */
static __always_inline int pipe_io(struct task_struct* t, struct file* f, struct inode* inode,
                                   int fd, int how) {
  struct stream_ref s = {
      .key = (__u64)inode,
      .ino = BPF_CORE_READ(inode, i_ino),
      .dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev)),
      .file_id = file_id((__u64)f),
      .generation = (how & ~1) == PIPE_TERMINAL ? encode_dev(BPF_CORE_READ(inode, i_rdev))
                                                : BPF_CORE_READ(inode, i_generation),
      .fd = fd,
  };
  return stream_io(t, &s, how);
}

/* msgsnd/msgrcv moved a message through System V queue msqid of the caller's IPC
 * namespace: dev the namespace's inode number, ino the msqid (it carries a sequence number:
 * a queue made after one removed gets another). Its key cannot be a kernel address (the
 * namespace's inode number, < 2^32, in the high half). */
__noinline int sysv_msg_io(int msqid, int is_write) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (msqid < 0) return 0;
  __u32 ns = BPF_CORE_READ(t, nsproxy, ipc_ns, ns.inum);
  struct stream_ref s = {
      .key = (__u64)ns << 32 | (__u32)msqid,
      .ino = (__u32)msqid,
      .dev = ns,
      .fd = -1,
  };
  return stream_io(t, &s, is_write | BENTO_CHANNEL_SYSV_MSG << 1);
}

/* mq_timedsend/mq_timedreceive on a POSIX message queue's fd. */
__noinline int mqueue_io(int fd, int is_write) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (!f) return 0;
  return pipe_io(t, f, BPF_CORE_READ(f, f_inode), fd, is_write | PIPE_MQUEUE);
}

/* A new version of the file (inode, gen) begins (a reported write, a mapping for writing,
 * ftruncate, an O_TRUNC open): the images that read it before will report their next read
 * of it again. `t`'s own read of it stays current (its own write is no news to it). */
static __noinline void file_changed(struct task_struct* t, struct inode* inode, __u32 gen) {
  __sync_fetch_and_add(&file_changes, 1);
  __u64 now = file_changes;
  struct file_ref r = {.inode = (__u64)inode, .gen = gen};
  bpf_map_update_elem(&file_epoch, &r, &now, BPF_ANY);
  struct seen_key k = {};
  seen_key_init(&k, t, SEEN_FILE_READ, (__u64)inode, gen, 0);
  __u64* mine = bpf_map_lookup_elem(&seen_file, &k);
  if (mine) *mine = now;
}

/* An image that reported a read of (inode, gen) reads it again: whether the file changed
 * since (then this read is reported, as its first of the new content). *seen: file_changes
 * when its read was last reported or found current. */
static __always_inline int read_again(__u64* seen, struct inode* inode, __u32 gen) {
  __u64 now = file_changes;
  if (*seen == now) return 0; /* nothing changed anywhere since */
  struct file_ref r = {.inode = (__u64)inode, .gen = gen};
  __u64* changed = bpf_map_lookup_elem(&file_epoch, &r);
  int stale = changed && *changed > *seen;
  *seen = now;
  return stale;
}

/* file_io's nr_dir bit for a character device's read (input_device) or a pty master's
 * write (reported as its slave's: pts_inode). */
#define DEVICE_IO (1u << 17)

/* A character device whose reads bring bytes from outside the record: a terminal (what was
 * typed), /dev/urandom, /dev/zero, a keyboard, a tun device. Only reads that returned data
 * are reported (/dev/null's give none), and never a device's writes as its input: what is
 * written to a terminal is not what it gives its next reader. Not the pty master
 * (/dev/ptmx: its reads are what programs wrote to the terminal, its output, which
 * io_on_file reports as a pipe) nor /dev/fuse (a FUSE server's requests: the fs log
 * records those). */
#define PTMX_RDEV (5u << 20 | 2)
#define TTY_RDEV (5u << 20) /* /dev/tty: the reader's controlling terminal */
static __always_inline int input_device(struct inode* inode) {
  __u32 rdev = BPF_CORE_READ(inode, i_rdev);
  return rdev != PTMX_RDEV && rdev != (10u << 20 | 229);
}

/* The tty a terminal's file stands for (tty_add_file: a tty_file_private): for /dev/tty the
 * reader's controlling terminal, for a pty master its master side. */
static __always_inline struct tty_struct* file_tty(struct file* f) {
  struct tty_file_private* priv = (struct tty_file_private*)BPF_CORE_READ(f, private_data);
  return priv ? BPF_CORE_READ(priv, tty) : 0;
}

/* A pseudo-terminal's /dev/pts/N inode, from its tty (ptmx_open binds the slave's tty to its
 * devpts dentry in driver_data); 0 for any other tty (a console's driver_data is no dentry).
 * What a pty master's holder (sshd, tmux, script) writes is what the terminal's readers
 * read: a write of that inode, as file_io reports it. */
static __always_inline struct inode* pts_inode(struct tty_struct* tty) {
  if (!tty) return 0;
  int major = BPF_CORE_READ(tty, driver, major);
  if (major < 136 || major >= 144) return 0; /* UNIX98_PTY_SLAVE_MAJOR and the 7 after it */
  struct dentry* d = (struct dentry*)BPF_CORE_READ(tty, driver_data);
  return d ? BPF_CORE_READ(d, d_inode) : 0;
}

/* The processes t's image forked so far (image_news). */
static __always_inline __u64 image_forks(struct task_struct* t) {
  struct image_ref r;
  image_ref_init(&r, t);
  struct image_news* n = bpf_map_lookup_elem(&image_news, &r);
  return n ? n->forks : 0;
}

/* An image that reported a read of a device reads it again: whether it started a process
 * since (then this read is reported: a shell reading the terminal got the command line it
 * runs next). *seen: its forks when its read was last reported. */
static __always_inline int forked_since(__u64* seen, struct task_struct* t) {
  __u64 now = image_forks(t);
  if (*seen == now) return 0;
  *seen = now;
  return 1;
}

/* The dedup key is the inode object and its generation, read before anything else: a
 * repeated read or write (the common case) costs two loads and one lookup. (dev, ino) name
 * the same file while the inode object lives; the generation tells a new file that got a
 * freed inode object's address from the old one. A write reported at a syscall's entry is
 * remembered until the call returns (write_returned). */
static __noinline int file_io(struct task_struct* t, struct file* f, struct inode* inode, int fd,
                              __u32 nr_dir /* syscall | is_write << 16 | DEVICE_IO */) {
  __u32 nr = nr_dir & 0xffff, is_write = (nr_dir >> 16) & 1, device = nr_dir & DEVICE_IO;
  __u32 gen = BPF_CORE_READ(inode, i_generation);
  struct seen_key k = {};
  seen_key_init(&k, t, is_write ? SEEN_FILE_WRITE : SEEN_FILE_READ, (__u64)inode, gen, 0);
  __u64* v = bpf_map_lookup_elem(&seen_file, &k);
  int again = 0;
  if (v) {
    if (is_write) {
      if ((*v & 0xff) == WRITE_PENDING) *v = WRITE_SHARED; /* this call may write */
      return 0;
    }
    if (device ? !forked_since(v, t) : !read_again(v, inode, gen)) return 0;
    again = 1;
  }
  struct super_block* sb = BPF_CORE_READ(inode, i_sb);
  if (!device && pseudo_fs(BPF_CORE_READ(sb, s_magic))) return 0; /* devpts is one */
  if (ignored_tgid(t->tgid)) return 0;
  /* A write at a syscall's entry is pending until the call returns; io_uring reports
   * completed writes. A read's value: file_changes now (read_again), a device's the
   * image's forks (forked_since). */
  int pending = is_write && !device && !(nr & BENTO_NR_IO_URING);
  __u32 tid = t->pid;
  __u64 value = device && !is_write ? image_forks(t)
                : !is_write         ? file_changes
                : pending           ? WRITE_PENDING | (__u64)tid << 32
                                    : WRITE_DONE;
  if (!again && bpf_map_update_elem(&seen_file, &k, &value, BPF_NOEXIST) != 0) return 0;
  struct bento_file_io_event* e = reserve(sizeof(*e));
  if (!e) {
    lost();
    if (!again) bpf_map_delete_elem(&seen_file, &k);
    return 0;
  }
  __u64 fid = file_id((__u64)f), dev = encode_dev(BPF_CORE_READ(sb, s_dev));
  __u64 ino = BPF_CORE_READ(inode, i_ino);
  fill_header(&e->h, BENTO_EV_FILE_IO, sizeof(*e), t);
  e->fd = fd;
  e->is_write = !device    ? is_write
                : is_write ? BENTO_FILE_IO_DEVICE_WRITE
                           : BENTO_FILE_IO_DEVICE_READ;
  e->syscall_nr = nr;
  e->generation = device ? encode_dev(BPF_CORE_READ(inode, i_rdev)) : gen;
  e->file_id = fid;
  e->dev = dev;
  e->ino = ino;
  submit(e);
  if (!is_write) {
    note_input();
    return 0;
  }
  if (device) return 0; /* a terminal's readers are reported by fork, not by change */
  file_changed(t, inode, gen);
  if (!pending) return 0;
  __u32 zero = 0;
  struct write_call* c = bpf_map_lookup_elem(&write_call_scratch, &zero);
  if (!c) { /* cannot wait for its result: the reported write stands */
    bpf_map_update_elem(&seen_file, &k, &(__u64){WRITE_DONE}, BPF_EXIST);
    return 0;
  }
  c->k = k;
  c->task_start = t->start_time;
  c->file_id = fid;
  c->dev = dev;
  c->ino = ino;
  c->fd = fd;
  c->nr = nr;
  c->gen = gen;
  c->pad = 0;
  if (bpf_map_update_elem(&write_calls, &tid, c, BPF_ANY) == 0)
    __sync_fetch_and_add(&write_calls_open, 1);
  else
    bpf_map_update_elem(&seen_file, &k, &(__u64){WRITE_DONE}, BPF_EXIST);
  return 0;
}

/* The return of a call that can write a regular file (write, pwrite*, writev, sendfile,
 * splice, copy_file_range): if its entry reported the image's first write of a file and
 * it wrote nothing (ret <= 0), that write is reported failed and the image's next write
 * of the file is reported again. Unless another call of the image wrote the file
 * meanwhile (WRITE_SHARED): then the reported write stands. */
static __noinline int write_returned(long nr, long ret) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct write_call* p = bpf_map_lookup_elem(&write_calls, &tid);
  if (!p) return 0;
  __u32 zero = 0;
  struct write_call* cp = bpf_map_lookup_elem(&write_call_scratch, &zero); /* off the stack */
  if (!cp) return 0;
  *cp = *p;
  bpf_map_delete_elem(&write_calls, &tid);
  __sync_fetch_and_add(&write_calls_open, -1);
  struct task_struct* t = bpf_get_current_task_btf();
  if (cp->task_start != t->start_time || cp->nr != (__u32)nr) return 0; /* not this call's */
  __u64* v = bpf_map_lookup_elem(&seen_file, &cp->k);
  /* Gone (a close ended the image's writes), or another call's since (reported anew). */
  if (!v || (*v != (WRITE_PENDING | (__u64)tid << 32) && *v != WRITE_SHARED)) return 0;
  if (ret > 0 || *v == WRITE_SHARED) {
    *v = WRITE_DONE;
    return 0;
  }
  bpf_map_delete_elem(&seen_file, &cp->k);
  struct bento_file_io_event* e = reserve(sizeof(*e));
  if (!e) return lost();
  fill_header(&e->h, BENTO_EV_FILE_IO, sizeof(*e), t);
  e->fd = cp->fd;
  e->is_write = BENTO_FILE_IO_WRITE_FAILED;
  e->syscall_nr = cp->nr;
  e->generation = cp->gen;
  e->file_id = cp->file_id;
  e->dev = cp->dev;
  e->ino = cp->ino;
  submit(e);
  return 0;
}

/* A call that emptied or replaced what a regular file holds, without a write: ftruncate
 * (fd), an open with O_TRUNC for writing (fd is the new one). */
static __noinline int fd_changed(int fd) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (!f || !cfg_file_io) return 0;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  if (!tracked_regular(inode)) return 0;
  file_changed(t, inode, BPF_CORE_READ(inode, i_generation));
  return 0;
}

/* ---- sockets ---- */

static __always_inline struct sock* file_sock(struct file* f) {
  struct socket* sock = BPF_CORE_READ(f, private_data);
  return BPF_CORE_READ(sock, sk);
}

/* sock_i_ino(): the inode that sockfs allocated with the struct socket. */
static __always_inline __u64 sock_ino(struct sock* sk) {
  /* (6.18's sk->sk_ino is not it: an accepted AF_UNIX socket carries its client's there.) */
  struct socket* sock = BPF_CORE_READ(sk, sk_socket);
  if (!sock) return 0;
  struct socket_alloc* sa = container_of_core(sock, struct socket_alloc, socket);
  return BPF_CORE_READ(sa, vfs_inode.i_ino);
}

static __noinline void fill_sock(struct bento_sock* s, struct sock* sk) {
  if (!sk) return;
  s->ino = sock_ino(sk);
  s->sock_id = file_id((__u64)sk);
  s->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
  s->family = BPF_CORE_READ(sk, __sk_common.skc_family);
  s->type = BPF_CORE_READ(sk, sk_type);
  s->protocol = BPF_CORE_READ(sk, sk_protocol);
}

/* ::ffff:a.b.c.d as AF_INET a.b.c.d (see bento_inet_addr). */
static __always_inline void unmap_v4(struct bento_inet_addr* a) {
  __u64 lo = 0;
  __u32 mid = 0;
  __builtin_memcpy(&lo, a->addr, 8);
  __builtin_memcpy(&mid, a->addr + 8, 4);
  if (lo != 0 || mid != bpf_htonl(0xffff)) return;
  __builtin_memcpy(a->addr, a->addr + 12, 4);
  __builtin_memset(a->addr + 4, 0, 12);
  a->family = AF_INET;
}

/* The socket's own idea of both ends (after bind/connect/accept). Port 0: none. */
static __noinline void fill_inet(struct bento_inet_addr* local, struct bento_inet_addr* remote,
                                 struct sock* sk) {
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  __builtin_memset(local, 0, sizeof(*local));
  __builtin_memset(remote, 0, sizeof(*remote));
  local->port = BPF_CORE_READ(sk, __sk_common.skc_num);
  remote->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  if (family == AF_INET) {
    __u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
    __u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
    __builtin_memcpy(local->addr, &l, 4);
    __builtin_memcpy(remote->addr, &r, 4);
  } else if (family == AF_INET6) {
    BPF_CORE_READ_INTO(&local->addr, sk, __sk_common.skc_v6_rcv_saddr);
    BPF_CORE_READ_INTO(&remote->addr, sk, __sk_common.skc_v6_daddr);
  } else {
    local->port = remote->port = 0;
    return;
  }
  local->family = remote->family = family;
  if (family == AF_INET6) {
    unmap_v4(local);
    unmap_v4(remote);
  }
  if (local->port == 0) __builtin_memset(local, 0, sizeof(*local));
  if (remote->port == 0) __builtin_memset(remote, 0, sizeof(*remote));
}

/* The flow a stream socket's send goes into (sender) or its receive comes from (see
 * stream_gen). */
static __noinline void flow_of(struct flow_ref* fr, struct sock* sk, int sender) {
  __builtin_memset(fr, 0, sizeof(*fr));
  if (BPF_CORE_READ(sk, __sk_common.skc_family) == AF_UNIX) {
    fr->src[0] = sender ? (__u64)sk : (__u64)BPF_CORE_READ((struct unix_sock*)sk, peer);
    return;
  }
  struct bento_inet_addr local, remote;
  fill_inet(&local, &remote, sk);
  struct bento_inet_addr* from = sender ? &local : &remote;
  struct bento_inet_addr* to = sender ? &remote : &local;
  __builtin_memcpy(fr->src, from->addr, 16);
  __builtin_memcpy(fr->dst, to->addr, 16);
  fr->sport = from->port;
  fr->dport = to->port;
  fr->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* A send (receive) on the stream socket `file` (its sock `sk`): whether to report it
 * (stream_gen above): 0 no, else the event's STREAM_* kind. With `done` (its event went
 * out): recorded, the flow's reported sends counted, a receive noted as news of the image.
 * A receive's seen_pipe value holds the flow's count (`now`) and, on AF_UNIX, the image's
 * own reported sends on the peer (`writes`) when it last looked: a receive with nothing
 * sent since costs one lookup more than a send. Global: verified once, on its own. */
enum {
  STREAM_FIRST = 1,
  STREAM_AGAIN = 2,
  STREAM_LAST = 3, /* its last report (BENTO_PIPE_IO_REPORTS) */
};
/* Which report of its key the next one is, by its record in seen_pipe (none: the first). */
static __always_inline __u32 report_kind(struct pipe_seen* seen) {
  return !seen                                        ? STREAM_FIRST
         : seen->reports + 1 >= BENTO_PIPE_IO_REPORTS ? STREAM_LAST
                                                      : STREAM_AGAIN;
}
/* A socket event's flags for a report of that kind. */
static __always_inline __u32 instant_flags(__u32 kind) {
  return BENTO_SOCK_INSTANT | (kind == STREAM_AGAIN  ? BENTO_SOCK_AGAIN
                               : kind == STREAM_LAST ? BENTO_SOCK_AGAIN | BENTO_SOCK_LAST
                                                     : 0);
}
__noinline int stream_report(__u64 file, __u64 sock, __u32 is_send, __u32 done) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = (struct file*)file;
  struct sock* sk = (struct sock*)sock;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (family != AF_UNIX && family != AF_INET && family != AF_INET6) return 0;
  const __u64 ino = BPF_CORE_READ(f, f_inode, i_ino);
  struct seen_key k = {};
  seen_key_init(&k, t, is_send ? SEEN_SEND : SEEN_RECV, ino, 0, 0);
  struct pipe_seen* seen = bpf_map_lookup_elem(&seen_pipe, &k);
  if (seen && seen->open) return 0;
  struct image_ref r;
  image_ref_init(&r, t);
  struct image_news* news = bpf_map_lookup_elem(&image_news, &r);
  struct flow_ref fr;
  __u64 now, own = 0;
  if (is_send) {
    now = news ? news->inputs : 0;
    if (!done && seen && seen->now == now) return 0;
  } else {
    flow_of(&fr, sk, 0);
    __u64* gen = bpf_map_lookup_elem(&stream_gen, &fr);
    now = (gen ? *gen : 0) + ((news ? news->forks : 0) << 40);
    if (!done && seen && seen->now == now) return 0; /* nothing sent since */
    if (family == AF_UNIX) {
      /* Its own sends are no news to it (asyncio's self-socketpair: else each wake-up
       * would be reported): those on the peer, an end it holds too. */
      k.kind = SEEN_SEND;
      k.a = sock_ino(BPF_CORE_READ((struct unix_sock*)sk, peer));
      struct pipe_seen* mine = k.a ? bpf_map_lookup_elem(&seen_pipe, &k) : 0;
      own = mine ? mine->writes : 0;
      k.kind = SEEN_RECV;
      k.a = ino;
      if (!done && seen && now - own == seen->now - seen->writes) {
        seen->now = now; /* all its own */
        seen->writes = own;
        return 0;
      }
    }
  }
  if (!done) return report_kind(seen);
  if (is_send) {
    flow_of(&fr, sk, 1);
    __u64* gen = bpf_map_lookup_elem(&stream_gen, &fr);
    if (gen)
      __sync_fetch_and_add(gen, 1);
    else
      bpf_map_update_elem(&stream_gen, &fr, &(__u64){1}, BPF_NOEXIST);
  }
  if (seen && is_send)
    __sync_fetch_and_add(&seen->writes, 1);
  else if (seen)
    seen->writes = own;
  note_report(seen, &k, now, is_send ? 1 : own);
  if (!is_send) note_input();
  return 0;
}

/* A struct sockaddr_in/_in6 in user memory (len bytes) as a bento_inet_addr. */
static __always_inline int user_inet_addr(struct bento_inet_addr* a, __u64 uaddr, __u32 len) {
  __u8 b[28] = {};
  if (!uaddr || len < 16) return 0;
  if (len >= 28) {
    if (bpf_probe_read_user(b, 28, (void*)uaddr) != 0) return 0;
  } else if (bpf_probe_read_user(b, 16, (void*)uaddr) != 0) {
    return 0;
  }
  __u16 family = b[0] | b[1] << 8;
  __builtin_memset(a, 0, sizeof(*a));
  a->port = b[2] << 8 | b[3];
  if (family == AF_INET) {
    __builtin_memcpy(a->addr, b + 4, 4);
  } else if (family == AF_INET6 && len >= 28) {
    __builtin_memcpy(a->addr, b + 8, 16);
  } else {
    return 0;
  }
  a->family = family;
  if (family == AF_INET6) unmap_v4(a);
  return 1;
}

/* An AF_UNIX address in user memory into e->path (abstract names get '@' for their NUL). */
static __noinline void user_unix_path(struct bento_sock_event* e, __u64 uaddr, __u32 len) {
  e->path_len = 0;
  if (!uaddr || len <= 2) return;
  __u32 n = len - 2;
  if (n > BENTO_SUN_PATH_MAX) n = BENTO_SUN_PATH_MAX;
  barrier_var(n);
  n &= 127;
  if (n == 0 || n > BENTO_SUN_PATH_MAX) return;
  if (bpf_probe_read_user(e->path, n, (void*)(uaddr + 2)) != 0) return;
  if (e->path[0] == 0) {
    e->path[0] = '@';
    e->flags |= BENTO_SOCK_ABSTRACT;
    e->path_len = n;
    return;
  }
  __u32 i = 0;
  for (; i < BENTO_SUN_PATH_MAX; i++)
    if (i >= n || e->path[i] == 0) break;
  e->path_len = i;
}

/* The name argument of a datagram call (see NAME_*): its user pointer and length. */
static __always_inline void name_arg(__u32 kind, __u64 a, __u64 b, __u64* uaddr, __u32* len) {
  *uaddr = 0;
  *len = 0;
  if (kind == NAME_SOCKADDR) {
    *uaddr = a;
    *len = b;
  } else if (kind == NAME_SOCKADDR_LENPTR) {
    int l = 0;
    if (b && bpf_probe_read_user(&l, sizeof(l), (void*)b) == 0 && l > 0) {
      *uaddr = a;
      *len = l;
    }
  } else if (kind == NAME_MSGHDR && a) {
    struct user_msghdr m;
    if (bpf_probe_read_user(&m, sizeof(m), (void*)a) == 0 && m.msg_name && m.msg_namelen > 0) {
      *uaddr = (__u64)m.msg_name;
      *len = m.msg_namelen;
    }
  }
}

static __always_inline void sock_event_init(struct bento_sock_event* e, __u32 type,
                                            struct task_struct* t, int fd, __u32 nr, struct file* f,
                                            struct sock* sk) {
  __builtin_memset(e, 0, sizeof(*e));
  fill_header(&e->h, type, sizeof(*e), t);
  e->fd = fd;
  e->syscall_nr = nr;
  e->file_id = file_id((__u64)f);
  fill_sock(&e->sock, sk);
}

/* The current image's reported inputs (image_news): its news count. */
static __noinline __u64 image_inputs(void) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct image_ref r;
  image_ref_init(&r, t);
  struct image_news* n = bpf_map_lookup_elem(&image_news, &r);
  return n ? n->inputs : 0;
}

/* A send on a UDP socket (events.h v11), keyed `k` (the image, the socket, the peer of an
 * unconnected one): reported again after news of the image since its last reported send
 * there, as a stream's is; 0: not, else the event's STREAM_* kind. With `done` (its event
 * went out): recorded. (Its receives stay once per image: nothing names the sender's
 * flow alike at both ends, and a receive that lasts only errs towards listing more.) */
static __noinline int udp_send_report(struct seen_key* k, int done) {
  struct pipe_seen* seen = bpf_map_lookup_elem(&seen_pipe, k);
  if (seen && seen->open) return 0;
  const __u64 now = image_inputs();
  if (!done) {
    if (seen && seen->now == now) return 0;
    return report_kind(seen);
  }
  note_report(seen, k, now, 0);
  return 0;
}

static __always_inline struct udp_port_ref udp_port(struct sock* sk, __u32 port) {
  struct udp_port_ref r = {.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum),
                           .port = port};
  return r;
}
/* A UDP send to `port` went out (udp_port_sends). */
static __noinline void udp_port_sent(__u32 netns, __u32 port) {
  struct udp_port_ref r = {.netns = netns, .port = port};
  __u64* n = bpf_map_lookup_elem(&udp_port_sends, &r);
  if (n) {
    __sync_fetch_and_add(n, 1);
    return;
  }
  __u64 one = 1;
  bpf_map_update_elem(&udp_port_sends, &r, &one, BPF_NOEXIST);
}

/* SOCK_SEND (at the entry) / SOCK_RECV (at the return) on the socket f. op's bits 24-25:
 * a stream socket's report (STREAM_*, decided by stream_report), else 0: once per image.
 * 1 if the event went out (or waits for the call's return: BENTO_SOCK_DEFERRED). */
__noinline int sock_io(__u64 file, __u64 fd_ret, __u32 op, __u64 a, __u64 b) {
  struct file* f = (struct file*)file;
  int fd = fd_ret >> 32;
  int ret = (int)fd_ret;
  __u32 nr = op & 0xffff, is_send = (op >> 16) & 0xf, name = (op >> 20) & 0xf;
  __u32 stream = (op >> 24) & 3;
  struct sock* sk = file_sock(f);
  if (!sk) return 0;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  __u16 type = BPF_CORE_READ(sk, sk_type);
  if (family != AF_UNIX && family != AF_INET && family != AF_INET6) return 0;
  /* AF_UNIX datagrams are reported by on_skb_copy, which sees their sender. */
  if (!is_send && family == AF_UNIX && type != SOCK_STREAM && unix_dgram_by_skb) return 0;
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return 0;
  __u64 ino = sock_ino(sk);
  struct bento_inet_addr peer = {};
  __u64 uaddr = 0;
  __u32 ulen = 0;
  int from_msg = 0, defer = 0;
  if (family != AF_UNIX) {
    /* An unconnected datagram socket: the other end is the call's address argument, and each
     * one is a flow of its own. */
    if (type != SOCK_STREAM && BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_ESTABLISHED) {
      name_arg(name, a, b, &uaddr, &ulen);
      from_msg = user_inet_addr(&peer, uaddr, ulen);
    }
    defer = is_send && BPF_CORE_READ(sk, __sk_common.skc_num) == 0;
  } else if (is_send && type != SOCK_STREAM && !BPF_CORE_READ((struct unix_sock*)sk, peer)) {
    name_arg(name, a, b, &uaddr, &ulen); /* the destination path, for the event only */
  }
  struct seen_key k = {};
  __u64 lo = 0, hi = 0;
  __builtin_memcpy(&lo, peer.addr, 8);
  __builtin_memcpy(&hi, peer.addr + 8, 8);
  if (family != AF_UNIX && !is_send && type != SOCK_STREAM && !from_msg &&
      BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_ESTABLISHED) {
    /* No source: once more after each new send to its port (the collector finds them). */
    struct udp_port_ref r = udp_port(sk, BPF_CORE_READ(sk, __sk_common.skc_num));
    __u64* sends = bpf_map_lookup_elem(&udp_port_sends, &r);
    lo = sends ? *sends : 0;
  }
  __u32 kind = (is_send ? SEEN_SEND : SEEN_RECV) | (type != SOCK_STREAM ? SEEN_DGRAM : 0);
  seen_key_init(&k, t, kind | (__u32)peer.port << 16, ino, lo, hi);
  const int udp_send = is_send && family != AF_UNIX && type != SOCK_STREAM;
  if (udp_send) {
    stream = udp_send_report(&k, 0);
    if (!stream) return 0;
  } else if (!stream) { /* once per image */
    if (defer) {
      if (bpf_map_lookup_elem(&seen_sock, &k)) return 0;
    } else if (!first_time(&seen_sock, &k)) {
      return 0;
    }
  }
  __u32 zero = 0;
  struct bento_sock_event* e = bpf_map_lookup_elem(&sock_scratch, &zero);
  if (!e) return 0;
  sock_event_init(e, is_send ? BENTO_EV_SOCK_SEND : BENTO_EV_SOCK_RECV, t, fd, nr, f, sk);
  if (!is_send) e->ret = ret;
  if (stream) e->flags |= instant_flags(stream);
  if (family == AF_UNIX) {
    fill_sock(&e->peer, BPF_CORE_READ((struct unix_sock*)sk, peer));
    if (uaddr) user_unix_path(e, uaddr, ulen);
  } else {
    fill_inet(&e->local, &e->remote, sk);
    if (from_msg) {
      e->remote = peer;
      e->flags |= BENTO_SOCK_REMOTE_FROM_MSG;
    }
  }
  if (defer) {
    e->flags |= BENTO_SOCK_DEFERRED;
    __u32 tid = t->pid;
    return bpf_map_update_elem(&deferred_send, &tid, e, BPF_ANY) == 0; /* recorded then */
  }
  if (!output(e, sizeof(*e))) return 0;
  if (udp_send) {
    udp_send_report(&k, 1);
    udp_port_sent(e->sock.netns, e->remote.port);
  }
  return 1;
}

/* The return of sendto/sendmsg/sendmmsg: a deferred SOCK_SEND goes out now, with the local
 * address the kernel bound during the call. */
static __noinline int deferred_send_exit(long ret) {
  struct task_struct* t = bpf_get_current_task_btf();
  __u32 tid = t->pid;
  struct bento_sock_event* d = bpf_map_lookup_elem(&deferred_send, &tid);
  if (!d) return 0;
  __u32 zero = 0;
  struct bento_sock_event* e = bpf_map_lookup_elem(&sock_scratch, &zero);
  if (!e) return 0;
  __builtin_memcpy(e, d, sizeof(*e));
  bpf_map_delete_elem(&deferred_send, &tid);
  if (ret < 0) return 0;
  struct file* f = fd_file(t, e->fd);
  if (!f || file_mode(f) != S_IFSOCK) return 0;
  struct sock* sk = file_sock(f);
  struct bento_inet_addr local = {}, remote = {};
  fill_inet(&local, &remote, sk);
  e->local = local;
  if (!(e->flags & BENTO_SOCK_REMOTE_FROM_MSG)) e->remote = remote;
  struct seen_key k = {};
  __u64 lo = 0, hi = 0;
  __builtin_memcpy(&lo, e->remote.addr, 8);
  __builtin_memcpy(&hi, e->remote.addr + 8, 8);
  __u32 port = (e->flags & BENTO_SOCK_REMOTE_FROM_MSG) ? e->remote.port : 0;
  if (!(e->flags & BENTO_SOCK_REMOTE_FROM_MSG)) lo = hi = 0;
  __u32 kind = SEEN_SEND | (e->sock.type != SOCK_STREAM ? SEEN_DGRAM : 0);
  seen_key_init(&k, t, kind | port << 16, e->sock.ino, lo, hi);
  if (!(e->flags & BENTO_SOCK_INSTANT) && !first_time(&seen_sock, &k)) return 0;
  if (!output(e, sizeof(*e))) return 0;
  if (e->sock.type != SOCK_STREAM && (e->flags & BENTO_SOCK_INSTANT)) {
    udp_send_report(&k, 1);
    udp_port_sent(e->sock.netns, e->remote.port);
  }
  return 0;
}

/* One end of a data-flow call on FILE (fd_ret: its fd << 32 | the call's result): the
 * file's type decides which event (if any). Global, so the verifier checks it once for all
 * call sites. */
__noinline int io_on_file(__u64 file, __u64 fd_ret, __u32 op, __u64 a, __u64 b) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = (struct file*)file;
  int fd = fd_ret >> 32;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  __u32 mode = BPF_CORE_READ(inode, i_mode) & S_IFMT;
  __u32 dir = (op >> 16) & 0xf;
  if (dir == IO_VMSPLICE_WRITE || dir == IO_VMSPLICE_READ) {
    int w = (BPF_CORE_READ(f, f_mode) & FMODE_WRITE) != 0;
    if (w != (dir == IO_VMSPLICE_WRITE)) return 0;
    dir = w;
  }
  if (mode == S_IFIFO) return pipe_io(t, f, inode, fd, dir);
  if (mode == S_IFSOCK) {
    struct sock* sk = file_sock(f);
    const __u16 type = sk ? BPF_CORE_READ(sk, sk_type) : 0;
    /* AF_UNIX datagrams: sent as a stream's are, received (with their sender) at the copy
     * of the datagram (unix_dgram_recv). */
    const int unix_dgram = sk && type != SOCK_STREAM && unix_dgram_by_skb &&
                           BPF_CORE_READ(sk, __sk_common.skc_family) == AF_UNIX;
    if (unix_dgram && !dir) return 0;
    if (type == SOCK_STREAM || unix_dgram) {
      if (!dir && (int)fd_ret == 0) return 0; /* end of stream: no data */
      __u32 report = stream_report(file, (__u64)sk, dir, 0);
      if (report && sock_io(file, fd_ret, (op & ~(0xfU << 16)) | dir << 16 | report << 24, a, b))
        stream_report(file, (__u64)sk, dir, 1);
      return 0;
    }
    /* A UDP socket's: every receive is news for the image's next pipe write (pipe_io): a
     * UDP socket's later data is not reported, and may come from what its sender read
     * since. */
    if (!dir) note_input();
    return sock_io((__u64)f, fd_ret, (op & ~(0xfU << 16)) | dir << 16, a, b);
  }
  if (((DATA_FILE_TYPES >> (mode >> 12)) & 1) && cfg_file_io)
    return file_io(t, f, inode, fd, (op & 0xffff) | dir << 16);
  if (mode != S_IFCHR || !cfg_file_io) return 0;
  const __u32 rdev = BPF_CORE_READ(inode, i_rdev);
  if (rdev == PTMX_RDEV) {
    /* The master's holder writes the terminal's input (what it types: reported as a write
     * of its slave) and reads its output (what programs wrote there: a pipe's read). */
    struct tty_struct* master = file_tty(f);
    struct inode* slave = master ? pts_inode(BPF_CORE_READ(master, link)) : 0;
    if (!slave || (!dir && (int)fd_ret <= 0)) return 0;
    return dir ? file_io(t, f, slave, fd, (op & 0xffff) | 1u << 16 | DEVICE_IO)
               : pipe_io(t, f, slave, fd, PIPE_TERMINAL);
  }
  /* /dev/tty stands for the caller's controlling terminal (a password typed at a prompt). */
  struct inode* pts = rdev == TTY_RDEV                            ? pts_inode(file_tty(f))
                      : (rdev >> 20) >= 136 && (rdev >> 20) < 144 ? inode /* /dev/pts/N */
                                                                  : 0;
  if (dir) /* what a program shows on a pseudo-terminal: its output, which its master reads */
    return pts ? pipe_io(t, f, pts, fd, 1 | PIPE_TERMINAL) : 0;
  if ((int)fd_ret <= 0 || !input_device(inode)) return 0; /* a read that returned data */
  return file_io(t, f, pts ? pts : inode, fd, (op & 0xffff) | DEVICE_IO);
}

/* One end of a data-flow syscall on fd. */
__noinline int on_io(int fd, __u32 op, __u64 a, __u64 b, long ret) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (!f) return 0;
  return io_on_file((__u64)f, (__u64)(__u32)fd << 32 | (__u32)ret, op, a, b);
}

/* SOCK_RECV of an AF_UNIX datagram (or seqpacket) being copied to the receiver: the skb
 * still belongs to the socket that sent it (unix_dgram_sendmsg charges it to the sender). */
__noinline int unix_dgram_recv(__u64 sender_sk, __u32 sender_pid, int len) {
  struct sock* sender = (struct sock*)sender_sk;
  struct task_struct* t = bpf_get_current_task_btf();
  if (compat_syscall(t)) return 0;
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(t);
  if (!regs) return 0;
  long nr = BPF_CORE_READ(regs, orig_ax);
  switch (nr) {
    case __NR_read:
    case __NR_readv:
    case __NR_preadv2:
    case __NR_recvfrom:
    case __NR_recvmsg:
    case __NR_recvmmsg:
      break;
    default:
      return 0;
  }
  int fd = BPF_CORE_READ(regs, di);
  struct file* f = fd_file(t, fd);
  if (!f || file_mode(f) != S_IFSOCK) return 0;
  struct sock* sk = file_sock(f);
  if (BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX) return 0;
  if (ignored_tgid(t->tgid)) return 0;
  /* Per sender: its inode (the sock address may be reused by the next sender once this one
   * is gone); for a sender already closed its process, else the address. */
  __u64 sender_ino = sock_ino(sender);
  __u64 who = sender_ino ? sender_ino : sender_pid ? sender_pid : sender_sk;
  struct seen_key k = {};
  seen_key_init(&k, t, SEEN_RECV | SEEN_DGRAM, sock_ino(sk), who,
                sender_ino   ? 1
                : sender_pid ? 3
                             : 2);
  /* Reported like a stream's receive (stream_report): again after a reported send of the
   * sender (its flow is its sock: the skb holds it) or a fork since the last report. */
  struct pipe_seen* seen = bpf_map_lookup_elem(&seen_pipe, &k);
  if (seen && seen->open) return 0;
  struct flow_ref fr = {.src = {sender_sk, 0}};
  __u64* gen = bpf_map_lookup_elem(&stream_gen, &fr);
  struct image_ref r;
  image_ref_init(&r, t);
  struct image_news* news = bpf_map_lookup_elem(&image_news, &r);
  const __u64 now = (gen ? *gen : 0) + ((news ? news->forks : 0) << 40);
  if (seen && seen->now == now) return 0;
  __u32 zero = 0;
  struct bento_sock_event* e = bpf_map_lookup_elem(&sock_scratch, &zero);
  if (!e) return 0;
  sock_event_init(e, BENTO_EV_SOCK_RECV, t, fd, nr, f, sk);
  e->ret = len;
  e->flags = BENTO_SOCK_PEER_FROM_SKB | instant_flags(report_kind(seen));
  fill_sock(&e->peer, sender);
  if (sender_pid) {
    struct task_ref* tr = bpf_map_lookup_elem(&tasks, &sender_pid);
    e->peer_pid = sender_pid;
    e->peer_start_ns = tr && tr->tgid == sender_pid ? tr->start_ns : 0;
  }
  if (!output(e, sizeof(*e))) return 0;
  note_report(seen, &k, now, 0);
  note_input();
  return 0;
}

/* SOCK_CONNECT / SOCK_ACCEPT / SOCK_BIND after the call: fd is the socket (ACCEPT: the new
 * one), uaddr/ulen the address argument, aux CONNECT's result or ACCEPT's listening fd. */
__noinline int on_sock_op(__u32 type_nr, int fd, __u64 uaddr, __u64 ulen, long aux) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return 0;
  struct file* f = fd_file(t, fd);
  if (!f || file_mode(f) != S_IFSOCK) return 0;
  struct sock* sk = file_sock(f);
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (family != AF_UNIX && family != AF_INET && family != AF_INET6) return 0;
  __u32 type = type_nr >> 16, nr = type_nr & 0xffff;
  __u32 zero = 0;
  struct bento_sock_event* e = bpf_map_lookup_elem(&sock_scratch, &zero);
  if (!e) return 0;
  sock_event_init(e, type, t, fd, nr, f, sk);
  if (type == BENTO_EV_SOCK_CONNECT) e->ret = aux;
  if (type == BENTO_EV_SOCK_ACCEPT) {
    struct file* lf = fd_file(t, aux);
    e->listen_ino = lf ? BPF_CORE_READ(lf, f_inode, i_ino) : 0;
  }
  if (family == AF_UNIX) {
    fill_sock(&e->peer, BPF_CORE_READ((struct unix_sock*)sk, peer));
    if (type != BENTO_EV_SOCK_ACCEPT) user_unix_path(e, uaddr, ulen);
  } else {
    fill_inet(&e->local, &e->remote, sk);
  }
  output(e, sizeof(*e));
  return 0;
}

__noinline int on_socketpair(__u64 usv) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return 0;
  int sv[2];
  if (bpf_probe_read_user(sv, sizeof(sv), (void*)usv) != 0) return 0;
  struct file* f0 = fd_file(t, sv[0]);
  struct file* f1 = fd_file(t, sv[1]);
  if (!f0 || !f1) return 0;
  struct bento_socketpair_event* e = reserve(sizeof(*e));
  if (!e) return lost();
  __builtin_memset(e, 0, sizeof(*e));
  fill_header(&e->h, BENTO_EV_SOCKETPAIR, sizeof(*e), t);
  e->fds[0] = sv[0];
  e->fds[1] = sv[1];
  e->file_ids[0] = file_id((__u64)f0);
  e->file_ids[1] = file_id((__u64)f1);
  fill_sock(&e->socks[0], file_sock(f0));
  fill_sock(&e->socks[1], file_sock(f1));
  submit(e);
  return 0;
}

/* ---- OPEN ---- */

/* Birth time where it is one load away: tmpfs (shmem) and ext4 keep it in their inode. */
static __always_inline __u64 btime_ns(struct inode* inode, __u64 magic) {
  struct timespec64 ts = {};
  if (magic == TMPFS_MAGIC && bpf_core_field_exists(struct shmem_inode_info, i_crtime)) {
    struct shmem_inode_info* si = container_of_core(inode, struct shmem_inode_info, vfs_inode);
    BPF_CORE_READ_INTO(&ts, si, i_crtime);
  } else if (magic == EXT4_SUPER_MAGIC && bpf_core_type_exists(struct ext4_inode_info) &&
             bpf_core_field_exists(struct ext4_inode_info, i_crtime)) {
    char name[5] = {}; /* ext2/ext3 mounts may belong to another driver */
    bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(inode, i_sb, s_type, name));
    if (name[0] != 'e' || name[1] != 'x' || name[2] != 't' || name[3] != '4' || name[4] != 0)
      return 0;
    struct ext4_inode_info* ei = container_of_core(inode, struct ext4_inode_info, vfs_inode);
    BPF_CORE_READ_INTO(&ts, ei, i_crtime);
  }
  if (ts.tv_sec <= 0) return 0;
  return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static __noinline void path_of(char* out, __u32* out_len, struct dentry* dentry,
                               struct vfsmount* vfsmnt);

/* Whether t runs under chroot: its root directory is not the top of its mount namespace
 * (walking up through the mounts stacked there, as the real root sits on the initramfs's).
 * Then an absolute path it passes names a file under its root, not the host's file of that
 * name: the probes send the host's path instead (or the root's, to put in front). */
static __always_inline int chrooted(struct task_struct* t) {
  struct dentry* dentry = BPF_CORE_READ(t, fs, root.dentry);
  struct mount* mnt = container_of_core(BPF_CORE_READ(t, fs, root.mnt), struct mount, mnt);
  for (int i = 0; i < 4; i++) {
    if (dentry != BPF_CORE_READ(mnt, mnt.mnt_root)) return 1; /* a directory inside a mount */
    struct mount* parent = BPF_CORE_READ(mnt, mnt_parent);
    if (parent == mnt) return 0; /* the namespace's top */
    dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
    mnt = parent;
  }
  return 1;
}

static __noinline int on_open(int fd, __u64 upath, __u32 flags) {
  if (flags & O_PATH) return 0; /* a handle, not an open for I/O */
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (!f) return 0;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  __u32 mode = BPF_CORE_READ(inode, i_mode);
  /* Regular files and block devices, and FIFOs for their names (their data moves in
   * PIPE_IO, whose writer may be gone, with its fd, before the collector could look). Not
   * character devices, directories, sockets. One test for the three (on_sys_exit is at the
   * 6.1 verifier's complexity bound). */
  __u32 type = mode & S_IFMT;
  if (!(((DATA_FILE_TYPES | 1u << (S_IFIFO >> 12)) >> (type >> 12)) & 1)) return 0;
  struct super_block* sb = BPF_CORE_READ(inode, i_sb);
  __u64 magic = BPF_CORE_READ(sb, s_magic);
  if (pseudo_fs(magic) && (magic != PROC_SUPER_MAGIC || !proc_memory_file(f))) return 0;
  __u32 tgid = t->tgid;
  if (ignored_tgid(tgid)) return 0;
  __u64 dev = encode_dev(BPF_CORE_READ(sb, s_dev));
  __u64 ino = BPF_CORE_READ(inode, i_ino);
  __u32 gen = BPF_CORE_READ(inode, i_generation);
  struct seen_key k = {};
  __u32 acc = flags & O_ACCMODE;
  seen_key_init(&k, t, SEEN_OPEN | (acc == O_WRONLY || acc == O_RDWR ? SEEN_OPEN_WRITE : 0), dev,
                ino, gen);
  if (!first_time(&seen_open, &k)) return 0;
  struct bento_open_event* e = reserve(sizeof(*e));
  if (!e) {
    lost();
    bpf_map_delete_elem(&seen_open, &k);
    return 0;
  }
  fill_header(&e->h, BENTO_EV_OPEN, sizeof(*e), t);
  e->h.mnt_ns = foreign_mnt_ns(t);
  e->fd = fd;
  e->flags = flags;
  e->file_id = file_id((__u64)f);
  e->dev = dev;
  e->ino = ino;
  e->mode = mode;
  e->generation = gen;
  /* The open made the file: it held nothing before (no branch: on_sys_exit is at the 6.1
   * verifier's complexity bound). */
  e->created = (BPF_CORE_READ(f, f_mode) >> FMODE_CREATED_BIT) & 1;
  e->btime_ns = btime_ns(inode, magic);
  long n = bpf_probe_read_user_str(e->path, sizeof(e->path), (const void*)upath);
  e->path_len = n > 0 ? n - 1 : 0;
  if (n <= 0) e->path[0] = 0;
  /* A relative path names the file only with the cwd or dirfd it was opened from, which
   * the collector cannot learn once the process has gone (or has moved on), and under chroot
   * an absolute one names another file on the host: the opened file's own absolute path
   * instead. So does an absolute path through a symlink (`/srv/app/current/conf`, a link
   * swapped later; `/proc/self/fd/3`): it names the link, not the file opened, so the
   * file's own path replaces it whenever the walk reaches the root. */
  /* In another mount namespace: in fs form (its mounts are not the host's). On FUSE an
   * absolute path stays as passed: Bento's mounts are named by their fs log, and each file
   * created there would pay a walk. One call site: the verifier walks path_of per call. */
  const int must = e->h.mnt_ns || e->path[0] != '/' || chrooted(t);
  if (must || magic != FUSE_SUPER_MAGIC) {
    path_of(e->path, &e->path_len, BPF_CORE_READ(f, f_path.dentry),
            e->h.mnt_ns ? 0 : BPF_CORE_READ(f, f_path.mnt));
    /* No fallback to the passed path where the walk cannot name the file (a file with no
     * path: "/"; deeper than the walk: "..."): on_sys_exit is at the 6.1 verifier's
     * complexity bound, and one more branch on the result crosses it. */
  }
  track_fd(tgid, fd, e->file_id);
  submit(e);
  return 0;
}

/* ---- LISTING ---- */

/* getdents64/getdents returned entries: the directory's names are data its lister takes in
 * (`find /etc -name '*.key' > keys.txt`, `ls`, a glob). Once per process image and
 * directory; not on the pseudo file systems (a process's own /proc/self/fd, /sys). A global
 * function: verified on its own, not within on_sys_exit's complexity bound. The collector
 * skips the tracked mounts, whose fs log records their listings. */
__noinline int on_listing(int fd) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (!f) return 0;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  __u32 mode = BPF_CORE_READ(inode, i_mode);
  if ((mode & S_IFMT) != S_IFDIR) return 0;
  struct super_block* sb = BPF_CORE_READ(inode, i_sb);
  __u64 magic = BPF_CORE_READ(sb, s_magic);
  if (pseudo_fs(magic)) return 0;
  __u32 tgid = t->tgid;
  if (ignored_tgid(tgid)) return 0;
  __u64 dev = encode_dev(BPF_CORE_READ(sb, s_dev));
  __u64 ino = BPF_CORE_READ(inode, i_ino);
  __u32 gen = BPF_CORE_READ(inode, i_generation);
  struct seen_key k = {};
  seen_key_init(&k, t, SEEN_LISTING, dev, ino, gen);
  if (!first_time(&seen_open, &k)) return 0;
  struct bento_open_event* e = reserve(sizeof(*e));
  if (!e) {
    lost();
    bpf_map_delete_elem(&seen_open, &k);
    return 0;
  }
  fill_header(&e->h, BENTO_EV_LISTING, sizeof(*e), t);
  e->h.mnt_ns = foreign_mnt_ns(t);
  e->fd = fd;
  e->flags = O_DIRECTORY; /* O_RDONLY is 0 */
  e->file_id = file_id((__u64)f);
  e->dev = dev;
  e->ino = ino;
  e->mode = mode;
  e->generation = gen;
  e->created = 0;
  e->btime_ns = btime_ns(inode, magic);
  e->path[0] = 0;
  e->path_len = 0;
  path_of(e->path, &e->path_len, BPF_CORE_READ(f, f_path.dentry),
          e->h.mnt_ns ? 0 : BPF_CORE_READ(f, f_path.mnt));
  submit(e);
  return 0;
}

/* ---- PIPE ---- */

static __noinline int on_pipe(__u64 ufds, __u32 flags) {
  struct task_struct* t = bpf_get_current_task_btf();
  __u32 tgid = t->tgid;
  if (ignored_tgid(tgid)) return 0;
  int pfd[2];
  if (bpf_probe_read_user(pfd, sizeof(pfd), (const void*)ufds) != 0) return 0;
  struct file* r = fd_file(t, pfd[0]);
  struct file* w = fd_file(t, pfd[1]);
  if (!r || !w) return 0; /* another thread closed them already */
  struct bento_pipe_event* e = reserve(sizeof(*e));
  if (!e) return lost();
  fill_header(&e->h, BENTO_EV_PIPE, sizeof(*e), t);
  e->fds[0] = pfd[0];
  e->fds[1] = pfd[1];
  e->file_ids[0] = file_id((__u64)r);
  e->file_ids[1] = file_id((__u64)w);
  e->pipe_ino = BPF_CORE_READ(r, f_inode, i_ino);
  e->flags = flags;
  e->pad = 0;
  track_fd(tgid, pfd[0], e->file_ids[0]);
  track_fd(tgid, pfd[1], e->file_ids[1]);
  submit(e);
  return 0;
}

/* ---- DUP ---- */

static __always_inline void dup_enter(int newfd) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return;
  __u32 tid = t->pid;
  struct file* f = fd_file(t, newfd);
  struct dup_stash s = {.replaced = f != 0, .replaced_file_id = file_id((__u64)f)};
  if (f && last_write_close(t, f)) s.replaced |= BENTO_DUP_REPLACED_LAST_WRITE;
  bpf_map_update_elem(&dup_stash, &tid, &s, BPF_ANY);
}

static __noinline int on_dup(int oldfd, int newfd, __u32 nr) {
  struct task_struct* t = bpf_get_current_task_btf();
  __u32 tid = t->pid, tgid = t->tgid;
  struct dup_stash* s = 0;
  if (nr == __NR_dup2 || nr == __NR_dup3) s = bpf_map_lookup_elem(&dup_stash, &tid);
  struct dup_stash before = {};
  if (s) {
    before = *s;
    bpf_map_delete_elem(&dup_stash, &tid);
  }
  if (oldfd == newfd) return 0; /* dup2(fd, fd): nothing happened */
  if (ignored_tgid(tgid)) return 0;
  struct file* f = fd_file(t, newfd);
  if (!f) return 0;
  struct bento_dup_event* e = reserve(sizeof(*e));
  if (!e) return lost();
  fill_header(&e->h, BENTO_EV_DUP, sizeof(*e), t);
  e->oldfd = oldfd;
  e->newfd = newfd;
  e->file_id = file_id((__u64)f);
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  e->dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
  e->ino = BPF_CORE_READ(inode, i_ino);
  e->syscall_nr = nr;
  e->replaced = before.replaced;
  e->replaced_file_id = before.replaced_file_id;
  track_fd(tgid, newfd, e->file_id);
  submit(e);
  return 0;
}

/* ---- FD_SEND / FD_RECV ---- */

/* One msghdr of sendmsg/recvmsg (after the call): its SCM_RIGHTS fds, if any. Global, so
 * the verifier checks it once rather than once per call site (each mmsg slot). */
__noinline int on_msg(__u32 type, int sockfd, __u64 umsg) {
  struct user_msghdr m;
  if (bpf_probe_read_user(&m, sizeof(m), (const void*)umsg) != 0) return 0;
  if (!m.msg_control || m.msg_controllen < sizeof(struct cmsghdr) + sizeof(int)) return 0;
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* sf = fd_file(t, sockfd);
  if (!sf || file_mode(sf) != S_IFSOCK) return 0;
  struct socket* sock = BPF_CORE_READ(sf, private_data);
  struct sock* sk = BPF_CORE_READ(sock, sk);
  if (BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX) return 0;
  __u32 tgid = t->tgid;
  if (ignored_tgid(tgid)) return 0;
  __u32 zero = 0;
  struct bento_fd_pass_event* e = bpf_map_lookup_elem(&fd_pass_scratch, &zero);
  if (!e) return 0;
  e->nfds = 0;
  e->truncated = 0;
  __u64 off = 0;
  for (int i = 0; i < MAX_CMSGS; i++) {
    struct cmsghdr c;
    if (off + sizeof(c) > m.msg_controllen) break;
    if (bpf_probe_read_user(&c, sizeof(c), m.msg_control + off) != 0) break;
    if (c.cmsg_len < sizeof(c) || c.cmsg_len > m.msg_controllen - off) break;
    if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_RIGHTS) {
      /* The kernel accepts several SCM_RIGHTS per message; senders use one. */
      __u32 n = (c.cmsg_len - sizeof(c)) / sizeof(int);
      if (e->nfds != 0 || n > BENTO_FDS_MAX) e->truncated = 1;
      if (e->nfds == 0 && n > 0) {
        if (n > BENTO_FDS_MAX) n = BENTO_FDS_MAX;
        barrier_var(n); /* keep the bound on the register the helper gets */
        n &= 2 * BENTO_FDS_MAX - 1;
        if (n == 0 || n > BENTO_FDS_MAX) break;
        if (bpf_probe_read_user(e->fds, n * sizeof(int), m.msg_control + off + sizeof(c)) != 0)
          break;
        e->nfds = n;
      }
    }
    off += (c.cmsg_len + 7) & ~7ULL; /* CMSG_ALIGN */
  }
  if (e->nfds == 0) return 0;
  fill_header(&e->h, type, sizeof(*e), t);
  e->sock_fd = sockfd;
  e->pad = 0;
  e->sock_ino = BPF_CORE_READ(sf, f_inode, i_ino);
  struct unix_sock* u = (struct unix_sock*)sk;
  e->peer_sock_ino = BPF_CORE_READ(u, peer, sk_socket, file, f_inode, i_ino);
  for (__u32 j = 0; j < BENTO_FDS_MAX; j++) {
    if (j >= e->nfds) {
      e->fds[j] = -1;
      e->file_ids[j] = e->devs[j] = e->inos[j] = 0;
      continue;
    }
    struct file* f = fd_file(t, e->fds[j]);
    struct inode* inode = BPF_CORE_READ(f, f_inode);
    e->file_ids[j] = file_id((__u64)f);
    e->devs[j] = f ? encode_dev(BPF_CORE_READ(inode, i_sb, s_dev)) : 0;
    e->inos[j] = f ? BPF_CORE_READ(inode, i_ino) : 0;
    if (type == BENTO_EV_FD_RECV && f) track_fd(tgid, e->fds[j], e->file_ids[j]);
  }
  output(e, sizeof(*e));
  return 0;
}

/* ---- MMAP / MUNMAP: shared writable file mappings ---- */

/* Built on the stack and copied out (bpf_ringbuf_output): send_mapping runs in loops, where
 * 6.1's verifier loses track of a reserved record ("Unreleased reference"). */
static __always_inline void send_mapping(struct task_struct* t, __u32 type, struct map_ent* m,
                                         __u32 how, int fd, __u32 prot, __u32 flags,
                                         __u32 tracked) {
  struct bento_mmap_event e;
  fill_header(&e.h, type, sizeof(e), t);
  e.addr = m->start;
  e.len = m->end - m->start;
  e.offset = m->off;
  e.file_id = m->file_id;
  e.dev = m->dev;
  e.ino = m->ino;
  e.generation = m->gen;
  e.how = how;
  e.fd = fd;
  e.prot = prot;
  e.flags = flags;
  e.tracked = tracked;
  output(&e, sizeof(e));
}

/* Records m in the process's table; 0 if the table is full. */
static __always_inline int track_mapping(__u32 tgid, struct map_ent* m) {
  struct map_table* tbl = bpf_map_lookup_elem(&maps, &tgid);
  if (!tbl) {
    __u32 zero = 0;
    struct map_table* z = bpf_map_lookup_elem(&map_table_zero, &zero);
    if (!z) return 0;
    bpf_map_update_elem(&maps, &tgid, z, BPF_NOEXIST);
    tbl = bpf_map_lookup_elem(&maps, &tgid);
    if (!tbl) return 0;
  }
  for (int i = 0; i < MAPS_MAX; i++) {
    struct map_ent* s = &tbl->e[i];
    if (s->start != 0 || __sync_val_compare_and_swap(&s->start, 0, m->start) != 0) continue;
    s->end = m->end;
    s->off = m->off;
    s->file_id = m->file_id;
    s->dev = m->dev;
    s->ino = m->ino;
    s->gen = m->gen;
    return 1;
  }
  return 0;
}

/* How a mapping came to be (new_mapping's MMAP event). */
struct map_why {
  __s32 fd;
  __u32 how, prot, flags;
};

/* A new shared writable mapping of f at [m->start, m->end), file offset m->off. */
static __noinline int new_mapping(struct task_struct* t, struct file* f, struct map_ent* m,
                                  struct map_why* why) {
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  m->file_id = file_id((__u64)f);
  m->dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
  m->ino = BPF_CORE_READ(inode, i_ino);
  m->gen = BPF_CORE_READ(inode, i_generation);
  m->pad = 0;
  int tracked = track_mapping(t->tgid, m);
  send_mapping(t, BENTO_EV_MMAP, m, why->how, why->fd, why->prot, why->flags, tracked);
  if (cfg_file_io) file_changed(t, inode, m->gen); /* written from now on, unseen */
  return 0;
}

/* [addr, addr + len) is no longer mapped: MUNMAP for the tracked mappings it covered whole;
 * those it cut at one end shrink. */
static __noinline int end_range(struct task_struct* t, __u64 addr, __u64 len, __u32 how) {
  __u32 tgid = t->tgid;
  struct map_table* tbl = bpf_map_lookup_elem(&maps, &tgid);
  if (!tbl) return 0;
  __u64 end = (addr + len + 4095) & PAGE_MASK_4K;
  for (int i = 0; i < MAPS_MAX; i++) {
    struct map_ent* s = &tbl->e[i];
    __u64 ms = s->start, me = s->end;
    if (ms == 0 || end <= ms || addr >= me) continue;
    if (addr <= ms && end >= me) {
      struct map_ent copy = *s;
      s->start = 0;
      send_mapping(t, BENTO_EV_MUNMAP, &copy, how, -1, 0, 0, 0);
    } else if (addr <= ms) {
      s->off += end - ms;
      s->start = end;
    } else if (end >= me) {
      s->end = addr;
    }
  }
  return 0;
}

/* exec or exit: every tracked mapping of the process ends. */
static __noinline int end_all(struct task_struct* t, __u32 tgid, __u32 how) {
  struct map_table* tbl = bpf_map_lookup_elem(&maps, &tgid);
  if (!tbl) return 0;
  for (int i = 0; i < MAPS_MAX; i++) {
    struct map_ent* s = &tbl->e[i];
    if (s->start == 0) continue;
    struct map_ent copy = *s;
    s->start = 0;
    send_mapping(t, BENTO_EV_MUNMAP, &copy, how, -1, 0, 0, 0);
  }
  bpf_map_delete_elem(&maps, &tgid);
  return 0;
}

static long vma_file_cb(struct task_struct* task, struct vm_area_struct* vma, void* data);

/* mmap(MAP_SHARED | MAP_ANONYMOUS, PROT_WRITE) is backed by a shmem file the kernel makes
 * for it (shmem_zero_setup), shared with every child forked while it is mapped: memory
 * that related processes pass data through (multiprocessing, a prefork server's
 * scoreboard, a database's shared buffers). It is reported as a mapping of that file. */
__noinline int on_mmap(__u64 ret, __u64 len, __u32 prot, __u32 flags, int fd) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (flags & MAP_FIXED) end_range(t, ret, len, BENTO_MUNMAP_REPLACED);
  __u32 type = flags & MAP_TYPE;
  int shared_writable = (type == MAP_SHARED || type == MAP_SHARED_VALIDATE) && (prot & PROT_WRITE);
  struct file* f = 0;
  if (flags & MAP_ANONYMOUS) {
    if (!shared_writable || !cfg_find_vma) return 0;
    __u64 vm_file = 0;
    if (bpf_find_vma(t, ret, vma_file_cb, &vm_file, 0) != 0) return 0;
    f = (struct file*)vm_file;
    fd = -1;
  } else {
    f = fd_file(t, fd);
  }
  if (!f) return 0;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  if (!tracked_regular(inode)) return 0;
  if (ignored_tgid(t->tgid)) return 0;
  if (cfg_file_io && fd >= 0 && (prot & (PROT_READ | PROT_EXEC)))
    file_io(t, f, inode, fd, __NR_mmap); /* a read of the file, from the first page fault on */
  if (!shared_writable) return 0;
  __u64 off = 0;
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(t);
  if (regs && fd >= 0) off = BPF_CORE_READ(regs, r9);
  struct map_ent m = {.start = ret, .end = (ret + len + 4095) & PAGE_MASK_4K, .off = off};
  struct map_why why = {.fd = fd, .how = BENTO_MMAP_MMAP, .prot = prot, .flags = flags};
  return new_mapping(t, f, &m, &why);
}

static long vma_file_cb(struct task_struct* task, struct vm_area_struct* vma, void* data) {
  *(__u64*)data = (__u64)BPF_CORE_READ(vma, vm_file);
  return 0;
}

struct vma_ctx {
  __u64 start, end, pgoff, flags, file;
};

static long vma_cb(struct task_struct* task, struct vm_area_struct* vma, void* data) {
  struct vma_ctx* c = data;
  c->start = BPF_CORE_READ(vma, vm_start);
  c->end = BPF_CORE_READ(vma, vm_end);
  c->pgoff = BPF_CORE_READ(vma, vm_pgoff);
  c->flags = BPF_CORE_READ(vma, vm_flags);
  c->file = (__u64)BPF_CORE_READ(vma, vm_file);
  return 0;
}

/* mprotect(addr, len, prot | PROT_WRITE) succeeded: if it made a shared file mapping
 * writable that was not already, that is a new MMAP. */
__noinline int on_mprotect(__u64 addr, __u64 len, __u32 prot) {
  if (!cfg_find_vma) return 0;
  struct task_struct* t = bpf_get_current_task_btf();
  __u32 tgid = t->tgid;
  struct map_table* tbl = bpf_map_lookup_elem(&maps, &tgid);
  if (tbl) {
    for (int i = 0; i < MAPS_MAX; i++)
      if (tbl->e[i].start != 0 && tbl->e[i].start <= addr && addr < tbl->e[i].end) return 0;
  }
  struct vma_ctx c = {};
  if (bpf_find_vma(t, addr, vma_cb, &c, 0) != 0) return 0;
  if (!(c.flags & VM_SHARED) || !c.file) return 0;
  struct file* f = (struct file*)c.file;
  if (!tracked_regular(BPF_CORE_READ(f, f_inode))) return 0;
  if (ignored_tgid(tgid)) return 0;
  __u64 start = c.start > addr ? c.start : addr;
  __u64 end = (addr + len + 4095) & PAGE_MASK_4K;
  if (c.end < end) end = c.end;
  struct map_ent m = {.start = start, .end = end, .off = (c.pgoff << 12) + (start - c.start)};
  struct map_why why = {.fd = -1, .how = BENTO_MMAP_MPROTECT, .prot = prot, .flags = 0};
  return new_mapping(t, f, &m, &why);
}

/* shmat attached a System V shared memory segment at addr: memory unrelated processes
 * pass data through. Writable, it is a mapping of the segment's shmem file (what the
 * process wrote there, others read, and the reverse); SHM_RDONLY, a read of that file. */
__noinline int on_shmat(__u64 addr, __u32 shmflg) {
  if (!cfg_find_vma) return 0;
  struct task_struct* t = bpf_get_current_task_btf();
  struct vma_ctx c = {};
  if (bpf_find_vma(t, addr, vma_cb, &c, 0) != 0 || !c.file) return 0;
  struct file* f = (struct file*)c.file;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  if (!tracked_regular(inode)) return 0;
  if (ignored_tgid(t->tgid)) return 0;
  if (shmflg & SHM_RDONLY) return cfg_file_io ? file_io(t, f, inode, -1, __NR_shmat) : 0;
  struct map_ent m = {.start = c.start, .end = c.end, .off = 0};
  struct map_why why = {.fd = -1,
                        .how = BENTO_MMAP_SHMAT,
                        .prot = PROT_READ | PROT_WRITE,
                        .flags = MAP_SHARED | MAP_ANONYMOUS};
  return new_mapping(t, f, &m, &why);
}

/* shmdt(addr), at its entry: the segment attached there is let go of. */
__noinline int on_shmdt(__u64 addr) {
  if (!cfg_find_vma) return 0;
  struct task_struct* t = bpf_get_current_task_btf();
  __u32 tgid = t->tgid;
  if (!bpf_map_lookup_elem(&maps, &tgid)) return 0;
  struct vma_ctx c = {};
  if (bpf_find_vma(t, addr, vma_cb, &c, 0) != 0 || c.start != addr) return 0;
  return end_range(t, c.start, c.end - c.start, BENTO_MUNMAP_MUNMAP);
}

/* mremap moved or resized a mapping: the tracked one that started at old_addr follows. */
__noinline int on_mremap(__u64 old_addr, __u64 old_len, __u64 new_len, __u64 ret) {
  struct task_struct* t = bpf_get_current_task_btf();
  __u32 tgid = t->tgid;
  struct map_table* tbl = bpf_map_lookup_elem(&maps, &tgid);
  if (!tbl) return 0;
  for (int i = 0; i < MAPS_MAX; i++) {
    struct map_ent* s = &tbl->e[i];
    if (s->start != old_addr) continue;
    struct map_ent copy = *s;
    send_mapping(t, BENTO_EV_MUNMAP, &copy, BENTO_MUNMAP_MREMAP, -1, 0, 0, 0);
    s->end = ret + ((new_len + 4095) & PAGE_MASK_4K);
    s->start = ret;
    copy = *s;
    send_mapping(t, BENTO_EV_MMAP, &copy, BENTO_MMAP_MREMAP, -1, 0, 0, 1);
    return 0;
  }
  /* Part of a mapping moved away: what stays shrinks like after munmap. */
  return end_range(t, old_addr, old_len, BENTO_MUNMAP_MREMAP);
}

/* ---- TRUNCATE, RENAME, LINK, UNLINK ---- */

/* The absolute path of dentry (under mnt) into out (BENTO_PATH_MAX bytes, NUL-terminated)
 * and its length into *out_len, by walking d_parent and the mount tree (at most DIR_DEPTH
 * components; a longer one starts with "..."). Without a mount (vfsmnt 0): its path in fs
 * form, from the root of its file system (events.h, bento_event_header.mnt_ns). */
static __noinline void path_of(char* out, __u32* out_len, struct dentry* dentry,
                               struct vfsmount* vfsmnt) {
  __u32 zero = 0;
  char* buf = bpf_map_lookup_elem(&path_scratch, &zero);
  if (!buf) return;
  struct mount* mnt = container_of_core(vfsmnt, struct mount, mnt);
  __u32 off = BENTO_PATH_MAX - 1; /* buf[off..] is the path so far, NUL-terminated */
  buf[BENTO_PATH_MAX - 1] = 0;
  int complete = 0;
  for (int i = 0; i < DIR_DEPTH * 2; i++) {
    if (vfsmnt && dentry == BPF_CORE_READ(mnt, mnt.mnt_root)) {
      struct mount* parent = BPF_CORE_READ(mnt, mnt_parent);
      if (parent == mnt) {
        complete = 1;
        break;
      }
      dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
      mnt = parent;
      continue;
    }
    struct dentry* parent = BPF_CORE_READ(dentry, d_parent);
    if (parent == dentry) {
      complete = 1;
      break;
    }
    __u32 len = BPF_CORE_READ(dentry, d_name.len);
    const unsigned char* name = BPF_CORE_READ(dentry, d_name.name);
    if (len + 4 > off) break; /* room for it, '/' and "..." */
    off -= len;
    off &= BENTO_PATH_MAX - 1;
    len &= BENTO_PATH_MAX - 1;
    bpf_probe_read_kernel(buf + off, len, name);
    off -= 1;
    off &= BENTO_PATH_MAX - 1;
    buf[off] = '/';
    dentry = parent;
  }
  if (!complete && off >= 3) {
    off -= 3;
    off &= BENTO_PATH_MAX - 1;
    buf[off] = buf[off + 1] = buf[off + 2] = '.';
  }
  if (off == BENTO_PATH_MAX - 1) { /* the root itself */
    off -= 1;
    buf[off] = '/';
  }
  __u32 n = BENTO_PATH_MAX - off; /* with the NUL */
  n &= 2 * BENTO_PATH_MAX - 1;
  if (n == 0 || n > BENTO_PATH_MAX) return;
  off &= BENTO_PATH_MAX - 1;
  bpf_probe_read_kernel(out, n, buf + off);
  *out_len = n - 1;
}

/* What `path` (already copied into the event) starts from when the host's root is not where
 * it does: a relative path's directory, a chrooted task's root for an absolute one. */
static __noinline void fill_dir(struct task_struct* t, struct bento_dir_ref* d, int dirfd,
                                const char* path) {
  __builtin_memset(d, 0, sizeof(*d));
  if (path[0] == 0) return;
  struct dentry* dentry = 0;
  struct vfsmount* mnt = 0;
  const int fs_form = foreign_mnt_ns(t) != 0; /* events.h: only a relative path is placed */
  if (path[0] == '/') {
    if (fs_form || !chrooted(t)) return;
    d->dirfd = AT_FDCWD; /* an absolute path under chroot starts from the task's root */
    dentry = BPF_CORE_READ(t, fs, root.dentry);
    mnt = BPF_CORE_READ(t, fs, root.mnt);
  } else if (dirfd == AT_FDCWD) {
    d->dirfd = dirfd;
    dentry = BPF_CORE_READ(t, fs, pwd.dentry);
    mnt = BPF_CORE_READ(t, fs, pwd.mnt);
  } else {
    d->dirfd = dirfd;
    struct file* f = fd_file(t, dirfd);
    if (!f) return;
    dentry = BPF_CORE_READ(f, f_path.dentry);
    mnt = BPF_CORE_READ(f, f_path.mnt);
  }
  if (!dentry || !mnt) return;
  struct inode* inode = BPF_CORE_READ(dentry, d_inode);
  d->dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
  d->ino = BPF_CORE_READ(inode, i_ino);
  path_of(d->path, &d->path_len, dentry, fs_form ? 0 : mnt);
}

static __always_inline __u32 user_path(char* dst, __u64 upath) {
  long n = bpf_probe_read_user_str(dst, BENTO_PATH_MAX, (const void*)upath);
  if (n <= 0) {
    dst[0] = 0;
    return 0;
  }
  return n - 1;
}

/* type_nr: event type << 16 | syscall; dirfds: olddirfd << 32 | newdirfd. */
__noinline int on_path(__u32 type_nr, __u64 dirfds, __u64 oldp, __u64 newp, __u32 flags) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return 0;
  struct bento_path_event* e = reserve(sizeof(*e));
  if (!e) return lost();
  __u32 type = type_nr >> 16;
  fill_header(&e->h, type, sizeof(*e), t);
  e->h.mnt_ns = foreign_mnt_ns(t);
  e->syscall_nr = type_nr & 0xffff;
  e->flags = flags;
  e->dev = e->ino = 0;
  e->generation = e->ino_known = 0;
  e->oldpath_len = user_path(e->oldpath, oldp);
  e->newpath_len = 0;
  e->newpath[0] = 0;
  if (type != BENTO_EV_UNLINK) e->newpath_len = user_path(e->newpath, newp);
  int olddirfd = dirfds >> 32, newdirfd = (int)dirfds;
  fill_dir(t, &e->olddir, olddirfd, e->oldpath);
  if (type != BENTO_EV_UNLINK)
    fill_dir(t, &e->newdir, newdirfd, e->newpath);
  else
    __builtin_memset(&e->newdir, 0, sizeof(e->newdir));
  if (type == BENTO_EV_LINK && (flags & AT_EMPTY_PATH) && e->oldpath[0] == 0) {
    struct file* f = fd_file(t, olddirfd); /* linkat(fd, "", ...): fd's inode (O_TMPFILE) */
    if (f) {
      struct inode* inode = BPF_CORE_READ(f, f_inode);
      e->dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
      e->ino = BPF_CORE_READ(inode, i_ino);
      e->generation = BPF_CORE_READ(inode, i_generation);
      e->ino_known = 1;
    }
  }
  submit(e);
  return 0;
}

__noinline int on_truncate(__u32 nr, __u64 arg0, __s64 length) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return 0;
  struct file* f = 0;
  if (nr == __NR_ftruncate) {
    f = fd_file(t, arg0);
    if (!f) return 0;
  }
  struct bento_truncate_event* e = reserve(sizeof(*e));
  if (!e) return lost();
  fill_header(&e->h, BENTO_EV_TRUNCATE, sizeof(*e), t);
  e->h.mnt_ns = foreign_mnt_ns(t);
  e->syscall_nr = nr;
  e->length = length;
  e->fd = -1;
  e->file_id = e->dev = e->ino = 0;
  e->generation = 0;
  e->path_len = 0;
  e->path[0] = 0;
  if (f) {
    struct inode* inode = BPF_CORE_READ(f, f_inode);
    e->fd = arg0;
    e->file_id = file_id((__u64)f);
    e->dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
    e->ino = BPF_CORE_READ(inode, i_ino);
    e->generation = BPF_CORE_READ(inode, i_generation);
  } else {
    e->path_len = user_path(e->path, arg0);
  }
  fill_dir(t, &e->dir, AT_FDCWD, e->path);
  submit(e);
  return 0;
}

/* ---- CRED, KILL ---- */

static __always_inline __u64 read_caps(const kernel_cap_t* cap) {
  __u64 v = 0; /* two u32 words before 6.3, one u64 since: the same 8 bytes */
  bpf_probe_read_kernel(&v, sizeof(v), cap);
  return v;
}

__noinline int on_cred(__u32 nr, __u64 a0, __u64 a1, __u64 a2) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return 0;
  struct bento_cred_event* e = reserve(sizeof(*e));
  if (!e) return lost();
  fill_header(&e->h, BENTO_EV_CRED, sizeof(*e), t);
  e->syscall_nr = nr;
  e->pad = 0;
  e->args[0] = (int)a0; /* uid_t/gid_t: -1 means unchanged */
  e->args[1] = (int)a1;
  e->args[2] = (int)a2;
  if (nr == __NR_capset) e->args[0] = e->args[1] = e->args[2] = 0; /* pointers */
  const struct cred* c = BPF_CORE_READ(t, real_cred);
  e->uid = BPF_CORE_READ(c, uid.val);
  e->euid = BPF_CORE_READ(c, euid.val);
  e->suid = BPF_CORE_READ(c, suid.val);
  e->fsuid = BPF_CORE_READ(c, fsuid.val);
  e->gid = BPF_CORE_READ(c, gid.val);
  e->egid = BPF_CORE_READ(c, egid.val);
  e->sgid = BPF_CORE_READ(c, sgid.val);
  e->fsgid = BPF_CORE_READ(c, fsgid.val);
  e->cap_effective = read_caps(__builtin_preserve_access_index(&c->cap_effective));
  e->cap_permitted = read_caps(__builtin_preserve_access_index(&c->cap_permitted));
  e->cap_inheritable = read_caps(__builtin_preserve_access_index(&c->cap_inheritable));
  submit(e);
  return 0;
}

/* The struct pid of a pidfd (anon inode before 6.9, pidfs since) or of a /proc/PID dir fd. */
static __always_inline struct pid* pidfd_pid(struct file* f) {
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  __u64 magic = BPF_CORE_READ(inode, i_sb, s_magic);
  if (magic == ANON_INODE_FS_MAGIC) return BPF_CORE_READ(f, private_data);
  if (magic == PID_FS_MAGIC) return BPF_CORE_READ(inode, i_private);
  if (magic == PROC_SUPER_MAGIC) {
    struct proc_inode* pi = container_of_core(inode, struct proc_inode, vfs_inode);
    return BPF_CORE_READ(pi, pid);
  }
  return 0;
}

__noinline int on_kill(__u32 nr, __u64 a0, __u64 a1, __u64 a2) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return 0;
  int sig = 0, target = 0, tid = 0, pidfd = -1;
  switch (nr) {
    case __NR_kill:
    case __NR_rt_sigqueueinfo:
      target = a0;
      sig = a1;
      break;
    case __NR_tkill:
      target = tid = a0;
      sig = a1;
      break;
    case __NR_tgkill:
    case __NR_rt_tgsigqueueinfo:
      target = a0;
      tid = a1;
      sig = a2;
      break;
    case __NR_pidfd_send_signal: {
      pidfd = a0;
      sig = a1;
      struct file* f = fd_file(t, pidfd);
      struct pid* p = f ? pidfd_pid(f) : 0;
      if (p) target = BPF_CORE_READ(p, numbers[0].nr); /* the initial namespace's number */
      break;
    }
  }
  if (sig == 0) return 0; /* an existence check, no signal */
  struct bento_kill_event* e = reserve(sizeof(*e));
  if (!e) return lost();
  fill_header(&e->h, BENTO_EV_KILL, sizeof(*e), t);
  e->syscall_nr = nr;
  e->sig = sig;
  e->target_pid = target;
  e->target_tid = tid;
  e->pidfd = pidfd;
  e->resolved = 0;
  e->target_start_ns = 0;
  /* Numbers the caller passed are in its pid namespace; `tasks` holds global ones. */
  int global = pidfd >= 0 || BPF_CORE_READ(t, thread_pid, level) == 0;
  __u32 key = tid > 0 ? tid : target;
  struct task_ref* r = target > 0 && global ? bpf_map_lookup_elem(&tasks, &key) : 0;
  if (r && (tid <= 0 || r->tgid == (__u32)target || nr == __NR_tkill)) {
    e->target_start_ns = r->start_ns;
    e->resolved = 1;
    if (nr == __NR_tkill) e->target_pid = r->tgid;
  }
  submit(e);
  return 0;
}

/* process_vm_readv/process_vm_writev(pid, ...) or ptrace's PEEK/POKE of TEXT or DATA moved
 * bytes: once per image, target and direction (the collector takes the reader in as one of
 * the target's readers from then on, like an open of /proc/PID/mem). The pid is the
 * caller's namespace's; `tasks` holds the initial one's. */
#define PTRACE_PEEKTEXT 1
#define PTRACE_PEEKDATA 2
#define PTRACE_POKETEXT 4
#define PTRACE_POKEDATA 5
__noinline int on_proc_memory(__u32 nr, __u32 is_write, int pid, long ret) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (pid <= 0 || (__u32)pid == t->tgid) return 0;
  if (ignored_tgid(t->tgid)) return 0;
  int global = BPF_CORE_READ(t, thread_pid, level) == 0;
  __u32 key = pid;
  struct task_ref* r = global ? bpf_map_lookup_elem(&tasks, &key) : 0;
  struct seen_key k = {};
  seen_key_init(&k, t, SEEN_PROC_MEMORY | (is_write ? SEEN_OPEN_WRITE : 0), pid,
                r ? r->start_ns : 0, 0);
  if (!first_time(&seen_open, &k)) return 0;
  struct bento_proc_memory_event* e = reserve(sizeof(*e));
  if (!e) {
    bpf_map_delete_elem(&seen_open, &k); /* the next call tries again */
    return lost();
  }
  fill_header(&e->h, BENTO_EV_PROC_MEMORY, sizeof(*e), t);
  e->syscall_nr = nr;
  e->is_write = is_write;
  e->target_pid = r ? r->tgid : pid; /* a thread's id names its process */
  e->resolved = r != 0;
  e->target_start_ns = r ? r->start_ns : 0;
  e->bytes = nr == __NR_ptrace ? 8 : ret; /* a word */
  submit(e);
  return 0;
}

/* ---- the syscall tracepoints ---- */

/* The regular-file input of a call that reads and writes at once (sendfile, splice,
 * copy_file_range): reported at entry, so that the read comes before the write it feeds
 * (the return is later than both). A call that then fails reported a read that did not
 * happen; its callers (cp, cat) then fall back to read(), the same read. */
static __always_inline void file_read_at_entry(int fd, long nr) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (!f || !cfg_file_io) return;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFREG) return;
  file_io(t, f, inode, fd, (nr & 0xffff) | IO_READ << 16);
}

static __always_inline int regular_fd(int fd) {
  struct file* f = fd_file(bpf_get_current_task_btf(), fd);
  return f && (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) == S_IFREG;
}

/* Copies (below): global functions, verified once on their own. */
__noinline int copy_write(int fd, __u32 nr, __u32 how, __u64 arg, __u64 count);
__noinline int copy_read(int fd, __u64 buf, long ret);
__noinline int forget_read(void);
enum { COPY_NONE = 0, COPY_FROM_FD = 1, COPY_FROM_BUF = 2 };

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs* regs, long id) {
  switch (id) {
    case __NR_write:
    case __NR_writev:
    case __NR_pwrite64:
    case __NR_pwritev:
    case __NR_pwritev2:
    case __NR_sendto:
    case __NR_sendmsg:
    case __NR_sendmmsg:
    case __NR_sendfile:
    case __NR_splice:
    case __NR_tee:
    case __NR_vmsplice:
    case __NR_copy_file_range:
    case __NR_close:
    case __NR_close_range:
    case __NR_dup2:
    case __NR_dup3:
    case __NR_mq_timedsend:
    case __NR_msgsnd:
    case __NR_shmdt:
      break;
    default:
      return 0;
  }
  if (compat_syscall(bpf_get_current_task_btf())) return 0;
  /* The collector and the file systems' hosts (their I/O is the fs's own, in its log): left
   * here, before the fd walks below. */
  if (fast_ignored_tgid(current_tgid())) return 0;
  if (cfg_copies) { /* which file's bytes a write of a regular file carries */
    switch (id) {
      case __NR_write:
      case __NR_pwrite64:
        copy_write(regs->di, id, COPY_FROM_BUF, regs->si, regs->dx);
        break;
      case __NR_writev:
      case __NR_pwritev:
      case __NR_pwritev2:
        copy_write(regs->di, id, COPY_NONE, 0, 0);
        break;
      case __NR_sendfile: /* sendfile(out_fd, in_fd, ...) */
        copy_write(regs->di, id, COPY_FROM_FD, regs->si, 0);
        break;
      case __NR_splice:          /* splice(fd_in, off_in, fd_out, ...) */
      case __NR_copy_file_range: /* copy_file_range(fd_in, off_in, fd_out, ...) */
        copy_write(regs->dx, id, COPY_FROM_FD, regs->di, 0);
        break;
    }
  }
  switch (id) {
    case __NR_write:
    case __NR_writev:
    case __NR_pwrite64:
    case __NR_pwritev:
    case __NR_pwritev2:
      on_io(regs->di, IO_OP(id, IO_WRITE, NAME_NONE), 0, 0, 0);
      break;
    case __NR_sendfile: /* sendfile(out_fd, in_fd, ...) */
      file_read_at_entry(regs->si, id);
      on_io(regs->di, IO_OP(id, IO_WRITE, NAME_NONE), 0, 0, 0);
      break;
    case __NR_sendto:
      on_io(regs->di, IO_OP(id, IO_WRITE, NAME_SOCKADDR), regs->r8, regs->r9, 0);
      break;
    case __NR_sendmsg:
    case __NR_sendmmsg: /* the first mmsghdr starts with its msghdr */
      on_io(regs->di, IO_OP(id, IO_WRITE, NAME_MSGHDR), regs->si, 0, 0);
      break;
    case __NR_splice:          /* splice(fd_in, off_in, fd_out, ...) */
    case __NR_copy_file_range: /* copy_file_range(fd_in, off_in, fd_out, ...) */
      file_read_at_entry(regs->di, id);
      on_io(regs->dx, IO_OP(id, IO_WRITE, NAME_NONE), 0, 0, 0);
      break;
    case __NR_tee: /* tee(fd_in, fd_out, ...) */
      on_io(regs->si, IO_OP(id, IO_WRITE, NAME_NONE), 0, 0, 0);
      break;
    case __NR_vmsplice: /* direction from the pipe end */
      on_io(regs->di, IO_OP(id, IO_VMSPLICE_WRITE, NAME_NONE), 0, 0, 0);
      break;
    case __NR_close:
      close_fd(regs->di, BENTO_CLOSE_SYSCALL);
      break;
    case __NR_close_range:
      on_close_range(regs->di, regs->si, regs->dx);
      break;
    case __NR_dup2:
    case __NR_dup3:
      dup_enter(regs->si);
      break;
    case __NR_mq_timedsend: /* a message queue's sends, at the entry like a pipe's writes */
      mqueue_io(regs->di, 1);
      break;
    case __NR_msgsnd:
      sysv_msg_io(regs->di, 1);
      break;
    case __NR_shmdt:
      on_shmdt(regs->di);
      break;
  }
  return 0;
}

static __always_inline int is_err(long ret) {
  return (unsigned long)ret >= (unsigned long)-4095;
}

__noinline int on_munmap(__u64 addr, __u64 len) {
  return end_range(bpf_get_current_task_btf(), addr, len, BENTO_MUNMAP_MUNMAP);
}

/* setfsuid/setfsgid return the previous id: they changed something only if it differs. */
__noinline int on_setfs(__u32 nr, __u64 arg, long ret) {
  struct task_struct* t = bpf_get_current_task_btf();
  __u32 now = nr == __NR_setfsuid ? BPF_CORE_READ(t, real_cred, fsuid.val)
                                  : BPF_CORE_READ(t, real_cred, fsgid.val);
  if ((__u32)ret == now) return 0;
  return on_cred(nr, arg, -1, -1);
}

/* After the calls that change what a regular file holds without a write (file_changed):
 * ftruncate, an open with O_TRUNC. (truncate(path) is not resolved to its inode.) */
static __always_inline void changed_without_write(long id, struct pt_regs* regs, long ret) {
  __u64 flags = 0;
  switch (id) {
    case __NR_ftruncate:
      if (ret == 0) fd_changed(regs->di);
      return;
    case __NR_open:
      flags = regs->si;
      break;
    case __NR_openat:
      flags = regs->dx;
      break;
    case __NR_openat2:
      bpf_probe_read_user(&flags, sizeof(flags), (const void*)regs->dx); /* how->flags */
      break;
    case __NR_creat:
      flags = O_TRUNC;
      break;
    default:
      return;
  }
  if (ret >= 0 && (flags & O_TRUNC)) fd_changed(ret);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs* regs, long ret) {
  long id = regs->orig_ax;
  switch (id) {
    case __NR_write:
    case __NR_writev:
    case __NR_pwrite64:
    case __NR_pwritev:
    case __NR_pwritev2:
      if (!write_calls_open) return 0; /* no reported write is waiting for its result */
      break;
    case __NR_read:
    case __NR_readv:
    case __NR_pread64:
    case __NR_preadv:
    case __NR_preadv2:
    case __NR_recvfrom:
    case __NR_recvmsg:
    case __NR_recvmmsg:
    case __NR_sendto:
    case __NR_sendmsg:
    case __NR_sendmmsg:
    case __NR_sendfile:
    case __NR_splice:
    case __NR_tee:
    case __NR_vmsplice:
    case __NR_copy_file_range:
    case __NR_open:
    case __NR_openat:
    case __NR_openat2:
    case __NR_creat:
    case __NR_pipe:
    case __NR_pipe2:
    case __NR_dup:
    case __NR_dup2:
    case __NR_dup3:
    case __NR_fcntl:
    case __NR_connect:
    case __NR_accept:
    case __NR_accept4:
    case __NR_bind:
    case __NR_socketpair:
    case __NR_mmap:
    case __NR_mprotect:
    case __NR_munmap:
    case __NR_mremap:
    case __NR_truncate:
    case __NR_ftruncate:
    case __NR_rename:
    case __NR_renameat:
    case __NR_renameat2:
    case __NR_link:
    case __NR_linkat:
    case __NR_unlink:
    case __NR_unlinkat:
    case __NR_rmdir:
    case __NR_setuid:
    case __NR_setgid:
    case __NR_setreuid:
    case __NR_setregid:
    case __NR_setresuid:
    case __NR_setresgid:
    case __NR_setfsuid:
    case __NR_setfsgid:
    case __NR_capset:
    case __NR_kill:
    case __NR_tkill:
    case __NR_tgkill:
    case __NR_rt_sigqueueinfo:
    case __NR_rt_tgsigqueueinfo:
    case __NR_pidfd_send_signal:
    case __NR_mq_timedreceive:
    case __NR_msgrcv:
    case __NR_shmat:
    case __NR_process_vm_readv:
    case __NR_process_vm_writev:
    case __NR_ptrace:
    case __NR_getdents64:
    case __NR_getdents:
      break;
    default:
      return 0;
  }
  if (compat_syscall(bpf_get_current_task_btf())) return 0;
  if (fast_ignored_tgid(current_tgid())) return 0; /* as at the entry */
  if (cfg_copies) { /* the buffer a read of a regular file filled (copy_write) */
    switch (id) {
      case __NR_read:
      case __NR_pread64:
        copy_read(regs->di, regs->si, ret);
        break;
      case __NR_readv:
      case __NR_preadv:
      case __NR_preadv2:
      case __NR_recvfrom:
      case __NR_recvmsg:
      case __NR_recvmmsg:
      case __NR_mq_timedreceive: /* buffers filled from elsewhere than a file */
      case __NR_msgrcv:
      case __NR_process_vm_readv:
        forget_read();
        break;
    }
  }
  switch (id) { /* the calls that can write a regular file: did a reported write fail? */
    case __NR_write:
    case __NR_writev:
    case __NR_pwrite64:
    case __NR_pwritev:
    case __NR_pwritev2:
    case __NR_sendfile:
    case __NR_splice:
    case __NR_copy_file_range:
      if (write_calls_open) write_returned(id, ret);
      break;
  }
  switch (id) {
    case __NR_read:
    case __NR_readv:
    case __NR_pread64:
    case __NR_preadv:
    case __NR_preadv2:
      if (ret >= 0) on_io(regs->di, IO_OP(id, IO_READ, NAME_NONE), 0, 0, ret);
      break;
    case __NR_recvfrom:
      if (ret >= 0)
        on_io(regs->di, IO_OP(id, IO_READ, NAME_SOCKADDR_LENPTR), regs->r8, regs->r9, ret);
      break;
    case __NR_sendfile: /* sendfile(out_fd, in_fd, ...); a regular file: at entry */
      if (ret >= 0 && !regular_fd(regs->si))
        on_io(regs->si, IO_OP(id, IO_READ, NAME_NONE), 0, 0, ret);
      break;
    case __NR_splice:
    case __NR_tee:
    case __NR_copy_file_range:
      if (ret >= 0 && !regular_fd(regs->di))
        on_io(regs->di, IO_OP(id, IO_READ, NAME_NONE), 0, 0, ret);
      break;
    case __NR_vmsplice:
      if (ret >= 0) on_io(regs->di, IO_OP(id, IO_VMSPLICE_READ, NAME_NONE), 0, 0, ret);
      break;
    case __NR_open:
      if (ret >= 0) on_open(ret, regs->di, regs->si);
      break;
    case __NR_creat:
      if (ret >= 0) on_open(ret, regs->di, O_CREAT | O_WRONLY | O_TRUNC);
      break;
    case __NR_openat:
      if (ret >= 0) on_open(ret, regs->si, regs->dx);
      break;
    case __NR_openat2: {
      __u64 flags = 0;
      if (ret < 0) break;
      bpf_probe_read_user(&flags, sizeof(flags), (const void*)regs->dx); /* how->flags */
      on_open(ret, regs->si, flags);
      break;
    }
    case __NR_pipe:
    case __NR_pipe2:
      if (ret == 0) on_pipe(regs->di, id == __NR_pipe2 ? regs->si : 0);
      break;
    case __NR_dup2:
    case __NR_dup3:
      on_dup(regs->di, ret, id); /* always: clears the stash */
      break;
    case __NR_dup:
      if (ret >= 0) on_dup(regs->di, ret, id);
      break;
    case __NR_fcntl:
      if (ret >= 0 && (regs->si == F_DUPFD || regs->si == F_DUPFD_CLOEXEC))
        on_dup(regs->di, ret, id);
      break;
    case __NR_sendto:
      deferred_send_exit(ret);
      break;
    case __NR_sendmsg:
      deferred_send_exit(ret);
      if (ret >= 0) on_msg(BENTO_EV_FD_SEND, regs->di, regs->si);
      break;
    case __NR_recvmsg:
      if (ret < 0) break;
      on_io(regs->di, IO_OP(id, IO_READ, NAME_MSGHDR), regs->si, 0, ret);
      on_msg(BENTO_EV_FD_RECV, regs->di, regs->si);
      break;
    case __NR_sendmmsg:
    case __NR_recvmmsg:
      if (id == __NR_sendmmsg) deferred_send_exit(ret);
      if (id == __NR_recvmmsg && ret > 0)
        on_io(regs->di, IO_OP(id, IO_READ, NAME_MSGHDR), regs->si, 0, ret);
      for (int i = 0; i < MAX_MMSGS; i++) {
        if (i >= ret) break;
        on_msg(id == __NR_sendmmsg ? BENTO_EV_FD_SEND : BENTO_EV_FD_RECV, regs->di,
               regs->si + i * sizeof(struct mmsghdr));
      }
      break;
    case __NR_connect:
      if (ret == 0 || ret == -EINPROGRESS)
        on_sock_op(BENTO_EV_SOCK_CONNECT << 16 | id, regs->di, regs->si, regs->dx, ret);
      break;
    case __NR_accept:
    case __NR_accept4:
      if (ret >= 0) on_sock_op(BENTO_EV_SOCK_ACCEPT << 16 | id, ret, 0, 0, regs->di);
      break;
    case __NR_bind:
      if (ret == 0) on_sock_op(BENTO_EV_SOCK_BIND << 16 | id, regs->di, regs->si, regs->dx, 0);
      break;
    case __NR_socketpair:
      if (ret == 0) on_socketpair(regs->r10);
      break;
    case __NR_mmap:
      if (!is_err(ret)) on_mmap(ret, regs->si, regs->dx, regs->r10, regs->r8);
      break;
    case __NR_mprotect:
      if (ret == 0 && (regs->dx & PROT_WRITE)) on_mprotect(regs->di, regs->si, regs->dx);
      break;
    case __NR_munmap:
      if (ret == 0) on_munmap(regs->di, regs->si);
      break;
    case __NR_mremap:
      if (!is_err(ret)) on_mremap(regs->di, regs->si, regs->dx, ret);
      break;
    case __NR_truncate:
    case __NR_ftruncate:
      if (ret == 0) on_truncate(id, regs->di, regs->si);
      break;
    case __NR_rename:
      if (ret == 0)
        on_path(BENTO_EV_RENAME << 16 | id, (__u64)(__u32)AT_FDCWD << 32 | (__u32)AT_FDCWD,
                regs->di, regs->si, 0);
      break;
    case __NR_renameat:
    case __NR_renameat2:
      if (ret == 0)
        on_path(BENTO_EV_RENAME << 16 | id, (__u64)(__u32)regs->di << 32 | (__u32)regs->dx,
                regs->si, regs->r10, id == __NR_renameat2 ? regs->r8 : 0);
      break;
    case __NR_link:
      if (ret == 0)
        on_path(BENTO_EV_LINK << 16 | id, (__u64)(__u32)AT_FDCWD << 32 | (__u32)AT_FDCWD, regs->di,
                regs->si, 0);
      break;
    case __NR_linkat:
      if (ret == 0)
        on_path(BENTO_EV_LINK << 16 | id, (__u64)(__u32)regs->di << 32 | (__u32)regs->dx, regs->si,
                regs->r10, regs->r8);
      break;
    case __NR_unlink:
    case __NR_rmdir:
      if (ret == 0)
        on_path(BENTO_EV_UNLINK << 16 | id, (__u64)(__u32)AT_FDCWD << 32, regs->di, 0,
                id == __NR_rmdir ? AT_REMOVEDIR : 0);
      break;
    case __NR_unlinkat:
      if (ret == 0)
        on_path(BENTO_EV_UNLINK << 16 | id, (__u64)(__u32)regs->di << 32, regs->si, 0, regs->dx);
      break;
    case __NR_setuid:
    case __NR_setgid:
    case __NR_setreuid:
    case __NR_setregid:
    case __NR_setresuid:
    case __NR_setresgid:
    case __NR_capset:
      if (ret == 0) on_cred(id, regs->di, regs->si, regs->dx);
      break;
    case __NR_setfsuid:
    case __NR_setfsgid:
      on_setfs(id, regs->di, ret);
      break;
    case __NR_kill:
    case __NR_tkill:
    case __NR_tgkill:
    case __NR_rt_sigqueueinfo:
    case __NR_rt_tgsigqueueinfo:
    case __NR_pidfd_send_signal:
      if (ret == 0) on_kill(id, regs->di, regs->si, regs->dx);
      break;
    case __NR_mq_timedreceive:
      if (ret >= 0) mqueue_io(regs->di, 0);
      break;
    case __NR_msgrcv:
      if (ret >= 0) sysv_msg_io(regs->di, 0);
      break;
    case __NR_shmat:
      if (!is_err(ret)) on_shmat(ret, regs->dx);
      break;
    case __NR_process_vm_readv:
    case __NR_process_vm_writev:
      if (ret > 0) on_proc_memory(id, id == __NR_process_vm_writev, regs->di, ret);
      break;
    case __NR_getdents64:
    case __NR_getdents: /* 0: the end of a listing already reported */
      if (ret > 0) on_listing(regs->di);
      break;
    case __NR_ptrace: /* ptrace(request, pid, addr, data) */
      if (ret == 0 && (regs->di == PTRACE_PEEKTEXT || regs->di == PTRACE_PEEKDATA))
        on_proc_memory(id, 0, regs->si, ret);
      else if (ret == 0 && (regs->di == PTRACE_POKETEXT || regs->di == PTRACE_POKEDATA))
        on_proc_memory(id, 1, regs->si, ret);
      break;
  }
  if (cfg_file_io) changed_without_write(id, regs, ret);
  return 0;
}

/* AF_UNIX datagrams: the receiver's copy of each one (skb_copy_datagram_iter), while the skb
 * still names its sender. Every other copy (TCP, UDP, unix stream) returns after two loads. */
SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(on_skb_copy, const struct sk_buff* skb, int len) {
  struct sock* sender = skb->sk; /* direct BTF loads: this runs for every TCP/UDP copy too */
  if (!sender || sender->__sk_common.skc_family != AF_UNIX) return 0;
  if (sender->sk_type == SOCK_STREAM) return 0;
  /* UNIXCB(skb).pid: the sending process, whatever became of its socket since. */
  struct pid* sp = 0;
  bpf_probe_read_kernel(&sp, sizeof(sp),
                        (void*)skb->cb + bpf_core_field_offset(struct unix_skb_parms, pid));
  __u32 nr = sp ? BPF_CORE_READ(sp, numbers[0].nr) : 0;
  /* The same pointer as a plain number (a global function takes no BTF pointers). */
  return unix_dgram_recv((__u64)BPF_CORE_READ(skb, sk), nr, len);
}

/* ---- TCP: where a connection's sends end ---- */

/* What an endpoint sent ends at its FIN: the end of a connection whose sends were
 * reported once (before events.h v11) or ran out of reports (BENTO_SOCK_LAST). */
static __always_inline int sock_end(struct sock* sk) {
  if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP) return 0;
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return 0;
  struct bento_sock_event* e = reserve(sizeof(*e));
  if (!e) {
    lost();
    return 0;
  }
  sock_event_init(e, BENTO_EV_SOCK_END, t, -1, 0, 0, sk);
  fill_inet(&e->local, &e->remote, sk);
  submit(e);
  return 0;
}

/* A raw tracepoint: its socket is a plain address (a trusted BTF pointer would refuse the
 * hashing of its address into sock_id). Arguments: sk, oldstate, newstate. */
SEC("raw_tp/inet_sock_set_state")
int on_tcp_state(struct bpf_raw_tracepoint_args* ctx) {
  const int newstate = (int)ctx->args[2];
  if (newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK) return 0;
  return sock_end((struct sock*)ctx->args[0]);
}

/* ---- io_uring: I/O without a syscall of its own ---- */

/* A request's completion, on a thread of the process that submitted it (its task work, an
 * io-wq worker or the SQPOLL thread: its threads, announced by on_newtask). The data
 * is the program's no earlier than its completion, so that is the read's time; an open is
 * reported like openat's (its descriptor is installed by then). Not seen: opens into the
 * fixed-file table (no fd), SPLICE/TEE, and the extra completions of multishot requests
 * (the kernel posts them without the request). */
__noinline int note_uring_copy(__u64 file, __u32 op, __u32 dir);

__noinline int uring_done(__u64 request) {
  struct io_kiocb* req = (struct io_kiocb*)request;
  if (!req) return 0;
  struct task_struct* t = bpf_get_current_task_btf();
  if (t->flags & PF_KTHREAD) return 0; /* fallback work on a kworker: no process to charge */
  __u32 op = BPF_CORE_READ(req, opcode);
  int res = BPF_CORE_READ(req, cqe.res);
  if (res < 0) return 0;
  __u32 dir;
  switch (op) {
    case IORING_OP_OPENAT:
    case IORING_OP_OPENAT2: {
      struct io_open* o = (struct io_open*)req; /* the request's command area */
      if (!bpf_core_type_exists(struct io_open) || BPF_CORE_READ(o, file_slot)) return 0;
      return on_open(res, 0, (__u32)BPF_CORE_READ(o, how.flags));
    }
    case IORING_OP_READV:
    case IORING_OP_READ_FIXED:
    case IORING_OP_READ:
    case IORING_OP_RECV:
    case IORING_OP_RECVMSG:
      dir = IO_READ;
      break;
    case IORING_OP_WRITEV:
    case IORING_OP_WRITE_FIXED:
    case IORING_OP_WRITE:
    case IORING_OP_SEND:
    case IORING_OP_SENDMSG:
    case IORING_OP_SEND_ZC:
    case IORING_OP_SENDMSG_ZC:
      dir = IO_WRITE;
      break;
    default:
      return 0;
  }
  if (res == 0) return 0;
  struct file* f = BPF_CORE_READ(req, file);
  if (!f) return 0;
  if (cfg_copies) note_uring_copy((__u64)f, op, dir);
  /* The sqe's fd is gone by now (cqe.flags took its place): -1. */
  return io_on_file((__u64)f, (__u64)(__u32)-1 << 32 | (__u32)res,
                    IO_OP(BENTO_NR_IO_URING | op, dir, NAME_NONE), 0, 0);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(on_uring, void* ring, void* req) {
  return uring_done((__u64)req);
}

/* ---- copies (BENTO_EV_FILE_COPY) ----
 * Which file's bytes a process image's writes to a regular file carried: for each write
 * call, the file a copy call names as its input, or the file whose read filled the buffer
 * written; else none. Global functions, called from on_sys_enter / on_sys_exit / on_uring:
 * each is verified once on its own, so the syscall programs' verification (at the 6.1
 * verifier's bounds) grows only by the calls. */

/* A thread's last read call (tid -> it) when that was read/pread64 of a regular file: the
 * bytes it put where. Any other read call of the thread deletes it. */
struct last_read {
  __u64 task_start; /* the thread's start: not an earlier thread's with this tid */
  __u64 exec_id;    /* the image's: not a read before an exec */
  __u64 inode;      /* the file read: its inode object, dev, ino, generation */
  __u64 dev, ino;
  __u64 buf, len; /* the bytes it filled */
  __u32 gen;
  __u32 pad;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);
  __type(value, struct last_read);
} last_reads SEC(".maps");

/* Processes that read through io_uring (tgid): a completion may run on another thread (an
 * io-wq worker), which cannot forget the submitter's last read, so their buffers are never
 * taken for a file's bytes. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u8);
} uring_readers SEC(".maps");

__noinline int copy_read(int fd, __u64 buf, long ret) {
  struct task_struct* t = bpf_get_current_task_btf();
  __u32 tid = t->pid;
  struct file* f = ret > 0 ? fd_file(t, fd) : 0;
  struct inode* inode = f ? BPF_CORE_READ(f, f_inode) : 0;
  struct last_read* old = bpf_map_lookup_elem(&last_reads, &tid);
  if (!inode || !tracked_regular(inode) || ignored_tgid(t->tgid)) {
    if (old) bpf_map_delete_elem(&last_reads, &tid);
    return 0;
  }
  if (old && old->inode == (__u64)inode && old->task_start == t->start_time &&
      old->exec_id == t->self_exec_id) { /* the same file read on (cp's loop): in place */
    old->buf = buf;
    old->len = ret;
    return 0;
  }
  struct last_read r = {};
  r.task_start = t->start_time;
  r.exec_id = t->self_exec_id;
  r.inode = (__u64)inode;
  r.dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
  r.ino = BPF_CORE_READ(inode, i_ino);
  r.buf = buf;
  r.len = ret;
  r.gen = BPF_CORE_READ(inode, i_generation);
  bpf_map_update_elem(&last_reads, &tid, &r, BPF_ANY);
  return 0;
}

__noinline int forget_read(void) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (bpf_map_lookup_elem(&last_reads, &tid)) bpf_map_delete_elem(&last_reads, &tid);
  return 0;
}

/* A write call of the current task into the open file `file`: how COPY_FROM_FD (arg: the
 * input fd), COPY_FROM_BUF (arg, count: the bytes written), COPY_NONE. */
__noinline int copy_into(__u64 file, __u32 nr, __u32 how, __u64 arg, __u64 count) {
  struct file* f = (struct file*)file;
  struct task_struct* t = bpf_get_current_task_btf();
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  if (!inode || !tracked_regular(inode) || ignored_tgid(t->tgid)) return 0;
  __u64 src = 0, src_dev = 0, src_ino = 0;
  __u32 src_gen = 0;
  if (how == COPY_FROM_FD) {
    struct file* in = fd_file(t, (int)arg);
    struct inode* ii = in ? BPF_CORE_READ(in, f_inode) : 0;
    if (ii && tracked_regular(ii)) {
      src = (__u64)ii;
      src_dev = encode_dev(BPF_CORE_READ(ii, i_sb, s_dev));
      src_ino = BPF_CORE_READ(ii, i_ino);
      src_gen = BPF_CORE_READ(ii, i_generation);
    }
  } else if (how == COPY_FROM_BUF) {
    __u32 tid = t->pid, tgid = t->tgid;
    struct last_read* r = bpf_map_lookup_elem(&last_reads, &tid);
    if (r && r->task_start == t->start_time && r->exec_id == t->self_exec_id && arg >= r->buf &&
        count <= r->len && arg - r->buf <= r->len - count &&
        !bpf_map_lookup_elem(&uring_readers, &tgid)) {
      src = r->inode;
      src_dev = r->dev;
      src_ino = r->ino;
      src_gen = r->gen;
    }
  }
  if (src == (__u64)inode) src = src_dev = src_ino = src_gen = 0; /* onto itself */
  __u32 gen = BPF_CORE_READ(inode, i_generation);
  struct seen_key k = {};
  seen_key_init(&k, t, SEEN_FILE_COPY, (__u64)inode, gen | (__u64)src_gen << 32, src);
  if (bpf_map_lookup_elem(&seen_file, &k)) return 0;
  __u64 one = 1;
  if (bpf_map_update_elem(&seen_file, &k, &one, BPF_NOEXIST) != 0) return 0;
  struct bento_file_copy_event* e = reserve(sizeof(*e));
  if (!e) {
    lost();
    bpf_map_delete_elem(&seen_file, &k); /* lost: the next such write tries again */
    return 0;
  }
  fill_header(&e->h, BENTO_EV_FILE_COPY, sizeof(*e), t);
  e->syscall_nr = nr;
  e->generation = gen;
  e->dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
  e->ino = BPF_CORE_READ(inode, i_ino);
  e->src_dev = src_dev;
  e->src_ino = src_ino;
  e->src_generation = src_gen;
  e->pad = 0;
  submit(e);
  return 0;
}

__noinline int copy_write(int fd, __u32 nr, __u32 how, __u64 arg, __u64 count) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (!f) return 0;
  return copy_into((__u64)f, nr, how, arg, count);
}

/* An io_uring request completed: a write of a regular file is none of a copy's; a read
 * makes the process's buffers untrusted (uring_readers). */
__noinline int note_uring_copy(__u64 file, __u32 op, __u32 dir) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (dir == IO_READ) {
    __u32 tgid = t->tgid;
    __u8 one = 1;
    if (!bpf_map_lookup_elem(&uring_readers, &tgid))
      bpf_map_update_elem(&uring_readers, &tgid, &one, BPF_ANY);
    return 0;
  }
  return copy_into(file, BENTO_NR_IO_URING | op, COPY_NONE, 0, 0);
}

/* ---- the process life cycle ---- */

struct copy_ctx {
  __u64 bits;
  __u64 copied;
  __u32 parent, child;
};

static long copy_fd_cb(__u32 fd, void* ctx) {
  struct copy_ctx* c = ctx;
  if (fd >= FD_BITS || !(c->bits & (1ULL << fd))) return 0;
  struct fd_key from = {.tgid = c->parent, .fd = fd}, to = {.tgid = c->child, .fd = fd};
  __u64* id = bpf_map_lookup_elem(&fds, &from);
  if (id && bpf_map_update_elem(&fds, &to, id, BPF_ANY) == 0) c->copied |= 1ULL << fd;
  return 0;
}

/* A forked child (own address space) inherits its parent's shared mappings. */
static __noinline int fork_mappings(struct task_struct* child, __u32 ptgid, __u32 ctgid) {
  struct map_table* p = bpf_map_lookup_elem(&maps, &ptgid);
  if (!p) return 0;
  if (bpf_map_update_elem(&maps, &ctgid, p, BPF_ANY) != 0) return 0;
  struct map_table* c = bpf_map_lookup_elem(&maps, &ctgid);
  if (!c) return 0;
  for (int i = 0; i < MAPS_MAX; i++) {
    struct map_ent* s = &c->e[i];
    if (s->start == 0) continue;
    struct map_ent copy = *s;
    send_mapping(child, BENTO_EV_MMAP, &copy, BENTO_MMAP_FORK, -1, 0, 0, 1);
  }
  return 0;
}

static __noinline int fork_event(struct task_struct* parent, struct task_struct* child);

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct* parent, struct task_struct* child) {
  return fork_event(parent, child);
}

/* io_uring's threads (io-wq workers, the SQPOLL thread) are made without a fork event
 * (create_io_thread): announced here as the process's threads, since the I/O they do for
 * it reaches the fs log and the probes under their own tids. */
SEC("tp_btf/task_newtask")
int BPF_PROG(on_newtask, struct task_struct* p, __u64 clone_flags) {
  if (!(BPF_CORE_READ(p, flags) & PF_IO_WORKER)) return 0;
  return fork_event(bpf_get_current_task_btf(), p);
}

static __noinline int fork_event(struct task_struct* parent, struct task_struct* child) {
  __u32 ptgid = BPF_CORE_READ(parent, tgid);
  __u32 ctgid = BPF_CORE_READ(child, tgid);
  __u32 ctid = BPF_CORE_READ(child, pid);
  struct task_ref ref = {.tgid = ctgid, .start_ns = BPF_CORE_READ(child, group_leader, start_time)};
  bpf_map_update_elem(&tasks, &ctid, &ref, BPF_ANY);
  if (ignored_tgid(ptgid)) return 0;
  struct bento_fork_event* e = reserve(sizeof(*e));
  if (!e) {
    lost();
  } else {
    fill_header(&e->h, BENTO_EV_FORK, sizeof(*e), parent);
    e->child_pid = ctgid;
    e->child_tid = ctid;
    e->child_start_ns = BPF_CORE_READ(child, start_time);
    e->is_thread = e->child_pid == e->h.pid;
    e->shares_files = BPF_CORE_READ(child, files) == BPF_CORE_READ(parent, files);
    submit(e);
  }
  if (ctgid == ptgid) return 0;
  note_fork(parent);
  if (BPF_CORE_READ(child, mm) != BPF_CORE_READ(parent, mm)) fork_mappings(child, ptgid, ctgid);
  /* A new process starts with a copy of the table: its copies of reported fds are
   * reported too, so that the child's close of an inherited pipe end is seen. */
  __u64* bits = bpf_map_lookup_elem(&fd_bits, &ptgid);
  if (!bits || !*bits) return 0;
  struct copy_ctx c = {.bits = *bits, .parent = ptgid, .child = ctgid};
  bpf_loop(FD_BITS, copy_fd_cb, &c, 0);
  if (c.copied) bpf_map_update_elem(&fd_bits, &ctgid, &c.copied, BPF_ANY);
  return 0;
}

struct cloexec_ctx {
  __u64 bits; /* reported fds that exec closed */
  __u32 tgid;
};

static long cloexec_cb(__u32 fd, void* ctx) {
  struct cloexec_ctx* c = ctx;
  if (fd >= FD_BITS || !(c->bits & (1ULL << fd))) return 0;
  struct fd_key k = {.tgid = c->tgid, .fd = fd};
  __u64* id = bpf_map_lookup_elem(&fds, &k);
  if (!id) return 0;
  __u64 v = *id;
  bpf_map_delete_elem(&fds, &k);
  send_close(bpf_get_current_task_btf(), fd, v, BENTO_CLOSE_EXEC);
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct* p, pid_t old_pid, struct linux_binprm* bprm) {
  __u32 tgid = BPF_CORE_READ(p, tgid);
  /* The old image's shared mappings went with its address space. */
  if (!ignored_tgid(tgid))
    end_all(p, tgid, BENTO_MUNMAP_EXEC);
  else
    bpf_map_delete_elem(&maps, &tgid);
  if (ignored_tgid(tgid)) return 0;
  struct bento_exec_event* e = reserve(sizeof(*e));
  if (!e) {
    lost();
    goto cloexec;
  }
  fill_header(&e->h, BENTO_EV_EXEC, sizeof(*e), p);
  e->h.mnt_ns = foreign_mnt_ns(p);
  e->old_tid = old_pid;
  const char* fname = BPF_CORE_READ(bprm, filename);
  bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fname);
  e->cwd_len = 0;
  e->pad = 0;
  e->cwd[0] = 0;
  e->root_dev = 0;
  e->exe_path_len = e->root_path_len = 0;
  e->exe_path[0] = e->root_path[0] = 0;
  const char* f = e->filename;
  const int by_descriptor = /* "/dev/fd/N", "/proc/self/fd/N", "/proc/self/exe": events.h v8 */
      f[0] == '/' && ((f[1] == 'd' && f[2] == 'e' && f[3] == 'v' && f[4] == '/' && f[5] == 'f' &&
                       f[6] == 'd' && f[7] == '/') ||
                      (f[1] == 'p' && f[2] == 'r' && f[3] == 'o' && f[4] == 'c' && f[5] == '/'));
  if (e->h.mnt_ns || by_descriptor) { /* in fs form: what runs (and the root it runs under) */
    struct dentry* exe_dentry = BPF_CORE_READ(p, mm, exe_file, f_path.dentry);
    path_of(e->exe_path, &e->exe_path_len, exe_dentry, 0);
    if (e->exe_path_len == 1) { /* a file with no path (a memfd): its dentry's name */
      int n = bpf_probe_read_kernel_str(e->exe_path, sizeof(e->exe_path),
                                        BPF_CORE_READ(exe_dentry, d_name.name));
      e->exe_path_len = n > 0 ? n - 1 : 0;
    }
  }
  if (e->h.mnt_ns) {
    struct dentry* root = BPF_CORE_READ(p, fs, root.dentry);
    e->root_dev = encode_dev(BPF_CORE_READ(root, d_sb, s_dev));
    path_of(e->root_path, &e->root_path_len, root, 0);
  } else if (e->filename[0] != '/' && e->filename[0] != 0)
    path_of(e->cwd, &e->cwd_len, BPF_CORE_READ(p, fs, pwd.dentry), BPF_CORE_READ(p, fs, pwd.mnt));
  else if (e->filename[0] == '/' && chrooted(p)) /* the root to put in front */
    path_of(e->cwd, &e->cwd_len, BPF_CORE_READ(p, fs, root.dentry), BPF_CORE_READ(p, fs, root.mnt));
  struct mm_struct* mm = BPF_CORE_READ(p, mm);
  unsigned long start = BPF_CORE_READ(mm, arg_start), end = BPF_CORE_READ(mm, arg_end);
  unsigned long len = end > start ? end - start : 0;
  e->args_truncated = len > BENTO_ARGS_MAX - 1;
  if (len > BENTO_ARGS_MAX - 1) len = BENTO_ARGS_MAX - 1;
  e->args_len = 0;
  e->argc = 0;
  if (len > 0 && bpf_probe_read_user(e->args, len & (BENTO_ARGS_MAX - 1), (void*)start) == 0) {
    e->args_len = len;
    for (unsigned long i = 0; i < BENTO_ARGS_MAX; i++) {
      if (i >= len) break;
      if (e->args[i] == '\0') e->argc++;
    }
  }
  struct file** fdarr = BPF_CORE_READ(p, files, fdt, fd);
  unsigned int max_fds = BPF_CORE_READ(p, files, fdt, max_fds);
  e->stdin_dev = e->stdin_ino = e->stdin_btime_ns = 0;
  e->stdin_mode = e->stdin_generation = 0;
  for (unsigned int i = 0; i < 3; i++) {
    struct file* f = 0;
    e->std_pipe_ino[i] = 0;
    if (i >= max_fds || bpf_probe_read_kernel(&f, sizeof(f), &fdarr[i]) != 0 || !f) continue;
    struct inode* ino = BPF_CORE_READ(f, f_inode);
    __u32 mode = BPF_CORE_READ(ino, i_mode) & S_IFMT;
    if (mode == S_IFIFO) /* pipe or FIFO */
      e->std_pipe_ino[i] = BPF_CORE_READ(ino, i_ino);
    if (i == 0) { /* what an interpreter given no script runs (events.h v8) */
      struct super_block* sb = BPF_CORE_READ(ino, i_sb);
      e->stdin_dev = encode_dev(BPF_CORE_READ(sb, s_dev));
      e->stdin_ino = BPF_CORE_READ(ino, i_ino);
      e->stdin_mode = mode;
      if (mode == S_IFREG) {
        e->stdin_generation = BPF_CORE_READ(ino, i_generation);
        e->stdin_btime_ns = btime_ns(ino, BPF_CORE_READ(sb, s_magic));
      }
    }
  }
  struct file* exe = BPF_CORE_READ(mm, exe_file);
  struct inode* exe_inode = BPF_CORE_READ(exe, f_inode);
  e->exe_ino = BPF_CORE_READ(exe_inode, i_ino);
  e->exe_dev = encode_dev(BPF_CORE_READ(exe_inode, i_sb, s_dev));
  e->exe_generation = BPF_CORE_READ(exe_inode, i_generation);
  e->pad2 = 0;
  e->exe_btime_ns = btime_ns(exe_inode, BPF_CORE_READ(exe_inode, i_sb, s_magic));
  e->login_uid = e->session_id = 0xffffffffu; /* unset: no audit support (events.h v8) */
  if (bpf_core_field_exists(p->loginuid)) {
    e->login_uid = BPF_CORE_READ(p, loginuid.val);
    e->session_id = BPF_CORE_READ(p, sessionid);
  }
  submit(e);
cloexec:;
  /* Reported fds that exec closed (O_CLOEXEC): after the EXEC event, as CLOSE events. */
  __u64* bits = bpf_map_lookup_elem(&fd_bits, &tgid);
  if (!bits || !*bits) return 0;
  unsigned long open = 0;
  unsigned long* open_fds = BPF_CORE_READ(p, files, fdt, open_fds);
  if (bpf_probe_read_kernel(&open, sizeof(open), open_fds) != 0) return 0;
  struct cloexec_ctx c = {.bits = *bits & ~(__u64)open, .tgid = tgid};
  if (!c.bits) return 0;
  __sync_fetch_and_and(bits, (__u64)open);
  bpf_loop(FD_BITS, cloexec_cb, &c, 0);
  return 0;
}

struct forget_ctx {
  __u64 bits;
  __u32 tgid;
};

static long forget_fd_cb(__u32 fd, void* ctx) {
  struct forget_ctx* c = ctx;
  if (fd >= FD_BITS || !(c->bits & (1ULL << fd))) return 0;
  struct fd_key k = {.tgid = c->tgid, .fd = fd};
  bpf_map_delete_elem(&fds, &k);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct* p) {
  __u32 tgid = BPF_CORE_READ(p, tgid);
  int group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
  if (group_dead) { /* the reported fds die with the process: no CLOSE events */
    __u64* bits = bpf_map_lookup_elem(&fd_bits, &tgid);
    if (bits) {
      struct forget_ctx c = {.bits = *bits, .tgid = tgid};
      bpf_loop(FD_BITS, forget_fd_cb, &c, 0);
      bpf_map_delete_elem(&fd_bits, &tgid);
    }
  }
  if (ignored_tgid(tgid)) {
    if (group_dead) {
      bpf_map_delete_elem(&maps, &tgid);
      bpf_map_delete_elem(&ignored, &tgid); /* its pid may come back as someone else */
#pragma unroll
      for (int i = 0; i < FAST_IGNORED; i++)
        if (fast_ignored[i] == tgid) fast_ignored[i] = 0;
    }
    return 0;
  }
  if (group_dead) end_all(p, tgid, BENTO_MUNMAP_EXIT);
  struct bento_exit_event* e = reserve(sizeof(*e));
  if (!e) return lost();
  fill_header(&e->h, BENTO_EV_EXIT, sizeof(*e), p);
  e->exit_code = BPF_CORE_READ(p, exit_code);
  e->group_dead = group_dead;
  submit(e);
  return 0;
}
