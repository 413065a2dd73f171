// The socket events (events.h v3) with real processes: AF_UNIX stream, unconnected datagram
// and socketpair, TCP and UDP over loopback. Each test checks the events field by field
// against what the processes themselves saw (fstat, getsockname) and that the two ends of
// every flow join by the rule documented in events.h, with the send stamped before the
// receive; a bulk transfer is a handful of events.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <atomic>
#include <new>

#include "probe_fixture.h"

namespace {

using namespace bento_bpf_test;

uint64_t ino_of(int fd) {
  struct stat st = {};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// events.h's AF_UNIX rule: the receiver's peer is the sender's socket, or the other way;
// by inode where both sides know it, else by sock_id.
bool same_sock(const bento_sock& a, const bento_sock& b) {
  if (a.ino != 0 && b.ino != 0) return a.ino == b.ino;
  return a.sock_id != 0 && a.sock_id == b.sock_id;
}
bool unix_joined(const bento_sock_event& send, const bento_sock_event& recv) {
  return same_sock(recv.peer, send.sock) || same_sock(send.peer, recv.sock);
}

bool same_addr(const bento_inet_addr& a, const bento_inet_addr& b) {
  return a.family == b.family && a.port == b.port && std::memcmp(a.addr, b.addr, 16) == 0;
}

// A wildcard local address (unbound UDP: 0.0.0.0 or ::) matches any address of its family.
bool addr_matches(const bento_inet_addr& local, const bento_inet_addr& seen) {
  static const uint8_t zero[16] = {};
  if (local.family == seen.family && local.port == seen.port &&
      std::memcmp(local.addr, zero, 16) == 0)
    return true;
  return same_addr(local, seen);
}

// events.h's AF_INET rule: same netns and protocol, the sender's ends mirrored.
bool inet_joined(const bento_sock_event& send, const bento_sock_event& recv) {
  return send.sock.netns == recv.sock.netns && send.sock.protocol == recv.sock.protocol &&
         addr_matches(send.local, recv.remote) && addr_matches(recv.local, send.remote);
}

bento_inet_addr inet_of(const sockaddr_in& a) {
  bento_inet_addr r = {};
  r.family = AF_INET;
  r.port = ntohs(a.sin_port);
  std::memcpy(r.addr, &a.sin_addr, 4);
  return r;
}

sockaddr_in local_of(int fd) {
  sockaddr_in a = {};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return a;
}

sockaddr_un unix_addr(const std::string& path) {
  sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  return a;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A pipe the children report numbers through (inodes, ports) and wait on.
struct Channel {
  int fd[2] = {-1, -1};
  Channel() { EXPECT_EQ(pipe(fd), 0); }
  ~Channel() {
    close(fd[0]);
    close(fd[1]);
  }
  void put(uint64_t v) const {
    if (write(fd[1], &v, sizeof v) != sizeof v) _exit(9);
  }
  uint64_t get() const {
    uint64_t v = 0;
    EXPECT_EQ(read(fd[0], &v, sizeof v), static_cast<ssize_t>(sizeof v));
    return v;
  }
};

class Sockets : public FdProbes {
 protected:
  std::vector<bento_sock_event> of(uint32_t type, pid_t pid) {
    return events<bento_sock_event>(type, static_cast<uint32_t>(pid));
  }
  // In a child: a TCP listener on a loopback port it reports on `ready`, and the one
  // connection it accepts (-1 if something failed).
  static int accept_one(Channel& ready) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(0);
    if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0) return -1;
    ready.put(ntohs(local_of(l).sin_port));
    return accept(l, nullptr, nullptr);
  }
  // The only event of a type from pid.
  bento_sock_event one(uint32_t type, pid_t pid) {
    auto v = of(type, pid);
    EXPECT_EQ(v.size(), 1u) << "event type " << type << " of pid " << pid;
    return v.empty() ? bento_sock_event{} : v[0];
  }
};

TEST_F(Sockets, UnixStreamEndsJoinThroughTheirPeers) {
  std::string path = dir_ + "/stream.sock";
  Channel ready, report, creport;  // the client reports on its own channel: no race
  pid_t server = spawn([&] {
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a = unix_addr(path);
    if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0) return 1;
    ready.put(1);
    int c = accept(l, nullptr, nullptr);
    char buf[64];
    size_t got = 0;
    while (got < 3) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return 2;
      got += n;
    }
    if (send(c, "ok", 2, 0) != 2) return 3;
    report.put(ino_of(l));
    report.put(ino_of(c));
    return 0;
  });
  ready.get();
  pid_t client = spawn([&] {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a = unix_addr(path);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 1;
    iovec v = {const_cast<char*>("c"), 1};
    msghdr m = {};
    m.msg_iov = &v;
    m.msg_iovlen = 1;
    if (write(s, "a", 1) != 1 || send(s, "b", 1, 0) != 1 || sendmsg(s, &m, 0) != 1) return 2;
    char buf[2];
    if (recv(s, buf, 2, MSG_WAITALL) != 2) return 3;
    creport.put(ino_of(s));
    return 0;
  });
  reap(server);
  reap(client);
  uint64_t listen_ino = report.get(), accepted_ino = report.get(), client_ino = creport.get();
  drain(getpid());

  auto bind = one(BENTO_EV_SOCK_BIND, server);
  EXPECT_EQ(std::string(bind.path, bind.path_len), path);
  EXPECT_EQ(bind.sock.ino, listen_ino);
  EXPECT_EQ(bind.sock.family, AF_UNIX);
  EXPECT_EQ(bind.sock.type, SOCK_STREAM);
  auto conn = one(BENTO_EV_SOCK_CONNECT, client);
  EXPECT_EQ(std::string(conn.path, conn.path_len), path);
  EXPECT_EQ(conn.sock.ino, client_ino);
  EXPECT_EQ(conn.ret, 0);
  EXPECT_EQ(conn.syscall_nr, static_cast<uint32_t>(SYS_connect));
  auto acc = one(BENTO_EV_SOCK_ACCEPT, server);
  EXPECT_EQ(acc.sock.ino, accepted_ino);
  EXPECT_EQ(acc.listen_ino, listen_ino);
  EXPECT_EQ(acc.peer.ino, client_ino);
  EXPECT_EQ(acc.peer.sock_id, conn.sock.sock_id);
  // The client's peer at connect() is the server's socket-to-be: accept() returns it.
  EXPECT_EQ(conn.peer.sock_id, acc.sock.sock_id);
  EXPECT_NE(acc.sock.sock_id, 0u);

  // write, send and sendmsg on one socket: one SEND (the first, write).
  auto csend = one(BENTO_EV_SOCK_SEND, client);
  EXPECT_EQ(csend.syscall_nr, static_cast<uint32_t>(SYS_write));
  EXPECT_EQ(csend.sock.ino, client_ino);
  // Sent before the server's accept(), the peer has no inode yet: sock_id joins them.
  EXPECT_TRUE(csend.peer.ino == accepted_ino || csend.peer.ino == 0) << csend.peer.ino;
  EXPECT_EQ(csend.peer.sock_id, acc.sock.sock_id);
  EXPECT_EQ(csend.file_id, conn.file_id);
  auto srecv = one(BENTO_EV_SOCK_RECV, server);
  EXPECT_EQ(srecv.sock.ino, accepted_ino);
  EXPECT_EQ(srecv.peer.ino, client_ino);
  EXPECT_EQ(srecv.syscall_nr, static_cast<uint32_t>(SYS_read));
  EXPECT_GE(srecv.ret, 1);
  EXPECT_TRUE(unix_joined(csend, srecv));
  EXPECT_LE(csend.h.ts_ns, srecv.h.ts_ns);
  // The reply.
  auto ssend = one(BENTO_EV_SOCK_SEND, server);
  auto crecv = one(BENTO_EV_SOCK_RECV, client);
  EXPECT_TRUE(unix_joined(ssend, crecv));
  EXPECT_FALSE(unix_joined(csend, crecv));  // not its own send
  EXPECT_LE(ssend.h.ts_ns, crecv.h.ts_ns);
  EXPECT_EQ(crecv.ret, 2);
  EXPECT_EQ(probes_->stats().lost, 0u);
}

TEST_F(Sockets, UnixDatagramReceiverNamesEachSender) {
  ASSERT_TRUE(probes_->unix_dgram_senders());
  std::string path = dir_ + "/dgram.sock";
  Channel ready, report;
  pid_t receiver = spawn([&] {
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un a = unix_addr(path);
    int on = 1;  // as syslog daemons do: the kernel then attaches the sender's pid everywhere
    if (setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return 3;
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 1;
    report.put(ino_of(s));
    ready.put(1);
    char buf[16];
    for (int i = 0; i < 4; i++) {
      sockaddr_un from = {};
      socklen_t len = sizeof from;
      if (recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len) <= 0) return 2;
    }
    return 0;
  });
  uint64_t receiver_ino = report.get();
  ready.get();
  usleep(200000);  // the receiver blocks in recvfrom before anything is sent
  std::vector<pid_t> senders;
  Channel sent, received;
  for (int i = 0; i < 2; i++) {
    senders.push_back(spawn([&] {
      int s = socket(AF_UNIX, SOCK_DGRAM, 0);  // unbound, unconnected
      sockaddr_un a = unix_addr(path);
      for (int j = 0; j < 2; j++)
        if (sendto(s, "d", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) != 1) return 1;
      report.put(ino_of(s));
      sent.put(1);
      received.get();  // keep the socket until the receiver has it all
      return 0;
    }));
    sent.get();  // one after the other: the receiver's events come in order
  }
  reap(receiver);
  received.put(1);
  received.put(1);
  for (pid_t s : senders) reap(s);
  uint64_t sender_ino[2] = {report.get(), report.get()};
  drain(getpid());

  auto recvs = of(BENTO_EV_SOCK_RECV, receiver);
  ASSERT_EQ(recvs.size(), 2u);  // one per sender, not per datagram
  for (int i = 0; i < 2; i++) {
    SCOPED_TRACE(i);
    auto send = one(BENTO_EV_SOCK_SEND, senders[i]);
    EXPECT_EQ(send.sock.ino, sender_ino[i]);
    EXPECT_EQ(send.sock.type, SOCK_DGRAM);
    EXPECT_EQ(send.peer.sock_id, 0u);  // unconnected: the receiver names the flow
    EXPECT_EQ(std::string(send.path, send.path_len), path);
    EXPECT_EQ(send.syscall_nr, static_cast<uint32_t>(SYS_sendto));
    const auto& r = recvs[i];
    EXPECT_EQ(r.sock.ino, receiver_ino);
    EXPECT_EQ(r.flags & BENTO_SOCK_PEER_FROM_SKB, static_cast<uint32_t>(BENTO_SOCK_PEER_FROM_SKB));
    EXPECT_EQ(r.peer.ino, sender_ino[i]);
    EXPECT_EQ(r.peer.family, AF_UNIX);
    EXPECT_EQ(r.peer_pid, static_cast<uint32_t>(senders[i]));  // the sending process
    EXPECT_EQ(r.peer_start_ns, start_ns_of(static_cast<uint32_t>(senders[i])));
    EXPECT_NE(r.peer_start_ns, 0u);
    EXPECT_EQ(r.syscall_nr, static_cast<uint32_t>(SYS_recvfrom));
    EXPECT_EQ(r.ret, 1);
    EXPECT_TRUE(unix_joined(send, r));
    EXPECT_LE(send.h.ts_ns, r.h.ts_ns);
  }
  EXPECT_FALSE(unix_joined(one(BENTO_EV_SOCK_SEND, senders[0]), recvs[1]));
}

// Senders that are gone before their datagrams are read (logger → syslog, which sets
// SO_PASSCRED): the receiver still names each sending process, and each sender's RECV is
// its own although their sockets had the same address.
TEST_F(Sockets, UnixDatagramFromSendersThatExitedFirst) {
  std::string path = dir_ + "/gone.sock";
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a = unix_addr(path);
  int on = 1;
  ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::vector<pid_t> senders;
  for (int i = 0; i < 3; i++) {
    senders.push_back(run_child([&] {
      int c = socket(AF_UNIX, SOCK_DGRAM, 0);
      return sendto(c, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) == 1 ? 0 : 1;
    }));
  }
  char buf[4];
  for (int i = 0; i < 3; i++) ASSERT_EQ(recv(s, buf, sizeof buf, 0), 1);
  drain(getpid());
  auto recvs = of(BENTO_EV_SOCK_RECV, getpid());
  ASSERT_EQ(recvs.size(), 3u);
  for (int i = 0; i < 3; i++) {
    SCOPED_TRACE(i);
    EXPECT_EQ(recvs[i].peer_pid, static_cast<uint32_t>(senders[i]));
    EXPECT_EQ(recvs[i].peer_start_ns, start_ns_of(static_cast<uint32_t>(senders[i])));
    auto send = one(BENTO_EV_SOCK_SEND, senders[i]);
    EXPECT_LE(send.h.ts_ns, recvs[i].h.ts_ns);
    // The sender's socket is closed: no inode any more, and its sock_id (the struct sock's
    // address) may be a previous sender's; the process names the flow.
    EXPECT_EQ(recvs[i].peer.ino, 0u);
  }
  close(s);
}

TEST_F(Sockets, SocketpairReportsBothEndsAndTheirTransfers) {
  for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
    SCOPED_TRACE(type);
    raw_.clear();
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, type, 0, sv), 0);
    pid_t child = run_child([&] {
      for (int i = 0; i < 3; i++)
        if (write(sv[1], "p", 1) != 1) return 1;
      return 0;
    });
    char buf[4];
    for (int i = 0; i < (type == SOCK_DGRAM ? 3 : 1); i++) ASSERT_GT(read(sv[0], buf, 3), 0);
    drain(getpid());
    auto pairs = events<bento_socketpair_event>(BENTO_EV_SOCKETPAIR, self());
    ASSERT_EQ(pairs.size(), 1u);
    const auto& p = pairs[0];
    for (int i = 0; i < 2; i++) {
      EXPECT_EQ(p.fds[i], sv[i]);
      EXPECT_EQ(p.socks[i].ino, ino_of(sv[i]));
      EXPECT_EQ(p.socks[i].family, AF_UNIX);
      EXPECT_EQ(p.socks[i].type, type);
      EXPECT_NE(p.file_ids[i], 0u);
      EXPECT_NE(p.socks[i].sock_id, 0u);
    }
    EXPECT_NE(p.socks[0].sock_id, p.socks[1].sock_id);
    auto send = one(BENTO_EV_SOCK_SEND, child);
    auto recv = one(BENTO_EV_SOCK_RECV, getpid());
    EXPECT_EQ(send.sock.sock_id, p.socks[1].sock_id);
    EXPECT_EQ(send.peer.sock_id, p.socks[0].sock_id);
    EXPECT_EQ(send.file_id, p.file_ids[1]);  // inherited across fork: the same description
    EXPECT_EQ(recv.sock.sock_id, p.socks[0].sock_id);
    EXPECT_EQ(recv.peer.ino, p.socks[1].ino);
    EXPECT_EQ((recv.flags & BENTO_SOCK_PEER_FROM_SKB) != 0, type == SOCK_DGRAM);
    EXPECT_TRUE(unix_joined(send, recv));
    EXPECT_LE(send.h.ts_ns, recv.h.ts_ns);
    close(sv[0]);
    close(sv[1]);
  }
}

TEST_F(Sockets, TcpLoopbackEndsMirrorEachOther) {
  Channel ready, report, creport;  // the client reports on its own channel: no race
  pid_t server = spawn([&] {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(0);
    if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0) return 1;
    report.put(ino_of(l));
    ready.put(ntohs(local_of(l).sin_port));
    int c = accept(l, nullptr, nullptr);
    char buf[64];
    size_t got = 0;
    while (got < 3) {
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) return 2;
      got += n;
    }
    if (write(c, "ok", 2) != 2) return 3;
    report.put(ino_of(c));
    return 0;
  });
  uint64_t listen_ino = report.get();
  uint16_t port = ready.get();
  pid_t client = spawn([&] {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 1;
    for (int i = 0; i < 3; i++)
      if (send(s, "t", 1, 0) != 1) return 2;
    char buf[2];
    if (read(s, buf, 2) <= 0) return 3;
    creport.put(ino_of(s));
    creport.put(ntohs(local_of(s).sin_port));
    return 0;
  });
  reap(server);
  reap(client);
  uint64_t accepted_ino = report.get(), client_ino = creport.get();
  uint16_t client_port = creport.get();
  drain(getpid());

  bento_inet_addr srv = inet_of(loopback(port)), cli = inet_of(loopback(client_port));
  auto bind = one(BENTO_EV_SOCK_BIND, server);
  EXPECT_TRUE(same_addr(bind.local, srv));
  EXPECT_EQ(bind.sock.protocol, IPPROTO_TCP);
  EXPECT_EQ(bind.sock.family, AF_INET);
  EXPECT_EQ(bind.sock.ino, listen_ino);
  auto conn = one(BENTO_EV_SOCK_CONNECT, client);
  EXPECT_TRUE(same_addr(conn.local, cli));
  EXPECT_TRUE(same_addr(conn.remote, srv));
  EXPECT_EQ(conn.sock.ino, client_ino);
  auto acc = one(BENTO_EV_SOCK_ACCEPT, server);
  EXPECT_TRUE(same_addr(acc.local, srv));
  EXPECT_TRUE(same_addr(acc.remote, cli));
  EXPECT_EQ(acc.listen_ino, listen_ino);
  EXPECT_EQ(acc.sock.ino, accepted_ino);
  EXPECT_EQ(acc.sock.netns, conn.sock.netns);
  EXPECT_NE(acc.sock.netns, 0u);

  auto csend = one(BENTO_EV_SOCK_SEND, client);  // three sends, one event
  auto srecv = one(BENTO_EV_SOCK_RECV, server);
  EXPECT_TRUE(same_addr(csend.local, cli));
  EXPECT_TRUE(same_addr(csend.remote, srv));
  EXPECT_TRUE(same_addr(srecv.local, srv));
  EXPECT_TRUE(same_addr(srecv.remote, cli));
  EXPECT_EQ(csend.flags, static_cast<uint32_t>(BENTO_SOCK_INSTANT));
  EXPECT_TRUE(inet_joined(csend, srecv));
  EXPECT_LE(csend.h.ts_ns, srecv.h.ts_ns);
  auto ssend = one(BENTO_EV_SOCK_SEND, server);
  auto crecv = one(BENTO_EV_SOCK_RECV, client);
  EXPECT_EQ(ssend.syscall_nr, static_cast<uint32_t>(SYS_write));
  EXPECT_EQ(crecv.syscall_nr, static_cast<uint32_t>(SYS_read));
  EXPECT_TRUE(inet_joined(ssend, crecv));
  EXPECT_FALSE(inet_joined(csend, crecv));
  EXPECT_LE(ssend.h.ts_ns, crecv.h.ts_ns);
}

// Each TCP end's FIN is a SOCK_END naming the connection as its sends did: the server's
// shutdown(SHUT_WR) after its reply (FIN_WAIT1), the client's close once it read to the
// end (LAST_ACK). What an end sent is over by then (the probes report its first send only).
TEST_F(Sockets, TcpEndsReportTheirFin) {
  Channel ready, creport;
  pid_t server = spawn([&] {
    int c = accept_one(ready);
    if (c < 0) return 1;
    if (write(c, "reply", 5) != 5) return 2;
    if (shutdown(c, SHUT_WR) != 0) return 3;
    char buf[8];
    while (read(c, buf, sizeof buf) > 0) {
    }
    close(c);
    return 0;
  });
  uint16_t port = ready.get();
  pid_t client = spawn([&] {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 1;
    if (send(s, "get", 3, 0) != 3) return 2;
    char buf[8];
    while (read(s, buf, sizeof buf) > 0) {
    }
    creport.put(ntohs(local_of(s).sin_port));
    close(s);
    return 0;
  });
  reap(server);
  reap(client);
  uint16_t client_port = creport.get();
  drain(getpid());
  bento_inet_addr srv = inet_of(loopback(port)), cli = inet_of(loopback(client_port));
  auto ssend = one(BENTO_EV_SOCK_SEND, server);
  auto send_ = one(BENTO_EV_SOCK_END, server);
  EXPECT_TRUE(same_addr(send_.local, srv));
  EXPECT_TRUE(same_addr(send_.remote, cli));
  EXPECT_EQ(send_.sock.protocol, IPPROTO_TCP);
  EXPECT_EQ(send_.sock.netns, ssend.sock.netns);
  EXPECT_EQ(send_.fd, -1);
  EXPECT_GE(send_.h.ts_ns, ssend.h.ts_ns);
  auto csend = one(BENTO_EV_SOCK_SEND, client);
  auto cend = one(BENTO_EV_SOCK_END, client);
  EXPECT_TRUE(same_addr(cend.local, cli));
  EXPECT_TRUE(same_addr(cend.remote, srv));
  EXPECT_GE(cend.h.ts_ns, csend.h.ts_ns);
  EXPECT_GE(cend.h.ts_ns, send_.h.ts_ns) << "the client closed after the server's FIN";
}

// A dual-stack IPv6 listener accepting an IPv4 client: both ends speak AF_INET in the events.
TEST_F(Sockets, Ipv4MappedAddressesAreReportedAsIpv4) {
  int l = socket(AF_INET6, SOCK_STREAM, 0);
  if (l < 0)
    GTEST_SKIP() << "\n*** SKIPPING: no IPv6 on this host (" << std::strerror(errno) << ") ***";
  int off = 0;
  ASSERT_EQ(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off), 0);
  sockaddr_in6 a = {};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_any;
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(l, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(l, reinterpret_cast<sockaddr*>(&a), &len), 0);
  uint16_t port = ntohs(a.sin6_port);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to = loopback(port);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  int s = accept(l, nullptr, nullptr);
  ASSERT_GE(s, 0);
  ASSERT_EQ(write(c, "4", 1), 1);
  char b;
  ASSERT_EQ(read(s, &b, 1), 1);
  drain(getpid());
  auto acc = one(BENTO_EV_SOCK_ACCEPT, getpid());
  EXPECT_EQ(acc.sock.family, AF_INET6);
  EXPECT_TRUE(same_addr(acc.remote, inet_of(local_of(c))));
  EXPECT_TRUE(same_addr(acc.local, inet_of(loopback(port))));
  auto send = one(BENTO_EV_SOCK_SEND, getpid());
  auto recv = one(BENTO_EV_SOCK_RECV, getpid());
  EXPECT_EQ(send.sock.family, AF_INET);
  EXPECT_EQ(recv.sock.family, AF_INET6);
  EXPECT_TRUE(inet_joined(send, recv));
  for (int fd : {l, c, s}) close(fd);
}

TEST_F(Sockets, UdpLoopbackSourcesAndDestinations) {
  Channel ready, report;
  pid_t receiver = spawn([&] {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a = loopback(0);
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 1;
    ready.put(ntohs(local_of(s).sin_port));
    char buf[16];
    for (int i = 0; i < 4; i++) {
      sockaddr_in from = {};
      socklen_t len = sizeof from;
      if (recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len) <= 0) return 2;
    }
    return 0;
  });
  uint16_t port = ready.get();
  sockaddr_in dst = loopback(port);
  // An unbound sender (the kernel picks its port during the first sendto) and a connected one.
  pid_t unbound = spawn([&] {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < 2; i++)
      if (sendto(s, "u", 1, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 1) return 1;
    report.put(ntohs(local_of(s).sin_port));
    return 0;
  });
  reap(unbound);
  pid_t connected = spawn([&] {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(s, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) return 1;
    for (int i = 0; i < 2; i++)
      if (send(s, "c", 1, 0) != 1) return 2;
    report.put(ntohs(local_of(s).sin_port));
    return 0;
  });
  reap(connected);
  reap(receiver);
  uint16_t uport = report.get(), cport = report.get();
  drain(getpid());

  bento_inet_addr rcv = inet_of(dst);
  auto us = one(BENTO_EV_SOCK_SEND, unbound);
  EXPECT_EQ(us.flags, static_cast<uint32_t>(BENTO_SOCK_DEFERRED | BENTO_SOCK_REMOTE_FROM_MSG |
                                            BENTO_SOCK_INSTANT));
  EXPECT_EQ(us.local.port, uport);  // the port picked during the call
  EXPECT_EQ(us.local.family, AF_INET);
  EXPECT_TRUE(same_addr(us.remote, rcv));
  EXPECT_EQ(us.sock.protocol, IPPROTO_UDP);
  auto cs = one(BENTO_EV_SOCK_SEND, connected);
  EXPECT_EQ(cs.flags, static_cast<uint32_t>(BENTO_SOCK_INSTANT));  // a send: v11
  EXPECT_TRUE(same_addr(cs.local, inet_of(loopback(cport))));
  EXPECT_TRUE(same_addr(cs.remote, rcv));
  auto conn = one(BENTO_EV_SOCK_CONNECT, connected);
  EXPECT_TRUE(same_addr(conn.remote, rcv));

  auto recvs = of(BENTO_EV_SOCK_RECV, receiver);
  ASSERT_EQ(recvs.size(), 2u);  // one per source
  EXPECT_TRUE(same_addr(recvs[0].remote, inet_of(loopback(uport))));
  EXPECT_TRUE(same_addr(recvs[1].remote, inet_of(loopback(cport))));
  for (const auto& r : recvs) {
    EXPECT_EQ(r.flags, static_cast<uint32_t>(BENTO_SOCK_REMOTE_FROM_MSG));
    EXPECT_TRUE(same_addr(r.local, rcv));
  }
  EXPECT_TRUE(inet_joined(us, recvs[0]));
  EXPECT_TRUE(inet_joined(cs, recvs[1]));
  EXPECT_FALSE(inet_joined(us, recvs[1]));
  EXPECT_LE(us.h.ts_ns, recvs[0].h.ts_ns);
  EXPECT_LE(cs.h.ts_ns, recvs[1].h.ts_ns);
}

// 100 MiB in 64 KiB writes over TCP loopback: a handful of events, not one per send.
TEST_F(Sockets, BulkTransferIsAHandfulOfEvents) {
  Channel ready;
  constexpr size_t kChunk = 64 << 10, kTotal = 100 << 20;
  pid_t server = spawn([&] {
    int c = accept_one(ready);
    if (c < 0) return 1;
    std::vector<char> buf(kChunk);
    size_t got = 0;
    for (ssize_t n; (n = read(c, buf.data(), buf.size())) > 0;) got += n;
    return got == kTotal ? 0 : 2;
  });
  uint16_t port = ready.get();
  pid_t client = spawn([&] {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 1;
    std::vector<char> buf(kChunk, 'b');
    for (size_t sent = 0; sent < kTotal; sent += kChunk)
      if (write(s, buf.data(), kChunk) != static_cast<ssize_t>(kChunk)) return 2;
    return 0;
  });
  reap(client);
  reap(server);
  drain(getpid());
  std::map<uint32_t, int> count;  // per event type, both processes
  for (pid_t p : {server, client})
    for (const auto& r : raw_) {
      bento_event_header h;
      std::memcpy(&h, r.data(), sizeof h);
      if (h.pid == static_cast<uint32_t>(p)) count[h.type]++;
    }
  EXPECT_EQ(count[BENTO_EV_SOCK_SEND], 1);
  EXPECT_EQ(count[BENTO_EV_SOCK_RECV], 1);
  EXPECT_EQ(count[BENTO_EV_SOCK_BIND], 1);
  EXPECT_EQ(count[BENTO_EV_SOCK_CONNECT], 1);
  EXPECT_EQ(count[BENTO_EV_SOCK_ACCEPT], 1);
  int total = 0;
  for (auto [type, n] : count) total += n;
  EXPECT_LE(total, 20) << "events of the two processes (fork, exit, pipe I/O included)";
  EXPECT_TRUE(inet_joined(one(BENTO_EV_SOCK_SEND, client), one(BENTO_EV_SOCK_RECV, server)));
}

// Where two processes wait for each other without a read (a read of a pipe is news, which
// would change what the probes report): a counter in shared memory.
struct Stages {
  std::atomic<int>* v = nullptr;
  Stages() {
    void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(m, MAP_FAILED);
    v = new (m) std::atomic<int>(0);
  }
  ~Stages() { munmap(v, 4096); }
  void set(int s) const { v->store(s); }
  void wait(int s) const {
    while (v->load() < s) usleep(1000);
  }
};

// Two connected sockets: (sender's, receiver's): an AF_UNIX stream pair, TCP over
// loopback, an AF_UNIX datagram pair.
enum Pair { kUnixStream, kTcp, kUnixDatagram };
std::pair<int, int> connected_pair(Pair kind) {
  if (kind != kTcp) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, kind == kUnixStream ? SOCK_STREAM : SOCK_DGRAM, 0, sv), 0);
    return {sv[0], sv[1]};
  }
  int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(0);
  EXPECT_EQ(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(listen(l, 1), 0);
  a = local_of(l);
  EXPECT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  int r = accept(l, nullptr, nullptr);
  close(l);
  return {c, r};
}

class StreamReports : public Sockets, public ::testing::WithParamInterface<Pair> {};

// events.h v11: a stream socket's (and an AF_UNIX datagram socket's) sends and receives are
// reported like a pipe's. The sender
// sends a and b (one report: nothing new between them), reads a pipe (news), sends c
// (reported again), then d (nothing new: not reported). The receiver's first receive is
// reported, its receive of c again (a reported send of the peer since), its receive of d
// not. So what it received by each reported receive came from the sender's state at its
// last reported send before it: d holds nothing the pipe's data did not (that is what s13
// needed: a client that read a secret after its last send sent none of it).
TEST_P(StreamReports, ASendIsReportedAgainAfterNewsAndTheReceiveAfterIt) {
  const auto [s, r] = connected_pair(GetParam());
  Stages stage;
  pid_t sender = spawn([&, s = s] {
    if (write(s, "a", 1) != 1 || write(s, "b", 1) != 1) return 1;
    stage.set(1);
    stage.wait(2);
    int p[2];
    char x;
    if (pipe(p) != 0 || write(p[1], "x", 1) != 1 || read(p[0], &x, 1) != 1) return 2;
    if (write(s, "c", 1) != 1) return 3;
    stage.set(3);
    stage.wait(4);
    if (write(s, "d", 1) != 1) return 4;
    stage.set(5);
    return 0;
  });
  char buf[8];
  auto receive = [&](size_t n) {
    for (size_t got = 0; got < n;) {
      ssize_t k = read(r, buf, n - got);
      ASSERT_GT(k, 0);
      got += k;
    }
  };
  stage.wait(1);
  receive(2);  // a, b
  stage.set(2);
  stage.wait(3);
  receive(1);  // c
  stage.set(4);
  stage.wait(5);
  receive(1);  // d
  reap(sender);
  const uint64_t sender_ino = ino_of(s), receiver_ino = ino_of(r);
  drain(getpid());
  std::vector<bento_sock_event> sends, recvs;
  for (const auto& e : of(BENTO_EV_SOCK_SEND, sender))
    if (e.sock.ino == sender_ino) sends.push_back(e);
  for (const auto& e : of(BENTO_EV_SOCK_RECV, getpid()))
    if (e.sock.ino == receiver_ino) recvs.push_back(e);
  ASSERT_EQ(sends.size(), 2u);
  ASSERT_EQ(recvs.size(), 2u);
  EXPECT_EQ(sends[0].flags, static_cast<uint32_t>(BENTO_SOCK_INSTANT));
  EXPECT_EQ(sends[1].flags, static_cast<uint32_t>(BENTO_SOCK_INSTANT | BENTO_SOCK_AGAIN));
  EXPECT_EQ(recvs[0].flags & ~BENTO_SOCK_PEER_FROM_SKB, static_cast<uint32_t>(BENTO_SOCK_INSTANT));
  EXPECT_EQ(recvs[1].flags & ~BENTO_SOCK_PEER_FROM_SKB,
            static_cast<uint32_t>(BENTO_SOCK_INSTANT | BENTO_SOCK_AGAIN));
  EXPECT_EQ((recvs[1].flags & BENTO_SOCK_PEER_FROM_SKB) != 0, GetParam() == kUnixDatagram);
  EXPECT_LT(sends[0].h.ts_ns, recvs[0].h.ts_ns);
  EXPECT_LT(recvs[0].h.ts_ns, sends[1].h.ts_ns);
  EXPECT_LT(sends[1].h.ts_ns, recvs[1].h.ts_ns);
  for (const auto& e : sends)
    EXPECT_TRUE(GetParam() == kTcp ? inet_joined(e, recvs[0]) : unix_joined(e, recvs[0]));
  close(s);
  close(r);
}

INSTANTIATE_TEST_SUITE_P(UnixTcpAndUnixDatagrams, StreamReports,
                         ::testing::Values(kUnixStream, kTcp, kUnixDatagram), [](const auto& info) {
                           return info.param == kUnixStream ? "Unix"
                                  : info.param == kTcp      ? "Tcp"
                                                            : "UnixDatagram";
                         });

// asyncio's self-socketpair: a process that sends on one end of an AF_UNIX stream pair and
// receives on the other, over and over. Its own sends are no news to its receives, so the
// reports stop (else each wake-up would be reported: every receive is news for the next
// send).
TEST_F(Sockets, ASocketPairAProcessWritesAndReadsItselfIsReportedAHandfulOfTimes) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  char c;
  for (int i = 0; i < 50; i++) {
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(read(sv[0], &c, 1), 1);
  }
  drain(getpid());
  int sends = 0, recvs = 0;
  for (const auto& e : of(BENTO_EV_SOCK_SEND, getpid())) sends += e.sock.ino == ino_of(sv[1]);
  for (const auto& e : of(BENTO_EV_SOCK_RECV, getpid())) recvs += e.sock.ino == ino_of(sv[0]);
  EXPECT_EQ(sends, 2);  // its first send, and the one after its first receive (news)
  EXPECT_EQ(recvs, 1);
  close(sv[0]);
  close(sv[1]);
}

// A receive on an unconnected UDP socket that asks for no source address (recv, read) is
// reported again once someone sent to its port since (events.h v14: nothing names its
// sender): client A sends three datagrams (one report), the receiver takes the first
// (reported), C sends to another socket, the receiver takes A's second (not reported: no
// new send to its port), B sends one, the receiver takes A's third (reported: B's send came
// since) and B's (not reported).
TEST_F(Sockets, AUdpReceiveThatNamesNoSourceIsReportedAgainAfterANewSendToItsPort) {
  int r = socket(AF_INET, SOCK_DGRAM, 0), other = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in dst = loopback(0), elsewhere = loopback(0);
  ASSERT_EQ(bind(r, reinterpret_cast<sockaddr*>(&dst), sizeof dst), 0);
  ASSERT_EQ(bind(other, reinterpret_cast<sockaddr*>(&elsewhere), sizeof elsewhere), 0);
  dst = local_of(r);
  elsewhere = local_of(other);
  auto sender = [&](const sockaddr_in& to, int n) {
    return spawn([&to, n] {
      int s = socket(AF_INET, SOCK_DGRAM, 0);
      for (int i = 0; i < n; i++)
        if (sendto(s, "d", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 1) return 1;
      return 0;
    });
  };
  char buf[4];
  reap(sender(dst, 3));
  ASSERT_EQ(recv(r, buf, sizeof buf, 0), 1);
  reap(sender(elsewhere, 1));
  ASSERT_EQ(recv(r, buf, sizeof buf, 0), 1);
  reap(sender(dst, 1));
  ASSERT_EQ(read(r, buf, sizeof buf), 1);
  ASSERT_EQ(recv(r, buf, sizeof buf, 0), 1);
  drain(getpid());
  std::vector<bento_sock_event> recvs;
  for (const auto& e : of(BENTO_EV_SOCK_RECV, getpid()))
    if (e.sock.ino == ino_of(r)) recvs.push_back(e);
  ASSERT_EQ(recvs.size(), 2u);
  for (const auto& e : recvs) {
    EXPECT_EQ(e.remote.family, 0);  // the call named no source
    EXPECT_EQ(e.local.port, ntohs(dst.sin_port));
  }
  EXPECT_EQ(recvs[1].syscall_nr, static_cast<uint32_t>(SYS_read));
  close(r);
  close(other);
}

// A UDP socket's sends are reported again after news (events.h v11), as a stream's are; its
// receives once per image and source. The sender sends a and b to the receiver (one
// report), reads a pipe (news), and sends c (reported again); the receiver's one report
// lasts (nothing names the sender's flow alike at both ends of an unconnected socket).
TEST_F(Sockets, AUdpSendIsReportedAgainAfterNews) {
  int r = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in dst = loopback(0);
  ASSERT_EQ(bind(r, reinterpret_cast<sockaddr*>(&dst), sizeof dst), 0);
  dst = local_of(r);
  pid_t sender = spawn([&] {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    auto to = [&](const char* m) {
      return sendto(s, m, 1, 0, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) == 1;
    };
    int p[2];
    char x;
    if (!to("a") || !to("b")) return 1;
    if (pipe(p) != 0 || write(p[1], "x", 1) != 1 || read(p[0], &x, 1) != 1) return 2;
    return to("c") ? 0 : 3;
  });
  reap(sender);
  char buf[4];
  for (int i = 0; i < 3; i++) ASSERT_EQ(recv(r, buf, sizeof buf, 0), 1);
  drain(getpid());
  auto sends = of(BENTO_EV_SOCK_SEND, sender);
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_EQ(sends[0].flags & ~(BENTO_SOCK_DEFERRED | BENTO_SOCK_REMOTE_FROM_MSG),
            static_cast<uint32_t>(BENTO_SOCK_INSTANT));
  EXPECT_EQ(sends[1].flags & ~BENTO_SOCK_REMOTE_FROM_MSG,
            static_cast<uint32_t>(BENTO_SOCK_INSTANT | BENTO_SOCK_AGAIN));
  int recvs = 0;
  for (const auto& e : of(BENTO_EV_SOCK_RECV, getpid())) {
    if (e.sock.ino != ino_of(r)) continue;
    recvs++;
    EXPECT_EQ(e.flags & BENTO_SOCK_INSTANT, 0u);
  }
  EXPECT_EQ(recvs, 1);
  close(r);
}

}  // namespace
