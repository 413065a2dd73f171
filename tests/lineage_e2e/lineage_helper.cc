// Small programs for the lineage scenarios a shell cannot express (DESIGN.md §5):
//   lineage-helper fdpass OUT        open OUT, pass the fd over a Unix socket (SCM_RIGHTS)
//                                    to a child that execs `lineage-helper receive`, which
//                                    writes through it
//   lineage-helper forkwrite OUT     open OUT, fork; the child (no exec) writes it
//   lineage-helper threads OUT N     N threads each write their own part of OUT
//   lineage-helper pipeio IN OUT     pipe() after exec (fds 5+, not stdio): a forked child
//                                    copies IN into the pipe, the parent copies it to OUT
// One system call alone (tests: each leaves its own mark against a control run):
//   lineage-helper call NAME TARGET DIR CONTROL
//     does NAME's setup on TARGET (a file made beforehand unless NAME creates it), then
//     NAME itself unless CONTROL is 1; DIR is a writable scratch directory on the mount
// Sockets between unrelated processes (the receiver runs first; READY is created once it
// listens, or bound):
//   lineage-helper recv-stream SOCK READY OUT   AF_UNIX stream: accept, copy to OUT
//   lineage-helper send-stream SOCK IN          connect, send IN
//   lineage-helper recv-dgram SOCK READY OUT    AF_UNIX datagram, unconnected: one datagram
//   lineage-helper send-dgram SOCK IN           sendto SOCK
//   lineage-helper recv-tcp PORTFILE OUT        TCP on 127.0.0.1 (port written to PORTFILE)
//   lineage-helper send-tcp PORT IN             connect 127.0.0.1:PORT, send IN
//   lineage-helper socketpair IN OUT            socketpair, fork: the child reads IN (after
//                                               the fork) and sends it, the parent writes OUT
//   lineage-helper tmpfile IN OUT               IN copied into an O_TMPFILE file in OUT's
//                                               directory, then linked as OUT (linkat)
//   lineage-helper mmap-write IN OUT            OUT (existing, large enough) mapped shared
//                                               and writable; IN copied into the mapping
//   lineage-helper uring-copy IN OUT            IN copied to OUT (created) through io_uring
//                                               alone: open, read and write requests, the
//                                               read and write done by io-wq worker threads
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int die(const char* what) {
  std::perror(what);
  return 1;
}

bool write_all(int fd, const std::string& s) {
  return write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
}

// One data byte and room for one SCM_RIGHTS fd: the message fdpass sends and receive reads.
// Not copyable: msg points into the object itself.
struct FdMessage {
  explicit FdMessage(char b) : byte(b) {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof ctl;
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;

  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
};

int fdpass(const char* out) {
  int f = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (f < 0) return die(out);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return die("socketpair");
  pid_t child = fork();
  if (child == 0) {
    close(sv[0]);
    close(f);
    std::string fd = std::to_string(sv[1]);
    execl("/proc/self/exe", "lineage-helper", "receive", fd.c_str(), nullptr);
    _exit(127);
  }
  close(sv[1]);
  FdMessage m('x');
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &f, sizeof f);
  if (sendmsg(sv[0], &m.msg, 0) != 1) return die("sendmsg");
  close(f);  // from here only the receiver holds the file
  int st = 0;
  waitpid(child, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int receive(int sock) {
  FdMessage m(0);
  if (recvmsg(sock, &m.msg, 0) != 1) return die("recvmsg");
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return die("no fd received");
  int f = -1;
  std::memcpy(&f, CMSG_DATA(c), sizeof f);
  return write_all(f, "written by the receiver\n") ? 0 : die("write");
}

int forkwrite(const char* out) {
  int f = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (f < 0) return die(out);
  pid_t child = fork();
  if (child == 0) _exit(write_all(f, "written by the forked child\n") ? 0 : 1);
  int st = 0;
  waitpid(child, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int threads(const char* out, int n) {
  int f = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (f < 0) return die(out);
  std::vector<std::thread> ts;
  for (int i = 0; i < n; i++) {
    ts.emplace_back([f, i] {
      // One shared fd: every write is a FUSE request from a different thread id.
      std::string line = "thread " + std::to_string(i) + "\n";
      line.resize(16, ' ');
      (void)!pwrite(f, line.data(), line.size(), 16 * i);
    });
  }
  for (auto& t : ts) t.join();
  return 0;
}

int pipeio(const char* in, const char* out) {
  for (int i = 0; i < 5; i++) (void)!dup(2);  // push the pipe's fds above stdio
  int p[2];
  if (pipe(p) != 0) return die("pipe");
  pid_t child = fork();
  if (child == 0) {
    close(p[0]);
    int f = open(in, O_RDONLY);
    if (f < 0) _exit(1);
    char buf[4096];
    ssize_t n;
    while ((n = read(f, buf, sizeof buf)) > 0)
      if (write(p[1], buf, n) != n) _exit(1);
    _exit(0);
  }
  close(p[1]);
  int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (o < 0) return die(out);
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0)
    if (write(o, buf, n) != n) return die("write");
  int st = 0;
  waitpid(child, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

std::string slurp(const char* path) {
  std::string out;
  int f = open(path, O_RDONLY);
  if (f < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(f);
  return out;
}

int spill(const char* out, const std::string& data) {
  int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (o < 0) return die(out);
  if (!write_all(o, data)) return die("write");
  close(o);
  return 0;
}

void touch(const char* path) {
  close(open(path, O_WRONLY | O_CREAT, 0644));
}

sockaddr_un unix_addr(const char* path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  return a;
}

std::string recv_all(int s) {
  std::string data;
  char buf[4096];
  ssize_t n;
  while ((n = recv(s, buf, sizeof buf, 0)) > 0) data.append(buf, static_cast<size_t>(n));
  return data;
}

int recv_stream(const char* sock, const char* ready, const char* out) {
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a = unix_addr(sock);
  unlink(sock);
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0)
    return die("bind");
  touch(ready);
  int c = accept(l, nullptr, nullptr);
  if (c < 0) return die("accept");
  return spill(out, recv_all(c));
}

int send_stream(const char* sock, const char* in) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a = unix_addr(sock);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return die("connect");
  return write_all(s, slurp(in)) ? 0 : die("send");
}

int recv_dgram(const char* sock, const char* ready, const char* out) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a = unix_addr(sock);
  unlink(sock);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return die("bind");
  touch(ready);
  char buf[65536];
  ssize_t n = recvfrom(s, buf, sizeof buf, 0, nullptr, nullptr);
  if (n < 0) return die("recvfrom");
  return spill(out, std::string(buf, static_cast<size_t>(n)));
}

int send_dgram(const char* sock, const char* in) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a = unix_addr(sock);
  std::string data = slurp(in);
  if (sendto(s, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
    return die("sendto");
  return 0;
}

int recv_tcp(const char* portfile, const char* out) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return die("bind");
  std::string tmp = std::string(portfile) + ".tmp";
  if (spill(tmp.c_str(), std::to_string(ntohs(a.sin_port))) != 0) return 1;
  rename(tmp.c_str(), portfile);
  int c = accept(l, nullptr, nullptr);
  if (c < 0) return die("accept");
  return spill(out, recv_all(c));
}

int send_tcp(const char* port, const char* in) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return die("connect");
  return write_all(s, slurp(in)) ? 0 : die("send");
}

int pair(const char* in, const char* out) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return die("socketpair");
  pid_t child = fork();
  if (child == 0) {
    close(sv[0]);
    _exit(write_all(sv[1], slurp(in)) ? 0 : 1);  // read after the fork: only the socket tells
  }
  close(sv[1]);
  int rc = spill(out, recv_all(sv[0]));
  int st = 0;
  waitpid(child, &st, 0);
  return rc != 0 ? rc : WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int mmap_write(const char* in, const char* out) {
  int o = open(out, O_RDWR);
  if (o < 0) return die(out);
  std::string data = slurp(in);
  void* m = mmap(nullptr, data.size(), PROT_READ | PROT_WRITE, MAP_SHARED, o, 0);
  if (m == MAP_FAILED) return die("mmap");
  std::memcpy(m, data.data(), data.size());
  msync(m, data.size(), MS_SYNC);
  munmap(m, data.size());
  close(o);
  return 0;
}

int tmpfile(const char* in, const char* out) {
  std::string dir = out;
  dir = dir.find('/') == std::string::npos ? "." : dir.substr(0, dir.rfind('/'));
  int f = open(dir.c_str(), O_TMPFILE | O_WRONLY, 0644);
  if (f < 0) return die("O_TMPFILE");
  if (!write_all(f, slurp(in))) return die("write");
  std::string proc = "/proc/self/fd/" + std::to_string(f);
  if (linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, out, AT_SYMLINK_FOLLOW) != 0) return die("linkat");
  close(f);
  return 0;
}

// One io_uring request: submitted, waited for, its result.
template <class Prep>
int ring_call(io_uring* ring, Prep prep) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  prep(sqe);
  io_uring_cqe* cqe = nullptr;
  if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe) != 0) return -1;
  int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  return res;
}

int uring_copy(const char* in, const char* out) {
  io_uring ring;
  if (io_uring_queue_init(4, &ring, 0) != 0) return die("io_uring_queue_init");
  int src = ring_call(&ring,
                      [&](io_uring_sqe* s) { io_uring_prep_openat(s, AT_FDCWD, in, O_RDONLY, 0); });
  int dst = ring_call(&ring, [&](io_uring_sqe* s) {
    io_uring_prep_openat(s, AT_FDCWD, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  });
  if (src < 0 || dst < 0) return die("open through io_uring");
  static char buf[65536];
  int n = ring_call(&ring, [&](io_uring_sqe* s) {
    io_uring_prep_read(s, src, buf, sizeof buf, 0);
    s->flags |= IOSQE_ASYNC;
  });
  if (n < 0) return die("read through io_uring");
  int w = ring_call(&ring, [&](io_uring_sqe* s) {
    io_uring_prep_write(s, dst, buf, n, 0);
    s->flags |= IOSQE_ASYNC;
  });
  if (w != n) return die("write through io_uring");
  io_uring_queue_exit(&ring);
  return 0;
}

// The calls, each after the setup it needs; `control` skips only the call itself.
int one_call(const std::string& name, const char* target, const char* dir, bool control) {
  const std::string other = std::string(dir) + "/other-" + name;
  auto call = [&](auto&& f) { return control ? 0 : f(); };
  auto opened = [&](int flags) {
    int fd = open(target, flags);
    if (fd < 0) std::perror(target);
    return fd;
  };
  if (name == "creat") return call([&] { return creat(target, 0644) < 0; });
  if (name == "open") return call([&] { return open(target, O_RDONLY) < 0; });
  if (name == "openat") return call([&] { return openat(AT_FDCWD, target, O_RDONLY) < 0; });
  if (name == "close") {
    int fd = opened(O_RDONLY);
    return call([&] { return close(fd); });
  }
  if (name == "dup" || name == "dup2" || name == "dup3") {
    int fd = opened(O_RDONLY);
    return call([&] {
      return (name == "dup"    ? dup(fd)
              : name == "dup2" ? dup2(fd, 40)
                               : dup3(fd, 41, O_CLOEXEC)) < 0;
    });
  }
  if (name == "read" || name == "pread") {
    int fd = opened(O_RDONLY);
    char b[16];
    return call(
        [&] { return (name == "read" ? read(fd, b, sizeof b) : pread(fd, b, sizeof b, 1)) < 0; });
  }
  if (name == "write" || name == "pwrite") {
    int fd = opened(O_WRONLY);
    return call([&] { return (name == "write" ? write(fd, "w", 1) : pwrite(fd, "p", 1, 2)) != 1; });
  }
  if (name == "truncate") return call([&] { return truncate(target, 1); });
  if (name == "ftruncate") {
    int fd = opened(O_WRONLY);
    return call([&] { return ftruncate(fd, 1); });
  }
  if (name == "rename") return call([&] { return rename(target, other.c_str()); });
  if (name == "renameat")
    return call([&] { return renameat(AT_FDCWD, target, AT_FDCWD, other.c_str()); });
  if (name == "link") return call([&] { return link(target, other.c_str()); });
  if (name == "linkat")
    return call([&] { return linkat(AT_FDCWD, target, AT_FDCWD, other.c_str(), 0); });
  if (name == "symlink") return call([&] { return symlink("somewhere", target); });
  if (name == "symlinkat") return call([&] { return symlinkat("somewhere", AT_FDCWD, target); });
  if (name == "unlink") return call([&] { return unlink(target); });
  if (name == "unlinkat") return call([&] { return unlinkat(AT_FDCWD, target, 0); });
  if (name == "mknod") return call([&] { return mknod(target, S_IFIFO | 0644, 0); });
  if (name == "mknodat") return call([&] { return mknodat(AT_FDCWD, target, S_IFIFO | 0644, 0); });
  if (name == "chmod") return call([&] { return chmod(target, 0600); });
  if (name == "fchmod") {
    int fd = opened(O_RDONLY);
    return call([&] { return fchmod(fd, 0600); });
  }
  if (name == "fchmodat") return call([&] { return fchmodat(AT_FDCWD, target, 0600, 0); });
  if (name == "chown") return call([&] { return chown(target, 1, 1); });
  if (name == "fchown") {
    int fd = opened(O_RDONLY);
    return call([&] { return fchown(fd, 1, 1); });
  }
  if (name == "fchownat") return call([&] { return fchownat(AT_FDCWD, target, 1, 1, 0); });
  // The calls that act on processes and fds: the process writes the target first, so it is
  // one the database keeps.
  int w = opened(O_WRONLY);
  if (w < 0 || write(w, "x", 1) != 1) return die("write the target");
  if (name == "pipe" || name == "pipe2") {
    int p[2];
    return call([&] { return name == "pipe" ? pipe(p) : pipe2(p, O_CLOEXEC); });
  }
  if (name == "tee") {
    int a[2], b[2];
    if (pipe(a) != 0 || pipe(b) != 0 || write(a[1], "tee", 3) != 3) return 1;
    return call([&] { return tee(a[0], b[1], 3, 0) != 3; });
  }
  if (name == "fork" || name == "vfork" || name == "clone") {
    return call([&] {
      pid_t c = name == "fork"    ? fork()
                : name == "vfork" ? vfork()
                                  : static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
      if (c == 0) _exit(0);
      int st = 0;
      waitpid(c, &st, 0);
      return c < 0;
    });
  }
  if (name == "execve") {
    if (control) return 0;
    char* const args[] = {const_cast<char*>("true"), nullptr};
    execve("/bin/true", args, environ);
    return 1;
  }
  if (name == "exit") {
    if (control) pause();  // killed by the test once it has looked
    _exit(3);
  }
  if (name == "kill") {
    pid_t c = fork();
    if (c == 0) {
      if (control) _exit(0);
      pause();
      _exit(0);
    }
    if (!control) {
      usleep(100000);
      kill(c, SIGTERM);
    }
    int st = 0;
    waitpid(c, &st, 0);
    return 0;
  }
  // Credentials: the change, then a file written by the new identity.
  const uid_t nobody = 65534;
  int rc = 0;
  // From inside DIR: the new identity may not be allowed to walk the path down to it.
  if (chdir(dir) != 0) return die(dir);
  if (!control) {
    if (name == "setuid") rc = setuid(nobody);
    if (name == "setreuid") rc = setreuid(nobody, nobody);
    if (name == "setresuid") rc = setresuid(nobody, nobody, nobody);
    if (name == "setgid") rc = setgid(nobody);
    if (name == "setregid") rc = setregid(nobody, nobody);
    if (name == "setresgid") rc = setresgid(nobody, nobody, nobody);
  }
  if (rc != 0) return die(name.c_str());
  const std::string after = "after-" + name + (control ? "-control" : "");
  int a = open(after.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (a < 0 || write(a, "a", 1) != 1) return die(after.c_str());
  close(a);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "fdpass" && argc == 3) return fdpass(argv[2]);
  if (mode == "receive" && argc == 3) return receive(std::atoi(argv[2]));
  if (mode == "forkwrite" && argc == 3) return forkwrite(argv[2]);
  if (mode == "threads" && argc == 4) return threads(argv[2], std::atoi(argv[3]));
  if (mode == "pipeio" && argc == 4) return pipeio(argv[2], argv[3]);
  if (mode == "recv-stream" && argc == 5) return recv_stream(argv[2], argv[3], argv[4]);
  if (mode == "send-stream" && argc == 4) return send_stream(argv[2], argv[3]);
  if (mode == "recv-dgram" && argc == 5) return recv_dgram(argv[2], argv[3], argv[4]);
  if (mode == "send-dgram" && argc == 4) return send_dgram(argv[2], argv[3]);
  if (mode == "recv-tcp" && argc == 4) return recv_tcp(argv[2], argv[3]);
  if (mode == "send-tcp" && argc == 4) return send_tcp(argv[2], argv[3]);
  if (mode == "socketpair" && argc == 4) return pair(argv[2], argv[3]);
  if (mode == "call" && argc == 6) {
    std::printf("%d\n", getpid());  // the test asks prov about this process
    std::fflush(stdout);
    return one_call(argv[2], argv[3], argv[4], argv[5][0] == '1');
  }
  if (mode == "tmpfile" && argc == 4) return tmpfile(argv[2], argv[3]);
  if (mode == "mmap-write" && argc == 4) return mmap_write(argv[2], argv[3]);
  if (mode == "uring-copy" && argc == 4) return uring_copy(argv[2], argv[3]);
  std::fprintf(stderr, "usage: see lineage_helper.cc\n");
  return 2;
}
