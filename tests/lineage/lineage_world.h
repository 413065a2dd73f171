// The synthetic machine the in-process lineage tests feed into a real collector: processes
// (probe events) and a tracked mount (fs log records), with helpers for the queries.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "bento_bpf/events.h"
#include "collector.h"
#include "lineage_edges.h"
#include "lineage_query.h"

namespace lineage_test {

namespace fsprov = bentofs::prov;
using bento::collector::Collector;
using bento::lineage::Database;
using fsprov::RecordType;
using nlohmann::json;

inline constexpr char kMnt[] =
    "/lineage-test-mnt";  // never walked: every file is made while tracked

// Feeds one synthetic machine into a collector: processes (probe events) and a mount (fs log).
class World {
 public:
  // `host`: the machine's facts (default: this one's /proc and files).
  explicit World(const std::string& db_path, const std::string& mnt = kMnt,
                 std::unique_ptr<bento::collector::HostFacts> host = nullptr)
      : mnt(mnt) {
    std::string err;
    db = Database::open(db_path, Database::Mode::kReadWrite, &err);
    EXPECT_TRUE(db) << err;
    col = std::make_unique<Collector>(*db, std::move(host));
    uint64_t cursor = 0;
    source = col->fs_source(mnt, &cursor, &last_seq);
    col->probes_source();
    col->begin();
  }
  ~World() { commit(); }
  void commit() {
    std::string err;
    EXPECT_TRUE(col->commit(&err)) << err;
    col->begin();
  }

  uint64_t tick() { return t += 1000; }

  // A process: returns its pid; start time is its identity.
  struct Proc {
    uint32_t pid;
    uint64_t start;
    uint32_t mnt_ns = 0;  // another mount namespace's (events.h v5), inherited by fork
    // Who logged in and the session (events.h v8; unset by default), inherited by fork
    // and sent with each exec.
    uint32_t login_uid = 0xffffffffu, session_id = 0xffffffffu;
  };
  Proc fork(Proc parent, uint32_t child_pid, bool thread = false, uint32_t tid = 0) {
    bento_fork_event e{};
    header(e.h, BENTO_EV_FORK, sizeof e, parent);
    e.child_pid = thread ? parent.pid : child_pid;
    e.child_tid = thread ? tid : child_pid;
    e.child_start_ns = tick();
    e.is_thread = thread;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
    return {e.child_pid, thread ? parent.start : e.child_start_ns, parent.mnt_ns, parent.login_uid,
            parent.session_id};
  }
  // A forked child that execs argv at once: a command a shell runs.
  Proc run(Proc parent, uint32_t child_pid, const std::vector<std::string>& argv) {
    Proc p = fork(parent, child_pid);
    exec(p, argv);
    return p;
  }
  void exec(Proc p, const std::vector<std::string>& argv,
            std::array<uint64_t, 3> std_pipes = {0, 0, 0}) {
    exec_file(p, "/usr/bin/" + argv[0], argv, std_pipes);
  }
  // exec of `filename` with an argv of the caller's choosing (argv[0] may lie).
  // `cwd`: the probes' working directory for a relative filename.
  void exec_file(Proc p, const std::string& filename, const std::vector<std::string>& argv,
                 std::array<uint64_t, 3> std_pipes = {0, 0, 0}, const std::string& cwd = "") {
    bento_exec_event e = exec_event(p, filename, argv);
    std::snprintf(e.cwd, sizeof e.cwd, "%s", cwd.c_str());
    e.cwd_len = static_cast<uint32_t>(cwd.size());
    for (int i = 0; i < 3; i++) e.std_pipe_ino[i] = std_pipes[i];
    if (std_pipes[0] != 0) {  // what fd 0 is (events.h v8): that pipe
      e.stdin_dev = pipefs_dev();
      e.stdin_ino = std_pipes[0];
      e.stdin_mode = S_IFIFO;
    }
    send_exec(e);
  }
  // exec of the program file (dev, ino) outside the mount: the probes' EXEC with the
  // executable's identity, which the collector stores as the image's program.
  void exec_program(Proc p, const std::string& filename, const std::vector<std::string>& argv,
                    uint64_t exe_ino, uint64_t exe_dev = 0x803) {
    bento_exec_event e = exec_event(p, filename, argv);
    e.exe_dev = exe_dev;
    e.exe_ino = exe_ino;
    send_exec(e);
  }
  // The probes' EXEC of `filename`, for a test to complete before send_exec(): what fd 0
  // is (stdin_*), the executable's identity and the path sent with a descriptor exec.
  bento_exec_event exec_event(Proc p, const std::string& filename,
                              const std::vector<std::string>& argv) {
    bento_exec_event e{};
    header(e.h, BENTO_EV_EXEC, sizeof e, p);
    std::snprintf(e.filename, sizeof e.filename, "%s", filename.c_str());
    pack_args(e, argv);
    e.login_uid = p.login_uid;
    e.session_id = p.session_id;
    return e;
  }
  void send_exec(const bento_exec_event& e) { EXPECT_TRUE(col->on_probe_event(&e, sizeof e)); }
  // exec in another mount namespace (p.mnt_ns): the probes' executable and root paths in
  // fs form, on their file systems.
  void exec_in_namespace(Proc p, const std::string& filename, const std::vector<std::string>& argv,
                         uint64_t exe_dev, const std::string& exe_path, uint64_t root_dev,
                         const std::string& root_path) {
    bento_exec_event e = exec_event(p, filename, argv);
    e.exe_dev = exe_dev;
    e.exe_path_len = static_cast<uint32_t>(exe_path.size());
    std::snprintf(e.exe_path, sizeof e.exe_path, "%s", exe_path.c_str());
    e.root_dev = root_dev;
    e.root_path_len = static_cast<uint32_t>(root_path.size());
    std::snprintf(e.root_path, sizeof e.root_path, "%s", root_path.c_str());
    send_exec(e);
  }
  // This machine's pipefs (the collector tells pipes from FIFOs by it).
  static uint64_t pipefs_dev() { return bento::collector::machine_pipefs_dev(); }
  // First read / first write of a process image on a FIFO outside the mount (PIPE_IO with
  // the FIFO's file system, inode and generation).
  void fifo_io(Proc p, uint64_t dev, uint64_t ino, bool write, uint32_t generation = 0) {
    bento_pipe_io_event e{};
    header(e.h, BENTO_EV_PIPE_IO, sizeof e, p);
    e.is_write = write ? 1 : 0;
    e.fd = 3;
    e.dev = dev;
    e.ino = ino;
    e.generation = generation;
    e.file_id = dev * 7 + ino * 2 + (write ? 1 : 0);
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // A pseudo-terminal's output (PIPE_IO `terminal`, events.h v13): with write, p's first
  // write of /dev/pts/N (rdev, its node ino on devpts dev); else p's first read of its
  // master that returned data.
  void terminal_io(Proc p, uint64_t rdev, uint64_t ino, bool write, uint8_t again = 0,
                   uint64_t dev = 0x19) {
    bento_pipe_io_event e{};
    header(e.h, BENTO_EV_PIPE_IO, sizeof e, p);
    e.is_write = write ? 1 : 0;
    e.again = again;
    e.channel = BENTO_CHANNEL_TERMINAL;
    e.fd = write ? 1 : 5;
    e.dev = dev;
    e.ino = ino;
    e.generation = static_cast<uint32_t>(rdev);
    e.file_id = dev * 1000003 + ino + (write ? 0 : 77);
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // A message queue's send (write) or receive (events.h v14): POSIX (dev/ino its mqueue
  // inode) or System V (dev its IPC namespace, ino its msqid).
  void queue_io(Proc p, uint8_t channel, uint64_t dev, uint64_t ino, bool write,
                uint8_t again = 0) {
    bento_pipe_io_event e{};
    header(e.h, BENTO_EV_PIPE_IO, sizeof e, p);
    e.is_write = write ? 1 : 0;
    e.again = again;
    e.channel = channel;
    e.fd = channel == BENTO_CHANNEL_SYSV_MSG ? -1 : 4;
    e.dev = dev;
    e.ino = ino;
    e.file_id = channel == BENTO_CHANNEL_SYSV_MSG ? 0 : dev * 31 + ino;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // p's process_vm_readv (write: process_vm_writev) of target's memory (events.h v14);
  // ptrace: its PEEKDATA (POKEDATA).
  void proc_memory(Proc p, Proc target, bool write, bool ptrace = false) {
    bento_proc_memory_event e{};
    header(e.h, BENTO_EV_PROC_MEMORY, sizeof e, p);
    e.syscall_nr = ptrace ? 101 : write ? 311 : 310;
    e.is_write = write ? 1 : 0;
    e.target_pid = static_cast<int32_t>(target.pid);
    e.resolved = 1;
    e.target_start_ns = target.start;
    e.bytes = 64;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // A read / write of a process image on a pipe the probes report (PIPE_IO): its first, or
  // `again` after news (events.h v10: 1, or BENTO_PIPE_IO_OPEN for its last report).
  void pipe_io(Proc p, uint64_t pipe_ino, bool write, uint8_t again = 0) {
    bento_pipe_io_event e{};
    header(e.h, BENTO_EV_PIPE_IO, sizeof e, p);
    e.is_write = write ? 1 : 0;
    e.again = again;
    e.dev = pipefs_dev();
    e.ino = pipe_ino;
    e.file_id = pipe_ino * 2 + (write ? 1 : 0);
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // First send / first receive of a process image on a loopback UDP socket (SOCK_SEND,
  // SOCK_RECV): `sock_ino` is this end's socket; ports are this end's and the other's.
  // `flags` as tcp_io's below (events.h v11: a UDP send is reported again after news).
  void udp_io(Proc p, uint64_t sock_ino, uint16_t port, uint16_t peer_port, bool send,
              uint32_t flags = 0) {
    inet_event(p, send ? BENTO_EV_SOCK_SEND : BENTO_EV_SOCK_RECV, sock_ino, port, peer_port,
               SOCK_DGRAM, flags);
  }
  // The same on a loopback TCP connection; tcp_fin: this end sent its FIN (SOCK_END).
  // `flags`: the probes' BENTO_SOCK_INSTANT, _AGAIN, _LAST (events.h v11: a stream socket's
  // transfers reported again after news); 0, as the probes before v11 sent them.
  void tcp_io(Proc p, uint64_t sock_ino, uint16_t port, uint16_t peer_port, bool send,
              uint32_t flags = 0) {
    inet_event(p, send ? BENTO_EV_SOCK_SEND : BENTO_EV_SOCK_RECV, sock_ino, port, peer_port,
               SOCK_STREAM, flags);
  }
  void tcp_fin(Proc p, uint64_t sock_ino, uint16_t port, uint16_t peer_port) {
    inet_event(p, BENTO_EV_SOCK_END, sock_ino, port, peer_port, SOCK_STREAM);
  }
  // peer: the remote address (IPv4), loopback unless given.
  void inet_event(Proc p, uint32_t type, uint64_t sock_ino, uint16_t port, uint16_t peer_port,
                  int sock_type, uint32_t flags = 0, std::array<uint8_t, 4> peer = {127, 0, 0, 1}) {
    bento_sock_event e =
        inet_sock_event(p, type, sock_ino, port, peer_port, sock_type, flags, peer);
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // An AF_UNIX stream socket's event: this end `self` and the other `peer` (sock ids; the
  // peer not accepted yet), `path` the address a CONNECT or BIND passed.
  void unix_event(Proc p, uint32_t type, uint64_t self, uint64_t peer,
                  const std::string& path = "") {
    bento_sock_event e{};
    header(e.h, type, sizeof e, p);
    e.fd = 3;
    e.sock = {.ino = self, .sock_id = self, .family = AF_UNIX, .type = SOCK_STREAM};
    e.peer = {.ino = 0, .sock_id = peer, .family = AF_UNIX, .type = SOCK_STREAM};
    std::memcpy(e.path, path.data(), std::min(path.size(), sizeof e.path));
    e.path_len = static_cast<uint32_t>(std::min(path.size(), sizeof e.path));
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // A receive on an unconnected UDP socket bound to `port` (on 127.0.0.1, or on any
  // address) by a call that asked for no source address (recv, read): no remote.
  void udp_recv_unnamed(Proc p, uint64_t sock_ino, uint16_t port, bool bound_to_any = false) {
    bento_sock_event e = inet_sock_event(p, BENTO_EV_SOCK_RECV, sock_ino, port, 0, SOCK_DGRAM);
    e.remote = {};
    if (bound_to_any) std::memset(e.local.addr, 0, sizeof e.local.addr);
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  bento_sock_event inet_sock_event(Proc p, uint32_t type, uint64_t sock_ino, uint16_t port,
                                   uint16_t peer_port, int sock_type, uint32_t flags = 0,
                                   std::array<uint8_t, 4> peer = {127, 0, 0, 1}) {
    bento_sock_event e{};
    header(e.h, type, sizeof e, p);
    e.fd = type == BENTO_EV_SOCK_END ? -1 : 3;
    e.flags = flags;
    e.sock.ino = sock_ino;
    e.sock.netns = 4026531840u;
    e.sock.family = AF_INET;
    e.sock.type = static_cast<uint16_t>(sock_type);
    e.sock.protocol = sock_type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    for (auto [a, port_of] : {std::pair{&e.local, port}, std::pair{&e.remote, peer_port}}) {
      a->family = AF_INET;
      a->port = port_of;
      const uint8_t loopback[4] = {127, 0, 0, 1};
      std::memcpy(a->addr, a == &e.remote ? peer.data() : loopback, 4);
    }
    return e;
  }
  // First receive of a process image on fd `fd`, a TCP socket (`sock_ino`) connected to
  // 203.0.113.5:`port`, a sender the probes never saw.
  void tcp_recv_remote(Proc p, uint64_t sock_ino, int fd, uint16_t port) {
    bento_sock_event e{};
    header(e.h, BENTO_EV_SOCK_RECV, sizeof e, p);
    e.fd = fd;
    e.sock.ino = sock_ino;
    e.sock.netns = 4026531840u;
    e.sock.family = AF_INET;
    e.sock.type = SOCK_STREAM;
    e.sock.protocol = IPPROTO_TCP;
    const uint8_t local[4] = {10, 0, 0, 2}, remote[4] = {203, 0, 113, 5};
    e.local.family = e.remote.family = AF_INET;
    e.local.port = 40000;
    e.remote.port = port;
    std::memcpy(e.local.addr, local, sizeof local);
    std::memcpy(e.remote.addr, remote, sizeof remote);
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // An open of a file outside the tracked mount (the probes' OPEN).
  // created: the open made the file (the probes' FMODE_CREATED).
  // mode: the file's (0: a regular file's events before they carried it).
  // type: the event (LISTING has the same layout).
  void open_outside(Proc p, const std::string& path, uint64_t ino, uint32_t flags,
                    uint64_t dev = 0x803, uint32_t generation = 0, bool created = false,
                    uint32_t mode = 0, uint32_t type = BENTO_EV_OPEN) {
    bento_open_event e{};
    header(e.h, type, sizeof e, p);
    e.flags = flags;
    e.mode = mode;
    e.created = created ? 1 : 0;
    e.dev = dev;
    e.ino = ino;
    e.generation = generation;
    e.file_id = dev * 1000003 + ino;
    e.path_len = static_cast<uint32_t>(path.size());
    std::memcpy(e.path, path.c_str(), path.size() + 1);
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // A listing of a directory outside the tracked mount (the probes' LISTING).
  void list_outside(Proc p, const std::string& path, uint64_t ino, uint64_t dev = 0x803,
                    uint32_t generation = 0) {
    open_outside(p, path, ino, O_DIRECTORY, dev, generation, false, S_IFDIR | 0755,
                 BENTO_EV_LISTING);
  }
  // close(2) of an fd open_outside reported; last_write: it was the last open description
  // the image wrote the file through (BENTO_CLOSE_LAST_WRITE).
  void close_outside(Proc p, uint64_t ino, bool last_write, uint64_t dev = 0x803) {
    bento_close_event e{};
    header(e.h, BENTO_EV_CLOSE, sizeof e, p);
    e.fd = 3;
    e.how = BENTO_CLOSE_SYSCALL | (last_write ? BENTO_CLOSE_LAST_WRITE : 0);
    e.file_id = dev * 1000003 + ino;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // truncate/ftruncate of a file outside the tracked mount (the probes' TRUNCATE): by fd
  // (fd >= 0, the file's dev/ino known) or by path (fd -1: the path alone).
  void truncate_outside(Proc p, uint64_t ino, int64_t length, int fd = 3,
                        const std::string& path = "", uint64_t dev = 0x803) {
    bento_truncate_event e{};
    header(e.h, BENTO_EV_TRUNCATE, sizeof e, p);
    e.fd = fd;
    e.length = length;
    if (fd >= 0) {
      e.file_id = dev * 1000003 + ino;
      e.dev = dev;
      e.ino = ino;
    }
    e.path_len = static_cast<uint32_t>(path.size());
    std::snprintf(e.path, sizeof e.path, "%s", path.c_str());
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // rename(2) of a file outside the tracked mount (absolute paths; the probes' RENAME).
  // `root`: the chroot the paths are under, as the probes send it.
  void rename_outside(Proc p, const std::string& from, const std::string& to,
                      const std::string& root = "") {
    bento_path_event e{};
    header(e.h, BENTO_EV_RENAME, sizeof e, p);
    for (auto* d : {&e.olddir, &e.newdir}) {
      d->dirfd = AT_FDCWD;
      d->path_len = static_cast<uint32_t>(root.size());
      std::snprintf(d->path, sizeof d->path, "%s", root.c_str());
    }
    e.oldpath_len = static_cast<uint32_t>(from.size());
    std::snprintf(e.oldpath, sizeof e.oldpath, "%s", from.c_str());
    e.newpath_len = static_cast<uint32_t>(to.size());
    std::snprintf(e.newpath, sizeof e.newpath, "%s", to.c_str());
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // unlink(2) of a file outside the tracked mount (absolute path; the probes' UNLINK).
  void unlink_outside(Proc p, const std::string& path) {
    bento_path_event e{};
    header(e.h, BENTO_EV_UNLINK, sizeof e, p);
    e.oldpath_len = static_cast<uint32_t>(path.size());
    std::snprintf(e.oldpath, sizeof e.oldpath, "%s", path.c_str());
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // The first read or write of a process image on a file (FILE_IO).
  void file_io(Proc p, uint64_t ino, bool write, uint64_t dev = 0x803, int fd = 1) {
    bento_file_io_event e{};
    header(e.h, BENTO_EV_FILE_IO, sizeof e, p);
    e.fd = fd;
    e.is_write = write;
    e.syscall_nr = write ? 1 : 0;  // write / read
    e.dev = dev;
    e.ino = ino;
    e.file_id = dev * 1000003 + ino;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // p's first read of a character device that returned data (FILE_IO DEVICE_READ): the
  // device numbered rdev (st_rdev's encoding: 136 << 8 | 3 is /dev/pts/3), its node (dev,
  // ino) on devpts or devtmpfs.
  // With write: p's first write of the pty master of that terminal (FILE_IO DEVICE_WRITE,
  // sent as the slave's).
  void device_read(Proc p, uint64_t rdev, uint64_t ino, uint64_t dev = 0x19, int fd = 0,
                   bool write = false) {
    bento_file_io_event e{};
    header(e.h, BENTO_EV_FILE_IO, sizeof e, p);
    e.fd = fd;
    e.is_write = write ? BENTO_FILE_IO_DEVICE_WRITE : BENTO_FILE_IO_DEVICE_READ;
    e.syscall_nr = write ? 1 : 0;  // write / read
    e.generation = static_cast<uint32_t>(rdev);
    e.dev = dev;
    e.ino = ino;
    e.file_id = dev * 1000003 + ino;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // The call whose write file_io reported failed (FILE_IO "failed", at the call's return).
  void write_failed(Proc p, uint64_t ino, uint64_t dev = 0x803, int fd = 1) {
    bento_file_io_event e{};
    header(e.h, BENTO_EV_FILE_IO, sizeof e, p);
    e.fd = fd;
    e.is_write = BENTO_FILE_IO_WRITE_FAILED;
    e.syscall_nr = 1;  // write
    e.dev = dev;
    e.ino = ino;
    e.file_id = dev * 1000003 + ino;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // What a process image's writes of file `ino` carried (FILE_COPY, events.h v6): a copy
  // of file `src_ino`'s bytes, or (src_ino 0) other bytes.
  void copy(Proc p, uint64_t ino, uint64_t src_ino, uint64_t dev = 0x803,
            uint64_t src_dev = 0x803) {
    bento_file_copy_event e{};
    header(e.h, BENTO_EV_FILE_COPY, sizeof e, p);
    e.syscall_nr = 326;  // copy_file_range
    e.dev = dev;
    e.ino = ino;
    e.src_dev = src_ino != 0 ? src_dev : 0;
    e.src_ino = src_ino;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // A shared writable mapping of an outside file (MMAP); `anonymous`: of the shmem file
  // behind mmap(MAP_SHARED | MAP_ANONYMOUS) (fd -1).
  void map_for_writing(Proc p, uint64_t ino, uint64_t dev = 0x803, bool anonymous = false) {
    bento_mmap_event e = mapping(p, ino, dev);
    e.fd = anonymous ? -1 : 3;
    e.prot = 3;                        // PROT_READ | PROT_WRITE
    e.flags = anonymous ? 0x21 : 0x1;  // MAP_SHARED (| MAP_ANONYMOUS)
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // A forked child's copy of its parent's mapping of ino (MMAP how FORK, as the probes send
  // it at the fork).
  void inherit_mapping(Proc child, uint64_t ino, uint64_t dev = 0x803) {
    bento_mmap_event e = mapping(child, ino, dev);
    e.how = BENTO_MMAP_FORK;
    e.fd = -1;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // One page of ino mapped at an address of its own.
  bento_mmap_event mapping(Proc p, uint64_t ino, uint64_t dev) {
    bento_mmap_event e{};
    header(e.h, BENTO_EV_MMAP, sizeof e, p);
    e.addr = 0x7f0000000000 + ino * 4096;
    e.len = 4096;
    e.dev = dev;
    e.ino = ino;
    e.tracked = 1;
    return e;
  }
  // set*id changed the process's credentials (CRED): it runs as uid/gid (and effective
  // uid euid, by default uid) from now on.
  void cred(Proc p, uint32_t uid, uint32_t gid, int64_t euid = -1) {
    bento_cred_event e{};
    header(e.h, BENTO_EV_CRED, sizeof e, p);
    e.h.uid = e.uid = uid;
    e.h.euid = e.euid = e.suid = e.fsuid = euid < 0 ? uid : static_cast<uint32_t>(euid);
    e.h.gid = e.h.egid = e.gid = e.egid = e.sgid = e.fsgid = gid;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }
  // A read of a file outside the tracked mount: its open, then the image's first read.
  void read_outside(Proc p, const std::string& path, uint64_t ino, uint64_t dev = 0x803,
                    uint32_t generation = 0) {
    open_outside(p, path, ino, O_RDONLY, dev, generation);
    file_io(p, ino, /*write=*/false, dev);
  }
  // A write of a file outside the tracked mount: its open (by default `> path`), then the
  // image's first write.
  void write_outside(Proc p, const std::string& path, uint64_t ino,
                     uint32_t flags = O_WRONLY | O_CREAT | O_TRUNC, uint64_t dev = 0x803,
                     uint32_t generation = 0) {
    open_outside(p, path, ino, flags, dev, generation);
    file_io(p, ino, /*write=*/true, dev);
  }
  // A child of parent that runs argv, reads in and writes out (out_ino) on the mount, and
  // exits: `argv < in > out`.
  Proc filter(Proc parent, uint32_t pid, const std::vector<std::string>& argv, uint64_t in,
              uint64_t out_ino, const std::string& out) {
    Proc p = run(parent, pid, argv);
    read(pid, in);
    write_new(pid, out_ino, out);
    exit(p);
    return p;
  }
  // The usual start: a "setup" process (pid 100) that writes these files (ino, name) on
  // the mount.
  Proc setup(std::initializer_list<std::pair<uint64_t, std::string>> files) {
    Proc sh = run({1, 1}, 100, {"setup"});
    for (const auto& [ino, name] : files) write_new(100, ino, name);
    return sh;
  }
  // `cat PATH > OUT` by a child of parent that exits: reads the outside file ino and
  // writes OUT (out_ino) on the mount.
  Proc cat_outside(Proc parent, uint32_t pid, const std::string& path, uint64_t ino,
                   uint64_t out_ino, const std::string& out) {
    Proc cat = run(parent, pid, {"cat", path});
    read_outside(cat, path, ino);
    write_new(pid, out_ino, out);
    exit(cat);
    return cat;
  }
  void exit(Proc p, int code = 0) {
    bento_exit_event e{};
    header(e.h, BENTO_EV_EXIT, sizeof e, p);
    e.exit_code = code << 8;
    e.group_dead = 1;
    EXPECT_TRUE(col->on_probe_event(&e, sizeof e));
  }

  // fs records; `tid` acts. Returns what the record names.
  void record(RecordType type, uint32_t tid, uint64_t ino, const std::string& name = "",
              uint64_t fh = 0, uint32_t flags = 0, uint32_t mode = S_IFREG | 0644,
              uint64_t parent = 1, const std::string& name2 = "", uint64_t parent2 = 1,
              uint64_t aux = 0, uint64_t ino2 = 0, uint64_t at = 0) {
    fsprov::Record r;
    r.type = type;
    r.seq = ++seq;
    r.monotonic_ns = at != 0 ? at : tick();
    r.realtime_ns = r.monotonic_ns;
    r.pid = r.tid = tid;
    r.ino = ino;
    r.gen = 1;
    r.parent = parent;
    r.parent2 = parent2;
    r.fh = fh;
    r.flags = flags;
    r.mode = mode;
    r.aux = aux;
    r.ino2 = ino2;
    r.gen2 = ino2 != 0 ? 1 : 0;
    r.name = name.data();
    r.name_len = static_cast<uint16_t>(name.size());
    r.name2 = name2.data();
    r.name2_len = static_cast<uint16_t>(name2.size());
    offset += fsprov::record_len(r.name_len, r.name2_len);
    col->on_fs_record(source, r, offset);
  }
  // Shorthands: a whole write of a new file, a whole read.
  // A release carries the time of the handle's last write (0: none), as the fs writes it.
  void release(uint64_t ino, uint64_t fh, uint32_t flags, uint64_t last_write = 0) {
    record(RecordType::kRelease, 0, ino, "", fh, flags, S_IFREG | 0644, 1, "", last_write);
  }
  void write_new(uint32_t tid, uint64_t ino, const std::string& name, uint64_t parent = 1) {
    uint64_t fh = ++next_fh;
    record(RecordType::kCreate, tid, ino, name, fh, O_WRONLY | O_CREAT, S_IFREG | 0644, parent);
    record(RecordType::kWrite, tid, ino, "", fh, O_WRONLY);
    release(ino, fh, O_WRONLY, t);
  }
  void read(uint32_t tid, uint64_t ino) {
    uint64_t fh = ++next_fh;
    record(RecordType::kOpen, tid, ino, "", fh, O_RDONLY);
    record(RecordType::kRead, tid, ino, "", fh, O_RDONLY);
    release(ino, fh, O_RDONLY);
  }

  std::string mnt;
  std::unique_ptr<Database> db;
  std::unique_ptr<Collector> col;
  int64_t source = 0;
  uint64_t last_seq = 0, seq = 0, offset = 0, t = 1'000'000'000, next_fh = 100;

 private:
  // argv into an EXEC event's NUL-separated args.
  static void pack_args(bento_exec_event& e, const std::vector<std::string>& argv) {
    for (const auto& a : argv) {
      std::memcpy(e.args + e.args_len, a.c_str(), a.size() + 1);
      e.args_len += static_cast<uint32_t>(a.size() + 1);
      e.argc++;
    }
  }
  void header(bento_event_header& h, uint32_t type, uint32_t size, Proc p) {
    h = {};
    h.type = type;
    h.size = size;
    h.ts_ns = tick();
    h.pid = h.tid = p.pid;
    h.start_ns = p.start;
    h.mnt_ns = p.mnt_ns;
  }
};

inline std::string path(const std::string& name) {
  return std::string(kMnt) + "/" + name;
}

// The first line of an answer's text that contains `what`; "" if none.
inline std::string line_with(const std::string& text, const std::string& what) {
  const size_t at = text.find(what);
  if (at == std::string::npos) return "";
  const size_t begin = text.rfind('\n', at);
  const size_t start = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(start, text.find('\n', at) - start);
}

// A parent's read listed as one it may have passed on in a command line or environment
// (Answer::passed_reads).
inline constexpr const char* kPassedOn = "may reach this program through its command line";

// "used(sort -n a, a)", "generated(out, uniq)", "informed(uniq, fork of sh)", "out@v2" ...
inline std::set<std::string> edges(const json& g) {
  return bento::test::lineage_edges(g, kMnt, {.versions = true});
}

inline prov_cli::QueryResult why(bento::lineage::Database& db, const std::string& p, int depth = 0,
                                 bool all = false) {
  prov_cli::LineageOptions o;
  o.depth = depth;
  o.all = all;
  return prov_cli::why(db, p, o);
}
inline prov_cli::QueryResult impact(bento::lineage::Database& db, const std::string& p,
                                    int depth = 0) {
  prov_cli::LineageOptions o;
  o.depth = depth;
  return prov_cli::impact(db, p, o);
}
inline prov_cli::QueryResult process(bento::lineage::Database& db, int64_t pid, bool all = false) {
  return prov_cli::process(db, {pid, 0, all}, false);
}

// The inode number of an existing path (a directory made for a test's mount).
inline uint64_t inode_of(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_ino);
}

// A file made on a test's mount before its World (the walk of the mount names it, there
// before the record): its inode.
inline uint64_t file_before_record(const std::string& path) {
  std::ofstream(path) << "x";
  return inode_of(path);
}

// A scratch directory in /dev/shm for one test's database.
class TempDir {
 public:
  TempDir() {
    char dir[] = "/dev/shm/bento-lineage-test-XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    path_ = dir;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace lineage_test
