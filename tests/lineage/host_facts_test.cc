// The host facts the collector reads from /proc for processes the probes never saw
// (collector/host_facts.h): a process's identity (pid, start time) must be the kernel's
// and must not change while it runs, or one process becomes many.
#include "host_facts.h"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace {

uint64_t boottime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

TEST(HostFacts, AProcessStartTimeIsTheKernelsAndStaysTheSame) {
  bento::collector::ProcHostFacts host;
  const bento::collector::ProcessFacts first = host.process_of_thread(getpid());
  ASSERT_TRUE(first.found);
  EXPECT_EQ(first.pid, static_cast<uint32_t>(getpid()));
  // Started since boot, and not long ago (this test binary is young).
  EXPECT_LE(first.start_ns, boottime_ns());
  EXPECT_GT(first.start_ns + 3'600'000'000'000ULL, boottime_ns());
  // Growing the process (its memory size is the next field of /proc/PID/stat) changes nothing.
  std::vector<char> grow(64 << 20, 1);
  EXPECT_EQ(host.process_of_thread(getpid()).start_ns, first.start_ns);
  EXPECT_EQ(grow[grow.size() - 1], 1);
}

}  // namespace
