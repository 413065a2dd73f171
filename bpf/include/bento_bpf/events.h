/* Events the CO-RE probes (bpf/probes.bpf.c) send to userspace through the ring buffer.
 * This header is the contract between the probes, the loader (bpf/probes.cc) and the
 * collector; it is C so that the BPF program and C++ share it. Version
 * BENTO_EVENTS_VERSION: bump it with any layout change (2: CLOSE gained `how`, DUP
 * `replaced_file_id`, FD_SEND/FD_RECV `sock_fd`; EXEC's exe_dev is stat-encoded).
 *
 * Identity: a process is (pid = tgid, start_ns = the group leader's start time, boot-based
 * monotonic ns). A thread is (tid, its own start time). Times (ts_ns) are
 * bpf_ktime_get_ns(), i.e. CLOCK_MONOTONIC, the same clock as the fs provenance log's
 * monotonic_ns, so the collector can order both streams.
 *
 * An "open file description" (what fork, dup and SCM_RIGHTS share) is identified by
 * file_id: the kernel's struct file address, keyed with a per-boot secret (SipHash-2-4; the
 * loader keeps the key in /run) so that no kernel pointer reaches userspace. Two fds with
 * the same file_id share offset and mode; ids of closed files may be reused.
 * Files are (dev, ino): dev is the kernel's s_dev encoded like stat's st_dev
 * (major << 8 | minor for small numbers: use new_encode_dev), ino is i_ino; on a Bento
 * FUSE mount ino is the Bento inode number, the one the fs provenance log uses. */
#ifndef BENTO_BPF_EVENTS_H
#define BENTO_BPF_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define BENTO_EVENTS_VERSION 2
#define BENTO_PATH_MAX 256 /* exec filename and open paths; longer ones are truncated */
#define BENTO_ARGS_MAX 512 /* exec argv, NUL-separated; truncated flag when longer */
#define BENTO_FDS_MAX 8    /* fds per SCM_RIGHTS event */

enum bento_event_type {
  BENTO_EV_FORK = 1,     /* clone/fork/vfork: a new process or thread */
  BENTO_EV_EXEC = 2,     /* exec succeeded: a new program image in pid */
  BENTO_EV_EXIT = 3,     /* a thread exited; group_dead = the whole process is gone */
  BENTO_EV_OPEN = 4,     /* open/openat/openat2/creat returned fd of a regular file (not on
                          * proc, sysfs, cgroup, ... ; failures not sent), once per process
                          * image (pid, start_ns, exec) and file */
  BENTO_EV_PIPE = 5,     /* pipe/pipe2 returned fds[0] (read end) and fds[1] (write end) */
  BENTO_EV_DUP = 6,      /* dup/dup2/dup3/fcntl(F_DUPFD, F_DUPFD_CLOEXEC): newfd = oldfd */
  BENTO_EV_CLOSE = 7,    /* an fd the probes reported (open/pipe/dup/recv, or inherited from a
                          * parent's reported fd at fork) was closed: see bento_close_how */
  BENTO_EV_FD_SEND = 8,  /* sendmsg/sendmmsg carried fds (SCM_RIGHTS) */
  BENTO_EV_FD_RECV = 9,  /* recvmsg/recvmmsg installed fds (SCM_RIGHTS) */
  BENTO_EV_PIPE_IO = 10, /* first read, first write by a process image on a pipe/FIFO */
};

enum bento_close_how {
  BENTO_CLOSE_SYSCALL = 0, /* close(fd) */
  BENTO_CLOSE_RANGE = 1,   /* close_range() (fds below 64 only) */
  BENTO_CLOSE_EXEC = 2,    /* O_CLOEXEC at exec (fds below 64 only; sent after the EXEC) */
};

struct bento_event_header {
  __u32 type;  /* enum bento_event_type */
  __u32 size;  /* bytes of the whole event */
  __u64 ts_ns; /* CLOCK_MONOTONIC */
  __u32 pid;   /* tgid of the acting task */
  __u32 tid;
  __u64 start_ns; /* the process's (group leader's) start time: (pid, start_ns) is its id */
  __u32 uid;      /* real uid / gid */
  __u32 gid;
  __u32 euid;
  __u32 egid;
};

struct bento_fork_event {
  struct bento_event_header h; /* the parent */
  __u32 child_pid;             /* child's tgid (== h.pid for a thread) */
  __u32 child_tid;
  __u64 child_start_ns; /* the new task's start time (process id when !is_thread) */
  __u32 is_thread;      /* CLONE_THREAD */
  __u32 shares_files;   /* CLONE_FILES: fd table shared with the parent */
};

struct bento_exec_event {
  struct bento_event_header h; /* after exec: h.pid, h.tid is the (possibly new) leader */
  __u32 old_tid;               /* the thread that called exec (differs if not the leader) */
  __u32 argc;                  /* arguments counted (may exceed what args holds) */
  __u32 args_len;              /* bytes used in args */
  __u32 args_truncated;
  __u64 exe_dev; /* stat-encoded, like every dev here */
  __u64 exe_ino;
  char filename[BENTO_PATH_MAX]; /* as passed to exec (bprm->filename) */
  char args[BENTO_ARGS_MAX];     /* argv[0]\0argv[1]\0... */
  /* For fds 0, 1, 2 at exec: the pipe's (pipefs) or FIFO's inode when that fd is one,
   * else 0. This is how a shell pipeline's stages are tied to the pipes between them. */
  __u64 std_pipe_ino[3];
};

struct bento_exit_event {
  struct bento_event_header h;
  __s32 exit_code;  /* wait status style: code << 8 | signal */
  __u32 group_dead; /* last thread of the process */
};

struct bento_open_event {
  struct bento_event_header h;
  __s32 fd;
  __u32 flags; /* open flags as passed (O_CREAT, O_TRUNC kept; creat: O_CREAT|O_WRONLY|O_TRUNC) */
  __u64 file_id;
  __u64 dev;
  __u64 ino;
  __u32 mode;                /* i_mode of the opened inode */
  __u32 path_len;            /* bytes in path, without the NUL */
  char path[BENTO_PATH_MAX]; /* as passed (may be relative to cwd/dirfd), NUL-terminated */
};

struct bento_pipe_event {
  struct bento_event_header h;
  __s32 fds[2];
  __u64 file_ids[2];
  __u64 pipe_ino; /* pipefs inode: the pipe's identity (st_ino of either end) */
  __u32 flags;    /* pipe2 flags (0 for pipe) */
  __u32 pad;
};

struct bento_dup_event {
  struct bento_event_header h;
  __s32 oldfd;
  __s32 newfd;
  __u64 file_id;
  __u64 dev;
  __u64 ino;
  __u32 syscall_nr;       /* which call (x86_64): __NR_dup, __NR_dup2, __NR_dup3, __NR_fcntl */
  __u32 replaced;         /* newfd was open before (dup2/dup3 closed it) */
  __u64 replaced_file_id; /* what newfd held before, when replaced */
};

struct bento_close_event {
  struct bento_event_header h;
  __s32 fd;
  __u32 how;     /* enum bento_close_how */
  __u64 file_id; /* as reported when the fd appeared */
};

struct bento_fd_pass_event { /* BENTO_EV_FD_SEND and BENTO_EV_FD_RECV */
  struct bento_event_header h;
  __u64 sock_ino;      /* the socket the fds travelled through (this end; st_ino) */
  __u64 peer_sock_ino; /* the other end of a connected AF_UNIX socket, else 0 */
  __s32 sock_fd;       /* this end's fd */
  __u32 pad;
  __u32 nfds;               /* fds in this event (<= BENTO_FDS_MAX); one event per msghdr */
  __u32 truncated;          /* more fds were passed than fit */
  __s32 fds[BENTO_FDS_MAX]; /* sender's or receiver's fd numbers; -1 past nfds */
  __u64 file_ids[BENTO_FDS_MAX];
  __u64 devs[BENTO_FDS_MAX];
  __u64 inos[BENTO_FDS_MAX];
};

struct bento_pipe_io_event {
  struct bento_event_header h;
  __s32 fd;
  __u32 is_write; /* write, writev, pwritev2, sendfile/splice/tee into it, vmsplice on the
                     write end; else a read */
  __u64 file_id;
  __u64 dev;
  __u64 ino; /* pipefs inode for pipes; the FIFO's inode for FIFOs */
};

#endif /* BENTO_BPF_EVENTS_H */
