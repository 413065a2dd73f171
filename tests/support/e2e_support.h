// Shared by the end-to-end tests that drive real bentofs mounts: running commands, process
// state, scratch space, and a fixture that makes an image, mounts it, unmounts it and
// checks it with fsck.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "run_command.h"

namespace bento::e2e {

using bento::test::run;
using bento::test::RunResult;

inline std::string q(const std::string& s) {
  return "'" + s + "'";
}

// A daemon counts as gone once it is a zombie: its reaper (init) may take a while.
inline bool process_alive(long pid) {
  FILE* f = fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return false;
  char state = 'Z';
  int n = fscanf(f, "%*d (%*[^)]) %c", &state);
  fclose(f);
  return n == 1 && state != 'Z' && state != 'X';
}

inline bool is_fuse_mount(const std::string& path) {
  struct statfs sf {};
  return statfs(path.c_str(), &sf) == 0 && sf.f_type == 0x65735546;
}

// Where images and host-side trees go: $BENTO_E2E_TMPDIR, else /dev/shm when it is a
// roomy tmpfs, else /tmp. (On an ext4 mounted with `discard`, deleting test files took
// 15-35 s per test; tmpfs keeps suites fast. Images are sparse: only written blocks count.)
inline std::string scratch_dir() {
  if (const char* d = getenv("BENTO_E2E_TMPDIR"); d != nullptr && *d != 0) return d;
  struct statfs sf {};
  if (statfs("/dev/shm", &sf) == 0 && sf.f_type == 0x01021994 &&
      static_cast<uint64_t>(sf.f_bavail) * sf.f_bsize >= (4ull << 30))
    return "/dev/shm";
  return "/tmp";
}

inline int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// ---- the FUSE transport under test ----
// BENTO_TRANSPORT=uring runs a suite over FUSE-over-io_uring (bentofs -o uring); unset or
// "dev", over /dev/fuse. CTest runs the key suites both ways (tests/CMakeLists.txt).
inline bool want_uring() {
  const char* t = getenv("BENTO_TRANSPORT");
  return t != nullptr && std::string(t) == "uring";
}

// Empty when io_uring can be used here (turning the fuse module's switch on, as bentofs
// -o uring would), else why not: the caller skips loudly.
inline std::string uring_unavailable() {
  const char* sw = "/sys/module/fuse/parameters/enable_uring";
  if (access(sw, F_OK) != 0)
    return "this kernel has no FUSE over io_uring (no " + std::string(sw) +
           ": needs Linux 6.14+ with CONFIG_FUSE_IO_URING)";
  if (run(std::string("grep -q Y ") + sw + " || echo Y > " + sw).status != 0)
    return std::string(sw) + " is off and cannot be turned on";
  return "";
}

// The -o option that selects the transport under test ("" for /dev/fuse).
inline std::string transport_option() {
  return want_uring() ? "uring" : "";
}

inline std::string join_options(const std::string& a, const std::string& b) {
  return a.empty() ? b : b.empty() ? a : a + "," + b;
}

// After a mount: the transport the suite asked for is the one serving. The rings come up
// right after the kernel's INIT, which the first access waits for.
inline ::testing::AssertionResult serves_over_wanted_transport(const std::string& bentoctl,
                                                               const std::string& mnt) {
  struct stat st {};
  (void)stat(mnt.c_str(), &st);
  const std::string want = want_uring() ? "io_uring" : "/dev/fuse";
  std::string got;
  for (int i = 0; i < 100; i++) {
    RunResult r = run(bentoctl + " status '" + mnt + "' --json");
    if (r.status == 0) got = nlohmann::json::parse(r.output).value("transport", "");
    if (got.rfind(want, 0) == 0) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ::testing::AssertionFailure() << "transport is \"" << got << "\", wanted " << want;
}

#define BENTO_SKIP_WITHOUT_WANTED_TRANSPORT()                                        \
  do {                                                                               \
    if (::bento::e2e::want_uring()) {                                                \
      if (std::string why = ::bento::e2e::uring_unavailable(); !why.empty())         \
        GTEST_SKIP() << "\n*** SKIPPING (BENTO_TRANSPORT=uring): " << why << " ***"; \
    }                                                                                \
  } while (0)

// Binaries the fixture runs; each test target defines them.
struct Tools {
  std::string bentofs, bentoctl, mkfs, fsck;
};

// One image + mountpoint + control directory in a private scratch directory.
class BentoMountTest : public ::testing::Test {
 protected:
  virtual Tools tools() const = 0;

  void SetUp() override {
    if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "\n*** SKIPPING: this end-to-end test needs root and a usable /dev/fuse "
                      "(euid="
                   << geteuid() << ") ***";
    }
    BENTO_SKIP_WITHOUT_WANTED_TRANSPORT();
    std::string tmpl = scratch_dir() + "/bento-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    img_ = root_ + "/image";
    mnt_ = root_ + "/mnt";
    run_ = root_ + "/run";
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
    setenv("BENTO_RUN_DIR", run_.c_str(), 1);
  }

  void TearDown() override {
    if (root_.empty()) return;
    if (mounted_ || is_fuse_mount(mnt_)) {
      if (run(tools().bentoctl + " unmount " + q(mnt_)).status != 0 &&
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
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (pid_ > 0 && process_alive(pid_)) {
      ADD_FAILURE() << "bentofs (pid " << pid_ << ") did not exit after unmount";
      kill(static_cast<pid_t>(pid_), SIGKILL);
    }
    pid_ = 0;
  }

  void mkfs(const std::string& size, const std::string& options = "") {
    RunResult r = run(tools().mkfs + " --size " + size + " " + options + " " + q(img_));
    ASSERT_EQ(r.status, 0) << r.output;
  }

  void mount(const std::string& module, const std::string& options = "") {
    const std::string opts = join_options(options, transport_option());
    RunResult r = run(tools().bentofs + " " + q(img_) + " " + q(mnt_) + " --module " + q(module) +
                      (opts.empty() ? "" : " -o " + q(opts)));
    ASSERT_EQ(r.status, 0) << r.output;
    mounted_ = true;
    ASSERT_TRUE(is_fuse_mount(mnt_)) << "bentofs returned before the mount was up";
    RunResult st = run(tools().bentoctl + " status " + q(mnt_) + " --json");
    ASSERT_EQ(st.status, 0) << st.output;
    pid_ = nlohmann::json::parse(st.output).value("pid", 0L);
    ASSERT_GT(pid_, 0);
    ASSERT_TRUE(serves_over_wanted_transport(tools().bentoctl, mnt_));
  }

  // Unmounts and waits until the host has written everything back and exited.
  void unmount() {
    RunResult r = run(tools().bentoctl + " unmount " + q(mnt_));
    ASSERT_EQ(r.status, 0) << r.output;
    mounted_ = false;
    wait_gone();
    RunResult log = run("cat " + q(run_) + "/*.log");
    EXPECT_EQ(log.output.find("Sanitizer"), std::string::npos) << log.output;
    EXPECT_EQ(log.output.find("runtime error"), std::string::npos) << log.output;
  }

  // The host dies without writing anything back (a crash); the mount is torn down.
  void kill_host() {
    ASSERT_GT(pid_, 0);
    kill(static_cast<pid_t>(pid_), SIGKILL);
    for (int i = 0; i < 200 && process_alive(pid_); i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    run("fusermount3 -u " + q(mnt_) + " || umount -l " + q(mnt_));
    mounted_ = false;
    pid_ = 0;
  }

  void fsck_clean() {
    RunResult r = run(tools().fsck + " -n " + q(img_));
    ASSERT_EQ(r.status, 0) << "fsck.bento -n reported problems:\n" << r.output;
  }

  std::string root_, img_, mnt_, run_;
  bool mounted_ = false;
  long pid_ = 0;
};

}  // namespace bento::e2e
