// The attribution events (events.h v3) with real processes: the credentials after set*id
// and capset, and signals from sender to target, resolved to the target's start time.
#include <linux/capability.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>

#include "probe_fixture.h"

namespace {

using namespace bento_bpf_test;

class Attribution : public FdProbes {};

TEST_F(Attribution, SetuidFamilyReportsTheNewIds) {
  pid_t child = run_child([] {
    if (setresgid(1000, 1001, 1002) != 0) return 1;
    if (setgid(65534) != 0) return 2;
    if (setfsuid(1234) != 0) return 3;     // returns the previous fsuid (0)
    if (setfsuid(1234) != 1234) return 4;  // no change: no event
    if (setuid(65534) != 0) return 5;      // drops every capability
    if (setuid(0) == 0) return 6;          // EPERM now: no event
    return 0;
  });
  drain(getpid());
  auto creds = of<bento_cred_event>(BENTO_EV_CRED, child);
  ASSERT_EQ(creds.size(), 4u);
  const auto& rg = creds[0];
  EXPECT_EQ(rg.syscall_nr, static_cast<uint32_t>(SYS_setresgid));
  EXPECT_EQ(rg.args[0], 1000);
  EXPECT_EQ(rg.args[1], 1001);
  EXPECT_EQ(rg.args[2], 1002);
  EXPECT_EQ(rg.gid, 1000u);
  EXPECT_EQ(rg.egid, 1001u);
  EXPECT_EQ(rg.sgid, 1002u);
  EXPECT_EQ(rg.fsgid, 1001u);  // follows the effective gid
  EXPECT_EQ(rg.h.gid, 1000u);
  EXPECT_EQ(rg.h.egid, 1001u);
  const auto& g = creds[1];
  EXPECT_EQ(g.syscall_nr, static_cast<uint32_t>(SYS_setgid));
  EXPECT_EQ(g.gid, 65534u);  // root: setgid sets all three
  EXPECT_EQ(g.egid, 65534u);
  EXPECT_EQ(g.sgid, 65534u);
  const auto& fs = creds[2];
  EXPECT_EQ(fs.syscall_nr, static_cast<uint32_t>(SYS_setfsuid));
  EXPECT_EQ(fs.fsuid, 1234u);
  EXPECT_EQ(fs.uid, 0u);
  EXPECT_EQ(fs.args[0], 1234);
  const auto& u = creds[3];
  EXPECT_EQ(u.syscall_nr, static_cast<uint32_t>(SYS_setuid));
  EXPECT_EQ(u.args[0], 65534);
  EXPECT_EQ(u.uid, 65534u);
  EXPECT_EQ(u.euid, 65534u);
  EXPECT_EQ(u.suid, 65534u);
  EXPECT_EQ(u.fsuid, 65534u);
  EXPECT_EQ(u.h.uid, 65534u);
  EXPECT_EQ(u.h.euid, 65534u);
  EXPECT_EQ(u.cap_effective, 0u);
  EXPECT_EQ(u.cap_permitted, 0u);
  EXPECT_NE(rg.cap_effective, 0u);  // still root before setuid
  for (size_t i = 1; i < creds.size(); i++) EXPECT_LE(creds[i - 1].h.ts_ns, creds[i].h.ts_ns);
  // What the process does after setuid is the new user's (the header of every event).
  auto exits = of<bento_exit_event>(BENTO_EV_EXIT, child);
  ASSERT_FALSE(exits.empty());
  EXPECT_EQ(exits.back().h.uid, 65534u);
}

TEST_F(Attribution, CapsetReportsTheCapabilities) {
  pid_t child = run_child([] {
    __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    data[0].effective = data[0].permitted = 1u << CAP_CHOWN | 1u << CAP_KILL;
    return syscall(SYS_capset, &hdr, data) == 0 ? 0 : 1;
  });
  drain(getpid());
  auto creds = of<bento_cred_event>(BENTO_EV_CRED, child);
  ASSERT_EQ(creds.size(), 1u);
  EXPECT_EQ(creds[0].syscall_nr, static_cast<uint32_t>(SYS_capset));
  EXPECT_EQ(creds[0].cap_effective, (1ULL << CAP_CHOWN) | (1ULL << CAP_KILL));
  EXPECT_EQ(creds[0].cap_permitted, (1ULL << CAP_CHOWN) | (1ULL << CAP_KILL));
  EXPECT_EQ(creds[0].uid, 0u);
}

TEST_F(Attribution, KillNamesSenderTargetAndSignal) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  auto sleeper = [&] {
    return spawn([&] {
      if (write(ready[1], "r", 1) != 1) return 1;
      pause();
      return 0;
    });
  };
  pid_t a = sleeper(), b = sleeper(), c = sleeper();
  char x;
  for (int i = 0; i < 3; i++) ASSERT_EQ(read(ready[0], &x, 1), 1);
  ASSERT_EQ(kill(a, 0), 0);  // an existence check: no event
  ASSERT_EQ(kill(a, SIGTERM), 0);
  ASSERT_EQ(syscall(SYS_tgkill, b, b, SIGKILL), 0);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, c, 0));
  ASSERT_GE(pidfd, 0) << std::strerror(errno);
  ASSERT_EQ(syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, nullptr, 0), 0);
  ASSERT_LT(kill(999999999, SIGTERM), 0);  // ESRCH: no event
  for (pid_t p : {a, b, c}) EXPECT_TRUE(WIFSIGNALED(wait_for(p)));
  drain(getpid());
  auto kills = of<bento_kill_event>(BENTO_EV_KILL, getpid());
  ASSERT_EQ(kills.size(), 3u);
  struct Want {
    uint32_t nr;
    pid_t target;
    int sig;
    int tid, pidfd;
  };
  std::vector<Want> want = {{SYS_kill, a, SIGTERM, 0, -1},
                            {SYS_tgkill, b, SIGKILL, b, -1},
                            {SYS_pidfd_send_signal, c, SIGUSR1, 0, pidfd}};
  for (size_t i = 0; i < want.size(); i++) {
    SCOPED_TRACE(i);
    const auto& k = kills[i];
    EXPECT_EQ(k.syscall_nr, want[i].nr);
    EXPECT_EQ(k.target_pid, want[i].target);
    EXPECT_EQ(k.sig, want[i].sig);
    EXPECT_EQ(k.target_tid, want[i].tid);
    EXPECT_EQ(k.pidfd, want[i].pidfd);
    EXPECT_EQ(k.h.pid, self());
    EXPECT_EQ(k.resolved, 1u);
    uint64_t start = start_ns_of(static_cast<uint32_t>(want[i].target));
    EXPECT_NE(start, 0u);
    EXPECT_EQ(k.target_start_ns, start);  // (pid, start_ns): the process, not just the pid
  }
  close(pidfd);
  close(ready[0]);
  close(ready[1]);
}

}  // namespace
