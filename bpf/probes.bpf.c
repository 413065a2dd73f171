// SPDX-License-Identifier: GPL-2.0
/* CO-RE probes for the lineage collector (events: include/bento_bpf/events.h).
 * Everything is tp_btf (BTF-typed raw tracepoints): the kernel this was built on (6.18,
 * no CONFIG_KPROBES) refuses fentry/fexit/lsm programs with EPERM, so the fd events come
 * from the raw syscall tracepoints, which exist on any kernel with syscall tracing. They
 * are decoded for x86_64 native syscalls; 32-bit compat syscalls are skipped.
 *   sched_process_fork  -> BENTO_EV_FORK   (+ the child inherits the parent's reported fds)
 *   sched_process_exec  -> BENTO_EV_EXEC   (+ BENTO_EV_CLOSE for reported fds closed on exec)
 *   sched_process_exit  -> BENTO_EV_EXIT   (+ forgets the process's reported fds)
 *   sys_exit  open/openat/openat2/creat -> BENTO_EV_OPEN (regular files, no pseudo fs, once
 *                                          per process image and file)
 *   sys_exit  pipe/pipe2                -> BENTO_EV_PIPE
 *   sys_exit  dup/dup2/dup3/fcntl(F_DUPFD*) -> BENTO_EV_DUP (sys_enter notes what dup2/3 replace)
 *   sys_enter close/close_range         -> BENTO_EV_CLOSE (only fds reported above)
 *   sys_exit  sendmsg/sendmmsg          -> BENTO_EV_FD_SEND (SCM_RIGHTS on AF_UNIX)
 *   sys_exit  recvmsg/recvmmsg          -> BENTO_EV_FD_RECV
 *   sys_enter read/write/readv/writev/preadv2/pwritev2/splice/tee/vmsplice/sendfile
 *                                       -> BENTO_EV_PIPE_IO (first read / first write of a
 *                                          process image on a pipe or FIFO)
 * At sys_exit the arguments are read back from pt_regs (x86_64 leaves di/si/dx/r10/r8/r9
 * untouched for these calls), which avoids a per-call stash map on the hot paths.
 * Kernel-side filter: tgids in `ignored` (the collector itself) send nothing.
 * Lost events (ring buffer full) are counted per CPU in `lost`. */
/* vmlinux.h must come before the libbpf headers: keep clang-format from sorting them. */
// clang-format off
#include "vmlinux.h"

#include <asm/unistd_64.h> /* __NR_* of x86_64 */
#include <bpf/bpf_core_read.h>
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
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_PATH 010000000
#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#define AF_UNIX 1
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define FMODE_WRITE 0x2
#define TS_COMPAT 0x0002 /* x86 thread_info.status: a 32-bit syscall is running */
#define CONFIGFS_MAGIC 0x62656570
#define FUSECTL_SUPER_MAGIC 0x65735543
#define MAX_CMSGS 4 /* control messages looked at per msghdr */
#define MAX_MMSGS 4 /* messages looked at per sendmmsg/recvmmsg */
#define FD_BITS 64  /* fds below this are also tracked per process (fork, exec, exit) */

/* Set by the loader before load: the per-boot key of file_id (SipHash-2-4 of the address). */
const volatile __u64 file_id_key[2] = {0, 0};

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

/* Deduplication of OPEN and PIPE_IO: one event per (process image, file, kind). The
 * process image is (tgid, start time, exec count), so pid reuse and exec start afresh. */
enum { SEEN_OPEN = 0, SEEN_READ = 1, SEEN_WRITE = 2 };
struct seen_key {
  __u32 tgid;
  __u32 kind;
  __u64 start_ns;
  __u64 exec_id;
  __u64 dev;
  __u64 ino;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct seen_key);
  __type(value, __u8);
} seen_open SEC(".maps");
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct seen_key);
  __type(value, __u8);
} seen_pipe SEC(".maps");

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

static __always_inline void count(__u32 which) {
  __u64* v = bpf_map_lookup_elem(&counters, &which);
  if (v) *v += 1;
}

static __always_inline void* reserve(__u32 size) {
  void* e = bpf_ringbuf_reserve(&events, size, 0);
  count(e ? 1 : 0);
  return e;
}

static __always_inline int ignored_tgid(__u32 tgid) {
  return bpf_map_lookup_elem(&ignored, &tgid) != 0;
}

static __always_inline __u32 current_tgid(void) {
  return bpf_get_current_pid_tgid() >> 32;
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

/* file_id: SipHash-2-4 of the struct file address under the loader's per-boot key; keyed
 * and one-way, so ids neither reveal the address nor the distance between two files. */
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
                                          __u64 dev, __u64 ino) {
  k->tgid = t->tgid;
  k->kind = kind;
  k->start_ns = t->group_leader->start_time;
  k->exec_id = t->self_exec_id; /* u32 on older kernels: CO-RE adjusts the load */
  k->dev = dev;
  k->ino = ino;
}

/* 1 if k is new (and now recorded), 0 if this process image already had it. */
static __always_inline int first_time(void* map, struct seen_key* k) {
  __u8 one = 1;
  if (bpf_map_lookup_elem(map, k)) return 0;
  return bpf_map_update_elem(map, k, &one, BPF_NOEXIST) == 0;
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
  if (!e) return;
  fill_header(&e->h, BENTO_EV_CLOSE, sizeof(*e), t);
  e->fd = fd;
  e->how = how;
  e->file_id = id;
  bpf_ringbuf_submit(e, 0);
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
  if (file_id((__u64)fd_file(t, fd)) != id) return 0; /* reused by an unreported file */
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

/* ---- PIPE_IO ---- */

static __noinline int pipe_io(int fd, int is_write) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (!f) return 0;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFIFO) return 0;
  if (is_write < 0) is_write = (BPF_CORE_READ(f, f_mode) & FMODE_WRITE) != 0; /* vmsplice */
  __u32 tgid = t->tgid;
  if (ignored_tgid(tgid)) return 0;
  __u64 dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
  __u64 ino = BPF_CORE_READ(inode, i_ino);
  struct seen_key k = {};
  seen_key_init(&k, t, is_write ? SEEN_WRITE : SEEN_READ, dev, ino);
  if (!first_time(&seen_pipe, &k)) return 0;
  struct bento_pipe_io_event* e = reserve(sizeof(*e));
  if (!e) {
    bpf_map_delete_elem(&seen_pipe, &k); /* lost: let the next I/O try again */
    return 0;
  }
  fill_header(&e->h, BENTO_EV_PIPE_IO, sizeof(*e), t);
  e->fd = fd;
  e->is_write = is_write;
  e->file_id = file_id((__u64)f);
  e->dev = dev;
  e->ino = ino;
  bpf_ringbuf_submit(e, 0);
  return 0;
}

/* ---- OPEN ---- */

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

static __noinline int on_open(int fd, __u64 upath, __u32 flags) {
  if (flags & O_PATH) return 0; /* a handle, not an open for I/O */
  struct task_struct* t = bpf_get_current_task_btf();
  struct file* f = fd_file(t, fd);
  if (!f) return 0;
  struct inode* inode = BPF_CORE_READ(f, f_inode);
  __u32 mode = BPF_CORE_READ(inode, i_mode);
  if ((mode & S_IFMT) != S_IFREG) return 0; /* devices, dirs, FIFOs (PIPE_IO), sockets */
  struct super_block* sb = BPF_CORE_READ(inode, i_sb);
  if (pseudo_fs(BPF_CORE_READ(sb, s_magic))) return 0;
  __u32 tgid = t->tgid;
  if (ignored_tgid(tgid)) return 0;
  __u64 dev = encode_dev(BPF_CORE_READ(sb, s_dev));
  __u64 ino = BPF_CORE_READ(inode, i_ino);
  struct seen_key k = {};
  seen_key_init(&k, t, SEEN_OPEN, dev, ino);
  if (!first_time(&seen_open, &k)) return 0;
  struct bento_open_event* e = reserve(sizeof(*e));
  if (!e) {
    bpf_map_delete_elem(&seen_open, &k);
    return 0;
  }
  fill_header(&e->h, BENTO_EV_OPEN, sizeof(*e), t);
  e->fd = fd;
  e->flags = flags;
  e->file_id = file_id((__u64)f);
  e->dev = dev;
  e->ino = ino;
  e->mode = mode;
  long n = bpf_probe_read_user_str(e->path, sizeof(e->path), (const void*)upath);
  e->path_len = n > 0 ? n - 1 : 0;
  if (n <= 0) e->path[0] = 0;
  track_fd(tgid, fd, e->file_id);
  bpf_ringbuf_submit(e, 0);
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
  if (!e) return 0;
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
  bpf_ringbuf_submit(e, 0);
  return 0;
}

/* ---- DUP ---- */

static __always_inline void dup_enter(int newfd) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (ignored_tgid(t->tgid)) return;
  __u32 tid = t->pid;
  struct file* f = fd_file(t, newfd);
  struct dup_stash s = {.replaced = f != 0, .replaced_file_id = file_id((__u64)f)};
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
  if (!e) return 0;
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
  bpf_ringbuf_submit(e, 0);
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
  count(bpf_ringbuf_output(&events, e, sizeof(*e), 0) == 0 ? 1 : 0);
  return 0;
}

/* ---- the syscall tracepoints ---- */

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs* regs, long id) {
  switch (id) {
    case __NR_read:
    case __NR_readv:
    case __NR_preadv2:
    case __NR_write:
    case __NR_writev:
    case __NR_pwritev2:
    case __NR_sendfile: /* out_fd is the first argument */
    case __NR_splice:
    case __NR_tee:
    case __NR_vmsplice:
    case __NR_close:
    case __NR_close_range:
    case __NR_dup2:
    case __NR_dup3:
      break;
    default:
      return 0;
  }
  if (compat_syscall(bpf_get_current_task_btf())) return 0;
  switch (id) {
    case __NR_read:
    case __NR_readv:
    case __NR_preadv2:
      pipe_io(regs->di, 0);
      break;
    case __NR_write:
    case __NR_writev:
    case __NR_pwritev2:
    case __NR_sendfile:
      pipe_io(regs->di, 1);
      break;
    case __NR_splice: /* splice(fd_in, off_in, fd_out, ...) */
    case __NR_tee:    /* tee(fd_in, fd_out, ...) */
      pipe_io(regs->di, 0);
      pipe_io(id == __NR_splice ? regs->dx : regs->si, 1);
      break;
    case __NR_vmsplice: /* direction from the pipe end */
      pipe_io(regs->di, -1);
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
  }
  return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs* regs, long ret) {
  long id = regs->orig_ax;
  switch (id) {
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
    case __NR_sendmsg:
    case __NR_recvmsg:
    case __NR_sendmmsg:
    case __NR_recvmmsg:
      break;
    default:
      return 0;
  }
  if (compat_syscall(bpf_get_current_task_btf())) return 0;
  switch (id) {
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
    case __NR_sendmsg:
      if (ret >= 0) on_msg(BENTO_EV_FD_SEND, regs->di, regs->si);
      break;
    case __NR_recvmsg:
      if (ret >= 0) on_msg(BENTO_EV_FD_RECV, regs->di, regs->si);
      break;
    case __NR_sendmmsg:
    case __NR_recvmmsg:
      for (int i = 0; i < MAX_MMSGS; i++) {
        if (i >= ret) break;
        on_msg(id == __NR_sendmmsg ? BENTO_EV_FD_SEND : BENTO_EV_FD_RECV, regs->di,
               regs->si + i * sizeof(struct mmsghdr));
      }
      break;
  }
  return 0;
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

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct* parent, struct task_struct* child) {
  __u32 ptgid = BPF_CORE_READ(parent, tgid);
  if (ignored_tgid(ptgid)) return 0;
  struct bento_fork_event* e = reserve(sizeof(*e));
  if (e) {
    fill_header(&e->h, BENTO_EV_FORK, sizeof(*e), parent);
    e->child_pid = BPF_CORE_READ(child, tgid);
    e->child_tid = BPF_CORE_READ(child, pid);
    e->child_start_ns = BPF_CORE_READ(child, start_time);
    e->is_thread = e->child_pid == e->h.pid;
    e->shares_files = BPF_CORE_READ(child, files) == BPF_CORE_READ(parent, files);
    bpf_ringbuf_submit(e, 0);
  }
  /* A new process starts with a copy of the table: its copies of reported fds are
   * reported too, so that the child's close of an inherited pipe end is seen. */
  __u32 ctgid = BPF_CORE_READ(child, tgid);
  if (ctgid == ptgid) return 0;
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
  if (ignored_tgid(tgid)) return 0;
  struct bento_exec_event* e = reserve(sizeof(*e));
  if (!e) goto cloexec;
  fill_header(&e->h, BENTO_EV_EXEC, sizeof(*e), p);
  e->old_tid = old_pid;
  const char* fname = BPF_CORE_READ(bprm, filename);
  bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fname);
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
  for (unsigned int i = 0; i < 3; i++) {
    struct file* f = 0;
    e->std_pipe_ino[i] = 0;
    if (i >= max_fds || bpf_probe_read_kernel(&f, sizeof(f), &fdarr[i]) != 0 || !f) continue;
    struct inode* ino = BPF_CORE_READ(f, f_inode);
    if ((BPF_CORE_READ(ino, i_mode) & S_IFMT) == S_IFIFO) /* pipe or FIFO */
      e->std_pipe_ino[i] = BPF_CORE_READ(ino, i_ino);
  }
  struct file* exe = BPF_CORE_READ(mm, exe_file);
  e->exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
  e->exe_dev = encode_dev(BPF_CORE_READ(exe, f_inode, i_sb, s_dev));
  bpf_ringbuf_submit(e, 0);
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
  if (ignored_tgid(tgid)) return 0;
  struct bento_exit_event* e = reserve(sizeof(*e));
  if (!e) return 0;
  fill_header(&e->h, BENTO_EV_EXIT, sizeof(*e), p);
  e->exit_code = BPF_CORE_READ(p, exit_code);
  e->group_dead = group_dead;
  bpf_ringbuf_submit(e, 0);
  return 0;
}
