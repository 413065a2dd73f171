/* Events the CO-RE probes (bpf/probes.bpf.c) send to userspace through the ring buffer.
 * This header is the contract between the probes, the loader (bpf/probes.cc) and the
 * collector; it is C so that the BPF program and C++ share it. Version
 * BENTO_EVENTS_VERSION: bump it with any layout change (2: CLOSE gained `how`, DUP
 * `replaced_file_id`, FD_SEND/FD_RECV `sock_fd`; EXEC's exe_dev is stat-encoded.
 * 3: OPEN gained `generation` and `btime_ns` and is deduplicated per inode generation;
 * PIPE_IO reads are stamped at the read's return; new events 11-25: sockets (SOCK_*,
 * SOCKETPAIR), shared writable mappings (MMAP, MUNMAP), first read/write of regular files
 * (FILE_IO), TRUNCATE, RENAME, LINK, UNLINK, CRED, KILL). Later in 3, without a layout change:
 * CLOSE's BENTO_CLOSE_LAST_WRITE flag and DUP's BENTO_DUP_REPLACED_LAST_WRITE; a relative
 * OPEN path is sent as the opened file's absolute path.
 * 4: EXEC gained `cwd` (the caller's working directory when `filename` is relative).
 * Later in 4, without a layout change: under chroot, OPEN's path is always the opened file's
 * host path, and an absolute path in EXEC, TRUNCATE, RENAME, LINK, UNLINK comes with the
 * chroot's directory (EXEC `cwd`, bento_dir_ref) to put in front of it.
 * 5: the header gained `mnt_ns`; EXEC gained `root_dev`, `exe_path` and `root_path`. A task
 * in another mount namespace than the loader's (a container, a systemd service with
 * PrivateTmp=, `unshare -m`) sees paths the host does not: its events carry paths in "fs
 * form", from the root of the file system they are on (see bento_event_header.mnt_ns).
 * Later in 5, without a layout change: FILE_IO `is_write` 2 (BENTO_FILE_IO_WRITE_FAILED):
 * the write reported at a call's entry failed; a process image's reads of a file are
 * reported again after the file changed (bento_file_io_event).
 * 6: new event 26, FILE_COPY: which file's bytes a process image's writes carried.
 * 7: EXEC gained `exe_generation` and `exe_btime_ns`: the program file's identity (the
 *    collector stores the program an image runs as one of its inputs).
 * 8: EXEC gained `stdin_*` (what fd 0 is at the exec: an interpreter given no script runs
 *    what it reads there) and `login_uid`/`session_id` (who logged in); its `exe_path` is also sent
 * in the host's namespace when `filename` names a descriptor or /proc (`/dev/fd/3`,
 * `/proc/self/exe`). Later in 8, without a layout change: OPEN's `created` (was padding)
 * says whether the open made the file (O_CREAT on a name that did not exist).
 * 9: new event 27, SOCK_END (a struct bento_sock_event: `sock`, `local`, `remote`; fd -1):
 *    a TCP endpoint's state went to FIN_WAIT1 (close or shutdown(SHUT_WR) of an
 *    established connection) or LAST_ACK (close after the peer's FIN): its sends on that
 *    connection are over. The header names the task that closed (it runs in its context).
 * 10: PIPE_IO's `is_write` is a byte, followed by `again`: a process image's read or write
 *    of a pipe or FIFO is reported again after news (a write after the image reported an
 *    input since its last reported write there, or received on a socket; a read after
 *    someone's reported write, or after the image forked a process, since its last
 *    reported read), not only the first time (bento_pipe_io_event); after
 *    BENTO_PIPE_IO_REPORTS of them, one last with `again` = BENTO_PIPE_IO_OPEN.
 * 11: a stream socket's (TCP, AF_UNIX SOCK_STREAM) and an AF_UNIX datagram socket's
 *    SOCK_SEND and SOCK_RECV, and a UDP socket's SOCK_SEND, are reported like a pipe's
 *    transfers, again after news (flags BENTO_SOCK_INSTANT, _AGAIN, _LAST), not once per
 *    image and direction; only such a reported receive is news for the image (any receive
 *    on a UDP socket still is). Later in 11, without a layout change: MMAP also for a
 *    writable MAP_SHARED | MAP_ANONYMOUS mapping (memory a forked child shares); OPEN and
 *    FILE_IO (read()/write() and their vector forms) also for a block device (`dd
 *    if=/dev/sda`: a disk's bytes are data), `mode` saying which; FILE_IO is_write
 *    BENTO_FILE_IO_DEVICE_READ: a character device's first read by an image (typed input),
 *    and BENTO_FILE_IO_DEVICE_WRITE: a pty master's first write (who typed it).
 * 12: PIPE_IO gained `generation`: a FIFO's inode generation, so that a FIFO is told apart
 *    from the file that gets its inode number after it is removed (ext4 hands it out again
 *    at once: `mkfifo /tmp/f`, rm, `echo x > /tmp/g` may be the same number).
 * 13: PIPE_IO's `terminal` (was padding): a pseudo-terminal's output as a pipe: a write of
 *    /dev/pts/N (or of /dev/tty standing for it) by a program whose output goes there, and
 *    a read of its master (/dev/ptmx: sshd, script, tmux) that returned what it showed;
 *    dev/ino are /dev/pts/N's, `generation` its device number (st_rdev's encoding).
 * 14: PIPE_IO's `terminal` byte is `channel` (enum bento_channel): also a message queue's
 *    send and receive, POSIX (mq_timedsend/mq_timedreceive: dev/ino the queue's mqueue
 *    inode) and System V (msgsnd/msgrcv: dev the IPC namespace's inode number, ino the
 *    msqid), reported like a pipe's. New event 28, PROC_MEMORY:
 *    process_vm_readv/process_vm_writev or ptrace's PEEK/POKE copied another process's
 *    memory. Without a layout
 *    change: MMAP also for a System V shared memory segment attached writable (shmat; its
 *    end at shmdt), FILE_IO a read for one attached SHM_RDONLY. Later in 14: an unconnected
 *    UDP socket's SOCK_RECV by a call that asked for no source address (recv, read; remote
 *    family 0) is reported again after a reported UDP send to its port since.
 * 15: new event 29, LISTING (a struct bento_open_event): a process image's first
 *    getdents64/getdents of a directory that returned entries; its path always from the
 *    directory's dentry walk (in fs form in another mount namespace), never as passed.
 *
 * Times of data flow: a write-side event (PIPE_IO write, SOCK_SEND, FILE_IO write) is
 * stamped at the call's ENTRY, a read-side one (PIPE_IO read, SOCK_RECV, FILE_IO read) at
 * the call's RETURN (or, for AF_UNIX datagrams, while the datagram is copied to the
 * receiver). So every byte that flowed from a writer to a reader has
 * writer's ts_ns <= reader's ts_ns, even when the reader blocked before the writer wrote.
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

#define BENTO_EVENTS_VERSION 15
#define BENTO_PIPE_IO_OPEN 2       /* bento_pipe_io_event.again */
#define BENTO_PIPE_IO_REPORTS 4096 /* reports per image, pipe and direction before OPEN */
#define BENTO_PATH_MAX 256         /* exec filename and open paths; longer ones are truncated */
#define BENTO_ARGS_MAX 512         /* exec argv, NUL-separated; truncated flag when longer */
#define BENTO_FDS_MAX 8            /* fds per SCM_RIGHTS event */
#define BENTO_SUN_PATH_MAX 108     /* sockaddr_un.sun_path */

enum bento_event_type {
  BENTO_EV_FORK = 1,     /* clone/fork/vfork: a new process or thread */
  BENTO_EV_EXEC = 2,     /* exec succeeded: a new program image in pid */
  BENTO_EV_EXIT = 3,     /* a thread exited; group_dead = the whole process is gone */
  BENTO_EV_OPEN = 4,     /* open/openat/openat2/creat returned fd of a regular file or a
                          * block device (not on proc, sysfs, cgroup, ... ; failures not
                          * sent), once per process image (pid, start_ns, exec) and file */
  BENTO_EV_PIPE = 5,     /* pipe/pipe2 returned fds[0] (read end) and fds[1] (write end) */
  BENTO_EV_DUP = 6,      /* dup/dup2/dup3/fcntl(F_DUPFD, F_DUPFD_CLOEXEC): newfd = oldfd */
  BENTO_EV_CLOSE = 7,    /* an fd the probes reported (open/pipe/dup/recv, or inherited from a
                          * parent's reported fd at fork) was closed: see bento_close_how */
  BENTO_EV_FD_SEND = 8,  /* sendmsg/sendmmsg carried fds (SCM_RIGHTS) */
  BENTO_EV_FD_RECV = 9,  /* recvmsg/recvmmsg installed fds (SCM_RIGHTS) */
  BENTO_EV_PIPE_IO = 10, /* first read, first write by a process image on a pipe/FIFO */
  /* v3 */
  BENTO_EV_SOCK_SEND = 11,    /* first send of a process image on a socket (per destination for
                               * unconnected UDP): struct bento_sock_event */
  BENTO_EV_SOCK_RECV = 12,    /* first receive (per sender for unconnected datagram sockets) */
  BENTO_EV_SOCK_CONNECT = 13, /* connect() succeeded or is in progress (EINPROGRESS) */
  BENTO_EV_SOCK_ACCEPT = 14,  /* accept/accept4 returned a new socket */
  BENTO_EV_SOCK_BIND = 15,    /* bind() succeeded */
  BENTO_EV_SOCKETPAIR = 16,   /* socketpair() returned two connected sockets */
  BENTO_EV_MMAP = 17,         /* a shared writable mapping of a regular file appeared */
  BENTO_EV_MUNMAP = 18,       /* ... and ended (munmap, mremap, replaced, exec, exit) */
  BENTO_EV_FILE_IO = 19,      /* first read / first write of a process image on a regular file */
  BENTO_EV_TRUNCATE = 20,     /* truncate/ftruncate succeeded */
  BENTO_EV_RENAME = 21,       /* rename/renameat/renameat2 succeeded: struct bento_path_event */
  BENTO_EV_LINK = 22,         /* link/linkat succeeded */
  BENTO_EV_UNLINK = 23,       /* unlink/unlinkat/rmdir succeeded */
  BENTO_EV_CRED = 24,         /* set*id/setfs*id/capset changed the task's credentials */
  BENTO_EV_KILL = 25,         /* kill/tkill/tgkill/rt_(tg)sigqueueinfo/pidfd_send_signal sent */
  BENTO_EV_FILE_COPY = 26,    /* v6: where a process image's writes to a regular file came from */
  BENTO_EV_SOCK_END = 27,     /* v9: a TCP endpoint sent its FIN: it sends nothing more there */
  BENTO_EV_PROC_MEMORY = 28,  /* v14: process_vm_readv/writev, ptrace PEEK/POKE: another
                               * process's memory */
  BENTO_EV_LISTING = 29,      /* v15: getdents64/getdents returned a directory's entries: a
                               * struct bento_open_event naming the directory (flags
                               * O_RDONLY | O_DIRECTORY, path from its dentry walk) */
};

enum bento_close_how {
  BENTO_CLOSE_SYSCALL = 0, /* close(fd) */
  BENTO_CLOSE_RANGE = 1,   /* close_range() (fds below 64 only) */
  BENTO_CLOSE_EXEC = 2,    /* O_CLOEXEC at exec (fds below 64 only; sent after the EXEC) */
  BENTO_CLOSE_HOW_MASK = 0xff,
  /* Flag (with SYSCALL or RANGE): the close dropped the last reference of a regular file's
   * open description opened for writing: nothing is written through it afterwards. The
   * image's OPEN and FILE_IO write of that file are reported again after it. */
  BENTO_CLOSE_LAST_WRITE = 0x100,
};
/* bento_dup_event.replaced: the same, for the file dup2/dup3 closed at newfd. */
#define BENTO_DUP_REPLACED_LAST_WRITE 0x2

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
  /* v5, set in the events that carry paths (OPEN, EXEC, TRUNCATE, RENAME, LINK, UNLINK;
   * 0 in the others): 0 when the task is in the loader's mount namespace (the host's,
   * provd's); else the inode number of the task's mount namespace (its /proc/PID/ns/mnt).
   * Then the task's
   * paths mean nothing on the host: /tmp may be a private directory, / an overlay. So a
   * path the probes resolve themselves is sent in fs form: the file's path from the root
   * of the file system it is on (its dentry walked up to the super block's root, not
   * across mounts), on the event's dev (OPEN `path` on `dev`, bento_dir_ref `path` on its
   * `dev`, EXEC `exe_path` on `exe_dev` and `root_path` on `root_dev`), which the
   * collector maps to a host path through the host's mount table. A path as the task
   * passed it is sent as passed, and only a relative one can be placed (from its
   * directory's bento_dir_ref): an absolute one may cross the namespace's own mounts. */
  __u32 mnt_ns;
  __u32 pad;
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
  /* When filename is relative (`bin/tool`, `./run.sh`): the working directory it was
   * resolved from, absolute (the collector cannot ask once the process has gone). When it
   * is absolute and the process runs under chroot: the root directory it is under. Else
   * empty. Always empty in another mount namespace (h.mnt_ns != 0). */
  __u32 cwd_len;
  __u32 pad;
  char cwd[BENTO_PATH_MAX];
  /* v5, only in another mount namespace (h.mnt_ns != 0), else empty: the executable file's
   * path in fs form (on exe_dev), and the task's root directory's (on root_dev).
   * v8: exe_path is also sent in the host's namespace when filename starts with "/dev/fd/"
   * or "/proc/" (fexecve, execveat(fd, "", AT_EMPTY_PATH), `/proc/self/exe`): names the
   * collector cannot resolve, as they would name its own descriptors. A file with no path
   * (a memfd) is sent by its dentry's name, without a leading '/': "memfd:NAME". */
  __u64 root_dev;
  __u32 exe_path_len;
  __u32 root_path_len;
  char exe_path[BENTO_PATH_MAX];
  char root_path[BENTO_PATH_MAX];
  /* v7: the executable file's identity beside exe_dev/exe_ino, as OPEN sends a file's */
  __u32 exe_generation;
  __u32 pad2;
  __u64 exe_btime_ns;
  /* v8: what fd 0 is at the exec, whatever its type (0s when closed): a shell or script
   * interpreter given no script runs what it reads there (`sh < x.sh`, a reverse shell's
   * socket, `curl URL | sh`'s pipe, also in std_pipe_ino[0]). stdin_mode is the inode's
   * S_IFMT bits; a socket's stdin_ino is its sockfs inode (bento_sock.ino); generation and
   * birth time identify a regular file, as OPEN's do. */
  __u64 stdin_dev;
  __u64 stdin_ino;
  __u32 stdin_mode;
  __u32 stdin_generation;
  __u64 stdin_btime_ns;
  /* v8: the audit login uid and session of the task (task->loginuid, ->sessionid: set by
   * pam_loginuid when a user logs in, inherited, kept across sudo, su and setuid: who is
   * behind a root shell). 4294967295 (-1) when unset (daemons, boot) or the kernel has no
   * audit support. Changed only by a write to /proc/self/loginuid, before the login's exec
   * of its shell: so an exec carries it, a fork inherits it. */
  __u32 login_uid;
  __u32 session_id;
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
  __u32 mode;                /* i_mode of the opened inode: a regular file, a block device or a
                              * FIFO, not on a pseudo file system but for procfs's environ and mem
                              * of a process (/proc/PID/environ: another process's memory, read) */
  __u32 path_len;            /* bytes in path, without the NUL */
  char path[BENTO_PATH_MAX]; /* the opened file's absolute path (its dentry walked as
                              * bento_dir_ref.path is; not a symlink's on the way: a deeper
                              * one starts with "...", a file with no path, such as a memfd
                              * reopened through /proc/self/fd/N, is "/"); an absolute one on
                              * FUSE as passed (Bento's mounts are named by their fs log),
                              * NUL-terminated. In another mount namespace:
                              * the file's path in fs form (see bento_event_header.mnt_ns) */
  /* v3: what tells two files apart that had the same (dev, ino) at different times. */
  __u32 generation; /* i_generation: random per inode on ext4, tmpfs, xfs (0 where the fs
                     * does not set it, e.g. proc-like or some FUSE file systems) */
  __u32 created;    /* 1: this open made the file (the kernel's FMODE_CREATED: O_CREAT on a
                     * name that did not exist, with or without O_EXCL); 0 otherwise */
  __u64 btime_ns;   /* birth time (CLOCK_REALTIME ns) where the inode keeps one and it is
                     * cheap to read: tmpfs/shmem and ext4 (ext4 only if its BTF is
                     * available: built in, or a module with BTF); 0 otherwise */
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
  __u32 replaced;         /* newfd was open before (dup2/dup3 closed it): 1, or with
                           * BENTO_DUP_REPLACED_LAST_WRITE */
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
  __u8 is_write; /* write, writev, pwritev2, sendfile/splice/tee into it, vmsplice on the
                    write end (stamped at the entry); else a read (read, readv, preadv2,
                    splice/tee out of it, vmsplice on the read end: stamped at the return) */
  __u8 again;    /* v10: not the image's first read (write) of the pipe: a write after news
                    of the image (an input reported, a socket receive) since its last
                    reported write of the pipe; a read after a reported write of the pipe, or
                    a fork by the image, since its last reported read.
                    BENTO_PIPE_IO_OPEN: the image's last report of the pipe in this
                    direction (a chatty pair of processes would report every message): its
                    reads (writes) of it go on until it ends, unreported */
  __u8 channel;  /* v14: enum bento_channel (v13: `terminal`, 0 or 1) */
  __u8 pad;
  __u64 file_id; /* 0 for a System V message queue (no open file) */
  __u64 dev;
  __u64 ino;        /* pipefs inode for pipes; the FIFO's inode for FIFOs; see bento_channel */
  __u32 generation; /* v12: the FIFO's i_generation (its identity with dev and ino); 0 for
                       a pipe; see bento_channel */
  __u32 pad_end;
};

/* What a PIPE_IO is about. Each is a stream: what its writers put in, its readers take. */
enum bento_channel {
  BENTO_CHANNEL_PIPE = 0,     /* a pipe or a FIFO */
  BENTO_CHANNEL_TERMINAL = 1, /* v13: a pseudo-terminal's output: a write of its /dev/pts/N,
                               * a read of its master; dev/ino /dev/pts/N's, generation its
                               * device number (st_rdev's encoding) */
  BENTO_CHANNEL_MQUEUE = 2,   /* v14: a POSIX message queue (mq_timedsend, mq_timedreceive):
                               * dev/ino its mqueue inode */
  BENTO_CHANNEL_SYSV_MSG = 3, /* v14: a System V message queue (msgsnd, msgrcv): dev the
                               * IPC namespace's inode number (/proc/PID/ns/ipc), ino its
                               * msqid, generation 0; file_id 0, fd -1 */
};

/* ---- v3: sockets ---- */

/* One end of a socket. A socket is identified by `ino` (what /proc/PID/fd shows as
 * socket:[ino] and fstat's st_ino) and by `sock_id`, a keyed hash of the kernel's struct sock
 * address (like file_id; the kernel's own socket cookie cannot be generated from these
 * programs on 6.1). sock_id exists before the socket has an inode: the server end of an
 * AF_UNIX stream connection that accept() has not taken yet is known to the client as
 * peer.sock_id (ino 0) and becomes the accepted socket with that same sock_id. Both can be
 * reused after the socket is gone (order by time). */
struct bento_sock {
  __u64 ino;      /* sockfs inode; 0 if unknown (not accepted yet, or closed) */
  __u64 sock_id;  /* keyed hash of the struct sock address; 0 if unknown */
  __u32 netns;    /* network namespace (its nsfs inode, as in /proc/PID/ns/net) */
  __u16 family;   /* AF_UNIX 1, AF_INET 2, AF_INET6 10 */
  __u16 type;     /* SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3, SOCK_SEQPACKET 5 */
  __u16 protocol; /* IPPROTO_TCP 6, IPPROTO_UDP 17, ...; 0 for AF_UNIX */
  __u16 pad[3];
};

/* An AF_INET/AF_INET6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, a dual-stack
 * socket talking IPv4) are reported as AF_INET, so both ends of a connection use the same
 * form whatever their socket family. family 0: none (unbound, unconnected, not known). */
struct bento_inet_addr {
  __u8 addr[16]; /* network byte order; AF_INET: the first 4 bytes, the rest 0 */
  __u16 port;    /* host byte order */
  __u16 family;  /* AF_INET or AF_INET6, 0 = none */
  __u32 pad;
};

enum bento_sock_flags {
  BENTO_SOCK_ABSTRACT = 1,        /* path is an abstract AF_UNIX name: path[0] is '@' for its NUL */
  BENTO_SOCK_REMOTE_FROM_MSG = 2, /* remote: from the call's address argument (sendto's
                                   * destination, recvfrom's/recvmsg's source), not the socket */
  BENTO_SOCK_DEFERRED = 4,        /* SOCK_SEND of an INET socket that had no local port at entry
                                   * (UDP autobind, TCP fast open): sent at the call's return
                                   * with its local address; ts_ns is still the entry */
  BENTO_SOCK_PEER_FROM_SKB = 8,   /* SOCK_RECV on AF_UNIX SOCK_DGRAM/SEQPACKET: peer is the
                                   * socket that sent the datagram (the skb's owner) */
  /* v11: SEND/RECV of a stream socket (TCP, AF_UNIX SOCK_STREAM) or an AF_UNIX datagram
   * socket, and SEND of a UDP socket, reported like a pipe's transfers: again after news
   * (see bento_sock_event). Each such event is an instant. */
  BENTO_SOCK_INSTANT = 16,
  BENTO_SOCK_AGAIN = 32, /* with INSTANT: not the image's first send (receive) on the socket */
  BENTO_SOCK_LAST = 64,  /* with INSTANT | AGAIN: its last report (BENTO_PIPE_IO_REPORTS):
                          * its sends (receives) on the socket go on until it ends, unreported */
};

/* BENTO_EV_SOCK_SEND, _RECV, _CONNECT, _ACCEPT, _BIND. Families AF_UNIX, AF_INET, AF_INET6
 * only (netlink, packet, vsock... are not reported).
 *
 * How the two ends join (the collector's rule):
 *  - AF_UNIX (stream, seqpacket, datagram, socketpair): a SEND and a RECV belong to one flow
 *    when the receiver's peer is the sender's socket (same(recv.peer, send.sock)) or the
 *    sender's peer is the receiver's socket (same(send.peer, recv.sock)), where two
 *    bento_socks are the same if their inodes are equal when both are non-zero, else if their
 *    non-zero sock_ids are equal (a sock_id can come back for a socket created after the
 *    first one closed: prefer the inode, and pair a sock_id with the latest such socket).
 *    For datagrams the receiver's peer is the socket that sent that datagram
 *    (BENTO_SOCK_PEER_FROM_SKB), so an unconnected receiver gets one RECV per sender.
 *  - AF_INET/AF_INET6 (TCP and UDP, loopback or not): same sock.netns and protocol, and
 *    send.local == recv.remote and send.remote == recv.local (address, port, family), where a
 *    wildcard local address (0.0.0.0 or ::, an unbound or INADDR_ANY-bound UDP socket: the
 *    kernel picks the source address per datagram) matches any address with that port.
 *    For a remote host the RECV's remote (or CONNECT's) is the endpoint: "received from
 *    203.0.113.5:443 (tcp)". An unconnected UDP socket gets one SEND per destination and one
 *    RECV per source (BENTO_SOCK_REMOTE_FROM_MSG); a receiver that asks for no source
 *    address (recv(), read()) on an unconnected UDP socket reports remote.family 0.
 * Order: SEND is stamped at the send call's entry, RECV at the receive call's return, so a
 * joined pair always has send.h.ts_ns <= recv.h.ts_ns. Deduplicated in the kernel: a
 * datagram socket's once per process image (pid, start_ns, exec) and socket and direction
 * (and peer, for unconnected datagram sockets), so a bulk transfer is one SEND and one
 * RECV. A stream socket's (v11, BENTO_SOCK_INSTANT), like a pipe's: the image's first send
 * (receive) on the socket, then a send again after news of the image since its last
 * reported send there (a reported read of a pipe, a file or a socket, any receive on a UDP
 * socket), and a receive again after a reported send of the peer into that direction of the
 * connection (or a fork by the receiver) since its last reported receive; at most
 * BENTO_PIPE_IO_REPORTS times, the last with BENTO_SOCK_LAST. So what a receiver got by its
 * last reported receive before `t` came from the sender's state at its last reported send
 * before that receive. A receive that returns 0 (end of stream) is not reported. An AF_UNIX
 * datagram socket's the same (v11): its sends per socket, its receives per sender (the
 * datagram's sending socket). A UDP socket's sends (v11) per socket and peer the same way;
 * its receives once per image, socket and source. */
struct bento_sock_event {
  struct bento_event_header h;
  __s32 fd;         /* this socket's fd (ACCEPT: the new one) */
  __u32 syscall_nr; /* x86_64 __NR_* of the call (write, sendmsg, splice, accept4, ...) */
  __s32 ret;        /* CONNECT: 0 or -EINPROGRESS; RECV: bytes returned; else 0 */
  __u32 flags;      /* enum bento_sock_flags */
  __u64 file_id;    /* this socket's open file description */
  __u64 listen_ino; /* ACCEPT: the listening socket's inode; else 0 */
  /* RECV of an AF_UNIX datagram: the process that sent it (the datagram's credentials, kept
   * even when the sender has exited and its socket is gone: then peer.ino is 0 and peer.sock_id
   * may equal an earlier sender's), and its start_ns when the probes saw it start (else 0).
   * 6.1 attaches the sender's pid to every AF_UNIX datagram; newer kernels (6.18 here) only
   * when the receiver or the sender set SO_PASSCRED or SO_PASSPIDFD (syslog daemons do):
   * otherwise 0. Not AF_UNIX datagram: 0. */
  __u32 peer_pid;
  __u32 pad0;
  __u64 peer_start_ns;
  struct bento_sock sock; /* this end */
  /* AF_UNIX: the other end: the connected peer (CONNECT of a stream socket: the server's
   * socket-to-be, ino 0 until accepted), the client (ACCEPT), the datagram's sender (RECV on
   * a datagram socket), each end of a socketpair. Zero when unknown or not AF_UNIX. */
  struct bento_sock peer;
  struct bento_inet_addr local;  /* AF_INET/6: this end (after the call: bound port) */
  struct bento_inet_addr remote; /* AF_INET/6: the other end */
  __u32 path_len;                /* bytes in path */
  __u32 pad;
  /* AF_UNIX address: BIND: the bound name; CONNECT and the SEND of an unconnected datagram
   * socket: the destination as passed; else empty. Not NUL-terminated when 108 bytes long. */
  char path[BENTO_SUN_PATH_MAX];
  __u32 pad2;
};

struct bento_socketpair_event {
  struct bento_event_header h;
  __s32 fds[2];
  __u64 file_ids[2];
  struct bento_sock socks[2]; /* socks[0] is the peer of socks[1] and vice versa */
};

/* ---- v3: shared writable file mappings ---- */

enum bento_mmap_how {
  BENTO_MMAP_MMAP = 0,     /* mmap(MAP_SHARED, PROT_WRITE) of a regular file, or (later in
                            * 11) with MAP_ANONYMOUS in `flags`: of the shmem file the kernel
                            * made for it (dev/ino name that memory; fd -1) */
  BENTO_MMAP_MPROTECT = 1, /* mprotect added PROT_WRITE to a shared file mapping (the first
                            * vma of the range) */
  BENTO_MMAP_FORK = 2,     /* a forked child inherited the parent's mapping (h: the child) */
  BENTO_MMAP_MREMAP = 3,   /* mremap moved or resized one (after the MUNMAP of the old range) */
  BENTO_MMAP_SHMAT = 4,    /* v14: shmat attached a System V segment writable: dev/ino its
                            * shmem file; fd -1, flags MAP_SHARED | MAP_ANONYMOUS (a forked
                            * child shares it too); its MUNMAP comes at shmdt */
};

enum bento_munmap_how {
  BENTO_MUNMAP_MUNMAP = 0,   /* munmap covered the whole mapping (a partial munmap shrinks it
                              * silently; a hole in the middle keeps it whole) */
  BENTO_MUNMAP_MREMAP = 1,   /* mremap moved/resized it: an MMAP (how MREMAP) follows */
  BENTO_MUNMAP_REPLACED = 2, /* an mmap(MAP_FIXED) replaced it */
  BENTO_MUNMAP_EXEC = 3,     /* exec replaced the address space (sent before the EXEC) */
  BENTO_MUNMAP_EXIT = 4,     /* the process exited */
};

/* BENTO_EV_MMAP and BENTO_EV_MUNMAP: from MMAP to its MUNMAP the process (h.pid, start_ns)
 * can write the file through memory, without any write() call. Mappings are tracked per
 * process (up to 16 at a time): an MMAP with tracked = 0 gets no MUNMAP; it ends at the
 * process's exec or exit at the latest. A child forked while a mapping exists inherits it
 * (MMAP how FORK): the same memory, which both read and write. Not seen: vfork children
 * writing through the parent's mapping, writes through mappings that existed before the
 * probes were loaded. */
struct bento_mmap_event {
  struct bento_event_header h;
  __u64 addr;    /* start of the mapping (page aligned) */
  __u64 len;     /* bytes, page-rounded */
  __u64 offset;  /* file offset of addr, bytes */
  __u64 file_id; /* the mapped open file description (mmap's fd, vma->vm_file) */
  __u64 dev;
  __u64 ino;
  __u32 generation; /* i_generation of the file */
  __u32 how;        /* MMAP: enum bento_mmap_how; MUNMAP: enum bento_munmap_how */
  __s32 fd;         /* mmap: the fd passed; else -1 */
  __u32 prot;       /* mmap/mprotect: PROT_* as passed; else 0 */
  __u32 flags;      /* mmap: MAP_* as passed; else 0 */
  __u32 tracked;    /* MMAP: 1 = its end will be reported; 0 = table full (see above) */
};

/* ---- v3: regular files ---- */

/* BENTO_EV_FILE_IO: the first read and the first write of a process image on a regular
 * file (not on proc, sysfs, ... as for OPEN), deduplicated in the kernel per process image,
 * file (dev, ino, generation) and direction: exact read and write times even when the page
 * cache serves the read. v5: an image's read is reported again, as its first read of what
 * the file holds now, after another image's reported write of the file (or its mapping for
 * writing, ftruncate, open with O_TRUNC): a reader holding the file open (`tail -f`) is
 * seen reading each later version; not through a PROT_READ mapping, and not after a
 * truncate(path). Reads: read, readv, pread64, preadv, preadv2 (stamped at the return,
 * also for 0 bytes at EOF), the input of sendfile, splice and copy_file_range (stamped at the
 * entry: the call writes what it reads, so its read precedes its write), and mmap of
 * the file with PROT_READ or PROT_EXEC (stamped at mmap's return: the first page fault comes
 * later). Writes: write, writev, pwrite64, pwritev, pwritev2, the output of splice and
 * copy_file_range (stamped at the entry). Writes through a shared mapping are MMAP.
 * ProbeOptions::file_io = false turns them off. */
/* syscall_nr of an event an io_uring request made (probes.bpf.c, on_uring): this bit and
 * the request's IORING_OP_* (x86_64 syscall numbers stay below it). */
#define BENTO_NR_IO_URING 0x8000
/* is_write of a FILE_IO sent at the return of a call whose write was reported at its entry
 * when that call failed or wrote nothing (returned <= 0: ENOSPC, EFBIG, EBADF of an fd not
 * open for writing, a write of 0 bytes...): that write did not happen. h.ts_ns is the
 * return; the other fields are the write's. The image's next write of the file is reported
 * again. (Not sent when another call of the image wrote the file while this one ran: one of
 * them may have written.) */
#define BENTO_FILE_IO_WRITE_FAILED 2
/* is_write of a FILE_IO for an image's first read of a character device that returned data
 * (later in v11): a terminal (what was typed there), /dev/urandom, /dev/zero, a keyboard, a
 * tun device; not /dev/ptmx (the pty master) nor /dev/fuse. Its bytes come from outside the
 * record. `generation` holds the device's number (st_rdev's encoding: major << 8 | minor for
 * small numbers), which names it (/dev/pts/N); dev/ino are its node's, on devtmpfs or devpts.
 * A read of /dev/tty (5:0: getpass, ssh's prompts) is sent as a read of the reader's
 * terminal when that is a pseudo-terminal (its /dev/pts/N).
 * Reported again, as a pipe's read is, at the image's first read of the device after it
 * started a process (a shell reading its terminal: the line it got is the command it starts
 * next). A device's own writes and opens are never reported (a terminal's output is not what
 * it gives its next reader; every daemon opens /dev/null): a pty master's writes are, as
 * its terminal's (DEVICE_WRITE). */
#define BENTO_FILE_IO_DEVICE_READ 3
/* is_write of a FILE_IO for an image's first write of a pty master (/dev/ptmx, later in
 * v11): what sshd, tmux, script or expect write there is what the terminal's readers read.
 * Reported as a write of the slave: dev/ino its /dev/pts/N node's, `generation` its device
 * number, as for DEVICE_READ. Once per image and terminal. */
#define BENTO_FILE_IO_DEVICE_WRITE 4

struct bento_file_io_event {
  struct bento_event_header h;
  __s32 fd;
  __u32 is_write;   /* 0 read, 1 write, BENTO_FILE_IO_WRITE_FAILED, _DEVICE_READ, _WRITE */
  __u32 syscall_nr; /* x86_64 __NR_* of the call */
  __u32 generation;
  __u64 file_id;
  __u64 dev;
  __u64 ino;
};

/* ---- v6: copies ---- */

/* BENTO_EV_FILE_COPY: what a process image's writes to a regular file carried, once per
 * (process image, written file, source): the regular file src_dev/src_ino whose bytes the
 * write copied, or all src fields 0 for a write the probes cannot tie to one file's bytes.
 * A write copies a file's bytes when it is
 *  - copy_file_range(in, ..., out, ...), sendfile(out, in, ...) or splice(in, ..., out, ...)
 *    with `in` a regular file (a pipe's bytes are not certified: src 0);
 *  - write(out, buf, n) or pwrite64(out, buf, n) of a range within the buffer the thread's
 *    last read call filled, when that call was read or pread64 of a regular file (`cp`,
 *    `cat a > b`, `dd`). Any other read call of the thread in between (of a pipe, a socket,
 *    readv, recvmsg...) forgets the buffer. What the program did to the buffer between the
 *    two calls is not seen: changed in place, its bytes still count as the file's.
 * Every other write of a regular file is sent with src 0: writev, pwritev(2), a write of
 * any other buffer, io_uring writes (at completion). Writes through a shared mapping are
 * MMAP (the collector counts those as src 0). A copy of a file onto itself is src 0.
 * Sent at the call's entry (io_uring: completion), also for a call that then fails. The
 * collector lists, for a file an image wrote, only the sources of its copies when it saw
 * every write of the image to the file and none was src 0 (query-cli/LINEAGE.md). */
struct bento_file_copy_event {
  struct bento_event_header h;
  __u32 syscall_nr; /* x86_64 __NR_* of the writing call (BENTO_NR_IO_URING | op) */
  __u32 generation; /* the written file's i_generation */
  __u64 dev;        /* the written file */
  __u64 ino;
  __u64 src_dev; /* the file whose bytes it wrote; 0 with src_ino 0: not one file's */
  __u64 src_ino;
  __u32 src_generation;
  __u32 pad;
};

/* The directory a relative path starts from: dirfd's directory, or the cwd for AT_FDCWD
 * (-100) and for the calls without a dirfd. For an absolute path, all zero, except under
 * chroot: then the task's root directory (dirfd AT_FDCWD), which the path is under. In
 * another mount namespace (h.mnt_ns != 0) path is in fs form on dev, and all zero for an
 * absolute path. */
struct bento_dir_ref {
  __s32 dirfd;    /* as passed (AT_FDCWD = -100) */
  __u32 path_len; /* bytes in path (the directory's) */
  __u64 dev;
  __u64 ino;
  /* its absolute path, as far as the dentry walk got (16 components; a path that does not
   * fit is cut at the front and starts with "..."); path of the mount namespace's root */
  char path[BENTO_PATH_MAX];
};

/* BENTO_EV_TRUNCATE: truncate(path, length) or ftruncate(fd, length) succeeded. (An open
 * with O_TRUNC is an OPEN with that flag.) */
struct bento_truncate_event {
  struct bento_event_header h;
  __s32 fd; /* ftruncate: the fd; truncate: -1 */
  __u32 syscall_nr;
  __s64 length;
  __u64 file_id; /* ftruncate: the fd's description; truncate: 0 */
  __u64 dev;     /* ftruncate: the file; truncate: 0 (the path is not resolved) */
  __u64 ino;
  __u32 generation;
  __u32 path_len;
  struct bento_dir_ref dir;  /* truncate with a relative path */
  char path[BENTO_PATH_MAX]; /* truncate: as passed; ftruncate: empty */
};

/* BENTO_EV_RENAME, BENTO_EV_LINK, BENTO_EV_UNLINK, after the call succeeded. Paths are as
 * passed, with the directory they are relative to (bento_dir_ref). The probes cannot
 * resolve a path to its inode at the syscall's exit, so dev/ino are known only for
 * linkat(fd, "", dirfd, newpath, AT_EMPTY_PATH) (O_TMPFILE: ino_known = 1): for RENAME the
 * collector lstat()s new path to learn the moved inode (and for UNLINK it is gone). */
struct bento_path_event {
  struct bento_event_header h;
  __u32 syscall_nr; /* rename, renameat, renameat2, link, linkat, unlink, unlinkat, rmdir */
  __u32 flags;      /* renameat2: RENAME_*; linkat: AT_*; unlinkat: AT_REMOVEDIR (rmdir: it too) */
  __u64 dev;        /* LINK with AT_EMPTY_PATH: the linked inode; else 0 */
  __u64 ino;
  __u32 generation;
  __u32 ino_known;
  __u32 oldpath_len; /* bytes in oldpath */
  __u32 newpath_len;
  struct bento_dir_ref olddir;  /* oldpath's (UNLINK: path's) directory */
  struct bento_dir_ref newdir;  /* RENAME, LINK: newpath's directory; UNLINK: zero */
  char oldpath[BENTO_PATH_MAX]; /* UNLINK: the path */
  char newpath[BENTO_PATH_MAX]; /* UNLINK: empty */
};

/* ---- v3: attribution ---- */

/* BENTO_EV_CRED: after setuid, setgid, setreuid, setregid, setresuid, setresgid, setfsuid,
 * setfsgid (only when the fs id changed: they return the old one) or capset succeeded: the
 * task's credentials now (also in h.uid, h.gid, h.euid, h.egid). In a multithreaded program
 * glibc applies set*id to every thread: one event per thread (h.tid). */
struct bento_cred_event {
  struct bento_event_header h;
  __u32 syscall_nr;
  __u32 pad;
  __s64 args[3]; /* as passed (-1: unchanged) */
  __u32 uid, euid, suid, fsuid;
  __u32 gid, egid, sgid, fsgid;
  __u64 cap_effective; /* capability bit sets (1 << CAP_*) */
  __u64 cap_permitted;
  __u64 cap_inheritable;
};

/* BENTO_EV_KILL: a signal was sent (the call returned 0; signal 0, the existence check,
 * is not reported). h is the sender. */
struct bento_kill_event {
  struct bento_event_header h;
  __u32 syscall_nr; /* kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo,
                     * pidfd_send_signal */
  __s32 sig;
  __s32 target_pid;      /* as passed: kill's pid (> 0 a process, 0 / < -1 a process group, -1
                          * every process), tkill's tid (its process's pid once resolved),
                          * tgkill's tgid; pidfd_send_signal: the pidfd's process (global) */
  __s32 target_tid;      /* tkill, tgkill, rt_tgsigqueueinfo: the thread; else 0 */
  __s32 pidfd;           /* pidfd_send_signal: the fd; else -1 */
  __u32 resolved;        /* 1: target_start_ns is the target process's start_ns */
  __u64 target_start_ns; /* (target_pid, target_start_ns) identifies the process like the
                          * header's (pid, start_ns); 0 when not resolved: a group, a task
                          * started before the probes, a sender in a child pid namespace */
};

/* ---- v14: another process's memory ---- */

/* BENTO_EV_PROC_MEMORY: process_vm_readv or ptrace's PEEKTEXT/PEEKDATA (the caller took in
 * what the target had read: a memory scanner, a credential dumper, a debugger) or
 * process_vm_writev or ptrace's POKETEXT/POKEDATA (the target takes in what the caller had:
 * an injection) moved bytes; reported once per process image, target and direction, at the
 * call's return. (/proc/PID/mem opened is an OPEN.) */
struct bento_proc_memory_event {
  struct bento_event_header h;
  __u32 syscall_nr;      /* process_vm_readv, process_vm_writev or ptrace */
  __u32 is_write;        /* 1: into the target (process_vm_writev, POKETEXT, POKEDATA) */
  __s32 target_pid;      /* as passed (a pid, read as the process's) */
  __u32 resolved;        /* 1: target_start_ns is the target process's start_ns */
  __u64 target_start_ns; /* like bento_kill_event's */
  __u64 bytes;           /* what the call returned; 8 (a word) for ptrace */
};

#endif /* BENTO_BPF_EVENTS_H */
