// Another process's environment or memory read through /proc (query-cli/LINEAGE.md §3,
// "Process memory"): `cat /proc/PID/environ`, gdb or a credential dumper reading
// /proc/PID/mem take in what that process had read; the probes report those opens only
// (events.h OPEN), and a process's own are runtime, not recorded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

constexpr uint64_t kProcDev = 0x16;  // procfs's device

bool has(const std::set<std::string>& e, const std::string& x) {
  return e.count(x) != 0;
}

// A job reads the token and keeps running; `cat /proc/PID/environ` (its process) writes
// what it found to the mount. The answer goes back through the job's memory to the token;
// what the job read after the cat's read is not in it.
TEST(ProcessMemory, AReaderOfAnotherProcesssEnvironTakesInWhatItHadRead) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "token"}, {11, "later"}});
  auto job = w.run(sh, 200, {"job"});
  w.read(200, 10);
  auto cat = w.run(sh, 300, {"cat", "/proc/200/environ"});
  w.open_outside(cat, "/proc/200/environ", 4001, O_RDONLY, kProcDev);
  w.write_new(300, 20, "stolen");
  w.exit(cat);
  w.read(200, 11);
  // Its own environ, and /proc/self: runtime, left out.
  w.open_outside(job, "/proc/200/environ", 4001, O_RDONLY, kProcDev);
  w.open_outside(job, "/proc/self/mem", 4002, O_RDONLY, kProcDev);
  w.write_new(200, 21, "own");
  w.exit(job);
  w.commit();
  auto r = why(*w.db, path("stolen"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(cat /proc/200/environ, /proc/200/environ)")) << r.text;
  EXPECT_TRUE(has(e, "generated(/proc/200/environ, job)")) << r.text;
  EXPECT_TRUE(has(e, "used(job, token)")) << r.text;
  EXPECT_FALSE(has(e, "used(job, later)")) << r.text;
  EXPECT_NE(r.text.find("the memory of job"), std::string::npos) << r.text;
  auto own = why(*w.db, path("own"), 0, /*all=*/true);
  ASSERT_TRUE(own.found) << own.message;
  EXPECT_EQ(own.text.find("/proc/"), std::string::npos) << own.text;
  // Forward: the token reached the file through the job's memory.
  auto im = impact(*w.db, path("token"));
  ASSERT_TRUE(im.found) << im.message;
  EXPECT_NE(im.text.find(path("stolen")), std::string::npos) << im.text;
}

// procfs gives a later process's files the inode numbers of an earlier one's: each
// process's environ is a file of its own, never one process's memory under another's.
TEST(ProcessMemory, ALaterProcessWithTheSameProcInodeIsAnotherFile) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "first-secret"}, {11, "second-secret"}});
  auto a = w.run(sh, 200, {"first"});
  w.read(200, 10);
  auto cat1 = w.run(sh, 300, {"cat", "/proc/200/environ"});
  w.open_outside(cat1, "/proc/200/environ", 4001, O_RDONLY, kProcDev);
  w.write_new(300, 20, "out1");
  w.exit(cat1);
  w.exit(a);
  auto b = w.run(sh, 201, {"second"});
  w.read(201, 11);
  auto cat2 = w.run(sh, 301, {"cat", "/proc/201/environ"});
  w.open_outside(cat2, "/proc/201/environ", 4001, O_RDONLY, kProcDev);
  w.write_new(301, 21, "out2");
  w.exit(cat2);
  w.exit(b);
  w.commit();
  auto r = why(*w.db, path("out2"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(second, second-secret)")) << r.text;
  EXPECT_FALSE(has(e, "used(first, first-secret)")) << r.text;
}

}  // namespace
