// Bento-fs end to end: each test makes a fresh image with mkfs.bento, mounts it with the
// real bentofs host and the bento_fs.so module, runs a real workload on it (tar, git, make,
// sqlite3, a sparse file past 4 GiB and 2 TiB, a 20k-entry directory, live upgrades under load,
// kill -9), verifies the results, unmounts with `bentoctl unmount` (which waits for the host's
// final write-back) and asserts `fsck.bento -n` exits 0. Needs root and /dev/fuse. The full-size
// versions of these workloads belong in bench/.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.h"

namespace {

using bento::e2e::is_fuse_mount;
using bento::e2e::process_alive;
using bento::e2e::q;
using bento::e2e::run;
using bento::e2e::RunResult;
using bento::e2e::scratch_dir;
using bento::e2e::serves_over_wanted_transport;
using bento::e2e::transport_option;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Deterministic bytes (xorshift64) for file contents.
std::vector<uint8_t> pattern(uint64_t seed, size_t size) {
  std::vector<uint8_t> v(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  return v;
}

// Small deterministic PRNG for shapes of trees and workloads.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x1234567) {}
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

bool write_all_fd(int fd, const uint8_t* p, size_t n, off_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, off);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
    off += w;
  }
  return true;
}

bool read_all_fd(int fd, uint8_t* p, size_t n, off_t off) {
  while (n > 0) {
    ssize_t r = pread(fd, p, n, off);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    off += r;
  }
  return true;
}

std::string errstr(const std::string& what) {
  return what + ": " + strerror(errno);
}

class BentoFsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "\n*** SKIPPING BENTO-FS END-TO-END TESTS: they need root and a usable "
                      "/dev/fuse (euid="
                   << geteuid() << ", /dev/fuse "
                   << (access("/dev/fuse", F_OK) ? "absent" : "present") << ") ***";
    }
    BENTO_SKIP_WITHOUT_WANTED_TRANSPORT();
    std::string tmpl = scratch_dir() + "/bento-fse2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << errstr("mkdtemp " + tmpl);
    root_ = tmpl;
    img_ = root_ + "/image";
    mnt_ = root_ + "/mnt";
    run_ = root_ + "/run";
    host_ = root_ + "/host";
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(host_.c_str(), 0755), 0);
    setenv("BENTO_RUN_DIR", run_.c_str(), 1);
  }

  void TearDown() override {
    if (root_.empty()) return;
    if (mounted_ || is_fuse_mount(mnt_)) {
      // Always unmount, even after a failure; fall back to a lazy unmount.
      if (run(std::string(BENTOCTL_BIN) + " unmount " + q(mnt_)).status != 0 &&
          run("fusermount3 -u " + q(mnt_)).status != 0)
        run("umount -l " + q(mnt_));
      mounted_ = false;
    }
    wait_gone();
    if (HasFailure()) {
      RunResult log = run("cat " + q(run_) + "/*.log");
      std::printf("---- bentofs log ----\n%s---------------------\n", log.output.c_str());
    }
    run("rm -rf " + q(root_));
    unsetenv("BENTO_RUN_DIR");
  }

  void wait_gone() {
    for (int i = 0; i < 600 && pid_ > 0 && process_alive(pid_); i++)
      std::this_thread::sleep_for(50ms);
    if (pid_ > 0 && process_alive(pid_)) {
      ADD_FAILURE() << "bentofs (pid " << pid_ << ") did not exit after unmount";
      kill(static_cast<pid_t>(pid_), SIGKILL);
    }
    pid_ = 0;
  }

  RunResult bentoctl(const std::string& args) {
    return run(std::string(BENTOCTL_BIN) + " " + args);
  }

  void mkfs(const std::string& size, const std::string& extra = "") {
    RunResult r = run(std::string(MKFS_BIN) + " --size " + size + " " + extra + " " + q(img_));
    ASSERT_EQ(r.status, 0) << r.output;
  }

  void mount() {
    const std::string opts = transport_option();
    RunResult r = run(std::string(BENTOFS_BIN) + " " + q(img_) + " " + q(mnt_) + " --module " +
                      q(BENTO_FS_SO) + (opts.empty() ? "" : " -o " + opts));
    ASSERT_EQ(r.status, 0) << r.output;
    mounted_ = true;
    ASSERT_TRUE(is_fuse_mount(mnt_)) << "bentofs returned before the mount was up";
    RunResult st = bentoctl("status " + q(mnt_) + " --json");
    ASSERT_EQ(st.status, 0) << st.output;
    pid_ = nlohmann::json::parse(st.output).value("pid", 0L);
    ASSERT_GT(pid_, 0);
    ASSERT_TRUE(serves_over_wanted_transport(BENTOCTL_BIN, mnt_));
  }

  // Unmounts and waits until the host has written everything back and exited.
  void unmount() {
    RunResult r = bentoctl("unmount " + q(mnt_));
    ASSERT_EQ(r.status, 0) << r.output;
    mounted_ = false;
    wait_gone();
    ASSERT_FALSE(is_fuse_mount(mnt_));
    // In sanitizer builds the daemon reports into its log (stderr), not to us.
    RunResult log = run("cat " + q(run_) + "/*.log");
    EXPECT_EQ(log.output.find("Sanitizer"), std::string::npos) << log.output;
    EXPECT_EQ(log.output.find("runtime error"), std::string::npos) << log.output;
  }

  void remount() {
    ASSERT_NO_FATAL_FAILURE(unmount());
    ASSERT_NO_FATAL_FAILURE(fsck_clean());
    ASSERT_NO_FATAL_FAILURE(mount());
  }

  // fsck.bento -n (read-only, no replay) must find nothing at all.
  void fsck_clean() {
    RunResult r = run(std::string(FSCK_BIN) + " -n " + q(img_));
    ASSERT_EQ(r.status, 0) << "fsck.bento -n reported problems:\n" << r.output;
  }

  // Writes `body` to a script file and runs it with bash -eu; asserts exit 0.
  RunResult script(const std::string& name, const std::string& body) {
    std::string file = root_ + "/" + name + ".sh";
    EXPECT_TRUE(
        write_text(file, "set -euo pipefail\nM=" + q(mnt_) + "\nH=" + q(host_) + "\n" + body));
    return run("bash " + q(file));
  }

  std::string path(const std::string& rel) const { return mnt_ + "/" + rel; }

  void kill_nine(bool upgrade);

  std::string root_, img_, mnt_, run_, host_;
  bool mounted_ = false;
  long pid_ = 0;
};

// Elapsed seconds since `t0`, for the log.
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------
// 1. Untar and re-tar of a synthetic source-like tree of 10,000+ files.

// Generates a deterministic tree: nested directories, files of 0..64 KiB (mostly small,
// like a source tree), relative symlinks and hard links. Returns the number of entries.
int make_tree(const std::string& top, int nfiles) {
  Rng rng(42);
  std::vector<std::string> dirs = {top};
  mkdir(top.c_str(), 0755);
  int entries = 0;
  std::vector<std::string> files;
  for (int i = 0; i < nfiles; i++) {
    // Every ~25 files, a new directory under a random existing one (depth grows).
    if (i % 25 == 0) {
      std::string parent = dirs[rng.below(dirs.size())];
      std::string d = parent + "/dir" + std::to_string(dirs.size());
      if (mkdir(d.c_str(), 0755) == 0) {
        dirs.push_back(d);
        entries++;
      }
    }
    const std::string& dir = dirs[rng.below(dirs.size())];
    static const char* kExt[] = {".c", ".h", ".cc", ".py", ".txt", ".md", ".json", ".o"};
    std::string f = dir + "/file" + std::to_string(i) + kExt[rng.below(8)];
    uint64_t r = rng.below(100);
    size_t size = r < 5    ? 0
                  : r < 70 ? rng.below(4096)
                  : r < 95 ? rng.below(16384)
                           : rng.below(65537);
    std::vector<uint8_t> data = pattern(static_cast<uint64_t>(i), size);
    // Make most files text-like so they look like sources.
    if (r % 2 == 0)
      for (auto& b : data) b = static_cast<uint8_t>('a' + b % 26);
    int fd = open(f.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || !write_all_fd(fd, data.data(), data.size(), 0)) return -1;
    close(fd);
    if (rng.below(10) == 0) chmod(f.c_str(), 0755);
    files.push_back(f);
    entries++;
    if (i % 50 == 7) {  // a relative symlink next to the file
      std::string name = f.substr(f.rfind('/') + 1);
      if (symlink(name.c_str(), (f + ".link").c_str()) != 0) return -1;
      entries++;
    }
    if (i % 97 == 11) {  // a hard link into another directory
      std::string other = dirs[rng.below(dirs.size())] + "/hard" + std::to_string(i);
      if (link(f.c_str(), other.c_str()) != 0) return -1;
      entries++;
    }
  }
  // Fixed mtimes (whole seconds) so tar listings compare exactly.
  RunResult r = run("find " + q(top) + " -exec touch -h -d '2024-01-02 03:04:05' {} +");
  if (r.status != 0) return -1;
  return entries;
}

TEST_F(BentoFsE2E, UntarRetarTenThousandFiles) {
  auto t0 = Clock::now();
  const int kFiles = 10500;
  ASSERT_GE(make_tree(host_ + "/src", kFiles), kFiles);
  ASSERT_NO_FATAL_FAILURE(mkfs("1G"));
  ASSERT_NO_FATAL_FAILURE(mount());
  std::printf("  tree generated + mounted in %.1f s\n", since(t0));
  // A manifest of everything but times: path, type, mode, link count, symlink target, the
  // size of non-directories (a Bento-fs directory's size is its block span, not ext4's),
  // plus an md5 of every regular file.
  const std::string manifest = R"SH(
manifest() {
  (cd "$1" && find . -printf '%p %y %m %n %l\n' | LC_ALL=C sort &&
   find . ! -type d -printf '%p %s\n' | LC_ALL=C sort &&
   find . -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum)
}
listing() { tar -C "$1" --sort=name --numeric-owner -cf - . | tar -tvf - ; }
)SH";
  RunResult r = script("untar", manifest + R"SH(
tar -C "$H" --sort=name -cf "$H/src.tar" src
manifest "$H/src" > "$H/manifest.host"
listing "$H/src" > "$H/listing.host"
mkdir "$M/t"
tar -C "$M/t" -xf "$H/src.tar"
diff -r --no-dereference "$H/src" "$M/t/src"
manifest "$M/t/src" > "$H/manifest.mnt1"
diff "$H/manifest.host" "$H/manifest.mnt1"
# Re-tar from the mount onto the mount, and compare the archive and its listing.
tar -C "$M/t" --sort=name -cf "$M/back.tar" src
cmp "$H/src.tar" "$M/back.tar"
listing "$M/t/src" > "$H/listing.mnt"
diff "$H/listing.host" "$H/listing.mnt"
echo "files: $(find "$M/t/src" -type f | wc -l)"
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  std::printf("  untar + diff + retar in %.1f s; %s", since(t0), r.output.c_str());
  ASSERT_NO_FATAL_FAILURE(remount());
  r = script("again", manifest + R"SH(
manifest "$M/t/src" > "$H/manifest.mnt2"
diff "$H/manifest.host" "$H/manifest.mnt2"
diff -r --no-dereference "$H/src" "$M/t/src"
cmp "$H/src.tar" "$M/back.tar"
listing "$M/t/src" > "$H/listing.mnt2"
diff "$H/listing.host" "$H/listing.mnt2"
rm -rf "$M/t/src"
test -z "$(ls -A "$M/t")"
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
  std::printf("  total %.1f s\n", since(t0));
}

// ---------------------------------------------------------------------------------------
// 2. git clone of a local repository with a few hundred commits.

TEST_F(BentoFsE2E, GitCloneStatusFsckCommit) {
  auto t0 = Clock::now();
  const int kCommits = 300;
  // A fast-import stream: the first commit adds 40 files, each later one changes two and
  // every tenth adds one more.
  std::ostringstream fi;
  for (int c = 1; c <= kCommits; c++) {
    fi << "commit refs/heads/main\nmark :" << c << "\n"
       << "committer Bento <bento@example.com> " << 1700000000 + c * 60 << " +0000\n";
    std::string msg = "commit " + std::to_string(c) + "\n";
    fi << "data " << msg.size() << "\n" << msg;
    if (c > 1) fi << "from :" << c - 1 << "\n";
    for (int k = 0; k < (c == 1 ? 40 : 2); k++) {
      int file = c == 1 ? k : (c % 10 == 0 && k == 1) ? 40 + c / 10 : (c * 7 + k * 13) % 40;
      std::string content;
      for (int line = 0; line < 20 + (c + file) % 50; line++)
        content += "line " + std::to_string(line) + " of file " + std::to_string(file) +
                   " at commit " + std::to_string(c) + "\n";
      fi << "M 100644 inline src/dir" << file % 5 << "/file" << file << ".txt\n"
         << "data " << content.size() << "\n"
         << content;
    }
    fi << "\n";
  }
  ASSERT_TRUE(write_text(host_ + "/stream", fi.str()));
  ASSERT_NO_FATAL_FAILURE(mkfs("256M"));
  ASSERT_NO_FATAL_FAILURE(mount());
  const std::string env = R"SH(
export GIT_CONFIG_NOSYSTEM=1 HOME="$H"
)SH";
  RunResult r = script("git", env + R"SH(
git config --global user.name bento
git config --global user.email bento@example.com
git config --global init.defaultBranch main
git init -q "$H/origin"
(cd "$H/origin" && git fast-import --quiet < "$H/stream" && git checkout -q main)
git clone -q --no-local "$H/origin" "$M/clone"
cd "$M/clone"
test -z "$(git status --porcelain)"
git fsck --full --strict --no-progress
test "$(git rev-list --count HEAD)" = 300
diff -r -x .git "$H/origin" "$M/clone"
echo change >> src/dir0/file0.txt
echo new > newfile.txt
git add -A
git commit -qm 'commit on bento-fs'
test -z "$(git status --porcelain)"
test "$(git log --oneline | wc -l)" = 301
git gc -q
git fsck --full --strict --no-progress
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(remount());
  r = script("git2", env + R"SH(
cd "$M/clone"
git fsck --full --strict --no-progress
test -z "$(git status --porcelain)"
test "$(git rev-list --count HEAD)" = 301
git log -1 --format=%s | grep -qx 'commit on bento-fs'
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
  std::printf("  total %.1f s\n", since(t0));
}

// ---------------------------------------------------------------------------------------
// 3. Building a small C project with make; timestamps drive incremental rebuilds.

TEST_F(BentoFsE2E, MakeBuildsAndRebuildsIncrementally) {
  auto t0 = Clock::now();
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount());
  RunResult r = script("make", R"SH(
mkdir "$M/proj" && cd "$M/proj"
for i in 1 2 3 4 5; do
  printf '#include "common.h"\nint f%d(int x) { return x * %d + ADD; }\n' $i $i > f$i.c
done
printf '#define ADD 1\nint f1(int);int f2(int);int f3(int);int f4(int);int f5(int);\n' > common.h
cat > main.c <<'EOF'
#include <stdio.h>
#include "common.h"
int main(void) { printf("%d\n", f1(1) + f2(1) + f3(1) + f4(1) + f5(1)); return 0; }
EOF
cat > Makefile <<'EOF'
OBJS = main.o f1.o f2.o f3.o f4.o f5.o
prog: $(OBJS)
	cc -o prog $(OBJS)
%.o: %.c common.h
	cc -O2 -Wall -c $<
EOF
make > build1.log
test "$(grep -c '^cc ' build1.log)" = 7
test "$(./prog)" = 20
# Nothing to do the second time: timestamps are stored and compared correctly.
make -q
test "$(make)" = "make: 'prog' is up to date."
# Touching one source rebuilds that object and relinks, nothing else.
sleep 0.01
touch f3.c
make > build2.log
test "$(wc -l < build2.log)" = 2
grep -qx 'cc -O2 -Wall -c f3.c' build2.log
grep -q '^cc -o prog' build2.log
make -q
# Changing the shared header rebuilds every object.
sleep 0.01
printf '#define ADD 2\nint f1(int);int f2(int);int f3(int);int f4(int);int f5(int);\n' > common.h
make > build3.log
test "$(grep -c '^cc ' build3.log)" = 7
test "$(./prog)" = 25
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(remount());
  r = script("make2", R"SH(
cd "$M/proj"
make -q
test "$(./prog)" = 25
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
  std::printf("  total %.1f s\n", since(t0));
}

// ---------------------------------------------------------------------------------------
// 4. SQLite transactions in rollback-journal (DELETE) and WAL modes.

TEST_F(BentoFsE2E, SqliteRollbackJournalAndWal) {
  auto t0 = Clock::now();
  ASSERT_NO_FATAL_FAILURE(mkfs("128M"));
  ASSERT_NO_FATAL_FAILURE(mount());
  // 300 transactions of 10 rows each, one rolled back, then one UPDATE; per mode.
  std::string sql;
  for (int t = 0; t < 300; t++) {
    sql += "BEGIN;";
    for (int k = 0; k < 10; k++)
      sql += "INSERT INTO t(v, pad) VALUES(" + std::to_string(t * 10 + k) + ", randomblob(200));";
    sql += "COMMIT;\n";
  }
  sql += "BEGIN; DELETE FROM t; INSERT INTO t(v) VALUES(-1); ROLLBACK;\n";
  sql += "UPDATE t SET v = v + 1 WHERE v % 2 = 0;\n";
  ASSERT_TRUE(write_text(host_ + "/load.sql", sql));
  // Expected: count 3000, sum 0..2999 plus one per even value (1500).
  RunResult r = script("sqlite", R"SH(
for mode in delete wal; do
  db="$M/$mode.db"
  test "$(sqlite3 "$db" "PRAGMA journal_mode=$mode;")" = "$mode"
  sqlite3 "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB); CREATE INDEX tv ON t(v);"
  sqlite3 "$db" < "$H/load.sql"
  test "$(sqlite3 "$db" 'PRAGMA integrity_check;')" = ok
  test "$(sqlite3 "$db" 'SELECT count(*), sum(v) FROM t;')" = "3000|$((2999*3000/2 + 1500))"
  test "$(sqlite3 "$db" 'SELECT count(*) FROM t WHERE v = -1;')" = 0
done
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(remount());
  r = script("sqlite2", R"SH(
for mode in delete wal; do
  db="$M/$mode.db"
  test "$(sqlite3 "$db" 'PRAGMA integrity_check;')" = ok
  test "$(sqlite3 "$db" 'PRAGMA journal_mode;')" = "$mode"
  test "$(sqlite3 "$db" 'SELECT count(*), sum(v) FROM t;')" = "3000|$((2999*3000/2 + 1500))"
  sqlite3 "$db" "BEGIN; INSERT INTO t(v) VALUES(7); COMMIT; VACUUM;"
  test "$(sqlite3 "$db" 'SELECT count(*) FROM t;')" = 3001
  test "$(sqlite3 "$db" 'PRAGMA integrity_check;')" = ok
done
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
  std::printf("  total %.1f s\n", since(t0));
}

// ---------------------------------------------------------------------------------------
// 5. A sparse file past 4 GiB and past 2 TiB.

// Past 4 GiB (double-indirect) and past 2 TiB (triple-indirect, feature BIGFILE).
TEST_F(BentoFsE2E, SparseFilePastFourGiBAndTwoTiB) {
  auto t0 = Clock::now();
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount());
  const off_t kGiB = 1LL << 30, kMiB = 1LL << 20, kTiB = 1LL << 40;
  const off_t offs[] = {0, 2 * kGiB, 4 * kGiB + kMiB, 2 * kTiB + kMiB};
  const size_t kChunk = kMiB;
  const off_t kSize = 2 * kTiB + 2 * kMiB;
  const std::string f = path("sparse");
  {
    int fd = open(f.c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(fd, 0) << errstr("open");
    for (int i = 0; i < 4; i++) {
      std::vector<uint8_t> d = pattern(100 + static_cast<uint64_t>(i), kChunk);
      ASSERT_TRUE(write_all_fd(fd, d.data(), d.size(), offs[i])) << errstr("pwrite");
    }
    ASSERT_EQ(fsync(fd), 0) << errstr("fsync");
    ASSERT_EQ(close(fd), 0);
  }
  // Also through dd, as a user would: one block past 3 GiB.
  RunResult dd = run("dd if=/dev/urandom of=" + q(f) +
                     " bs=4096 count=1 seek=786432 conv=notrunc,fsync status=none");
  ASSERT_EQ(dd.status, 0) << dd.output;
  auto verify = [&](off_t size, int chunks) {
    struct stat st {};
    ASSERT_EQ(stat(f.c_str(), &st), 0) << errstr("stat");
    EXPECT_EQ(st.st_size, size);
    // 4 MiB of data + 4 KiB + pointer blocks: far below 16 MiB.
    EXPECT_LT(static_cast<off_t>(st.st_blocks) * 512, 16 * kMiB) << "st_blocks " << st.st_blocks;
    EXPECT_GE(static_cast<off_t>(st.st_blocks) * 512, static_cast<off_t>(chunks) * kMiB);
    int fd = open(f.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << errstr("open");
    std::vector<uint8_t> buf(kChunk);
    for (int i = 0; i < chunks; i++) {
      ASSERT_TRUE(read_all_fd(fd, buf.data(), kChunk, offs[i])) << errstr("pread");
      EXPECT_TRUE(buf == pattern(100 + static_cast<uint64_t>(i), kChunk)) << "chunk " << i;
    }
    // Holes read as zeros.
    const off_t holes[] = {kMiB,
                           kGiB,
                           2 * kGiB - kMiB,
                           2 * kGiB + kMiB,
                           3 * kGiB + 4096,
                           4 * kGiB,
                           4 * kGiB + kMiB - kChunk,
                           1 * kTiB,
                           2 * kTiB,
                           2 * kTiB + kMiB - kChunk};
    std::vector<uint8_t> zero(kChunk, 0);
    for (off_t h : holes) {
      if (h + static_cast<off_t>(kChunk) > size) continue;
      ASSERT_TRUE(read_all_fd(fd, buf.data(), kChunk, h)) << errstr("pread hole");
      EXPECT_TRUE(buf == zero) << "hole at " << h << " is not zero";
    }
    // Reading at and past EOF returns 0.
    EXPECT_EQ(pread(fd, buf.data(), 16, size), 0);
    close(fd);
  };
  ASSERT_NO_FATAL_FAILURE(verify(kSize, 4));
  ASSERT_NO_FATAL_FAILURE(remount());
  ASSERT_NO_FATAL_FAILURE(verify(kSize, 4));
  // SEEK_DATA finds the chunk past 2 TiB without reading the holes.
  {
    int fd = open(f.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(lseek(fd, 4 * kGiB + 2 * kMiB, SEEK_DATA), offs[3]);
    close(fd);
  }
  // Truncate down into the middle of the 2 GiB chunk: the 3 GiB, 4 GiB and 2 TiB blocks go.
  struct stat before {};
  ASSERT_EQ(stat(f.c_str(), &before), 0);
  const off_t kCut = 2 * kGiB + kMiB / 2;
  ASSERT_EQ(truncate(f.c_str(), kCut), 0) << errstr("truncate");
  {
    struct stat st {};
    ASSERT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, kCut);
    EXPECT_LT(st.st_blocks, before.st_blocks);
    int fd = open(f.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> buf(kMiB / 2);
    ASSERT_TRUE(read_all_fd(fd, buf.data(), buf.size(), 2 * kGiB));
    std::vector<uint8_t> want = pattern(101, kChunk);
    want.resize(kMiB / 2);
    EXPECT_TRUE(buf == want);
    EXPECT_EQ(pread(fd, buf.data(), 16, kCut), 0);
    close(fd);
  }
  // Extending again exposes zeros, not the old data.
  ASSERT_EQ(truncate(f.c_str(), kSize), 0) << errstr("truncate up");
  {
    int fd = open(f.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> buf(kChunk), zero(kChunk, 0);
    ASSERT_TRUE(read_all_fd(fd, buf.data(), kChunk, offs[2]));
    EXPECT_TRUE(buf == zero);
    ASSERT_TRUE(read_all_fd(fd, buf.data(), kChunk, offs[3]));
    EXPECT_TRUE(buf == zero);
    close(fd);
  }
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
  std::printf("  total %.1f s\n", since(t0));
}

// ---------------------------------------------------------------------------------------
// 6. A directory of 20,000 entries through FUSE.

std::set<std::string> list_dir(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.insert(n);
  }
  closedir(d);
  return names;
}

TEST_F(BentoFsE2E, TwentyThousandEntryDirectory) {
  auto t0 = Clock::now();
  const int kEntries = 20000;
  // The default (one inode per 16 KiB) would give 256 MiB only 16k inodes.
  ASSERT_NO_FATAL_FAILURE(mkfs("256M", "--inodes 32768"));
  ASSERT_NO_FATAL_FAILURE(mount());
  const std::string dir = path("big");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  std::set<std::string> want;
  for (int i = 0; i < kEntries; i++) {
    std::string name = "entry-" + std::to_string(i) + "-" + std::string(i % 40, 'x');
    int fd = open((dir + "/" + name).c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << errstr("create " + name);
    if (i % 100 == 0) {
      ASSERT_EQ(write(fd, name.data(), name.size()), static_cast<ssize_t>(name.size()));
    }
    close(fd);
    want.insert(name);
  }
  std::printf("  %d creates in %.1f s\n", kEntries, since(t0));
  auto check = [&]() {
    EXPECT_TRUE(list_dir(dir) == want) << "readdir does not list exactly the created names";
    struct stat st {};
    int i = 0;
    for (const std::string& n : want) {
      ASSERT_EQ(stat((dir + "/" + n).c_str(), &st), 0) << errstr("stat " + n);
      EXPECT_TRUE(S_ISREG(st.st_mode));
      i++;
    }
    EXPECT_EQ(stat((dir + "/missing").c_str(), &st), -1);
    EXPECT_EQ(errno, ENOENT);
  };
  ASSERT_NO_FATAL_FAILURE(check());
  ASSERT_NO_FATAL_FAILURE(remount());
  ASSERT_NO_FATAL_FAILURE(check());
  // Delete every other entry, check the rest, then delete everything.
  int i = 0;
  for (auto it = want.begin(); it != want.end(); i++) {
    if (i % 2 == 0) {
      ASSERT_EQ(unlink((dir + "/" + *it).c_str()), 0) << errstr("unlink " + *it);
      it = want.erase(it);
    } else {
      ++it;
    }
  }
  EXPECT_TRUE(list_dir(dir) == want);
  for (const std::string& n : want) ASSERT_EQ(unlink((dir + "/" + n).c_str()), 0) << errstr(n);
  EXPECT_TRUE(list_dir(dir).empty());
  ASSERT_EQ(rmdir(dir.c_str()), 0) << errstr("rmdir");
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
  std::printf("  total %.1f s\n", since(t0));
}

// ---------------------------------------------------------------------------------------
// 7. Live upgrade Bento-fs -> Bento-fs under load.

// File names encode their content: w<worker>-<seq>-<seed>-<size>.
struct LoadResult {
  std::mutex mu;
  std::vector<std::string> failures;
  std::map<std::string, std::pair<uint64_t, size_t>> live;  // final name -> (seed, size)
  std::atomic<long> ops{0};
  void fail(const std::string& what) {
    std::lock_guard<std::mutex> l(mu);
    if (failures.size() < 20) failures.push_back(what + ": " + strerror(errno));
  }
};

void load_worker(const std::string& dir, int w, std::atomic<bool>* stop, LoadResult* res) {
  Rng rng(static_cast<uint64_t>(w) + 1000);
  std::vector<std::string> mine;
  for (int seq = 0; !stop->load(); seq++) {
    uint64_t seed = rng.next();
    size_t size = rng.below(4) == 0 ? rng.below(300 * 1024) : rng.below(8192);
    std::string tmp = dir + "/tmp-" + std::to_string(w) + "-" + std::to_string(seq);
    std::string fin = dir + "/w" + std::to_string(w) + "-" + std::to_string(seq);
    std::vector<uint8_t> data = pattern(seed, size);
    int fd = open(tmp.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
    if (fd < 0) {
      res->fail("create " + tmp);
      continue;
    }
    // Write in pieces so upgrades land between writes of one open file.
    size_t off = 0;
    bool ok = true;
    while (ok && off < size) {
      size_t n = std::min<size_t>(size - off, 64 * 1024);
      ok = write_all_fd(fd, data.data() + off, n, static_cast<off_t>(off));
      off += n;
    }
    if (!ok) res->fail("write " + tmp);
    if (ok && fsync(fd) != 0) ok = false, res->fail("fsync " + tmp);
    std::vector<uint8_t> back(size);
    if (ok && (!read_all_fd(fd, back.data(), size, 0) || back != data))
      ok = false, res->fail("read back " + tmp);
    if (close(fd) != 0) res->fail("close " + tmp);
    if (rename(tmp.c_str(), fin.c_str()) != 0) {
      res->fail("rename " + tmp);
      continue;
    }
    mine.push_back(fin);
    {
      std::lock_guard<std::mutex> l(res->mu);
      res->live[fin] = {seed, size};
    }
    // Keep the directory bounded: delete an older file now and then.
    if (mine.size() > 8 && rng.below(2) == 0) {
      size_t k = rng.below(mine.size());
      if (unlink(mine[k].c_str()) != 0) res->fail("unlink " + mine[k]);
      std::lock_guard<std::mutex> l(res->mu);
      res->live.erase(mine[k]);
      mine.erase(mine.begin() + static_cast<long>(k));
    }
    res->ops++;
  }
}

TEST_F(BentoFsE2E, LiveUpgradeUnderLoad) {
  auto t0 = Clock::now();
  ASSERT_NO_FATAL_FAILURE(mkfs("512M"));
  ASSERT_NO_FATAL_FAILURE(mount());
  const std::string dir = path("load");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  // One file held open (O_APPEND) across all upgrades.
  int held = open(path("held").c_str(), O_CREAT | O_RDWR | O_APPEND, 0644);
  ASSERT_GE(held, 0) << errstr("open held");
  std::atomic<bool> stop{false};
  LoadResult res;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; w++) workers.emplace_back(load_worker, dir, w, &stop, &res);
  int upgrades = 0;
  std::vector<std::string> upgrade_errors;
  std::string held_want;
  // ~3 s of load with an upgrade every ~0.3 s, and at least 8 upgrades even on a slow host.
  auto end = Clock::now() + 3s;
  while (Clock::now() < end || upgrades < 8) {
    std::this_thread::sleep_for(300ms);
    RunResult r = bentoctl("upgrade " + q(mnt_) + " " + q(BENTO_FS_SO));
    if (r.status != 0 || r.output.find("upgraded ") == std::string::npos)
      upgrade_errors.push_back(r.output);
    upgrades++;
    std::string line = "after upgrade " + std::to_string(upgrades) + "\n";
    if (write(held, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      upgrade_errors.push_back(errstr("append to held file"));
    held_want += line;
  }
  stop = true;
  for (auto& t : workers) t.join();
  EXPECT_EQ(close(held), 0);
  EXPECT_TRUE(upgrade_errors.empty()) << upgrade_errors.front();
  EXPECT_TRUE(res.failures.empty())
      << res.failures.size() << " failed syscalls, first: " << res.failures.front();
  EXPECT_GE(upgrades, 8);
  EXPECT_GT(res.ops.load(), 20);
  std::printf("  %d upgrades, %ld file cycles in %.1f s\n", upgrades, res.ops.load(), since(t0));
  RunResult st = bentoctl("status " + q(mnt_) + " --json");
  ASSERT_EQ(st.status, 0) << st.output;
  EXPECT_EQ(nlohmann::json::parse(st.output)["upgrades"].size(), static_cast<size_t>(upgrades));

  auto verify = [&]() {
    std::set<std::string> names;
    for (const auto& [name, _] : res.live) names.insert(name.substr(dir.size() + 1));
    EXPECT_TRUE(list_dir(dir) == names) << "directory does not hold exactly the live files";
    for (const auto& [name, ss] : res.live) {
      int fd = open(name.c_str(), O_RDONLY);
      ASSERT_GE(fd, 0) << errstr("open " + name);
      std::vector<uint8_t> got(ss.second + 1);
      ssize_t n = pread(fd, got.data(), got.size(), 0);
      size_t total = n > 0 ? static_cast<size_t>(n) : 0;
      while (n > 0 && total < got.size()) {
        n = pread(fd, got.data() + total, got.size() - total, static_cast<off_t>(total));
        if (n > 0) total += static_cast<size_t>(n);
      }
      close(fd);
      got.resize(total);
      EXPECT_TRUE(got == pattern(ss.first, ss.second)) << name << " differs";
    }
    std::ifstream h(path("held"));
    std::string held_got((std::istreambuf_iterator<char>(h)), std::istreambuf_iterator<char>());
    EXPECT_EQ(held_got, held_want);
  };
  ASSERT_NO_FATAL_FAILURE(verify());
  ASSERT_NO_FATAL_FAILURE(remount());
  ASSERT_NO_FATAL_FAILURE(verify());
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
  std::printf("  total %.1f s\n", since(t0));
}

// ---------------------------------------------------------------------------------------
// 8. kill -9 of bentofs mid-workload: fsync'ed files survive, the journal replays clean.

// With `upgrade`, the first half of the fsync'ed files is written by the original instance,
// the second half after a live upgrade, and another upgrade runs during the churn just
// before the kill: the journal the new instance took over must make all of them durable.
void BentoFsE2E::kill_nine(bool upgrade) {
  auto t0 = Clock::now();
  ASSERT_NO_FATAL_FAILURE(mkfs("256M"));
  ASSERT_NO_FATAL_FAILURE(mount());
  const std::string dir = path("d");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  // Fsync'ed files (and their directory, as POSIX asks for new names).
  const int kSynced = 40;
  auto name_of = [&](int i) { return dir + "/synced-" + std::to_string(i); };
  auto size_of = [](int i) { return static_cast<size_t>(i) * 7919 % (200 * 1024); };
  auto do_upgrade = [&]() {
    RunResult r = bentoctl("upgrade " + q(mnt_) + " " + q(BENTO_FS_SO));
    EXPECT_EQ(r.status, 0) << r.output;
  };
  for (int i = 0; i < kSynced; i++) {
    if (upgrade && i == kSynced / 2) do_upgrade();
    int fd = open(name_of(i).c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << errstr("create");
    std::vector<uint8_t> d = pattern(static_cast<uint64_t>(i), size_of(i));
    ASSERT_TRUE(write_all_fd(fd, d.data(), d.size(), 0)) << errstr("write");
    ASSERT_EQ(fsync(fd), 0) << errstr("fsync");
    ASSERT_EQ(close(fd), 0);
  }
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dfd, 0);
  ASSERT_EQ(fsync(dfd), 0) << errstr("fsync dir");
  close(dfd);
  // Un-synced churn continues while bentofs is killed.
  std::atomic<bool> stop{false};
  std::atomic<long> churn{0};
  std::thread churner([&] {
    std::vector<uint8_t> d = pattern(999, 100 * 1024);
    for (int i = 0; !stop.load(); i++) {
      std::string n = path("churn-" + std::to_string(i % 50));
      int fd = open(n.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
      if (fd < 0) continue;  // ENOTCONN once the host is dead
      if (write_all_fd(fd, d.data(), d.size(), 0)) churn++;
      close(fd);
      if (i % 3 == 0) unlink(n.c_str());
    }
  });
  while (churn.load() < 15 && since(t0) < 20) std::this_thread::sleep_for(10ms);
  if (upgrade) do_upgrade();
  while (churn.load() < 30 && since(t0) < 20) std::this_thread::sleep_for(10ms);
  int killed = kill(static_cast<pid_t>(pid_), SIGKILL);
  for (int i = 0; i < 200 && process_alive(pid_); i++) std::this_thread::sleep_for(10ms);
  stop = true;
  churner.join();  // before any ASSERT can return
  ASSERT_EQ(killed, 0);
  ASSERT_FALSE(process_alive(pid_));
  pid_ = 0;
  // The dead mount (every access ENOTCONN): `bentoctl unmount` detaches it and says
  // what happened; then mount again (the mount replays the journal).
  RunResult detach = bentoctl("unmount " + q(mnt_));
  EXPECT_EQ(detach.status, 0) << detach.output;
  EXPECT_NE(detach.output.find("was not running"), std::string::npos) << detach.output;
  if (detach.status != 0) run("umount -l " + q(mnt_));
  mounted_ = false;
  ASSERT_FALSE(is_fuse_mount(mnt_));
  EXPECT_NE(bentoctl("status " + q(mnt_)).status, 0) << "its stale registration is gone";
  std::printf("  killed after %ld churn writes\n", churn.load());
  ASSERT_NO_FATAL_FAILURE(mount());
  for (int i = 0; i < kSynced; i++) {
    int fd = open(name_of(i).c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << errstr("open " + name_of(i));
    struct stat st {};
    ASSERT_EQ(fstat(fd, &st), 0);
    ASSERT_EQ(st.st_size, static_cast<off_t>(size_of(i))) << name_of(i);
    std::vector<uint8_t> got(size_of(i));
    EXPECT_TRUE(read_all_fd(fd, got.data(), got.size(), 0)) << errstr("read " + name_of(i));
    close(fd);
    EXPECT_TRUE(got == pattern(static_cast<uint64_t>(i), size_of(i))) << name_of(i);
  }
  // The file system is fully usable after recovery.
  RunResult r = script("after", R"SH(
cp -a "$M/d" "$M/copy"
diff -r "$M/d" "$M/copy"
rm -rf "$M/copy" "$M"/churn-*
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
  std::printf("  total %.1f s\n", since(t0));
}

// SIGTERM and SIGINT (what an administrator or systemd sends) unmount cleanly: the host
// writes everything back, leaves no mount behind and the image is clean without replay.
TEST_F(BentoFsE2E, SigtermAndSigintUnmountCleanly) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  for (int sig : {SIGTERM, SIGINT}) {
    ASSERT_NO_FATAL_FAILURE(mount());
    std::string content = "written before signal " + std::to_string(sig) + "\n";
    ASSERT_TRUE(write_text(path("file-" + std::to_string(sig)), content));
    ASSERT_EQ(kill(static_cast<pid_t>(pid_), sig), 0);
    mounted_ = false;
    for (int i = 0; i < 600 && process_alive(pid_); i++) std::this_thread::sleep_for(10ms);
    ASSERT_FALSE(process_alive(pid_)) << "bentofs ignored signal " << sig;
    pid_ = 0;
    EXPECT_FALSE(is_fuse_mount(mnt_)) << "signal " << sig << " left the mount behind";
    ASSERT_NO_FATAL_FAILURE(fsck_clean());
    ASSERT_NO_FATAL_FAILURE(mount());
    EXPECT_EQ(read_text(path("file-" + std::to_string(sig))), content);
    ASSERT_NO_FATAL_FAILURE(unmount());
  }
}

// Another user appending to a world-writable setuid file: the write succeeds and the
// set-id bits are gone at once, also in what the kernel caches (the fs drops them under
// handle_killpriv_v2 and the host makes the kernel refetch); truncation by another user
// and a chown by root drop them too. Then parallel lookups in one directory.
TEST_F(BentoFsE2E, WritesByOthersAndChownDropSetIdBits) {
  ASSERT_NO_FATAL_FAILURE(mkfs("64M"));
  ASSERT_NO_FATAL_FAILURE(mount());
  ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
  RunResult r = script("setid", R"SH(
printf x > "$M/suid"; chmod 6777 "$M/suid"
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'printf y >> "$1"' sh "$M/suid"
test "$(stat -c %a "$M/suid")" = 777 || { echo "after write: $(stat -c %a "$M/suid")"; exit 1; }
test "$(cat "$M/suid")" = xy
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'printf w >> "$1"' sh "$M/suid"
test "$(cat "$M/suid")" = xyw
printf t > "$M/t"; chmod 4777 "$M/t"
setpriv --reuid=65534 --regid=65534 --clear-groups truncate -s 0 "$M/t"
test "$(stat -c %a "$M/t")" = 777 || { echo "after truncate: $(stat -c %a "$M/t")"; exit 1; }
printf z > "$M/own"; chmod 6755 "$M/own"; chown 0:0 "$M/own"
test "$(stat -c %a "$M/own")" = 755 || { echo "after chown: $(stat -c %a "$M/own")"; exit 1; }
mkdir "$M/d"
for i in $(seq 1 200); do : > "$M/d/f$i"; done
pids=
for p in 1 2 3 4; do (for i in $(seq 1 200); do test -e "$M/d/f$i"; test ! -e "$M/d/g$i"; done) & pids="$pids $!"; done
for p in $pids; do wait "$p"; done
)SH");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NO_FATAL_FAILURE(unmount());
  ASSERT_NO_FATAL_FAILURE(fsck_clean());
}

TEST_F(BentoFsE2E, KillNineKeepsFsyncedFiles) {
  kill_nine(false);
}

TEST_F(BentoFsE2E, KillNineAfterLiveUpgradeKeepsFsyncedFiles) {
  kill_nine(true);
}

}  // namespace
