// The CO-RE probes on the running kernel: a real shell pipeline is seen as forks, execs
// with their argv and the pipes between the stages, and exits with their codes; the
// collector's own process can be filtered out kernel-side; nothing is lost under a modest
// load. Needs root and kernel BTF (skips loudly otherwise).
#include "bento_bpf/probes.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bento_bpf/events.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Exec {
  uint32_t pid;
  std::vector<std::string> argv;
  uint64_t pipes[3];
};

std::vector<std::string> argv_of(const bento_exec_event* e) {
  std::vector<std::string> v;
  for (uint32_t at = 0; at < e->args_len;) {
    std::string a(e->args + at, strnlen(e->args + at, e->args_len - at));
    v.push_back(a);
    at += static_cast<uint32_t>(a.size()) + 1;
  }
  return v;
}

class Probes : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || access("/sys/kernel/btf/vmlinux", R_OK) != 0)
      GTEST_SKIP() << "\n*** SKIPPING eBPF PROBE TESTS: they need root and kernel BTF ***";
    std::string err;
    probes_ = bento::bpf::Probes::open({}, &err);
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
          execs_.push_back(
              {h->pid, argv_of(e), {e->std_pipe_ino[0], e->std_pipe_ino[1], e->std_pipe_ino[2]}});
        } else if (h->type == BENTO_EV_EXIT && n >= sizeof(bento_exit_event) &&
                   tree_.count(h->pid) != 0) {
          const auto* x = static_cast<const bento_exit_event*>(d);
          if (x->group_dead) exits_[h->pid] = x->exit_code;
        }
      });
    }
  }
  const Exec* exec_of(const std::string& argv0) {
    for (const auto& e : execs_)
      if (!e.argv.empty() && e.argv[0] == argv0) return &e;
    return nullptr;
  }

  std::unique_ptr<bento::bpf::Probes> probes_;
  std::set<uint32_t> tree_;
  std::map<uint32_t, uint32_t> forks_;  // child -> parent
  std::vector<Exec> execs_;
  std::map<uint32_t, int> exits_;
};

TEST_F(Probes, SeesAPipelineItsArgvPipesAndExitCodes) {
  pid_t sh = fork();
  if (sh == 0) {
    execl("/bin/sh", "sh", "-c", "seq 5 | sort -r | uniq -c > /dev/null; exit 7", nullptr);
    _exit(127);
  }
  int st = 0;
  ASSERT_EQ(waitpid(sh, &st, 0), sh);
  drain(sh);
  const Exec* shx = exec_of("sh");
  const Exec* seq = exec_of("seq");
  const Exec* sort = exec_of("sort");
  const Exec* uniq = exec_of("uniq");
  ASSERT_TRUE(shx && seq && sort && uniq) << execs_.size() << " execs seen";
  EXPECT_EQ(shx->pid, static_cast<uint32_t>(sh));
  EXPECT_EQ(shx->argv, (std::vector<std::string>{"sh", "-c",
                                                 "seq 5 | sort -r | uniq -c > /dev/null; exit 7"}));
  EXPECT_EQ(sort->argv, (std::vector<std::string>{"sort", "-r"}));
  EXPECT_EQ(uniq->argv, (std::vector<std::string>{"uniq", "-c"}));
  // The stages were forked by the shell and are connected by two pipes.
  EXPECT_EQ(forks_[seq->pid], static_cast<uint32_t>(sh));
  EXPECT_EQ(forks_[uniq->pid], static_cast<uint32_t>(sh));
  ASSERT_NE(seq->pipes[1], 0u);
  EXPECT_EQ(seq->pipes[1], sort->pipes[0]);
  ASSERT_NE(sort->pipes[1], 0u);
  EXPECT_EQ(sort->pipes[1], uniq->pipes[0]);
  EXPECT_NE(seq->pipes[1], sort->pipes[1]);
  EXPECT_EQ(uniq->pipes[1], 0u);  // > /dev/null: not a pipe
  EXPECT_EQ(exits_[static_cast<uint32_t>(sh)], 7 << 8);
  EXPECT_EQ(exits_[uniq->pid], 0);
  EXPECT_EQ(probes_->stats().lost, 0u);
}

TEST_F(Probes, IgnoredProcessesSendNothing) {
  pid_t child = fork();
  if (child == 0) {
    usleep(200000);  // the parent marks us ignored first
    execl("/bin/true", "true", nullptr);
    _exit(127);
  }
  probes_->ignore_tgid(static_cast<uint32_t>(child));
  int st = 0;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  drain(child);
  EXPECT_EQ(exec_of("true"), nullptr);
  EXPECT_EQ(exits_.count(static_cast<uint32_t>(child)), 0u);
}

}  // namespace
