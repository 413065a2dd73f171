// The collector under trouble, end to end (issue 15), on real bentofs mounts with provd:
//  - a full provenance log is a policy, not an outage: with provd stopped an unprivileged
//    flood fills the log, yet reads and root's (and everyone's) operations keep working;
//    `prov status` counts what was not recorded; once provd is back the fs writes one gap
//    record, and `prov status` and `prov why` show the gap;
//  - a collector that heals: the host is killed (kill -9) and the image mounted again at
//    the same mount point; the same provd notices, reopens the log and ingests what is
//    written after, logging each transition once; `prov status` shows a live lag and
//    "stalled" when provd does not move.
// provd runs with --no-probes (the fs log alone), so no BTF is needed. Root + /dev/fuse.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "e2e_support.h"

namespace {

using namespace bento::e2e;
using nlohmann::json;

class CollectorE2E : public BentoMountTest {
 protected:
  Tools tools() const override { return {BENTOFS_BIN, BENTOCTL_BIN, MKFS_BIN, FSCK_BIN}; }

  void SetUp() override {
    BentoMountTest::SetUp();
    if (IsSkipped()) return;
    db_ = root_ + "/prov.db";
  }
  void TearDown() override {
    if (provd_ > 0) kill(provd_, SIGCONT);
    stop_provd();
    BentoMountTest::TearDown();
  }
  void start_provd() {
    fflush(nullptr);
    provd_ = fork();
    if (provd_ == 0) {
      int fd = open((root_ + "/provd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 2);
      execl(PROVD_BIN, "provd", "--db", db_.c_str(), "--mount", mnt_.c_str(), "--no-probes",
            nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100; i++) {
      if (run("grep -q collecting " + q(root_ + "/provd.log")).status == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "provd did not start: " << provd_log();
  }
  void stop_provd() {
    if (provd_ <= 0) return;
    kill(provd_, SIGTERM);
    int st = 0;
    waitpid(provd_, &st, 0);
    provd_ = 0;
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "provd failed: " << provd_log();
  }
  std::string provd_log() { return run("cat " + q(root_ + "/provd.log")).output; }
  RunResult prov(const std::string& args) {
    return run(std::string(PROV_BIN) + " " + args + " --db " + q(db_));
  }
  json status() {
    RunResult r = prov("status --json");
    json j = json::parse(r.output, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.output;
    if (!j.is_object() || !j["sources"].is_array()) return json::object();
    for (const json& s : j["sources"])
      if (s.value("kind", "") == "fs") return s;
    return json::object();
  }
  // Polls `prov why PATH` until it answers (provd ingested the file), up to `secs`.
  bool wait_why(const std::string& path, int secs) {
    for (int i = 0; i < secs * 10; i++) {
      if (prov("why " + q(path)).status == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // The log's counters, as root reads them from the hidden file.
  std::map<std::string, uint64_t> log_info() {
    std::map<std::string, uint64_t> m;
    char buf[1024];
    ssize_t n = getxattr((mnt_ + "/.bento-provlog").c_str(), "trusted.bento.prov.info", buf,
                         sizeof buf - 1);
    if (n <= 0) return m;
    std::istringstream in(std::string(buf, static_cast<size_t>(n)));
    std::string line;
    while (std::getline(in, line))
      if (auto eq = line.find('='); eq != std::string::npos)
        m[line.substr(0, eq)] = std::stoull(line.substr(eq + 1));
    return m;
  }

  std::string db_;
  pid_t provd_ = 0;
};

TEST_F(CollectorE2E, FullLogKeepsServingAndTheGapShowsInStatusAndWhy) {
  ASSERT_NO_FATAL_FAILURE(mkfs("16M -N 8192"));  // a 252 KiB provenance log
  ASSERT_NO_FATAL_FAILURE(mount(BENTO_PROV_SO));
  ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
  ASSERT_EQ(chmod(mnt_.c_str(), 0777), 0);
  const std::string in = mnt_ + "/in.csv";
  ASSERT_EQ(run("printf '3\\n1\\n2\\n' > " + q(in)).status, 0);
  ASSERT_NO_FATAL_FAILURE(start_provd());
  ASSERT_TRUE(wait_why(in, 20)) << provd_log();
  ASSERT_NO_FATAL_FAILURE(stop_provd());

  // An unprivileged flood with the collector stopped: every call succeeds.
  const auto t0 = std::chrono::steady_clock::now();
  fflush(nullptr);
  pid_t flood = fork();
  if (flood == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(2);
    for (int i = 0; i < 2000; i++) {
      std::string f = mnt_ + "/flood" + std::to_string(i);
      int fd = open(f.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
      if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) != 0) {
        std::fprintf(stderr, "flood: file %d: %s\n", i, std::strerror(errno));
        _exit(1);
      }
    }
    _exit(0);
  }
  int st = 0;
  ASSERT_EQ(waitpid(flood, &st, 0), flood);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "a flood call failed: " << st;
  const double flood_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto info = log_info();
  ASSERT_GT(info["gap_records"], 0u) << "the flood did not fill the log";
  EXPECT_GT(info["gap_mutating"], 0u);
  std::printf("[ info ] flood of 2000 files took %.1f s; %llu records not written\n", flood_s,
              static_cast<unsigned long long>(info["gap_records"]));

  // A full log refuses nothing: reads, lookups, root's and others' changes.
  RunResult cat = run("cat " + q(in));
  EXPECT_EQ(cat.status, 0) << cat.output;
  EXPECT_EQ(cat.output, "3\n1\n2\n");
  RunResult sort = run("sort " + q(in));
  EXPECT_EQ(sort.output, "1\n2\n3\n") << sort.output;
  EXPECT_EQ(run("mkdir " + q(mnt_ + "/by-root")).status, 0);
  EXPECT_EQ(run("ls " + q(mnt_) + " | wc -l").output, "2002\n");
  EXPECT_EQ(run("setpriv --reuid=65534 --regid=65534 --clear-groups cat " + q(in)).status, 0);
  EXPECT_EQ(run("echo 4 >> " + q(in)).status, 0);  // a change nobody will see in the log

  // `prov status` (provd stopped) says what the full log cost.
  json s = status();
  EXPECT_GT(s.value("log_refused", 0ULL), 0u) << s.dump(1);
  EXPECT_GT(s.value("log_gap_pending", 0ULL), 0u) << s.dump(1);
  EXPECT_GT(s.value("lag_bytes", 0ULL), 0u) << "the lag is live: " << s.dump(1);
  RunResult text = prov("status");
  EXPECT_NE(text.output.find("records not written (log full)"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("not being collected"), std::string::npos) << text.output;

  // The collector catches up; the fs writes one gap record, which becomes one gap.
  const uint64_t not_written = log_info()["gap_records"];
  EXPECT_GT(not_written, info["gap_records"]) << "the reads and changes above are counted";
  ASSERT_NO_FATAL_FAILURE(start_provd());
  for (int i = 0; i < 300 && status()["gaps"].value("count", 0) == 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  s = status();
  EXPECT_EQ(s["gaps"].value("count", 0), 1) << s.dump(1) << provd_log();
  EXPECT_EQ(s["gaps"].value("records", 0ULL), not_written) << s.dump(1);
  EXPECT_EQ(log_info()["gap_records"], 0u);
  ASSERT_EQ(run("echo 5 >> " + q(in)).status, 0);  // recorded again
  ASSERT_EQ(run("sync -f " + q(in)).status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  text = prov("status");
  EXPECT_NE(text.output.find("1 gaps in the lineage"), std::string::npos) << text.output;

  // `prov why` of a file whose history spans the gap warns of it, in text and JSON.
  RunResult why = prov("why " + q(in) + " --no-color");
  ASSERT_EQ(why.status, 0) << why.output;
  EXPECT_NE(why.output.find("is incomplete between"), std::string::npos) << why.output;
  EXPECT_NE(why.output.find("provenance records were not written (the log was full"),
            std::string::npos)
      << why.output;
  RunResult wj = prov("why " + q(in) + " --json");
  ASSERT_EQ(wj.status, 0) << wj.output;
  json g = json::parse(wj.output, nullptr, false);
  ASSERT_TRUE(g.is_object()) << wj.output;
  EXPECT_EQ(g["gaps"].size(), 1u) << wj.output;
  ASSERT_NO_FATAL_FAILURE(stop_provd());
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

TEST_F(CollectorE2E, ProvdHealsWhenTheMountDiesAndComesBack) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount(BENTO_PROV_SO));
  ASSERT_NO_FATAL_FAILURE(start_provd());
  ASSERT_EQ(run("echo before > " + q(mnt_ + "/a.txt")).status, 0);
  ASSERT_TRUE(wait_why(mnt_ + "/a.txt", 20)) << provd_log();

  // The host dies; provd notices; the same image comes back at the same mount point.
  ASSERT_NO_FATAL_FAILURE(kill_host());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_EQ(kill(provd_, 0), 0) << "provd died with the mount: " << provd_log();
  ASSERT_NO_FATAL_FAILURE(mount(BENTO_PROV_SO));
  ASSERT_EQ(run("echo after > " + q(mnt_ + "/b.txt")).status, 0);
  EXPECT_TRUE(wait_why(mnt_ + "/b.txt", 20))
      << "provd did not ingest what was written after the remount:\n"
      << provd_log();
  std::string log = provd_log();
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) n++;
    return n;
  };
  EXPECT_EQ(count("lost the mount"), 1u) << log;
  EXPECT_EQ(count("mounted again"), 1u) << log;
  EXPECT_LE(count("Transport endpoint is not connected"), 1u) << "logged every round:\n" << log;
  json s = status();
  EXPECT_TRUE(s.value("provd_connected", false)) << s.dump(1);
  EXPECT_FALSE(s.value("stalled", true)) << s.dump(1);

  // Live lag and "stalled": provd frozen (SIGSTOP) while records wait in the log.
  ASSERT_EQ(kill(provd_, SIGSTOP), 0);
  ASSERT_EQ(
      run("echo waiting > " + q(mnt_ + "/c.txt") + " && sync -f " + q(mnt_ + "/c.txt")).status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(6000));
  s = status();
  EXPECT_GT(s.value("lag_bytes", 0ULL), 0u) << s.dump(1);
  EXPECT_TRUE(s.value("stalled", false)) << s.dump(1);
  EXPECT_NE(prov("status").output.find("STALLED"), std::string::npos) << prov("status").output;
  ASSERT_EQ(kill(provd_, SIGCONT), 0);
  EXPECT_TRUE(wait_why(mnt_ + "/c.txt", 20)) << provd_log();
  ASSERT_NO_FATAL_FAILURE(stop_provd());
  ASSERT_NO_FATAL_FAILURE(unmount());
}

}  // namespace
