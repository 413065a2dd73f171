// bentofs end to end: mount memfs through FUSE with the real binary, run real programs on
// it, live-upgrade it under load with bentoctl. Needs root and /dev/fuse.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.h"
#include "test_paths.h"

namespace {

using bento::e2e::is_fuse_mount;
using bento::e2e::process_alive;
using bento::e2e::q;
using bento::e2e::run;
using bento::e2e::RunResult;
using bento::e2e::serves_over_wanted_transport;
using bento::e2e::transport_option;

using namespace std::chrono_literals;
using bento::host::test::memfs_refuse_so;
using bento::host::test::memfs_so;
using bento::host::test::test_module;

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

class BentoFuse : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "\n*** SKIPPING FUSE END-TO-END TESTS: they need root and a usable "
                      "/dev/fuse (euid="
                   << geteuid() << ") ***";
    }
    BENTO_SKIP_WITHOUT_WANTED_TRANSPORT();
    char tmpl[] = "/tmp/bento-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    img_ = root_ + "/image";
    mnt_ = root_ + "/mnt";
    run_ = root_ + "/run";
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
    ASSERT_EQ(run("truncate -s 16M " + q(img_)).status, 0);
    setenv("BENTO_RUN_DIR", run_.c_str(), 1);
  }

  void TearDown() override {
    if (root_.empty()) return;
    if (mounted_ || is_fuse_mount(mnt_)) {
      if (run("fusermount3 -u " + q(mnt_)).status != 0) run("umount -l " + q(mnt_));
    }
    // The daemon exits once the mount is gone.
    for (int i = 0; i < 200 && pid_ > 0 && process_alive(pid_); i++)
      std::this_thread::sleep_for(50ms);
    if (pid_ > 0 && process_alive(pid_)) {
      ADD_FAILURE() << "bentofs (pid " << pid_ << ") did not exit after unmount";
      kill(pid_, SIGKILL);
    }
    if (HasFailure()) {
      RunResult log = run("cat " + q(run_) + "/*.log");
      std::printf("---- bentofs log ----\n%s---------------------\n", log.output.c_str());
    }
    run("rm -rf " + q(root_));
    unsetenv("BENTO_RUN_DIR");
  }

  RunResult bentofs(const std::string& args) { return run(std::string(BENTOFS_BIN) + " " + args); }
  RunResult bentoctl(const std::string& args) {
    return run(std::string(BENTOCTL_BIN) + " " + args);
  }

  void mount(const std::string& module) {
    const std::string opts = transport_option();
    RunResult r = bentofs(q(img_) + " " + q(mnt_) + " --module " + q(module) +
                          (opts.empty() ? "" : " -o " + opts));
    ASSERT_EQ(r.status, 0) << r.output;
    mounted_ = true;
    ASSERT_TRUE(is_fuse_mount(mnt_)) << "bentofs returned before the mount was up";
    RunResult st = bentoctl("status " + q(mnt_) + " --json");
    ASSERT_EQ(st.status, 0) << st.output;
    pid_ = nlohmann::json::parse(st.output).value("pid", 0L);
    ASSERT_GT(pid_, 0);
    ASSERT_TRUE(serves_over_wanted_transport(BENTOCTL_BIN, mnt_));
  }

  std::string path(const std::string& rel) const { return mnt_ + "/" + rel; }

  std::string root_, img_, mnt_, run_;
  bool mounted_ = false;
  long pid_ = 0;
};

TEST_F(BentoFuse, RealPrograms) {
  mount(memfs_so());
  const std::string script = R"(
set -eu
M=")" + mnt_ + R"SH("
# cp -a of a tree, compared
cp -a /usr/include/linux "$M/linux"
diff -r /usr/include/linux "$M/linux"
# tar round trip
mkdir "$M/untar"
tar -C /usr/include -cf - fuse3 linux | tar -C "$M/untar" -xf -
diff -r /usr/include/fuse3 "$M/untar/fuse3"
diff -r /usr/include/linux "$M/untar/linux"
tar -C "$M/untar" -cf "$M/again.tar" fuse3
mkdir "$M/again" && tar -C "$M/again" -xf "$M/again.tar"
diff -r /usr/include/fuse3 "$M/again/fuse3"
# git
cd "$M" && mkdir repo && cd repo
git init -q .
printf 'one\n' > a.txt && mkdir sub && printf 'two\n' > sub/b.txt
git add -A
git -c user.name=bento -c user.email=bento@example.com commit -qm 'first commit'
printf 'three\n' >> a.txt
git -c user.name=bento -c user.email=bento@example.com commit -qam 'second commit'
test -z "$(git status --porcelain)"
git log --oneline | grep -q 'second commit'
git log --oneline | grep -q 'first commit'
git fsck --no-progress
# a C program with make
mkdir "$M/prog" && cd "$M/prog"
cat > hello.c <<'EOC'
#include <stdio.h>
int main(void) { printf("hello from bento\n"); return 0; }
EOC
printf 'hello: hello.o\n\tcc -o hello hello.o\nhello.o: hello.c\n\tcc -O2 -c hello.c\n' > Makefile
make -s
test "$(./hello)" = "hello from bento"
make -s -q || true
# rm -rf of everything we made
cd /
rm -rf "$M/linux" "$M/untar" "$M/again" "$M/again.tar" "$M/repo" "$M/prog"
test -z "$(ls -A "$M")"
)SH";
  std::string file = root_ + "/script.sh";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs(script.c_str(), f);
  fclose(f);
  RunResult r = run("bash " + q(file));
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(BentoFuse, MetadataSyscalls) {
  mount(memfs_so());
  const std::string a = path("a"), b = path("b"), s = path("s"), d = path("d");
  int fd = open(a.c_str(), O_CREAT | O_RDWR, 0600);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(write(fd, "hello", 5), 5);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 5);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(close(fd), 0);

  ASSERT_EQ(chmod(a.c_str(), 0751), 0) << strerror(errno);
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  ASSERT_EQ(chown(a.c_str(), 1234, 5678), 0) << strerror(errno);
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  ASSERT_EQ(truncate(a.c_str(), 3), 0);
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 3);

  ASSERT_EQ(symlink("a", s.c_str()), 0) << strerror(errno);
  char target[64] = {};
  ASSERT_EQ(readlink(s.c_str(), target, sizeof target), 1);
  EXPECT_STREQ(target, "a");
  ASSERT_EQ(lstat(s.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));

  ASSERT_EQ(link(a.c_str(), b.c_str()), 0) << strerror(errno);
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_EQ(rename(b.c_str(), path("c").c_str()), 0) << strerror(errno);
  EXPECT_NE(access(b.c_str(), F_OK), 0);
  ASSERT_EQ(unlink(path("c").c_str()), 0);
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);

  ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
  ASSERT_EQ(rename(a.c_str(), (d + "/moved").c_str()), 0);
  ASSERT_EQ(stat((d + "/moved").c_str(), &st), 0);
  EXPECT_NE(rmdir(d.c_str()), 0);
  EXPECT_EQ(errno, ENOTEMPTY);

  // Extended attributes, through the syscalls (setfattr may not be installed).
  const std::string m = d + "/moved";
  ASSERT_EQ(setxattr(m.c_str(), "user.color", "blue", 4, XATTR_CREATE), 0) << strerror(errno);
  EXPECT_NE(setxattr(m.c_str(), "user.color", "red", 3, XATTR_CREATE), 0);
  EXPECT_EQ(errno, EEXIST);
  char val[16] = {};
  EXPECT_EQ(getxattr(m.c_str(), "user.color", nullptr, 0), 4);
  ASSERT_EQ(getxattr(m.c_str(), "user.color", val, sizeof val), 4);
  EXPECT_EQ(std::string(val, 4), "blue");
  char names[128] = {};
  ssize_t n = listxattr(m.c_str(), names, sizeof names);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(names), "user.color");
  ASSERT_EQ(removexattr(m.c_str(), "user.color"), 0);
  EXPECT_LT(getxattr(m.c_str(), "user.color", val, sizeof val), 0);
  EXPECT_EQ(errno, ENODATA);

  // An unlinked file stays readable through its open descriptor.
  fd = open(m.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(unlink(m.c_str()), 0);
  char buf[8] = {};
  EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 3);
  EXPECT_EQ(std::string(buf, 3), "hel");
  close(fd);
  ASSERT_EQ(rmdir(d.c_str()), 0);

  struct statfs sf {};
  ASSERT_EQ(statfs(mnt_.c_str(), &sf), 0);
  EXPECT_GT(sf.f_blocks, 0u);
}

TEST_F(BentoFuse, ManyEntriesReaddirplusAndForget) {
  mount(memfs_so());
  std::string script = "set -eu; M=" + q(mnt_) +
                       "; mkdir $M/big; for i in $(seq 1 2000); do : > $M/big/f$i; done;"
                       " test $(ls -l $M/big | tail -n +2 | wc -l) -eq 2000;"
                       " sync; echo 2 > /proc/sys/vm/drop_caches 2>/dev/null || true;"
                       " test $(ls $M/big | wc -l) -eq 2000; ls -l $M/big > /dev/null;"
                       " echo 2 > /proc/sys/vm/drop_caches 2>/dev/null || true;"
                       " rm -rf $M/big; test -z \"$(ls -A $M)\"";
  RunResult r = run("bash -c " + q(script));
  EXPECT_EQ(r.status, 0) << r.output;
  RunResult st = bentoctl("status " + q(mnt_));
  EXPECT_EQ(st.status, 0) << st.output;
}

TEST_F(BentoFuse, UpgradeUnderLoad) {
  mount(memfs_so());
  constexpr int kThreads = 4;
  constexpr int kUpgrades = 6;
  std::atomic<bool> stop{false};
  std::atomic<long> ops{0}, failures{0}, verified{0};
  std::string first_failure;
  std::mutex fail_mu;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> g(fail_mu);
    if (failures++ == 0) first_failure = what + ": " + strerror(errno);
  };
  // One file held open across all upgrades.
  const auto held = pattern(4242, 300000);
  int held_fd = open(path("held").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(held_fd, 0);
  ASSERT_EQ(write(held_fd, held.data(), held.size()), static_cast<ssize_t>(held.size()));

  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; t++) {
    workers.emplace_back([&, t] {
      std::vector<uint8_t> got;
      for (int k = 0; !stop.load(); k++) {
        std::string name = path("w" + std::to_string(t) + "-" + std::to_string(k));
        auto data = pattern(t * 100003 + k, 1 + (k * 7919) % 200000);
        int fd = open(name.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0) {
          fail("create " + name);
          continue;
        }
        if (write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
          fail("write " + name);
        if (close(fd) != 0) fail("close " + name);
        if (k % 3 == 0) {
          std::string renamed = name + ".r";
          if (rename(name.c_str(), renamed.c_str()) != 0) fail("rename " + name);
          name = renamed;
        }
        fd = open(name.c_str(), O_RDONLY);
        if (fd < 0) {
          fail("open " + name);
          continue;
        }
        got.assign(data.size() + 1, 0);
        ssize_t n = read(fd, got.data(), got.size());
        close(fd);
        got.resize(n < 0 ? 0 : static_cast<size_t>(n));
        if (got != data) {
          errno = 0;
          fail("verify " + name + " (" + std::to_string(n) + " bytes read)");
        } else {
          verified++;
        }
        if (k % 2 == 0 && unlink(name.c_str()) != 0) fail("unlink " + name);
        ops += 5;
      }
    });
  }
  std::vector<std::string> outputs;
  for (int i = 0; i < kUpgrades; i++) {
    std::this_thread::sleep_for(450ms);
    RunResult r = bentoctl("upgrade " + q(mnt_) + " " + q(memfs_so()));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("upgraded " + mnt_ + " from "), std::string::npos) << r.output;
    outputs.push_back(r.output);
  }
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& w : workers) w.join();

  std::vector<uint8_t> got(held.size());
  ASSERT_EQ(pread(held_fd, got.data(), got.size(), 0), static_cast<ssize_t>(held.size()));
  EXPECT_EQ(got, held);
  close(held_fd);

  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(verified.load(), 50);
  for (const auto& o : outputs) std::printf("[ info ] %s", o.c_str());
  std::printf("[ info ] %ld syscalls, %ld files verified, %ld failures\n", ops.load(),
              verified.load(), failures.load());
  RunResult st = bentoctl("status " + q(mnt_) + " --json");
  ASSERT_EQ(st.status, 0);
  auto j = nlohmann::json::parse(st.output);
  EXPECT_EQ(j["upgrades"].size(), static_cast<size_t>(kUpgrades));
}

TEST_F(BentoFuse, RefusedUpgradeLeavesMountServing) {
  mount(memfs_so());
  ASSERT_EQ(run("echo precious > " + q(path("keep"))).status, 0);
  RunResult r = bentoctl("upgrade " + q(mnt_) + " " + q(memfs_refuse_so()));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("refused the state"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rolled back"), std::string::npos) << r.output;
  RunResult cat = run("cat " + q(path("keep")));
  EXPECT_EQ(cat.output, "precious\n");
  EXPECT_EQ(run("echo more > " + q(path("new")) + " && cat " + q(path("new"))).output, "more\n");
  RunResult caps = bentoctl("upgrade " + q(mnt_) + " " + q(test_module("locks_fs")));
  EXPECT_EQ(caps.status, 1);
  EXPECT_NE(caps.output.find("POSIX locks"), std::string::npos) << caps.output;
  RunResult st = bentoctl("status " + q(mnt_));
  EXPECT_EQ(st.status, 0);
  EXPECT_NE(st.output.find("FAILED"), std::string::npos) << st.output;
  RunResult list = bentoctl("list");
  EXPECT_NE(list.output.find(mnt_), std::string::npos) << list.output;
}

// Regression (issue 15): the registry (`bentoctl list`, registry.json) kept the module
// the mount started with after a live upgrade.
TEST_F(BentoFuse, RegistryFollowsTheModuleAcrossUpgrades) {
  mount(memfs_so());
  std::string other = root_ + "/memfs-v2.so";  // the same module under another name
  ASSERT_EQ(run("cp " + q(memfs_so()) + " " + q(other)).status, 0);
  RunResult up = bentoctl("upgrade " + q(mnt_) + " " + q(other));
  ASSERT_EQ(up.status, 0) << up.output;
  RunResult reg = run("cat " + q(run_ + "/registry.json"));
  EXPECT_NE(reg.output.find(other), std::string::npos) << reg.output;
  EXPECT_EQ(reg.output.find(memfs_so()), std::string::npos) << reg.output;
  RunResult list = bentoctl("list");
  EXPECT_NE(list.output.find("memfs-v2.so"), std::string::npos) << list.output;
  // A refused upgrade leaves it as it is.
  ASSERT_EQ(bentoctl("upgrade " + q(mnt_) + " " + q(memfs_refuse_so())).status, 1);
  reg = run("cat " + q(run_ + "/registry.json"));
  EXPECT_NE(reg.output.find(other), std::string::npos) << reg.output;
}

TEST_F(BentoFuse, BentofsErrors) {
  RunResult r = bentofs(q(root_ + "/missing.img") + " " + q(mnt_) + " --module " + q(memfs_so()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("No such file or directory"), std::string::npos) << r.output;
  r = bentofs(q(img_) + " " + q(root_ + "/nomnt") + " --module " + q(memfs_so()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("mountpoint"), std::string::npos) << r.output;
  r = bentofs(q(img_) + " " + q(mnt_) + " --module " + q(test_module("no_symbol")));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not a Bento module"), std::string::npos) << r.output;
  r = bentofs(q(img_) + " " + q(mnt_) + " --module " + q(test_module("bad_api")));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("built for API 99"), std::string::npos) << r.output;
  r = bentofs(q(img_) + " " + q(mnt_) + " --module " + q(root_ + "/image"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not a shared object"), std::string::npos) << r.output;
  EXPECT_FALSE(is_fuse_mount(mnt_));
  RunResult ctl = bentoctl("status " + q(mnt_));
  EXPECT_EQ(ctl.status, 1);
  EXPECT_NE(ctl.output.find("no bento mount at"), std::string::npos) << ctl.output;
}

}  // namespace
