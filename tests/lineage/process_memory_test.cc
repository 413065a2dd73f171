// Another process's environment or memory read through /proc (query-cli/LINEAGE.md §3,
// "Process memory"): `cat /proc/PID/environ`, gdb or a credential dumper reading
// /proc/PID/mem take in what that process had read; the probes report those opens only
// (events.h OPEN), and a process's own are runtime, not recorded. process_vm_readv and
// process_vm_writev move memory the same way, and message queues between processes.
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

// process_vm_readv (events.h v14, PROC_MEMORY) is a read of the target's memory like an
// open of /proc/PID/mem: a dumper's output goes back to what the target had read before
// the call, not what it read after.
TEST(ProcessMemory, ProcessVmReadvTakesInWhatTheTargetHadRead) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "password"}, {11, "later"}});
  auto agent = w.run(sh, 200, {"agent"});
  w.read(200, 10);
  auto dumper = w.run(sh, 300, {"dumper"});
  w.proc_memory(dumper, agent, /*write=*/false);
  w.proc_memory(dumper, dumper, false);  // its own: nothing
  w.write_new(300, 20, "dump");
  w.exit(dumper);
  auto debugger = w.run(sh, 301, {"debugger"});
  w.proc_memory(debugger, agent, /*write=*/false, /*ptrace=*/true);
  w.write_new(301, 21, "peeked");
  w.exit(debugger);
  w.read(200, 11);
  w.exit(agent);
  w.commit();
  auto r = why(*w.db, path("dump"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(dumper, /proc/200/mem)")) << r.text;
  EXPECT_TRUE(has(e, "generated(/proc/200/mem, agent)")) << r.text;
  EXPECT_TRUE(has(e, "used(agent, password)")) << r.text;
  EXPECT_FALSE(has(e, "used(agent, later)")) << r.text;
  EXPECT_NE(r.text.find("read (process_vm_readv) /proc/200/mem"), std::string::npos) << r.text;
  auto peeked = why(*w.db, path("peeked"));
  ASSERT_TRUE(peeked.found) << peeked.message;
  EXPECT_TRUE(has(edges(peeked.graph), "used(agent, password)")) << peeked.text;
  EXPECT_NE(peeked.text.find("read (ptrace PEEKDATA) /proc/200/mem"), std::string::npos)
      << peeked.text;
}

// process_vm_writev puts what the writer had read into the target: the target's later
// output goes back to the writer's input (an injection), its earlier output does not.
TEST(ProcessMemory, ProcessVmWritevPutsTheWritersInputIntoTheTarget) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "payload"}});
  auto server = w.run(sh, 200, {"server"});
  w.write_new(200, 20, "before");
  auto injector = w.run(sh, 300, {"injector"});
  w.read(300, 10);
  w.proc_memory(injector, server, /*write=*/true);
  w.exit(injector);
  w.write_new(200, 21, "after");
  w.exit(server);
  w.commit();
  auto r = why(*w.db, path("after"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(server, /proc/300/mem)")) << r.text;
  EXPECT_TRUE(has(e, "generated(/proc/300/mem, injector)")) << r.text;
  EXPECT_TRUE(has(e, "used(injector, payload)")) << r.text;
  EXPECT_NE(r.text.find("written into its memory (process_vm_writev): /proc/300/mem"),
            std::string::npos)
      << r.text;
  auto earlier = why(*w.db, path("before"));
  ASSERT_TRUE(earlier.found) << earlier.message;
  EXPECT_EQ(earlier.text.find("payload"), std::string::npos) << earlier.text;
}

// Message queues (events.h v14) are streams from their senders to their receivers: a
// receiver's output goes back to what was sent before its receive, on that queue only.
TEST(ProcessMemory, AMessageQueuesReceiverTakesInWhatItsSendersHadRead) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "job-spec"}, {11, "other-spec"}, {12, "late-spec"}});
  constexpr uint64_t kIpcNs = 4026531839, kMqueueDev = 0x13;
  auto producer = w.run(sh, 200, {"producer"});
  w.read(200, 10);
  w.queue_io(producer, BENTO_CHANNEL_SYSV_MSG, kIpcNs, 32768, /*write=*/true);
  auto other = w.run(sh, 201, {"other"});
  w.read(201, 11);
  w.queue_io(other, BENTO_CHANNEL_MQUEUE, kMqueueDev, 900, true);  // another queue
  auto consumer = w.run(sh, 300, {"consumer"});
  w.queue_io(consumer, BENTO_CHANNEL_SYSV_MSG, kIpcNs, 32768, false);
  w.write_new(300, 20, "result");
  auto late = w.run(sh, 202, {"late"});  // sends after the receive
  w.read(202, 12);
  w.queue_io(late, BENTO_CHANNEL_SYSV_MSG, kIpcNs, 32768, true);
  for (auto p : {producer, other, consumer, late}) w.exit(p);
  w.commit();
  auto r = why(*w.db, path("result"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(producer, job-spec)")) << r.text;
  EXPECT_FALSE(has(e, "used(other, other-spec)")) << r.text;
  EXPECT_FALSE(has(e, "used(late, late-spec)")) << r.text;
  EXPECT_NE(r.text.find("[System V message queue 32768]"), std::string::npos) << r.text;
}

}  // namespace
