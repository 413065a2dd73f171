// The probes' test fixture (tests/bpf): loads the probes, follows the test's process tree
// through FORK events and keeps every event of the tree, so that a test can assert field by
// field what its own processes did. Needs root and kernel BTF (skips loudly otherwise).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bento_bpf/events.h"
#include "bento_bpf/probes.h"

namespace bento_bpf_test {

using Clock = std::chrono::steady_clock;

struct Exec {
  uint32_t pid;
  std::vector<std::string> argv;
  uint64_t pipes[3];
  uint64_t exe_dev, exe_ino, ts_ns;
  std::string filename, cwd;  // as exec'd; the cwd when that is relative
  uint32_t mnt_ns;            // events.h v5: another mount namespace's, else 0
  uint64_t root_dev;
  std::string exe_path, root_path;  // in fs form, in another mount namespace
};

inline std::vector<std::string> argv_of(const bento_exec_event* e) {
  std::vector<std::string> v;
  for (uint32_t at = 0; at < e->args_len;) {
    std::string a(e->args + at, strnlen(e->args + at, e->args_len - at));
    v.push_back(a);
    at += static_cast<uint32_t>(a.size()) + 1;
  }
  return v;
}

inline uint32_t self() {
  return static_cast<uint32_t>(getpid());
}

inline struct stat fstat_of(int fd) {
  struct stat st = {};
  EXPECT_EQ(fstat(fd, &st), 0) << std::strerror(errno);
  return st;
}

// Runs body in a forked child (its exit status is body's return value); returns the pid.
inline pid_t spawn(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  return pid;
}

// Execs `path` with argv in a forked child (exit 127 if the exec fails); returns the pid.
inline pid_t spawn_exec(const char* path, std::vector<std::string> argv) {
  std::vector<char*> args;  // built before the fork
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  return spawn([&] {
    execv(path, args.data());
    return 127;
  });
}

// Waits for pid, whatever its exit (the test checks what it expects of it); returns the
// wait status.
inline int wait_for(pid_t pid) {
  int st = 0;
  EXPECT_EQ(waitpid(pid, &st, 0), pid) << std::strerror(errno);
  return st;
}

// Waits for pid and expects a clean exit(0).
inline void reap(pid_t pid) {
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child " << pid << " status " << st;
}

// Runs body in a forked child, waits for it and expects a clean exit(0); returns the pid.
inline pid_t run_child(const std::function<int()>& body) {
  pid_t pid = spawn(body);
  reap(pid);
  return pid;
}

class Probes : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || access("/sys/kernel/btf/vmlinux", R_OK) != 0)
      GTEST_SKIP() << "\n*** SKIPPING eBPF PROBE TESTS: they need root and kernel BTF ***";
    std::string err;
    probes_ = bento::bpf::Probes::open(opts_, &err);
    ASSERT_NE(probes_, nullptr) << err;
  }
  // Collects events of the process tree rooted at `root` for up to 2 s after it exits.
  void drain(pid_t root) {
    tree_.insert(static_cast<uint32_t>(root));
    auto until = Clock::now() + std::chrono::milliseconds(600);
    while (Clock::now() < until) {
      probes_->poll(50, [&](const void* d, size_t n) {
        const auto* h = static_cast<const bento_event_header*>(d);
        if (h->type == BENTO_EV_FORK && n >= sizeof(bento_fork_event)) {
          const auto* f = static_cast<const bento_fork_event*>(d);
          if (tree_.count(h->pid) != 0 && !f->is_thread) {
            tree_.insert(f->child_pid);
            forks_[f->child_pid] = h->pid;
          }
        } else if (h->type == BENTO_EV_EXEC && n >= sizeof(bento_exec_event) &&
                   tree_.count(h->pid) != 0) {
          const auto* e = static_cast<const bento_exec_event*>(d);
          execs_.push_back({h->pid,
                            argv_of(e),
                            {e->std_pipe_ino[0], e->std_pipe_ino[1], e->std_pipe_ino[2]},
                            e->exe_dev,
                            e->exe_ino,
                            h->ts_ns,
                            std::string(e->filename, strnlen(e->filename, sizeof e->filename)),
                            std::string(e->cwd, strnlen(e->cwd, sizeof e->cwd)),
                            h->mnt_ns,
                            e->root_dev,
                            std::string(e->exe_path, strnlen(e->exe_path, sizeof e->exe_path)),
                            std::string(e->root_path, strnlen(e->root_path, sizeof e->root_path))});
        } else if (h->type == BENTO_EV_EXIT && n >= sizeof(bento_exit_event) &&
                   tree_.count(h->pid) != 0) {
          const auto* x = static_cast<const bento_exit_event*>(d);
          if (x->group_dead) exits_[h->pid] = x->exit_code;
        }
        if (tree_.count(h->pid) != 0) raw_.emplace_back(static_cast<const char*>(d), n);
      });
    }
  }
  const Exec* exec_of(const std::string& argv0) {
    for (const auto& e : execs_)
      if (!e.argv.empty() && e.argv[0] == argv0) return &e;
    return nullptr;
  }
  // The events of one type sent by pid (after drain), in order.
  template <class T>
  std::vector<T> events(uint32_t type, uint32_t pid) {
    std::vector<T> v;
    for (const auto& r : raw_) {
      bento_event_header h;
      std::memcpy(&h, r.data(), sizeof h);
      if (h.type != type || h.pid != pid) continue;
      EXPECT_EQ(h.size, sizeof(T));
      EXPECT_EQ(r.size(), sizeof(T));
      if (r.size() < sizeof(T)) continue;
      T e;
      std::memcpy(&e, r.data(), sizeof e);
      v.push_back(e);
    }
    return v;
  }
  // The same, for a pid as fork returns it.
  template <class T>
  std::vector<T> of(uint32_t type, pid_t pid) {
    return events<T>(type, static_cast<uint32_t>(pid));
  }

  // The events of one type sent by any process of the tree (after drain), in order.
  template <class T>
  std::vector<T> all_events(uint32_t type) {
    std::vector<T> v;
    for (const auto& r : raw_) {
      bento_event_header h;
      std::memcpy(&h, r.data(), sizeof h);
      if (h.type != type) continue;
      EXPECT_EQ(r.size(), sizeof(T));
      if (r.size() < sizeof(T)) continue;
      T e;
      std::memcpy(&e, r.data(), sizeof e);
      v.push_back(e);
    }
    return v;
  }
  uint64_t start_ns_of(uint32_t pid) {  // from the FORK that made it
    for (const auto& r : raw_) {
      bento_event_header h;
      std::memcpy(&h, r.data(), sizeof h);
      if (h.type != BENTO_EV_FORK || r.size() < sizeof(bento_fork_event)) continue;
      bento_fork_event f;
      std::memcpy(&f, r.data(), sizeof f);
      if (f.child_pid == pid && !f.is_thread) return f.child_start_ns;
    }
    return 0;
  }

  bento::bpf::ProbeOptions opts_;
  std::unique_ptr<bento::bpf::Probes> probes_;
  std::set<uint32_t> tree_;
  std::map<uint32_t, uint32_t> forks_;  // child -> parent
  std::vector<Exec> execs_;
  std::map<uint32_t, int> exits_;
  std::vector<std::string> raw_;  // every event of the tree, as sent
};

// The fd events come from the raw syscall tracepoints: on a kernel without them (no
// CONFIG_FTRACE_SYSCALLS) they are truly unavailable; any other reason is a failure.
class FdProbes : public Probes {
 protected:
  void SetUp() override {
    Probes::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const auto& w : probes_->warnings())
      if (w.find("no raw tracepoint") != std::string::npos)
        GTEST_SKIP() << "\n*** SKIPPING eBPF FD EVENT TESTS: " << w << " ***";
    ASSERT_TRUE(probes_->warnings().empty()) << probes_->warnings()[0];
    char tmpl[] = "/tmp/bento-bpf-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  // Creates a file from a child process, so that the test process's first open of it is
  // the one reported (OPEN is sent once per process image and file).
  std::string file(const std::string& name) {
    std::string p = dir_ + "/" + name;
    run_child([&] {
      int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      return fd >= 0 && write(fd, "x", 1) == 1 ? 0 : 1;
    });
    return p;
  }
  // The OPEN event of fd (by pid), which must exist.
  bento_open_event open_event(int fd, uint32_t pid = self()) {
    for (const auto& e : events<bento_open_event>(BENTO_EV_OPEN, pid))
      if (e.fd == fd) return e;
    ADD_FAILURE() << "no OPEN event for fd " << fd;
    return {};
  }
  std::string dir_;
};

}  // namespace bento_bpf_test
