// The control protocol and server: bad requests get clear errors and never stop it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "control_client.h"
#include "control_protocol.h"
#include "control_registry.h"
#include "control_server.h"
#include "fs_client.h"
#include "test_paths.h"

namespace bento::host {
namespace {

using nlohmann::json;
using test::memfs_refuse_so;
using test::memfs_so;
using test::mount_module;

json ask(Connection& c, const std::string& line) {
  json j = json::parse(handle_control_line(c, line), nullptr, false);
  EXPECT_TRUE(j.is_object());
  return j;
}

std::string error_of(Connection& c, const std::string& line) {
  json j = ask(c, line);
  EXPECT_EQ(j.value("ok", true), false) << line;
  return j.value("error", "");
}

TEST(ControlProtocol, BadRequestsGetClearErrors) {
  auto conn = mount_module(memfs_so());
  ASSERT_NE(conn, nullptr);
  Connection& c = *conn;
  EXPECT_NE(error_of(c, "{not json").find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of(c, "").find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of(c, "[1,2]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of(c, "{}").find("missing field \"cmd\""), std::string::npos);
  EXPECT_NE(error_of(c, R"({"cmd":7})").find("must be a string"), std::string::npos);
  EXPECT_NE(error_of(c, R"({"cmd":"reboot"})").find("unknown command \"reboot\""),
            std::string::npos);
  EXPECT_NE(error_of(c, R"({"cmd":"upgrade"})").find("missing field \"module\""),
            std::string::npos);
  EXPECT_NE(error_of(c, R"({"cmd":"upgrade","module":["x"]})").find("must be a string"),
            std::string::npos);
  EXPECT_NE(error_of(c, R"({"cmd":"upgrade","module":"memfs.so"})").find("absolute path"),
            std::string::npos);
  std::string huge = R"({"cmd":"status","pad":")" + std::string(kMaxControlLine, 'x') + "\"}";
  EXPECT_NE(error_of(c, huge).find("longer than"), std::string::npos);
  EXPECT_EQ(c.status().history.size(), 0u);
}

TEST(ControlProtocol, StatusAndUpgrade) {
  auto conn = mount_module(memfs_so());
  ASSERT_NE(conn, nullptr);
  json st = ask(*conn, R"({"cmd":"status"})");
  EXPECT_TRUE(st.value("ok", false));
  EXPECT_EQ(st["mountpoint"], "/test");
  EXPECT_EQ(st["image"], "mem:test");
  EXPECT_TRUE(st["module"].contains("name"));
  EXPECT_TRUE(st["module"].contains("version"));
  EXPECT_TRUE(st["cache"].is_object());
  EXPECT_TRUE(st["upgrades"].is_array());

  json up = ask(*conn, json{{"cmd", "upgrade"}, {"module", memfs_so()}}.dump());
  EXPECT_TRUE(up.value("ok", false)) << up.dump();
  EXPECT_GT(up.value("pause_us", 0.0), 0.0);
  EXPECT_TRUE(up.contains("wait_us"));
  EXPECT_EQ(up["from"]["name"], up["to"]["name"]);

  json bad = ask(*conn, json{{"cmd", "upgrade"}, {"module", memfs_refuse_so()}}.dump());
  EXPECT_FALSE(bad.value("ok", true));
  EXPECT_TRUE(bad.value("rolled_back", false));
  EXPECT_NE(bad.value("error", "").find("refused"), std::string::npos);

  st = ask(*conn, R"({"cmd":"status"})");
  ASSERT_EQ(st["upgrades"].size(), 2u);
  EXPECT_TRUE(st["upgrades"][0]["ok"].get<bool>());
  EXPECT_FALSE(st["upgrades"][1]["ok"].get<bool>());
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bento-ctl-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    conn_ = mount_module(memfs_so());
    ASSERT_NE(conn_, nullptr);
    server_ = std::make_unique<ControlServer>(
        dir_ + "/c.sock", [this](std::string_view l) { return handle_control_line(*conn_, l); });
    std::string err;
    ASSERT_TRUE(server_->start(&err)) << err;
  }
  void TearDown() override {
    server_.reset();
    conn_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }
  json call(const std::string& line) {
    ControlCallResult r = control_call(dir_ + "/c.sock", line, 10000);
    EXPECT_EQ(r.error, ControlCallError::kNone) << r.message;
    return json::parse(r.reply, nullptr, false);
  }

  std::string dir_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlServerTest, SurvivesBadRequests) {
  EXPECT_FALSE(call("garbage").value("ok", true));
  EXPECT_FALSE(call(R"({"cmd":"nope"})").value("ok", true));
  EXPECT_FALSE(call(R"({"cmd":"upgrade","module":42})").value("ok", true));
  // An oversized line: the server answers and hangs up, and keeps serving others.
  ControlCallResult big = control_call(dir_ + "/c.sock", std::string(200 * 1024, 'x'), 10000);
  EXPECT_EQ(big.error, ControlCallError::kNone) << big.message;
  EXPECT_NE(big.reply.find("longer than"), std::string::npos) << big.reply;
  EXPECT_TRUE(call(R"({"cmd":"status"})").value("ok", false));
}

TEST_F(ControlServerTest, SeveralRequestsOnOneConnection) {
  // Two requests in one write: two replies, in order.
  ControlCallResult r =
      control_call(dir_ + "/c.sock", "{\"cmd\":\"status\"}\n{\"cmd\":\"x\"}", 10000);
  ASSERT_EQ(r.error, ControlCallError::kNone);
  EXPECT_TRUE(json::parse(r.reply).value("ok", false));
}

// A raw client: connects, sends `data` as is, optionally shuts its side down, and reads
// until the server closes or a newline arrives. -1 when it cannot connect.
int raw_connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}
std::string read_line(int fd, int timeout_ms) {
  std::string out;
  char c;
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, timeout_ms) > 0 && ::recv(fd, &c, 1, 0) == 1) {
    out.push_back(c);
    if (c == '\n') break;
  }
  return out;
}

// Regression (issue 15): a request without its newline got no answer. Shutting the
// writing side down ends the request: it is answered.
TEST_F(ControlServerTest, AnswersARequestWithoutNewlineAtEof) {
  int fd = raw_connect(dir_ + "/c.sock");
  ASSERT_GE(fd, 0);
  std::string req = R"({"cmd":"status"})";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  ASSERT_EQ(::shutdown(fd, SHUT_WR), 0);
  std::string reply = read_line(fd, 5000);
  ::close(fd);
  ASSERT_FALSE(reply.empty()) << "no answer to a request without a trailing newline";
  EXPECT_TRUE(json::parse(reply, nullptr, false).value("ok", false)) << reply;
}

// Regression (issue 15): one thread per connection, without a limit. Now kMaxClients at
// once; the next waits for a slot, then gets a clear "busy" error; a freed slot serves.
TEST_F(ControlServerTest, BoundsConcurrentConnections) {
  std::vector<int> idle;
  for (size_t i = 0; i < ControlServer::kMaxClients; i++) {
    int fd = raw_connect(dir_ + "/c.sock");
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  // The connections above hold every slot (each sends nothing).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = std::chrono::steady_clock::now();
  ControlCallResult busy = control_call(dir_ + "/c.sock", R"({"cmd":"status"})", 10000);
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(busy.error, ControlCallError::kNone) << busy.message;
  EXPECT_NE(busy.reply.find("busy"), std::string::npos) << busy.reply;
  EXPECT_GE(waited, std::chrono::milliseconds(ControlServer::kBusyWaitMs - 100));
  // A client that frees its slot while another waits: the waiting one is served.
  std::thread freer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::close(idle.back());
  });
  ControlCallResult served = control_call(dir_ + "/c.sock", R"({"cmd":"status"})", 10000);
  freer.join();
  idle.pop_back();
  ASSERT_EQ(served.error, ControlCallError::kNone) << served.message;
  EXPECT_TRUE(json::parse(served.reply, nullptr, false).value("ok", false)) << served.reply;
  for (int fd : idle) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(call(R"({"cmd":"status"})").value("ok", false));
}

TEST_F(ControlServerTest, RefusesSecondServerOnSamePath) {
  ControlServer other(dir_ + "/c.sock", [](std::string_view) { return std::string("{}"); });
  std::string err;
  EXPECT_FALSE(other.start(&err));
  EXPECT_NE(err.find("already serves"), std::string::npos) << err;
  EXPECT_TRUE(call(R"({"cmd":"status"})").value("ok", false));
}

TEST_F(ControlServerTest, RefusesNonRootPeer) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged uid";
  // Production sockets sit in a 0700 directory; open this one up so that the peer check
  // itself is what stops the unprivileged client.
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(chmod((dir_ + "/c.sock").c_str(), 0666), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(2);
    ControlCallResult r = control_call(dir_ + "/c.sock", R"({"cmd":"status"})", 10000);
    bool ok = r.error == ControlCallError::kNone &&
              r.reply.find("permission denied") != std::string::npos &&
              r.reply.find("root-only") != std::string::npos;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the non-root client was not refused clearly";
  EXPECT_TRUE(call(R"({"cmd":"status"})").value("ok", false));
}

TEST_F(ControlServerTest, StopRemovesSocket) {
  server_->stop();
  struct stat st {};
  EXPECT_NE(::stat((dir_ + "/c.sock").c_str(), &st), 0);
  ControlCallResult r = control_call(dir_ + "/c.sock", "{}", 1000);
  EXPECT_EQ(r.error, ControlCallError::kNoSocket);
}

TEST(ControlRegistry, PathsAndEntries) {
  EXPECT_EQ(normalize_path("/a/b/../c/"), "/a/c");
  EXPECT_EQ(normalize_path("/"), "/");
  EXPECT_EQ(socket_path_for("/run/bento", "/mnt/x"), socket_path_for("/run/bento", "/mnt/x"));
  EXPECT_NE(socket_path_for("/run/bento", "/mnt/x"), socket_path_for("/run/bento", "/mnt/y"));
  // Fixed length whatever the mountpoint.
  EXPECT_EQ(socket_path_for("/r", "/" + std::string(3000, 'a')).size(),
            socket_path_for("/r", "/b").size());

  char tmpl[] = "/tmp/bento-reg-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = std::string(tmpl) + "/run";
  std::string err;
  ASSERT_TRUE(ensure_run_dir(dir, &err)) << err;
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_TRUE(registry_add(dir, {"/mnt/a", "/s/a", "img-a", "m.so", 10}, &err)) << err;
  ASSERT_TRUE(registry_add(dir, {"/mnt/b", "/s/b", "img-b", "m.so", 11}, &err)) << err;
  ASSERT_TRUE(registry_add(dir, {"/mnt/a", "/s/a2", "img-a", "m.so", 12}, &err)) << err;
  auto list = registry_list(dir);
  ASSERT_EQ(list.size(), 2u);
  registry_remove(dir, "/mnt/b");
  list = registry_list(dir);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].socket, "/s/a2");
  EXPECT_EQ(list[0].pid, 12);
  (void)std::system(("rm -rf '" + std::string(tmpl) + "'").c_str());
}

}  // namespace
}  // namespace bento::host
