// The control protocol and server: bad requests get clear errors and never stop it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

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
