// The whole product on real processes (DESIGN.md §5): a plain Bento-fs mount, provd with
// the eBPF probes, `prov enable` (live upgrade) while a process holds its input open, the
// scenarios, then `prov why --json` must return exactly the expected lineage edges.
// Needs root, /dev/fuse and kernel BTF (skips loudly otherwise).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "e2e_support.h"

namespace {

using namespace bento::e2e;
using nlohmann::json;

class LineageE2E : public BentoMountTest {
 protected:
  Tools tools() const override { return {BENTOFS_BIN, BENTOCTL_BIN, MKFS_BIN, FSCK_BIN}; }

  void SetUp() override {
    BentoMountTest::SetUp();
    if (IsSkipped()) return;
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
      GTEST_SKIP() << "\n*** SKIPPING LINEAGE END-TO-END: the kernel has no BTF ***";
    db_ = root_ + "/prov.db";
  }
  void TearDown() override {
    stop_provd();
    BentoMountTest::TearDown();
  }
  void start_provd() {
    fflush(nullptr);
    provd_ = fork();
    if (provd_ == 0) {
      int fd = open((root_ + "/provd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      execl(PROVD_BIN, "provd", "--db", db_.c_str(), "--mount", mnt_.c_str(), nullptr);
      _exit(127);
    }
    // Ready once it has created the database and attached the probes.
    for (int i = 0; i < 100; i++) {
      if (run("grep -q collecting " + q(root_ + "/provd.log")).status == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "provd did not start: " << run("cat " + q(root_ + "/provd.log")).output;
  }
  // SIGTERM: provd drains the probes and the fs log, commits, exits.
  void stop_provd() {
    if (provd_ <= 0) return;
    kill(provd_, SIGTERM);
    int st = 0;
    waitpid(provd_, &st, 0);
    provd_ = 0;
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
        << "provd failed: " << run("cat " + q(root_ + "/provd.log")).output;
  }
  json why(const std::string& path) {
    RunResult r = run(std::string(PROV_BIN) + " why " + q(path) + " --json --db " + q(db_));
    EXPECT_EQ(r.status, 0) << r.output;
    json g = json::parse(r.output, nullptr, false);
    if (!g.is_object())
      g = {{"entities", json::array()}, {"activities", json::array()}, {"edges", json::array()}};
    return g;
  }
  // Runs a shell script (written to a file: no quoting games) in the mount.
  RunResult sh(const std::string& script) {
    std::ofstream(root_ + "/step.sh") << script << "\n";
    return run("cd " + q(mnt_) + " && sh " + q(root_ + "/step.sh"));
  }

  std::string db_;
  pid_t provd_ = 0;
};

// Readable edge descriptions: "used(sort -n a, /mnt/a)" etc., from a why graph.
std::set<std::string> edges(const json& g, const std::string& mnt) {
  std::map<std::string, std::string> name;
  for (const auto& e : g["entities"]) {
    std::string p = e.value("path", "");
    if (p.rfind(mnt + "/", 0) == 0) p = p.substr(mnt.size() + 1);
    if (e.value("kind", "") == "pipe") p = "pipe";
    name[e.value("id", "")] = p;
  }
  for (const auto& a : g["activities"]) {
    std::string cmd;
    for (const auto& x : a["argv"]) cmd += (cmd.empty() ? "" : " ") + x.get<std::string>();
    if (a.value("origin", "") == "fork") cmd = "fork of " + cmd;
    name[a.value("id", "")] = cmd;
  }
  std::set<std::string> out;
  for (const auto& e : g["edges"]) {
    std::string t = e.value("type", "");
    if (t == "used") out.insert("used(" + name[e["activity"]] + ", " + name[e["entity"]] + ")");
    if (t == "wasGeneratedBy")
      out.insert("generated(" + name[e["entity"]] + ", " + name[e["activity"]] + ")");
  }
  return out;
}

bool has(const std::set<std::string>& s, const std::string& e) {
  return s.count(e) != 0;
}

TEST_F(LineageE2E, ScenariosGiveExactLineage) {
  ASSERT_NO_FATAL_FAILURE(mkfs("256M"));
  ASSERT_NO_FATAL_FAILURE(mount(BENTO_FS_SO));
  ASSERT_EQ(sh("seq 1 50 > a; printf 'b\\nc\\n' > b").status, 0);
  ASSERT_NO_FATAL_FAILURE(start_provd());
  // A process that opens its input before tracking and writes its output after.
  ASSERT_EQ(run("mkfifo " + q(root_ + "/go")).status, 0);
  fflush(nullptr);
  pid_t late = fork();
  if (late == 0) {
    execl("/bin/sh", "sh", "-c",
          ("exec 3<" + mnt_ + "/a; read x < " + root_ + "/go; cat <&3 > " + mnt_ + "/late").c_str(),
          nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  RunResult en =
      run(std::string(PROV_BIN) + " enable " + q(mnt_) + " --module " + q(BENTO_PROV_SO));
  ASSERT_EQ(en.status, 0) << en.output;
  ASSERT_EQ(run("echo go > " + q(root_ + "/go")).status, 0);
  int st = 0;
  ASSERT_EQ(waitpid(late, &st, 0), late);

  ASSERT_EQ(sh("cat a b > c").status, 0);
  ASSERT_EQ(sh("sort -n a | uniq -c > out").status, 0);
  ASSERT_EQ(sh("echo draft > tmp; sort -r b > tmp; mv tmp final").status, 0);
  ASSERT_EQ(sh("sh -c 'exec awk \"{print NR}\" a' > numbered").status, 0);
  ASSERT_EQ(sh("echo one > gone; rm gone; echo two > gone").status, 0);
  ASSERT_NO_FATAL_FAILURE(stop_provd());

  {
    SCOPED_TRACE("cat a b > c");
    auto e = edges(why(mnt_ + "/c"), mnt_);
    EXPECT_TRUE(has(e, "generated(c, cat a b)")) << json(e).dump(1);
    EXPECT_TRUE(has(e, "used(cat a b, a)")) << json(e).dump(1);
    EXPECT_TRUE(has(e, "used(cat a b, b)")) << json(e).dump(1);
  }
  {
    SCOPED_TRACE("sort -n a | uniq -c > out");
    auto e = edges(why(mnt_ + "/out"), mnt_);
    EXPECT_TRUE(has(e, "generated(out, uniq -c)")) << json(e).dump(1);
    EXPECT_TRUE(has(e, "used(uniq -c, pipe)")) << json(e).dump(1);
    EXPECT_TRUE(has(e, "generated(pipe, sort -n a)")) << json(e).dump(1);
    EXPECT_TRUE(has(e, "used(sort -n a, a)")) << json(e).dump(1);
    // Nothing else wrote out or fed uniq: the exact set of producers of out.
    std::set<std::string> producers;
    for (const auto& x : e)
      if (x.rfind("generated(out,", 0) == 0) producers.insert(x);
    EXPECT_EQ(producers,
              (std::set<std::string>{"generated(out, uniq -c)",
                                     "generated(out, fork of sh " + root_ + "/step.sh)"}));
  }
  {
    SCOPED_TRACE("write tmp, rename over final");
    json g = why(mnt_ + "/final");
    auto e = edges(g, mnt_);
    EXPECT_TRUE(has(e, "generated(tmp, sort -r b)")) << json(e).dump(1);
    EXPECT_TRUE(has(e, "used(sort -r b, b)")) << json(e).dump(1);
    EXPECT_FALSE(has(e, "used(sort -r b, a)"));
  }
  {
    SCOPED_TRACE("sh -c exec chain");
    auto e = edges(why(mnt_ + "/numbered"), mnt_);
    EXPECT_TRUE(has(e, "generated(numbered, awk {print NR} a)")) << json(e).dump(1);
    EXPECT_TRUE(has(e, "used(awk {print NR} a, a)")) << json(e).dump(1);
  }
  {
    SCOPED_TRACE("opened before tracking, written after");
    auto e = edges(why(mnt_ + "/late"), mnt_);
    EXPECT_TRUE(has(e, "generated(late, cat)")) << json(e).dump(1);
  }
  {
    SCOPED_TRACE("unlink and re-create: two distinct files");
    json g = why(mnt_ + "/gone");
    ASSERT_TRUE(g.is_object());
    std::set<std::string> files;
    for (const auto& e : g["entities"])
      files.insert(std::to_string(e["file"].value("ino", 0)) + ":" +
                   std::to_string(e["file"].value("gen", 0)));
    EXPECT_EQ(files.size(), 1u) << "why of the new file must not reach the unlinked one";
  }
  RunResult unknown = run(std::string(PROV_BIN) + " why " + q(mnt_ + "/never") + " --db " + q(db_));
  EXPECT_EQ(unknown.status, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("no provenance recorded"), std::string::npos);
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

}  // namespace
