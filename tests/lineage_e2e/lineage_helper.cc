// Small programs for the lineage scenarios a shell cannot express (DESIGN.md §5):
//   lineage-helper fdpass OUT        open OUT, pass the fd over a Unix socket (SCM_RIGHTS)
//                                    to a child that execs `lineage-helper receive`, which
//                                    writes through it
//   lineage-helper forkwrite OUT     open OUT, fork; the child (no exec) writes it
//   lineage-helper threads OUT N     N threads each write their own part of OUT
//   lineage-helper pipeio IN OUT     pipe() after exec (fds 5+, not stdio): a forked child
//                                    copies IN into the pipe, the parent copies it to OUT
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "fdpass" && argc == 3) return fdpass(argv[2]);
  if (mode == "receive" && argc == 3) return receive(std::atoi(argv[2]));
  if (mode == "forkwrite" && argc == 3) return forkwrite(argv[2]);
  if (mode == "threads" && argc == 4) return threads(argv[2], std::atoi(argv[3]));
  if (mode == "pipeio" && argc == 4) return pipeio(argv[2], argv[3]);
  std::fprintf(stderr, "usage: see lineage_helper.cc\n");
  return 2;
}
