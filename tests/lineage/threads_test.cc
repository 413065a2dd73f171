// Threads (query-cli/LINEAGE.md "Threads", schema v10 thread_io): a process is one activity
// and its threads share its memory, so no read of one thread is dropped from what another
// wrote. But where the fs log names the thread of each read and write on a mount, a read
// only other threads made, one of which wrote a file of its own (a thread pool's worker),
// is said to be maybe only for that file.
#include <gtest/gtest.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

bool has(const std::set<std::string>& e, const std::string& x) {
  return e.count(x) != 0;
}

// A pool of two workers: each reads its input and writes its output; the main thread read
// the configuration before it made them (the record knows no thread for that read).
TEST(Threads, AnotherWorkersInputIsMaybeOnlyForItsOutput) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in1"}, {11, "in2"}, {12, "conf"}});
  auto py = w.run(sh, 200, {"python3", "pool.py"});
  w.read(200, 12);
  w.fork(py, 0, /*thread=*/true, 201);
  w.fork(py, 0, /*thread=*/true, 202);
  w.read(201, 10);
  w.read(202, 11);
  w.write_new(201, 20, "out1");
  w.write_new(202, 21, "out2");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, path("out1"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(python3 pool.py, in2)")) << "said, never dropped\n" << r.text;
  const std::string other = line_with(r.text, path("in2") + "  (");
  EXPECT_NE(other.find("read by another of its threads (tid 202), which wrote " + path("out2") +
                       ": maybe only for that one"),
            std::string::npos)
      << r.text;
  EXPECT_EQ(line_with(r.text, path("in1") + "  (").find("another of its threads"),
            std::string::npos)
      << r.text;
  EXPECT_EQ(line_with(r.text, path("conf") + "  (").find("another of its threads"),
            std::string::npos)
      << r.text;
  // Forward: in1 reached out2 through the process, by another thread than the one that
  // read it.
  auto im = impact(*w.db, path("in1"));
  ASSERT_TRUE(im.found) << im.message;
  EXPECT_NE(line_with(im.text, path("out2") + "  (")
                .find("by another of its threads than the one that read this (tid 201, which "
                      "wrote " +
                      path("out1") + "): maybe not from it"),
            std::string::npos)
      << im.text;
  EXPECT_EQ(line_with(im.text, path("out1") + "  (").find("another of its threads"),
            std::string::npos)
      << im.text;
  auto r2 = why(*w.db, path("out2"));
  ASSERT_TRUE(r2.found) << r2.message;
  EXPECT_NE(line_with(r2.text, path("in1") + "  (").find("(tid 201), which wrote " + path("out1")),
            std::string::npos)
      << r2.text;
}

// Both workers read a shared table; the second one's read was served from the page cache
// (the fs log has its open, not a read): it read it too, and nothing is said of it.
TEST(Threads, AReadTheCacheServedIsKnownByTheThreadsOpen) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in1"}, {11, "in2"}, {12, "table"}});
  auto py = w.run(sh, 200, {"python3", "pool.py"});
  w.fork(py, 0, /*thread=*/true, 201);
  w.fork(py, 0, /*thread=*/true, 202);
  w.read(201, 12);
  const uint64_t cached = ++w.next_fh;
  w.record(RecordType::kOpen, 202, 12, "", cached, O_RDONLY);
  w.release(12, cached, O_RDONLY);
  w.read(201, 10);
  w.read(202, 11);
  w.write_new(201, 20, "out1");
  w.write_new(202, 21, "out2");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, path("out2"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_EQ(line_with(r.text, path("table") + "  (").find("another of its threads"),
            std::string::npos)
      << r.text;
  EXPECT_NE(line_with(r.text, path("in1") + "  (").find("another of its threads"),
            std::string::npos)
      << r.text;
}

// A thread that only reads (an acceptor taking requests, xz's reader) hands its data to the
// thread that writes: its reads are not said to be for anything else.
TEST(Threads, AThreadThatWroteNothingOfItsOwnIsNoBatch) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "request"}, {11, "data"}});
  auto server = w.run(sh, 200, {"server"});
  w.fork(server, 0, /*thread=*/true, 201);
  w.fork(server, 0, /*thread=*/true, 202);
  w.read(201, 10);  // the acceptor
  w.read(202, 11);  // the worker reads its data and writes the result
  w.write_new(202, 20, "result");
  w.exit(server);
  w.commit();
  auto r = why(*w.db, path("result"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_EQ(r.text.find("another of its threads"), std::string::npos) << r.text;
  EXPECT_TRUE(has(edges(r.graph), "used(server, request)")) << r.text;
}

}  // namespace
