// TcpListener/TcpStream (net.h) over the userspace shim, on the loopback interface.
#include <bento/net.h>
#include <bento/thread.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace bento {
namespace {

// Echoes everything it reads on one accepted connection until the peer closes.
struct EchoServer {
  TcpListener* listener;
  int accept_error = 0;
  int io_error = 0;
  uint64_t echoed = 0;

  static void run(void* arg) {
    auto* self = static_cast<EchoServer*>(arg);
    auto conn = self->listener->accept();
    if (!conn.ok()) {
      self->accept_error = conn.error();
      return;
    }
    std::vector<uint8_t> buf(16384);
    for (;;) {
      auto n = conn->read(buf);
      if (!n.ok()) {
        self->io_error = n.error();
        return;
      }
      if (*n == 0) return;
      if (!conn->write_all({buf.data(), *n}).ok()) {
        self->io_error = EIO;
        return;
      }
      self->echoed += *n;
    }
  }
};

// Reads exactly buf.size() bytes.
Status read_exact(TcpStream& s, std::span<uint8_t> buf) {
  while (!buf.empty()) {
    auto n = s.read(buf);
    if (!n.ok()) return Err(n.error());
    if (*n == 0) return Err(ECONNRESET);
    buf = buf.subspan(*n);
  }
  return Status::Ok();
}

void echo_roundtrip(const char* host) {
  auto listener = TcpListener::bind(host, 0);
  ASSERT_TRUE(listener.ok()) << strerror(listener.error());
  uint16_t port = listener->local_port();
  ASSERT_NE(port, 0);
  EchoServer server{&*listener};
  auto thread = Thread::spawn(&EchoServer::run, &server, "echo");
  ASSERT_TRUE(thread.ok());

  auto client = TcpStream::connect(host, port);
  ASSERT_TRUE(client.ok()) << strerror(client.error());
  std::mt19937 rng(42);
  std::vector<uint8_t> out(1 << 20);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> in(out.size());
  constexpr size_t kChunk = 65536;  // write a chunk, read it back: never both sides blocked
  for (size_t off = 0; off < out.size(); off += kChunk) {
    ASSERT_TRUE(client->write_all({out.data() + off, kChunk}).ok());
    ASSERT_TRUE(read_exact(*client, {in.data() + off, kChunk}).ok());
  }
  EXPECT_EQ(in, out);
  client->close();
  thread->join();
  EXPECT_EQ(server.accept_error, 0);
  EXPECT_EQ(server.io_error, 0);
  EXPECT_EQ(server.echoed, out.size());
}

TEST(Tcp, EchoOverIpv4Loopback) {
  echo_roundtrip("127.0.0.1");
}

TEST(Tcp, EchoOverIpv6Loopback) {
  auto probe = TcpListener::bind("::1", 0);
  if (!probe.ok()) GTEST_SKIP() << "no IPv6 loopback: " << strerror(probe.error());
  probe->close();
  echo_roundtrip("::1");
}

TEST(Tcp, ConnectToClosedPortIsRefused) {
  uint16_t port;
  {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    ASSERT_TRUE(listener.ok());
    port = listener->local_port();
  }
  auto client = TcpStream::connect("127.0.0.1", port);
  EXPECT_EQ(client.error(), ECONNREFUSED);
}

TEST(Tcp, HostsMustBeNumeric) {
  EXPECT_EQ(TcpStream::connect("localhost", 80).error(), EINVAL);
  EXPECT_EQ(TcpStream::connect("not an address", 80).error(), EINVAL);
  EXPECT_EQ(TcpStream::connect(nullptr, 80).error(), EINVAL);
  EXPECT_EQ(TcpListener::bind("example.com", 0).error(), EINVAL);
}

TEST(Tcp, ReadSeesEndOfStreamAndWriteToGonePeerFailsWithoutSignal) {
  auto listener = TcpListener::bind("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok());
  auto client = TcpStream::connect("127.0.0.1", listener->local_port());
  ASSERT_TRUE(client.ok());
  auto server_side = listener->accept();
  ASSERT_TRUE(server_side.ok());
  server_side->close();
  uint8_t byte;
  auto n = client->read({&byte, 1});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  // The first write may still be accepted; the peer's RST then makes later ones fail. A
  // SIGPIPE would kill the test binary here.
  std::vector<uint8_t> data(4096, 1);
  int err = 0;
  for (int i = 0; i < 100 && err == 0; i++) err = client->write_all(data).error();
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << strerror(err);
}

TEST(Tcp, ListenerCanRebindItsPortRightAway) {
  uint16_t port;
  {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    ASSERT_TRUE(listener.ok());
    port = listener->local_port();
    auto client = TcpStream::connect("127.0.0.1", port);
    ASSERT_TRUE(client.ok());
    auto conn = listener->accept();
    ASSERT_TRUE(conn.ok());
    conn->close();  // the server closes first: its side goes to TIME_WAIT
    uint8_t byte;
    EXPECT_EQ(*client->read({&byte, 1}), 0u);
  }
  auto again = TcpListener::bind("127.0.0.1", port);
  EXPECT_TRUE(again.ok()) << strerror(again.error());
}

TEST(Tcp, NullHandlesFailCleanly) {
  EXPECT_EQ(bento_ks_tcp_read(nullptr, nullptr, 0), -EBADF);
  EXPECT_EQ(bento_ks_tcp_write(nullptr, nullptr, 0), -EBADF);
  EXPECT_EQ(bento_ks_tcp_local_port(nullptr), 0);
  int err = 0;
  EXPECT_EQ(bento_ks_tcp_accept(nullptr, &err), nullptr);
  EXPECT_EQ(err, EINVAL);
  bento_ks_tcp_close(nullptr);
}

}  // namespace
}  // namespace bento
