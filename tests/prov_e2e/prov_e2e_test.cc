// Bento-prov end to end (real bentofs mounts, real processes, the `prov` command):
//  - `prov enable` live-upgrades a busy plain Bento-fs into Bento-prov with no failed
//    operation, and every operation done after it is in the log exactly once, in order,
//    with the right thread, user, inode and names; `prov disable` switches it off again;
//  - kill -9 of the host mid-workload loses no record of an operation whose effect
//    survived (and keeps no record of one that did not), and fsck.bento stays clean;
//  - the kernel remembers absent names (negative entries), yet the log an ordinary user
//    was told is absent stays visible to root, and names created later are found.
// Needs root and /dev/fuse (skips loudly otherwise).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "e2e_support.h"

namespace {

using namespace bento::e2e;
using nlohmann::json;

struct Op {
  std::string kind, name, name2;
  uint64_t ino = 0;
  int64_t t0 = 0, t1 = 0;
};

// One worker process: create+write+close, rename, sometimes unlink, in its own directory,
// as `uid`, until `stop` exists. Logs each operation (with CLOCK_MONOTONIC start/end) to
// `log`; exits 1 on the first failed system call.
[[noreturn]] void worker(const std::string& dir, uid_t uid, const std::string& log,
                         const std::string& stop) {
  FILE* out = fopen(log.c_str(), "w");
  if (out == nullptr) _exit(2);
  if (uid != 0 && (setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0)) _exit(3);
  char data[100];
  memset(data, 'w', sizeof data);
  for (int k = 0; access(stop.c_str(), F_OK) != 0; k++) {
    std::string f = "f" + std::to_string(k), g = "g" + std::to_string(k);
    int64_t t0 = monotonic_ns();
    int fd = open((dir + "/" + f).c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0 || write(fd, data, sizeof data) != sizeof data ||
        close(fd) != 0) {
      fprintf(out, "FAIL create %s %s\n", f.c_str(), strerror(errno));
      fclose(out);
      _exit(1);
    }
    fprintf(out, "create %s - %llu %lld %lld\n", f.c_str(), (unsigned long long)st.st_ino,
            (long long)t0, (long long)monotonic_ns());
    t0 = monotonic_ns();
    if (rename((dir + "/" + f).c_str(), (dir + "/" + g).c_str()) != 0) {
      fprintf(out, "FAIL rename %s %s\n", f.c_str(), strerror(errno));
      fclose(out);
      _exit(1);
    }
    fprintf(out, "rename %s %s %llu %lld %lld\n", f.c_str(), g.c_str(),
            (unsigned long long)st.st_ino, (long long)t0, (long long)monotonic_ns());
    if (k % 3 == 0) {
      t0 = monotonic_ns();
      if (unlink((dir + "/" + g).c_str()) != 0) {
        fprintf(out, "FAIL unlink %s %s\n", g.c_str(), strerror(errno));
        fclose(out);
        _exit(1);
      }
      fprintf(out, "unlink %s - %llu %lld %lld\n", g.c_str(), (unsigned long long)st.st_ino,
              (long long)t0, (long long)monotonic_ns());
    }
  }
  fclose(out);
  _exit(0);
}

std::vector<Op> read_ops(const std::string& log) {
  std::vector<Op> ops;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    Op op;
    s >> op.kind >> op.name >> op.name2 >> op.ino >> op.t0 >> op.t1;
    ops.push_back(op);
  }
  return ops;
}

class ProvE2E : public BentoMountTest {
 protected:
  Tools tools() const override { return {BENTOFS_BIN, BENTOCTL_BIN, MKFS_BIN, FSCK_BIN}; }

  // The log as the `prov log --json` command prints it.
  std::vector<json> prov_log() {
    RunResult r = run(std::string(PROV_BIN) + " log " + q(mnt_) + " --json");
    EXPECT_EQ(r.status, 0) << r.output;
    std::vector<json> recs;
    std::istringstream s(r.output);
    std::string line;
    while (std::getline(s, line)) {
      json j = json::parse(line, nullptr, false);
      EXPECT_TRUE(j.is_object()) << "not a JSON record: " << line;
      if (j.is_object()) recs.push_back(j);
    }
    return recs;
  }

  struct Worker {
    pid_t pid;
    uid_t uid;
    std::string dir, log;
    uint64_t dir_ino;
  };
  std::vector<Worker> start_workers(int n) {
    std::vector<Worker> ws;
    EXPECT_EQ(chmod(root_.c_str(), 0755), 0);  // ordinary users must reach the mount
    for (int i = 0; i < n; i++) {
      Worker w;
      w.uid = i % 2 == 0 ? 0 : 2000 + i;  // root and ordinary users
      w.dir = mnt_ + "/w" + std::to_string(i);
      w.log = root_ + "/w" + std::to_string(i) + ".log";
      EXPECT_EQ(mkdir(w.dir.c_str(), 0777), 0);
      EXPECT_EQ(chmod(w.dir.c_str(), 0777), 0);
      struct stat st {};
      EXPECT_EQ(stat(w.dir.c_str(), &st), 0);
      w.dir_ino = st.st_ino;
      fflush(nullptr);
      w.pid = fork();
      if (w.pid == 0) worker(w.dir, w.uid, w.log, root_ + "/stop");
      ws.push_back(w);
    }
    return ws;
  }
  void stop_workers(std::vector<Worker>& ws) {
    run("touch " + q(root_ + "/stop"));
    for (auto& w : ws) {
      int st = 0;
      ASSERT_EQ(waitpid(w.pid, &st, 0), w.pid);
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
          << "worker " << w.dir << " failed: " << run("grep FAIL " + q(w.log)).output;
    }
  }
};

TEST_F(ProvE2E, EnableUnderLoadRecordsEveryLaterOperationExactlyOnce) {
  // No collector acknowledges here: the log holds the whole run. Four workers over io_uring
  // append ~4 MiB (the default for 256 MiB) in under a second on a quiet host.
  ASSERT_NO_FATAL_FAILURE(mkfs("256M", "--prov-log-mb 32"));
  ASSERT_NO_FATAL_FAILURE(mount(BENTO_FS_SO));
  auto ws = start_workers(4);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int64_t en0 = monotonic_ns();
  RunResult en =
      run(std::string(PROV_BIN) + " enable " + q(mnt_) + " --module " + q(BENTO_PROV_SO));
  int64_t en1 = monotonic_ns();
  ASSERT_EQ(en.status, 0) << en.output;
  EXPECT_NE(en.output.find("tracking enabled on"), std::string::npos) << en.output;
  EXPECT_NE(en.output.find("ms (pause"), std::string::npos) << en.output;
  RunResult again =
      run(std::string(PROV_BIN) + " enable " + q(mnt_) + " --module " + q(BENTO_PROV_SO));
  EXPECT_EQ(again.status, 1) << again.output;
  EXPECT_NE(again.output.find("already enabled"), std::string::npos) << again.output;
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  ASSERT_NO_FATAL_FAILURE(stop_workers(ws));

  auto recs = prov_log();
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.front().value("type", ""), "tracking-start");
  for (size_t i = 1; i < recs.size(); i++)
    ASSERT_EQ(recs[i].value("seq", 0ULL), recs[i - 1].value("seq", 0ULL) + 1) << "gap in seq";
  // Index the records: (type, name, name2, tid) -> positions.
  std::map<std::tuple<std::string, std::string, std::string, uint32_t>, std::vector<size_t>> idx;
  for (size_t i = 0; i < recs.size(); i++) {
    const json& r = recs[i];
    idx[{r.value("type", ""), r.value("name", ""), r.value("name2", ""), r.value("tid", 0u)}]
        .push_back(i);
  }
  size_t checked = 0, untracked = 0;
  for (const auto& w : ws) {
    auto ops = read_ops(w.log);
    ASSERT_GT(ops.size(), 10u) << w.dir;
    size_t last_pos = 0;
    for (const auto& op : ops) {
      std::string type = op.kind, name2 = op.name2 == "-" ? "" : op.name2;
      auto it = idx.find({type, op.name, name2, static_cast<uint32_t>(w.pid)});
      size_t found = it == idx.end() ? 0 : it->second.size();
      if (op.t1 < en0) {  // finished before tracking began: never recorded
        EXPECT_EQ(found, 0u) << type << " " << op.name << " of " << w.dir;
        untracked++;
        continue;
      }
      if (op.t0 <= en1) continue;  // overlapped the switch: either way is right
      ASSERT_EQ(found, 1u) << type << " " << op.name << " of " << w.dir << " (pid " << w.pid
                           << ") should be in the log exactly once";
      const json& r = recs[it->second[0]];
      EXPECT_EQ(r.value("uid", 99999u), w.uid) << type << " " << op.name;
      EXPECT_EQ(r.value("ino", 0ULL), op.ino) << type << " " << op.name;
      EXPECT_EQ(r.value("parent", 0ULL), w.dir_ino) << type << " " << op.name;
      if (type == "unlink") {
        EXPECT_EQ(r.value("aux", 0ULL) & 1, 1u) << "unlinked file died";
      }
      EXPECT_GT(it->second[0], last_pos)
          << "records of " << w.dir << " out of order at " << op.name;
      last_pos = it->second[0];
      checked++;
    }
  }
  EXPECT_GT(checked, 40u);
  EXPECT_GT(untracked, 4u);

  RunResult dis =
      run(std::string(PROV_BIN) + " disable " + q(mnt_) + " --module " + q(BENTO_FS_SO));
  ASSERT_EQ(dis.status, 0) << dis.output;
  auto after = prov_log();
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.back().value("type", ""), "tracking-stop");
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

TEST_F(ProvE2E, KillNineLosesNoRecordOfASurvivingEffect) {
  // A log with room for everything the workers do (a faster transport fills the default
  // 4 MiB in well under the run): the model below needs every record.
  ASSERT_NO_FATAL_FAILURE(mkfs("256M", "--prov-log-mb 64"));
  ASSERT_NO_FATAL_FAILURE(mount(BENTO_PROV_SO));
  auto ws = start_workers(3);
  // Let journal commits happen (1 s interval) and fsyncs force some, then crash.
  for (int i = 0; i < 6; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    run("sync -f " + q(mnt_ + "/w0"));
  }
  ASSERT_NO_FATAL_FAILURE(kill_host());
  for (auto& w : ws) {
    int st = 0;
    waitpid(w.pid, &st, 0);  // they fail once the mount is gone: expected
  }
  ASSERT_NO_FATAL_FAILURE(mount(BENTO_PROV_SO));  // replays the journal
  // Replay the surviving records over empty directories: exactly what survived on disk.
  auto recs = prov_log();
  std::map<uint64_t, std::set<std::string>> model;  // dir ino -> names
  for (const auto& r : recs) {
    std::string t = r.value("type", "");
    ASSERT_NE(t, "gap") << "the log filled up: records were not written, the test needs them";
    uint64_t parent = r.value("parent", 0ULL);
    if (t == "create") model[parent].insert(r.value("name", ""));
    if (t == "rename") {
      model[parent].erase(r.value("name", ""));
      model[r.value("parent2", 0ULL)].insert(r.value("name2", ""));
    }
    if (t == "unlink") model[parent].erase(r.value("name", ""));
  }
  size_t names = 0;
  for (const auto& w : ws) {
    std::set<std::string> actual;
    RunResult ls = run("ls -A " + q(w.dir));
    std::istringstream s(ls.output);
    std::string n;
    while (s >> n) actual.insert(n);
    EXPECT_EQ(model[w.dir_ino], actual) << "records and surviving files differ in " << w.dir;
    names += actual.size();
  }
  EXPECT_GT(names, 10u);
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

// f() run as uid in a child: what it returns (an errno or 0), -1 when the child died.
template <typename F>
int as_user(uid_t uid, F f) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0) _exit(255);
    _exit(f());
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

// stat(path) as uid: 0 when it exists, else the errno.
int stat_as(const std::string& path, uid_t uid) {
  return as_user(uid, [&] {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? 0 : errno;
  });
}

TEST_F(ProvE2E, AbsentNamesAreCachedButNeverHideTheLogOrALaterName) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount(BENTO_FS_SO));
  ASSERT_EQ(chmod(root_.c_str(), 0755), 0);  // ordinary users must reach the mount
  const std::string log = mnt_ + "/.bento-provlog";
  // An ordinary user is told the log does not exist; root, right after, still finds it,
  // before and after the live upgrade into tracking.
  EXPECT_EQ(stat_as(log, 2001), ENOENT);
  EXPECT_EQ(stat_as(log, 0), 0);
  RunResult en =
      run(std::string(PROV_BIN) + " enable " + q(mnt_) + " --module " + q(BENTO_PROV_SO));
  ASSERT_EQ(en.status, 0) << en.output;
  EXPECT_EQ(stat_as(log, 2001), ENOENT);
  EXPECT_EQ(stat_as(log, 0), 0);
  EXPECT_EQ(run(std::string(PROV_BIN) + " log " + q(mnt_)).status, 0);
  // Names looked up while absent (by anyone) appear once created, by every way to create.
  const std::string d = mnt_ + "/d";
  ASSERT_EQ(mkdir(d.c_str(), 0777), 0);
  ASSERT_EQ(chmod(d.c_str(), 0777), 0);
  for (const char* n : {"f", "g", "h", "s", "m", "l"}) {
    EXPECT_EQ(stat_as(d + "/" + n, 2001), ENOENT) << n;
    EXPECT_EQ(stat_as(d + "/" + n, 0), ENOENT) << n;
  }
  ASSERT_EQ(run("touch " + q(d + "/f")).status, 0);
  ASSERT_EQ(link((d + "/f").c_str(), (d + "/g").c_str()), 0);
  ASSERT_EQ(run("echo x > " + q(d + "/tmp") + " && mv " + q(d + "/tmp") + " " + q(d + "/h")).status,
            0);
  ASSERT_EQ(symlink("f", (d + "/s").c_str()), 0);
  ASSERT_EQ(mkdir((d + "/m").c_str(), 0755), 0);
  ASSERT_EQ(as_user(2001, [&] { return creat((d + "/l").c_str(), 0644) >= 0 ? 0 : errno; }), 0);
  for (const char* n : {"f", "g", "h", "s", "m", "l"}) {
    EXPECT_EQ(stat_as(d + "/" + n, 2001), 0) << n;
    EXPECT_EQ(stat_as(d + "/" + n, 0), 0) << n;
  }
  // And gone again after unlink: the kernel, not a stale cache, says so.
  ASSERT_EQ(unlink((d + "/g").c_str()), 0);
  EXPECT_EQ(stat_as(d + "/g", 0), ENOENT);
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

}  // namespace
