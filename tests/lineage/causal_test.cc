// What makes a `prov why` answer trustworthy (query-cli/LINEAGE.md), in process: only
// time-respecting paths count, the depth limit is monotone, runtime reads fold by the
// documented rule (and --all shows them), the text does not lie about the program or
// break on control characters, later versions and deletions are marked, and a damaged
// database or a failed statement is an error, never a different answer.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "lineage_world.h"
#include "run_command.h"

namespace {

using namespace lineage_test;
using bento::test::run;
using bento::test::RunResult;
using nlohmann::json;

// "read" edges of an activity, by the argv shown in lineage_edges.
bool has(const std::set<std::string>& e, const std::string& x) {
  return e.count(x) != 0;
}

// `prov ARGS --db DB`: its exit status and what it printed (stdout and stderr).
RunResult run_prov(const std::string& args, const std::string& db) {
  return run(std::string(PROV_BIN) + " " + args + " --db " + db);
}

// `K=$(cat cfg)` in the shell sh: a child (pid) execs cat, which reads cfg (ino) and writes
// a pipe the shell reads.
void substitute_cat(World& w, World::Proc sh, uint32_t pid, uint64_t ino) {
  auto sub = w.run(sh, pid, {"cat", "cfg"});
  w.read(pid, ino);
  w.pipe_io(sub, 900 + pid, /*write=*/true);
  w.exit(sub);
  w.pipe_io(sh, 900 + pid, /*write=*/false);
}

TEST(Causal, AReadAfterTheLastWriteIsNotAnInput) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "a"}, {11, "secret"}});
  auto p = w.run(sh, 200, {"bash", "-c", "x"});
  w.read(200, 10);  // read a, then write out ...
  w.write_new(200, 12, "out");
  w.read(200, 11);  // ... and only then read secret
  w.exit(p);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(bash -c x, a)")) << json(e).dump(1);
  EXPECT_FALSE(has(e, "used(bash -c x, secret)")) << "read after out was written: " << r.text;
  EXPECT_EQ(r.text.find(path("secret")), std::string::npos) << r.text;
  // Forward, the same rule: out is not an impact of secret.
  auto i = impact(*w.db, path("secret"));
  ASSERT_TRUE(i.found);
  EXPECT_FALSE(has(edges(i.graph), "generated(out, bash -c x)")) << i.text;
  EXPECT_TRUE(has(edges(impact(*w.db, path("a")).graph), "generated(out, bash -c x)"));
}

TEST(Causal, AParentReadingAfterItsChildWroteIsNotAnInput) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "early"}, {11, "secret"}});
  auto parent = w.run(sh, 300, {"parent"});
  w.read(300, 10);  // before the fork: the child inherits it
  auto child = w.fork(parent, 301);
  w.write_new(301, 12, "out");
  w.exit(child);
  w.read(300, 11);  // after the child wrote
  w.exit(parent);
  w.commit();
  auto e = edges(why(*w.db, path("out")).graph);
  EXPECT_TRUE(has(e, "generated(out, fork of parent)")) << json(e).dump(1);
  EXPECT_TRUE(has(e, "informed(fork of parent, parent)")) << json(e).dump(1);
  EXPECT_TRUE(has(e, "used(parent, early)")) << "read before the fork" << json(e).dump(1);
  EXPECT_FALSE(has(e, "used(parent, secret)")) << "read after the child wrote" << json(e).dump(1);
}

TEST(Causal, APipeReadAfterTheWriteIsNotAnInput) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "secret"}});
  auto feeder = w.run(sh, 400, {"cat", "secret"});
  w.read(400, 11);
  w.pipe_io(feeder, 7000, true);
  auto late = w.run(sh, 401, {"late-reader"});
  w.write_new(401, 12, "out");
  w.pipe_io(late, 7000, false);  // reads the pipe after writing out
  auto early = w.run(sh, 402, {"early-reader"});
  w.pipe_io(early, 7000, false);  // reads the pipe, then writes out2
  w.write_new(402, 13, "out2");
  w.commit();
  auto out = edges(why(*w.db, path("out")).graph);
  EXPECT_FALSE(has(out, "used(late-reader, pipe)")) << json(out).dump(1);
  EXPECT_FALSE(has(out, "used(cat secret, secret)")) << json(out).dump(1);
  auto out2 = edges(why(*w.db, path("out2")).graph);
  EXPECT_TRUE(has(out2, "used(early-reader, pipe)")) << json(out2).dump(1);
  EXPECT_TRUE(has(out2, "used(cat secret, secret)")) << json(out2).dump(1);
}

// A multiprocessing pool: workers send their results over one pipe, the parent writes each
// result to its own file as it comes. A worker had already read its next input when the
// parent wrote the file of its last result; that input is not in it. The probes report a
// worker's write again only after it read something new, and the parent's read again only
// after such a write (events.h v10): what the parent had read by its last reported read
// came from each worker's state at that worker's last reported write before it.
TEST(Causal, APoolWorkersNextInputIsNotInTheFileOfItsLastResult) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in1"}, {11, "in2"}, {12, "in3"}});
  auto parent = w.run(sh, 500, {"pool"});
  auto w1 = w.run(sh, 501, {"worker1"});
  auto w2 = w.run(sh, 502, {"worker2"});
  w.read(501, 10);
  w.pipe_io(w1, 7100, true);  // result 1
  w.pipe_io(parent, 7100, false);
  w.read(501, 12);             // worker 1 starts on in3 ...
  w.write_new(500, 20, "p1");  // ... before the parent writes p1
  w.read(502, 11);
  w.pipe_io(w2, 7100, true);  // result 2
  w.pipe_io(parent, 7100, false, /*again=*/1);
  w.write_new(500, 21, "p2");
  w.pipe_io(w1, 7100, true, /*again=*/1);  // result 3
  w.pipe_io(parent, 7100, false, /*again=*/1);
  w.write_new(500, 22, "p3");
  w.commit();
  auto p1 = edges(why(*w.db, path("p1")).graph);
  EXPECT_TRUE(has(p1, "used(worker1, in1)")) << json(p1).dump(1);
  EXPECT_FALSE(has(p1, "used(worker1, in3)")) << "read after its result 1" << json(p1).dump(1);
  EXPECT_FALSE(has(p1, "used(worker2, in2)")) << json(p1).dump(1);
  auto p2 = edges(why(*w.db, path("p2")).graph);
  EXPECT_TRUE(has(p2, "used(worker2, in2)")) << json(p2).dump(1);
  EXPECT_FALSE(has(p2, "used(worker1, in3)")) << json(p2).dump(1);
  auto r3 = why(*w.db, path("p3"));
  auto p3 = edges(r3.graph);
  EXPECT_TRUE(has(p3, "used(worker1, in3)")) << json(p3).dump(1);
  // in1 and in2 are listed (the parent read them before p3), each said to be maybe only for
  // the file the parent wrote after taking in the result they made; in3 is not.
  std::map<std::string, std::string> file_of, said;  // entity id -> path; input -> earlier file
  for (const auto& n : r3.graph["entities"])
    if (n.value("kind", "") == "file") file_of[n.value("id", "")] = n.value("path", "");
  for (const auto& e : r3.graph["edges"])
    if (e.value("type", "") == "used" && e.contains("before_output") &&
        file_of.count(e.value("entity", "")) != 0)
      said[file_of[e.value("entity", "")]] = e["before_output"].value("path", "");
  EXPECT_EQ(said, (std::map<std::string, std::string>{{path("in1"), path("p1")},
                                                      {path("in2"), path("p2")}}))
      << r3.graph.dump(1);
  for (const auto& [input, file] : std::map<std::string, std::string>{{"in1", "p1"}, {"in2", "p2"}})
    EXPECT_NE(line_with(r3.text, path(input)).find("read before it finished " + path(file)),
              std::string::npos)
        << r3.text;
  EXPECT_EQ(line_with(r3.text, path("in3")).find("maybe only"), std::string::npos) << r3.text;
  // Forward: in3 reached p3 only.
  auto i = impact(*w.db, path("in3"));
  ASSERT_TRUE(i.found) << i.message;
  auto fwd = edges(i.graph);
  EXPECT_TRUE(has(fwd, "generated(p3, pool)")) << json(fwd).dump(1);
  EXPECT_FALSE(has(fwd, "generated(p1, pool)")) << json(fwd).dump(1);
  EXPECT_FALSE(has(fwd, "generated(p2, pool)")) << json(fwd).dump(1);
}

// `gzip -d < t.tgz | tar x` of a small archive: gzip writes the pipe once, tar takes it in
// at its first read and writes `one`, then `two`. That message is tar's only input, so it
// is where `two` came from too: not said to be maybe only for `one` (the pool above, whose
// parent took later messages in after its earlier files, still is).
TEST(Causal, AReadersOnlyPipeMessageIsNotSaidToBeForItsFirstFileOnly) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "t.tgz"}});
  auto gz = w.run(sh, 200, {"gzip", "-d"});
  w.read(200, 10);
  w.pipe_io(gz, 7200, true);
  w.exit(gz);
  auto tar = w.run(sh, 201, {"tar", "x"});
  w.pipe_io(tar, 7200, false);
  w.write_new(201, 20, "one");
  w.write_new(201, 21, "two");
  w.exit(tar);
  w.commit();
  auto r = why(*w.db, path("two"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(has(edges(r.graph), "used(gzip -d, t.tgz)")) << r.text;
  EXPECT_EQ(r.text.find("maybe only for"), std::string::npos) << r.text;
  for (const auto& e : r.graph["edges"]) EXPECT_FALSE(e.contains("before_output")) << e.dump();
}

// A chatty pair reports a pipe at most BENTO_PIPE_IO_REPORTS times per image and direction;
// the last report (BENTO_PIPE_IO_OPEN) says its reads go on unreported until it ends. What
// the writer sent after that is then in the reader's output (not cut at its last report).
TEST(Causal, AReaderPastItsLastPipeReportReadsUntilItEnds) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in1"}, {11, "in2"}});
  auto writer = w.run(sh, 800, {"writer"});
  auto reader = w.run(sh, 801, {"reader"});
  w.read(800, 10);
  w.pipe_io(writer, 7400, /*write=*/true);
  w.pipe_io(reader, 7400, /*write=*/false);
  w.pipe_io(reader, 7400, /*write=*/false, BENTO_PIPE_IO_OPEN);  // no more reports
  w.read(800, 11);
  w.pipe_io(writer, 7400, /*write=*/true, /*again=*/1);  // its read of this is unreported
  w.write_new(801, 20, "out");
  w.exit(reader);
  w.commit();
  auto e = edges(why(*w.db, path("out")).graph);
  EXPECT_TRUE(has(e, "used(writer, in1)")) << json(e).dump(1);
  EXPECT_TRUE(has(e, "used(writer, in2)")) << json(e).dump(1);
}

// make's jobserver: make puts tokens back into a pipe and takes them again between the
// commands it starts. Such a read of a pipe only make itself wrote (reported again after its
// own write, events.h v10) brought nothing in: not listed as what it may have passed on to
// the next command.
TEST(Causal, AReadOfAPipeOnlyTheReaderWroteIsNotPassedOn) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "Makefile"}});
  auto make = w.run(sh, 600, {"make"});
  w.read(600, 10);
  w.pipe_io(make, 7200, /*write=*/true);  // a token back
  auto cc1 = w.run(make, 601, {"cc", "one"});
  w.exit(cc1);
  w.pipe_io(make, 7200, /*write=*/false, /*again=*/1);  // and taken again
  auto cc2 = w.run(make, 602, {"cc", "two"});
  w.write_new(602, 20, "two.o");
  w.exit(cc2);
  w.commit();
  auto r = why(*w.db, path("two.o"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_EQ(r.text.find("pipe:["), std::string::npos) << r.text;
  EXPECT_FALSE(has(edges(r.graph), "used(make, pipe)")) << json(edges(r.graph)).dump(1);
}

// An event loop's self-pipe (node's and libuv's wake-up pipes, a server and its client in
// one process): a pipe only the reader wrote carried nothing it did not have. Folded with
// its scratch files, not listed as an input of what it wrote; a pipe another process wrote
// too is listed.
TEST(Causal, APipeOnlyItsReaderWroteIsFoldedUnderItsOutput) {
  for (const bool other_writer : {false, true}) {
    SCOPED_TRACE(other_writer ? "another writer too" : "its own pipe");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "in"}});
    auto node = w.run(sh, 600, {"node", "job.js"});
    w.read(600, 10);
    w.pipe_io(node, 7300, /*write=*/true);
    if (other_writer) {
      auto echo = w.run(sh, 601, {"feeder"});
      w.pipe_io(echo, 7300, /*write=*/true);
      w.exit(echo);
    }
    w.pipe_io(node, 7300, /*write=*/false);
    w.write_new(600, 20, "out");
    w.exit(node);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_EQ(r.text.find("read pipe:[") != std::string::npos, other_writer) << r.text;
    EXPECT_EQ(r.text.find("pipes and sockets it wrote itself (1)") != std::string::npos,
              !other_writer)
        << r.text;
    EXPECT_NE(r.text.find(path("in")), std::string::npos) << r.text;
  }
}

// `sh -c 'tr a-z A-Z < in > out'`: the shell opens `in` for the command it starts and
// never reads it; tr reads it on its stdin. The shell's open is not a read that may reach
// tr through its command line (no bytes of `in` went through the shell): `in` is listed
// once, as tr's input.
TEST(Causal, AFileTheShellOnlyOpenedForTheCommandIsNotPassedOnThroughItsCommandLine) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto shc = w.run(sh, 710, {"sh", "-c", "tr a-z A-Z < in > out"});
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kOpen, 710, 10, "", fh, O_RDONLY);
  auto tr = w.fork(shc, 711);
  w.exec(tr, {"tr", "a-z", "A-Z"});
  w.record(RecordType::kRead, 711, 10, "", fh, O_RDONLY);
  w.write_new(711, 20, "out");
  w.release(10, fh, O_RDONLY);
  w.exit(tr);
  w.exit(shc);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_EQ(r.text.find(kPassedOn), std::string::npos) << r.text;
  EXPECT_NE(line_with(r.text, path("in")).find("read"), std::string::npos) << r.text;
}

// `producer | while read x; do cmd "$x" > "o$x"; done`: the loop's shell reads a line for
// each command it starts. Its read after it started the first command is reported again
// (events.h v10), so the second command's answer lists that read as what its command line
// may hold, as the first command's lists the first read.
TEST(Causal, AShellLoopsReadOfAPipeForEachCommandIsListedUnderThatCommand) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "names"}, {11, "cfg"}});
  auto producer = w.run(sh, 700, {"cat", "names"});
  w.read(700, 10);
  w.pipe_io(producer, 7300, /*write=*/true);
  auto loop = w.fork(sh, 701);
  w.read(701, 11);  // kept in full: it read a file of the mount
  w.pipe_io(loop, 7300, /*write=*/false);
  auto one = w.fork(loop, 702);
  w.exec(one, {"cmd", "one"});
  w.write_new(702, 20, "o1");
  w.exit(one);
  w.pipe_io(loop, 7300, /*write=*/false, /*again=*/1);  // the next line
  auto two = w.fork(loop, 703);
  w.exec(two, {"cmd", "two"});
  w.write_new(703, 21, "o2");
  w.exit(two);
  w.commit();
  for (const char* out : {"o1", "o2"}) {
    SCOPED_TRACE(out);
    auto r = why(*w.db, path(out));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(line_with(r.text, "pipe:[").find(kPassedOn), std::string::npos) << r.text;
    EXPECT_NE(r.text.find(path("names")), std::string::npos) << r.text;
  }
}

// `find /etc/ssh -name '*config' | xargs tar cf keys.tar`: xargs touches nothing of the
// mount and is kept only as tar's parent, find not at all. What xargs read before it started
// tar (find's output) is what tar's command line is made of: listed under xargs, with find
// and its listing. The same for `tar cf keys.tar $(find ...)`: the shell's read of the output
// of a command it took in.
TEST(Causal, WhatAParentKeptOnlyAsWhoRanTheWriterReadBeforeTheForkIsListed) {
  for (bool xargs : {true, false}) {
    SCOPED_TRACE(xargs ? "find | xargs tar" : "tar $(find)");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({});
    auto shell = w.run(sh, 800, {"sh", "-c", "collect"});
    auto find = w.run(shell, 801, {"find", "/etc/ssh", "-name", "*config"});
    w.list_outside(find, "/etc/ssh", 7000);
    w.pipe_io(find, 900, /*write=*/true);
    w.exit(find);
    World::Proc parent = shell;
    if (xargs) parent = w.run(shell, 802, {"xargs", "tar", "cf", "keys.tar"});
    w.pipe_io(parent, 900, /*write=*/false);
    auto tar = w.run(parent, 803, {"tar", "cf", "keys.tar", "/etc/ssh/ssh_config"});
    w.read_outside(tar, "/etc/ssh/ssh_config", 7001);
    w.write_new(803, 20, "keys.tar");
    w.exit(tar);
    if (xargs) w.exit(parent);
    w.exit(shell);
    w.commit();
    auto r = why(*w.db, path("keys.tar"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(line_with(r.text, "read pipe:[900]").find(kPassedOn), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("written by find /etc/ssh -name *config"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("listed directory /etc/ssh"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("read /etc/ssh/ssh_config"), std::string::npos) << r.text;
  }
}

// `ls /tmp/in/* | xargs -I{} cp {} dir/`: the glob is expanded in the forked child before
// it runs ls (bash expands a pipeline's words there), so the listing of /tmp/in is that
// image's, and what ls printed (the names xargs gave cp) is made of it. xargs read all of
// it before its first cp: the second cp's line came from that read all the same.
TEST(Causal, AGlobExpandedInTheChildBeforeItsExecIsWhatItsCommandLineHolds) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto shell = w.run(sh, 800, {"sh", "-c", "collect"});
  auto ls = w.fork(shell, 801);
  w.list_outside(ls, "/tmp/in", 7000);
  w.exec(ls, {"ls", "/tmp/in/a", "/tmp/in/key"});
  w.pipe_io(ls, 900, /*write=*/true);
  w.exit(ls);
  auto xargs = w.run(shell, 802, {"xargs", "-I{}", "cp", "{}", "dir/"});
  w.pipe_io(xargs, 900, /*write=*/false);
  auto cp1 = w.run(xargs, 803, {"cp", "/tmp/in/a", "dir/"});
  w.read_outside(cp1, "/tmp/in/a", 7002);
  w.write_new(803, 21, "a");
  w.exit(cp1);
  auto cp = w.run(xargs, 804, {"cp", "/tmp/in/key", "dir/"});
  w.read_outside(cp, "/tmp/in/key", 7001);
  w.write_new(804, 20, "key");
  w.exit(cp);
  w.exit(xargs);
  w.exit(shell);
  w.commit();
  auto r = why(*w.db, path("key"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(line_with(r.text, "read pipe:[900]").find(kPassedOn), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("written by ls /tmp/in/a /tmp/in/key"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("listed directory /tmp/in"), std::string::npos) << r.text;
}

// Two UDP flows under the same addresses (a client port used again): the first flow's
// sender and receiver are still undecided (the receiver's write on the mount not yet read
// from the log) when the second socket sends. Each output names its own flow's input.
TEST(Causal, AnUndecidedFlowKeepsItsSocketWhenTheAddressesAreUsedAgain) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "in_u1"}, {12, "in_u2"}});
  for (uint32_t i = 0; i < 2; i++) {  // flow i: client pid 400 + 2i, server 401 + 2i
    const std::string n = std::to_string(i + 1);
    auto client = w.run(sh, 400 + 2 * i, {"client", "in_u" + n});
    w.read(400 + 2 * i, 11 + i);
    w.udp_io(client, 5001 + 2 * i, 38420, 55415, /*send=*/true);
    auto server = w.run(sh, 401 + 2 * i, {"server", "out_u" + n});
    w.udp_io(server, 5002 + 2 * i, 55415, 38420, /*send=*/false);
    w.exit(client);
  }
  w.write_new(401, 21, "out_u1");  // flow 1's output is read from the log only now
  w.write_new(403, 22, "out_u2");
  w.commit();
  for (const auto& [mine, other] : {std::pair{"1", "2"}, std::pair{"2", "1"}}) {
    auto e = edges(why(*w.db, path(std::string("out_u") + mine)).graph);
    EXPECT_TRUE(has(e, std::string("used(client in_u") + mine + ", in_u" + mine + ")"))
        << json(e).dump(1);
    EXPECT_FALSE(has(e, std::string("used(client in_u") + other + ", in_u" + other + ")"))
        << json(e).dump(1);
  }
}

// A source k process hops away is found at every depth >= k, also when a longer path
// meets the same nodes first (the depth-first search of old printed "(shown above)" there
// and never expanded them again).
TEST(Causal, DepthIsMonotone) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "src"}});
  // src -> cp1 -> f1 -> cp2 -> f2 -> cp3 -> out: src is 3 hops from out.
  w.filter(sh, 501, {"cp1"}, 10, 11, "f1");
  w.filter(sh, 502, {"cp2"}, 11, 12, "f2");
  // A detour that reaches f1's writer late: f2 -> long1 -> g1 -> long2 -> g2, read by cp3.
  w.filter(sh, 503, {"long1"}, 12, 13, "g1");
  w.filter(sh, 504, {"long2"}, 13, 14, "g2");
  auto cp3 = w.run(sh, 505, {"cp3"});
  w.read(505, 14);  // the long way first
  w.read(505, 12);  // then f2 directly
  w.write_new(505, 15, "out");
  w.exit(cp3);
  w.commit();
  for (int depth = 1; depth <= 8; depth++) {
    auto e = edges(why(*w.db, path("out"), depth, /*all=*/true).graph);
    EXPECT_EQ(has(e, "used(cp1, src)"), depth >= 3) << "depth " << depth << json(e).dump(1);
    EXPECT_EQ(has(e, "used(cp2, f1)"), depth >= 2) << "depth " << depth;
  }
}

// A chain longer than the depth bound: the answer says where it stopped (text and JSON),
// shows the process at the frontier (its inputs are unknown, so it may carry data), and a
// search deep enough is complete and finds the first source. The default reaches a
// 10-step pipeline's source.
TEST(Causal, TheDepthBoundNeverCutsSilently) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "src"}});
  // src -> step1 -> f1 -> step2 -> ... -> step10 -> f10: src is 10 hops from f10.
  for (uint32_t i = 1; i <= 10; i++)
    w.filter(sh, 800 + i, {"step" + std::to_string(i)}, 10 + i - 1, 10 + i,
             "f" + std::to_string(i));
  w.commit();
  auto cut = why(*w.db, path("f10"), 4, /*all=*/false);
  ASSERT_TRUE(cut.found) << cut.message;
  EXPECT_FALSE(cut.graph.value("complete", true)) << cut.graph.dump(1);
  ASSERT_EQ(cut.graph["beyond_depth"].size(), 1u) << cut.graph.dump(1);
  // Reading costs a hop: f9, f8, f7 and f6 are 1 to 4 hops back, so step6's input f5 lies
  // beyond: step6 is the frontier.
  const std::string frontier = cut.graph["beyond_depth"][0];
  bool named = false;
  for (const json& a : cut.graph["activities"])
    if (a.value("id", "") == frontier) named = a["argv"] == json::array({"step6"});
  EXPECT_TRUE(named) << frontier << cut.graph.dump(1);
  EXPECT_NE(cut.text.find("its inputs lie beyond --depth 4"), std::string::npos) << cut.text;
  EXPECT_NE(cut.text.find("(incomplete: the search stopped at --depth 4 at 1 place"),
            std::string::npos)
      << cut.text;
  EXPECT_EQ(cut.text.find(path("src")), std::string::npos) << cut.text;
  // Deep enough: complete, the source found, no marker.
  for (auto r : {why(*w.db, path("f10"), 10, false), why(*w.db, path("f10"))}) {
    ASSERT_TRUE(r.found);
    EXPECT_TRUE(r.graph.value("complete", false)) << r.graph.dump(1);
    EXPECT_TRUE(has(edges(r.graph), "used(step1, src)")) << r.text;
    EXPECT_EQ(r.text.find("beyond --depth"), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find("incomplete"), std::string::npos) << r.text;
  }
  // Forward the same: f1's impact at depth 3 stops at f4's readers.
  auto fwd = impact(*w.db, path("src"), 3);
  ASSERT_TRUE(fwd.found);
  EXPECT_FALSE(fwd.graph.value("complete", true)) << fwd.text;
  EXPECT_NE(fwd.text.find("its readers lie beyond --depth 3"), std::string::npos) << fwd.text;
  EXPECT_TRUE(impact(*w.db, path("src"), 20).graph.value("complete", false));
}

// A log thirty processes appended to, each from its own input: the answer lists its
// versions newest first as one list, each with its writer and that writer's input under
// it, not a staircase thirty levels deep.
TEST(Causal, AFilesVersionsAreOneListNewestFirst) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  const uint32_t n = 30;
  for (uint32_t i = 1; i <= n; i++) w.write_new(100, 100 + i, "in" + std::to_string(i));
  for (uint32_t i = 1; i <= n; i++) {
    auto p = w.run(sh, 300 + i, {"append" + std::to_string(i)});
    w.read(300 + i, 100 + i);
    const uint64_t fh = 900 + i;
    if (i == 1)
      w.record(RecordType::kCreate, 300 + i, 50, "app.log", fh, O_WRONLY | O_CREAT | O_APPEND,
               S_IFREG | 0644, 1);
    else
      w.record(RecordType::kOpen, 300 + i, 50, "", fh, O_WRONLY | O_APPEND);
    w.record(RecordType::kWrite, 300 + i, 50, "", fh, O_WRONLY | O_APPEND);
    w.release(50, fh, O_WRONLY | O_APPEND, w.t);
    w.exit(p);
  }
  w.commit();
  auto r = why(*w.db, path("app.log"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(r.graph.value("complete", false)) << r.text;
  size_t last_at = 0;
  for (uint32_t i = n; i >= 1; i--) {  // newest first
    const std::string in = path("in" + std::to_string(i)) + "  (version 1";
    EXPECT_TRUE(
        has(edges(r.graph), "used(append" + std::to_string(i) + ", in" + std::to_string(i) + ")"))
        << r.text;
    const size_t at = r.text.find(in);
    ASSERT_NE(at, std::string::npos) << in << "\n" << r.text;
    EXPECT_GT(at, last_at) << in << "\n" << r.text;
    last_at = at;
  }
  std::istringstream lines(r.text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("previous version") == std::string::npos) continue;
    EXPECT_TRUE(line.rfind("├─ previous version", 0) == 0 ||
                line.rfind("└─ previous version", 0) == 0)
        << line << "\n"
        << r.text;
  }
  EXPECT_EQ(r.text.find("continued below"), std::string::npos) << r.text;
  // Forward the same: in1's impact lists the log's 29 next versions as siblings.
  auto fwd = impact(*w.db, path("in1"));
  ASSERT_TRUE(fwd.found) << fwd.message;
  EXPECT_NE(fwd.text.find(path("app.log") + "  (version 30"), std::string::npos) << fwd.text;
  std::istringstream flines(fwd.text);
  std::set<size_t> columns;
  for (std::string line; std::getline(flines, line);)
    if (line.find("next version") != std::string::npos) columns.insert(line.find("next version"));
  EXPECT_EQ(columns.size(), 1u) << fwd.text;
}

// The answer ends with its origins: what its data came from that nothing in the record
// made (a file there before the record), not a file the record saw written, nor the
// script of who ran the writer (that made the command, not the data). Impact ends with
// what the data reached.
TEST(Causal, TheAnswerNamesItsOriginsOnce) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto job = w.run(sh, 200, {"sh", "/srv/job.sh"});
  w.read_outside(job, "/srv/job.sh", 7001);
  auto tool = w.run(job, 201, {"tool", "/srv/data.csv"});
  w.read_outside(tool, "/srv/data.csv", 7002);
  w.write_new(201, 20, "mid");
  w.exit(tool);
  w.filter(job, 300, {"sort"}, 20, 21, "out");
  w.exit(job);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("program /srv/job.sh"), std::string::npos) << r.text;
  const size_t at = r.text.find("origins (there before the record, or from outside it): ");
  ASSERT_NE(at, std::string::npos) << r.text;
  const std::string line = r.text.substr(at, r.text.find('\n', at) - at);
  EXPECT_NE(line.find("/srv/data.csv"), std::string::npos) << line;
  EXPECT_EQ(line.find("/srv/job.sh"), std::string::npos) << line;
  EXPECT_EQ(line.find(path("mid")), std::string::npos) << line;
  std::set<std::string> origins;
  for (const auto& id : r.graph["origins"])
    for (const auto& e : r.graph["entities"])
      if (e["id"] == id) origins.insert(e.value("path", ""));
  EXPECT_EQ(origins, std::set<std::string>{"/srv/data.csv"}) << r.graph.dump(1);
  // Forward, impact ends with what the data went into: mid and out, not the file asked about.
  auto fwd = impact(*w.db, "/srv/data.csv");
  ASSERT_TRUE(fwd.found) << fwd.message;
  const size_t rat = fwd.text.find("reached (files and remote peers its data went into): ");
  ASSERT_NE(rat, std::string::npos) << fwd.text;
  EXPECT_EQ(
      fwd.text.substr(rat, fwd.text.find('\n', rat) - rat),
      "reached (files and remote peers its data went into): " + path("mid") + ", " + path("out"))
      << fwd.text;
  std::set<std::string> reached;
  for (const auto& id : fwd.graph["reached"])
    for (const auto& e : fwd.graph["entities"])
      if (e["id"] == id) reached.insert(e.value("path", ""));
  EXPECT_EQ(reached, (std::set<std::string>{path("mid"), path("out")})) << fwd.graph.dump(1);

  // A download: its origin is the remote peer it came from.
  auto curl = w.run(sh, 400, {"curl", "-o", "dl", "https://203.0.113.5/x"});
  w.inet_event(curl, BENTO_EV_SOCK_RECV, 6100, 40100, 443, SOCK_STREAM, BENTO_SOCK_INSTANT,
               {203, 0, 113, 5});
  w.write_new(400, 30, "dl");
  w.exit(curl);
  w.commit();
  auto dl = why(*w.db, path("dl"));
  ASSERT_TRUE(dl.found) << dl.message;
  const size_t o = dl.text.find("origins (there before the record, or from outside it): ");
  ASSERT_NE(o, std::string::npos) << dl.text;
  EXPECT_NE(dl.text.find("203.0.113.5:443", o), std::string::npos) << dl.text;
}

// A temp file renamed into place is reached once, under the name the data ended up with.
TEST(Causal, WhatImpactReachedIsNamedOnceByItsNewestName) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto tool = w.run(sh, 201, {"tool", "/srv/data.csv"});
  w.read_outside(tool, "/srv/data.csv", 7002);
  w.write_new(201, 20, "counts.tmp");
  w.exit(tool);
  auto mv = w.run(sh, 202, {"mv", "counts.tmp", "out.csv"});
  w.record(RecordType::kRename, 202, 20, "counts.tmp", 0, 0, S_IFREG | 0644, 1, "out.csv", 1);
  w.exit(mv);
  w.commit();
  auto fwd = impact(*w.db, "/srv/data.csv");
  ASSERT_TRUE(fwd.found) << fwd.message;
  EXPECT_NE(fwd.text.find("counts.tmp"), std::string::npos) << fwd.text;  // in the tree
  const size_t at = fwd.text.find("reached (files and remote peers its data went into): ");
  ASSERT_NE(at, std::string::npos) << fwd.text;
  EXPECT_EQ(fwd.text.substr(at, fwd.text.find('\n', at) - at),
            "reached (files and remote peers its data went into): " + path("out.csv"))
      << fwd.text;
  ASSERT_EQ(fwd.graph["reached"].size(), 1u) << fwd.graph.dump(1);
}

// Without --depth, an answer the default cut short is searched again deeper while it stays
// small: a 40-step chain is answered back to its first source (backward and forward) and
// says the depth it took. A wide answer (thousands of writers) stays at the default and
// says where it stopped; an explicit --depth is kept as given.
TEST(Causal, TheDefaultDepthDeepensAThinAnswerToItsSource) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "src"}});
  for (uint32_t i = 1; i <= 40; i++)
    w.filter(sh, 800 + i, {"step" + std::to_string(i)}, 10 + i - 1, 10 + i,
             "f" + std::to_string(i));
  w.commit();
  auto deep = why(*w.db, path("f40"));
  ASSERT_TRUE(deep.found) << deep.message;
  EXPECT_TRUE(deep.graph.value("complete", false)) << deep.text;
  EXPECT_EQ(deep.graph.value("depth", 0), 48) << deep.graph.dump(1);
  EXPECT_TRUE(has(edges(deep.graph), "used(step1, src)")) << deep.text;
  EXPECT_EQ(deep.text.find("beyond --depth"), std::string::npos) << deep.text;
  // 80 levels of tree: what lies deeper than 96 columns is continued below, numbered.
  EXPECT_NE(deep.text.find("(continued below as [1])"), std::string::npos) << deep.text;
  EXPECT_NE(deep.text.find("\n[1] "), std::string::npos) << deep.text;
  std::istringstream lines(deep.text);
  for (std::string line; std::getline(lines, line);) {
    size_t tree = 0;  // the columns of tree before the line's text
    for (size_t i = 0; i < line.size(); tree++) {
      if (line[i] == ' ')
        i++;
      else if (line.compare(i, 3, "│") == 0 || line.compare(i, 3, "├") == 0 ||
               line.compare(i, 3, "└") == 0 || line.compare(i, 3, "─") == 0)
        i += 3;  // each 3 bytes of UTF-8, one column
      else
        break;
    }
    EXPECT_LE(tree, 100u) << line;
  }
  auto fwd = impact(*w.db, path("src"));
  EXPECT_TRUE(fwd.graph.value("complete", false)) << fwd.text;
  EXPECT_TRUE(has(edges(fwd.graph), "generated(f40, step40)")) << fwd.text;
  auto asked = why(*w.db, path("f40"), 12);
  EXPECT_FALSE(asked.graph.value("complete", true)) << asked.text;
  EXPECT_NE(asked.text.find("its inputs lie beyond --depth 12"), std::string::npos);

  // gather reads f40 and 2,100 files of as many writers: over 4,000 nodes within 12 hops,
  // more than a deeper search may reach (kDeepenNodes).
  const uint32_t wide = 2100;
  for (uint32_t i = 0; i < wide; i++) {
    World::Proc p = w.run(sh, 3000 + i, {"writer"});
    w.write_new(3000 + i, 5000 + i, "w" + std::to_string(i));
    w.exit(p);
  }
  World::Proc gather = w.run(sh, 9000, {"gather"});
  w.read(9000, 50);
  for (uint32_t i = 0; i < wide; i++) w.read(9000, 5000 + i);
  w.write_new(9000, 9999, "all");
  w.exit(gather);
  w.commit();
  auto cut = why(*w.db, path("all"));
  ASSERT_TRUE(cut.found) << cut.message;
  EXPECT_EQ(cut.graph.value("depth", 0), 12);
  EXPECT_FALSE(cut.graph.value("complete", true));
  EXPECT_NE(cut.text.find("(incomplete: the search stopped at --depth 12"), std::string::npos);
}

// A process that is still running can touch the mount at any time: what it read long
// before (a notebook that loaded a download, then wrote a result minutes later) is still
// its input, however far the logs have been read since.
TEST(Causal, ARunningProcessKeepsItsInputsUntilItWrites) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto nb = w.run(sh, 900, {"notebook"});
  w.open_outside(nb, "/home/u/download.csv", 9100, O_RDONLY);
  auto quick = w.run(sh, 901, {"quick"});  // a process that read something and ended
  w.open_outside(quick, "/home/u/other.csv", 9101, O_RDONLY);
  w.exit(quick);
  w.commit();
  // Ten minutes of other work on the mount and the host: the logs and the probes are read
  // far past both.
  for (uint32_t i = 0; i < 10; i++) {
    w.t += 60'000'000'000ULL;
    w.run(sh, 960 + i, {"other"});
    w.write_new(960 + i, 30 + i, "log" + std::to_string(i));
    w.commit();
  }
  w.write_new(900, 20, "result.csv");
  w.commit();
  auto e = edges(why(*w.db, path("result.csv")).graph);
  EXPECT_TRUE(has(e, "used(notebook, /home/u/download.csv)")) << json(e).dump(1);
}

// What provd cannot hold for an undecided process is dropped oldest first, and the
// process, once kept, is marked in every answer: never a confident partial list.
TEST(Causal, DroppedEventsOfAProcessAreSaidWhereItIsShown) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto busy = w.run(sh, 950, {"busy"});
  // More outside reads than one undecided process may keep waiting (4096).
  for (uint64_t i = 0; i < 5000; i++)
    w.open_outside(busy, "/srv/in/" + std::to_string(i), 20000 + i, O_RDONLY);
  w.write_new(950, 20, "out");
  w.commit();
  auto r = why(*w.db, path("out"), 0, /*all=*/true);
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(busy, /srv/in/4999)")) << "the newest reads stay";
  EXPECT_FALSE(has(e, "used(busy, /srv/in/0)")) << "the oldest went";
  int64_t lost = 0;
  for (const json& a : r.graph["activities"])
    if (a["argv"] == json::array({"busy"})) lost = a.value("inputs_lost", 0LL);
  EXPECT_GT(lost, 0) << r.graph.dump(1);
  EXPECT_NE(r.text.find("of its events were dropped before it was tracked"), std::string::npos)
      << r.text;
}

// `sort a b > /tmp/mid; cp /tmp/mid out` from a shell that once read a secret: the shell's
// forked image opens /tmp/mid, sort (after the exec) writes it, so sort's inputs are mid's
// sources; the driving shell's own reads reach sort and cp only through their command lines
// and environment, so they are held back (said, --all lists them).
TEST(Causal, AShellsRedirectIsWrittenByTheProgramItRuns) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"driver"});
  w.write_new(100, 10, "a");
  w.write_new(100, 11, "secret");
  w.read(100, 11);  // X=$(cat secret): the driver read it
  auto redirect = w.fork(sh, 300);
  w.open_outside(redirect, "/tmp/mid", 7000, O_WRONLY | O_CREAT | O_TRUNC);
  w.exec(redirect, {"sort", "a"});
  w.read(300, 10);
  w.file_io(redirect, 7000, /*write=*/true);
  w.exit(redirect);
  auto cp = w.run(sh, 301, {"cp", "/tmp/mid", "out"});
  w.open_outside(cp, "/tmp/mid", 7000, O_RDONLY);
  w.write_new(301, 12, "out");
  w.exit(cp);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "generated(/tmp/mid, sort a)")) << json(e).dump(1);
  EXPECT_TRUE(has(e, "used(sort a, a)")) << json(e).dump(1);
  // Read since the last command the driver started: listed as what it may have passed on
  // in sort's command line, not as the data sort read.
  EXPECT_NE(line_with(r.text, "opened " + path("secret")).find(kPassedOn), std::string::npos)
      << r.text;
  EXPECT_NE(r.text.find("reaches this program only through its command line"), std::string::npos)
      << r.text;
  // --all still shows the driver's read.
  EXPECT_TRUE(has(edges(why(*w.db, path("out"), 0, /*all=*/true).graph), "used(driver, secret)"));
  // Forward, the commands it ran are followed (the secret may be on their command line),
  // with the note; the forked images are marked in the JSON.
  auto im = impact(*w.db, path("secret"));
  ASSERT_TRUE(im.found) << im.message;
  EXPECT_NE(im.text.find("wrote " + path("out")), std::string::npos) << im.text;
  EXPECT_NE(im.text.find("then ran cp /tmp/mid out  (pid 301"), std::string::npos) << im.text;
  EXPECT_NE(im.text.find("what its parent had read reaches this program only through its "
                         "command line or environment"),
            std::string::npos)
      << im.text;
  int argv_only = 0;
  for (const auto& n : im.graph["activities"])
    if (n.value("argv_only", false)) argv_only++;
  EXPECT_EQ(argv_only, 2) << im.graph.dump(1);  // sort's and cp's forked images
}

// tail -f, or a config read again through the handle it was opened with: what a process
// reads after another rewrote the file reaches what it writes. The fs logs a thread's first
// read through a handle only, so a reader holding the file open when a new version begins
// is a reader of that version; one that let go of it before is not.
TEST(Causal, AReaderHoldingAFileOpenReadsItsLaterVersions) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "conf"}, {11, "secret"}});
  auto early = w.run(sh, 302, {"early"});
  w.read(302, 10);  // opens, reads, closes
  auto reader = w.run(sh, 300, {"reader"});
  const uint64_t held = ++w.next_fh;
  w.record(RecordType::kOpen, 300, 10, "", held, O_RDONLY);
  w.record(RecordType::kRead, 300, 10, "", held, O_RDONLY);
  auto cat = w.run(sh, 301, {"cat", "secret"});
  w.read(301, 11);
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kOpen, 301, 10, "", fh, O_WRONLY | O_TRUNC);
  w.record(RecordType::kWrite, 301, 10, "", fh, O_WRONLY);
  w.release(10, fh, O_WRONLY, w.t);
  w.exit(cat);
  w.write_new(300, 12, "out");
  w.release(10, held, O_RDONLY);
  w.exit(reader);
  w.write_new(302, 13, "out2");
  w.exit(early);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(cat secret, secret)")) << "the rewrite it read is missing: " << r.text;
  EXPECT_NE(r.text.find(path("secret")), std::string::npos) << r.text;
  auto e2 = edges(why(*w.db, path("out2")).graph);
  EXPECT_FALSE(has(e2, "used(cat secret, secret)")) << json(e2).dump(1);
  // Forward alike, and said as it is known: it held the file open, not that it read it.
  auto fwd = impact(*w.db, path("secret"));
  ASSERT_TRUE(fwd.found) << fwd.message;
  EXPECT_NE(fwd.text.find("opened by reader"), std::string::npos) << fwd.text;
  EXPECT_NE(fwd.text.find(path("out ")), std::string::npos) << fwd.text;
}

// "ran after exec from" names the programs each earlier image ran: the pyenv shim (a bash
// script given the user's script as its argument) is not the user's script, and find given
// a directory is find, not the directory.
TEST(Causal, AnExecChainNamesTheProgramsRun) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "a"}});
  auto job = w.run(sh, 300, {"bash", "/root/.pyenv/shims/python3", "/srv/job.py"});
  w.exec(job, {"python3", "/srv/job.py"});
  w.read(300, 10);
  w.write_new(300, 12, "out");
  w.exit(job);
  auto find = w.run(sh, 301, {"find", path("src"), "-exec", "gzip", "{}", ";"});
  auto gz = w.fork(find, 302);
  w.exec(gz, {"gzip", path("a")});
  w.read(302, 10);
  w.write_new(302, 13, "a.gz");
  w.exit(gz);
  w.exit(find);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("ran after exec from bash python3 ← setup"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("from job.py"), std::string::npos) << r.text;
  auto z = why(*w.db, path("a.gz"));
  ASSERT_TRUE(z.found) << z.message;
  EXPECT_NE(z.text.find("ran after exec from find src"), std::string::npos) << z.text;
}

// ed keeps its buffer in a tmpfile(3): open("/tmp", O_TMPFILE). The path names the
// directory (as passed, or as the probes' walk names the file: the kernel's placeholder
// "/tmp/#INO"); the file itself has no name, and must not read as "read /tmp".
TEST(Causal, AnUnnamedTmpfileIsNotItsDirectory) {
  for (const char* opened : {"/tmp", "/tmp/#7000"}) {
    SCOPED_TRACE(opened);
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "g"}});
    auto ed = w.run(sh, 300, {"ed", "g"});
    w.read(300, 10);
    w.open_outside(ed, opened, 7000, O_RDWR | O_TMPFILE);
    w.file_io(ed, 7000, /*write=*/true);
    w.file_io(ed, 7000, /*write=*/false);
    w.write_new(300, 12, "out");
    w.exit(ed);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    auto e = edges(r.graph);
    // What it read is what it wrote there (version 2; its open read nothing of version 1).
    EXPECT_TRUE(has(e, "used(ed g, /tmp/<unnamed O_TMPFILE>@v2)")) << json(e).dump(1);
    EXPECT_FALSE(has(e, "used(ed g, /tmp)")) << json(e).dump(1);
    EXPECT_EQ(r.text.find("/tmp  ("), std::string::npos) << r.text;
  }
}

// A file with no path (a memfd reopened through /proc/self/fd/N): the probes' walk of its
// dentry ends at once ("/"). It is a source all the same, named as what it is, not "/".
// A client connects to the AF_UNIX socket /run/app.sock and sends a token it read; the
// server receives it on its accepted socket and writes out. The flow is named by the path
// the client connected to, not socket:[INO].
TEST(Causal, AUnixSocketIsNamedByThePathItsClientConnectedTo) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "token"}});
  auto server = w.run(sh, 301, {"server"});
  auto client = w.run(sh, 300, {"client"});
  w.read(300, 10);
  w.unix_event(client, BENTO_EV_SOCK_CONNECT, 11, 12, "/run/app.sock");
  w.unix_event(client, BENTO_EV_SOCK_SEND, 11, 12);
  w.unix_event(server, BENTO_EV_SOCK_RECV, 12, 11);
  w.write_new(301, 20, "out");
  w.exit(client);
  w.exit(server);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("received over unix /run/app.sock"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("opened " + path("token")), std::string::npos) << r.text;
}

TEST(Causal, AFileWithoutAPathIsNamedSo) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto py = w.run(sh, 300, {"python3", "job.py"});
  w.read_outside(py, "/", 7000);
  w.write_new(300, 12, "out");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read <file without a path>"), std::string::npos) << r.text;
}

// A memfd (memfd_create("stage"), written, then reopened through /proc/PID/fd/N): the walk
// ends at once ("/"), but the kernel names it "memfd:stage" (/proc/PID/fd shows
// "/memfd:stage (deleted)"). Named so from whichever holder's fd provd can still look at:
// the writer's (its first write), else the opener's.
TEST(Causal, AMemfdIsNamedAsTheKernelNamesIt) {
  // fd_path answers for the holder still running: the writer (300) or the reader (301).
  class HostWithMemfd : public bento::collector::ProcHostFacts {
   public:
    explicit HostWithMemfd(uint32_t holder) : holder_(holder) {}
    std::string fd_path(uint32_t pid, int, uint64_t, uint64_t) override {
      return pid == holder_ ? "memfd:stage" : "";
    }

   private:
    uint32_t holder_;
  };
  for (uint32_t holder : {300u, 301u}) {
    SCOPED_TRACE("the fd looked at is pid " + std::to_string(holder) + "'s");
    TempDir dir;
    World w(dir.path() + "/prov.db", kMnt, std::make_unique<HostWithMemfd>(holder));
    auto sh = w.setup({});
    auto py = w.run(sh, 300, {"python3", "stage.py"});
    w.file_io(py, 7000, /*write=*/true, 0x801, /*fd=*/3);  // memfd_create opens nothing
    auto cat = w.run(py, 301, {"cat", "/proc/self/fd/3"});
    w.read_outside(cat, "/", 7000, 0x801);
    w.write_new(301, 12, "out");
    w.exit(cat);
    w.exit(py);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find("read memfd:stage"), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find("without a path"), std::string::npos) << r.text;
    EXPECT_TRUE(has(edges(r.graph), "generated(memfd:stage, python3 stage.py)"))
        << json(edges(r.graph)).dump(1);
  }
}

// A script's shell (pid 100) had its stdout redirected to a log before tracking began;
// a command it runs (300) writes the log through that inherited fd 1 and exits before
// provd reads its write, and a later command (301) reads the log through its stdin. The
// writer's fd is gone: the log is named from the fd 1 its shell still holds.
TEST(Causal, AnInheritedLogIsNamedFromTheShellThatStillHoldsIt) {
  class HostWithLog : public bento::collector::ProcHostFacts {
   public:
    std::string fd_path(uint32_t pid, int fd, uint64_t, uint64_t ino) override {
      return pid == 100 && fd == 1 && ino == 7000 ? "/var/log/job.log" : "";
    }
  };
  TempDir dir;
  World w(dir.path() + "/prov.db", kMnt, std::make_unique<HostWithLog>());
  auto sh = w.setup({{10, "in"}});
  auto job = w.run(sh, 300, {"sort", "in"});
  w.read(300, 10);
  w.file_io(job, 7000, /*write=*/true, 0x801, /*fd=*/1);
  w.exit(job);
  auto cat = w.run(sh, 301, {"cat"});
  w.file_io(cat, 7000, /*write=*/false, 0x801, /*fd=*/0);
  w.write_new(301, 12, "out");
  w.exit(cat);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read /var/log/job.log"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("name never seen"), std::string::npos) << r.text;
  EXPECT_TRUE(has(edges(r.graph), "used(sort in, in)")) << json(edges(r.graph)).dump(1);
}

// `cat a > out; cat b > out`: the second `>` empties out before cat b writes, so nothing of
// a is in it. The emptied version follows the old one but does not come from it.
TEST(Causal, AnEmptiedFileDoesNotComeFromItsOldContent) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "a"}, {11, "b"}});
  w.filter(sh, 300, {"cat", "a"}, 10, 12, "out");
  // The shell's forked image opens out for writing and FUSE truncates it to 0 (no atomic
  // O_TRUNC); cat b, exec'd in the same process, writes it.
  auto second = w.fork(sh, 301);
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kOpen, 301, 12, "", fh, O_WRONLY);
  w.record(RecordType::kTruncate, 301, 12, "", 0, 0, S_IFREG | 0644, 1, "", 1, /*aux=*/0);
  w.exec(second, {"cat", "b"});
  w.read(301, 11);
  w.record(RecordType::kWrite, 301, 12, "", fh, O_WRONLY);
  w.release(12, fh, O_WRONLY, w.t);
  w.exit(second);
  // A truncation that keeps a prefix keeps what it held.
  auto cut = w.run(sh, 302, {"truncate", "-s", "10", "a"});
  w.record(RecordType::kTruncate, 302, 10, "", 0, 0, S_IFREG | 0644, 1, "", 1, /*aux=*/10);
  w.exit(cut);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(cat b, b)")) << json(e).dump(1);
  EXPECT_FALSE(has(e, "used(cat a, a)")) << "the emptied content came back: " << r.text;
  EXPECT_EQ(r.text.find(path("a ")), std::string::npos) << r.text;
  EXPECT_FALSE(has(e, "derived(out@v2, out, version)")) << json(e).dump(1);
  auto kept = why(*w.db, path("a"));
  EXPECT_TRUE(has(edges(kept.graph), "derived(a@v2, a, version)")) << kept.text;
  // An export still shows the file's whole chain of versions, the emptied link as such.
  prov_cli::LineageOptions o;
  auto x = prov_cli::export_graph(*w.db, {.path = path("out")}, o);
  ASSERT_TRUE(x.found) << x.message;
  EXPECT_TRUE(has(edges(x.graph), "derived(out@v2, out, replaced)")) << x.graph.dump(1);
  EXPECT_FALSE(has(edges(x.graph), "used(cat a, a)")) << x.graph.dump(1);
}

// logrotate's copytruncate (or `: > log`) beside a daemon that holds the log open: the
// truncation empties the version the daemon wrote, so what it wrote before is not in what
// follows; only a write it makes after the truncation (the fs logs it again) is.
TEST(Causal, ATruncationBesideAnOpenWriterEmptiesItsVersion) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "secret"}, {11, "fresh"}, {14, "late"}});
  auto daemon = w.run(sh, 300, {"daemon"});
  w.read(300, 10);
  const uint64_t held = ++w.next_fh;
  w.record(RecordType::kCreate, 300, 12, "app.log", held, O_WRONLY | O_CREAT | O_APPEND);
  w.record(RecordType::kWrite, 300, 12, "", held, O_WRONLY | O_APPEND);
  // truncate -s 0 app.log: an open without O_TRUNC, then ftruncate.
  auto cut = w.run(sh, 301, {"truncate", "-s", "0", "app.log"});
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kOpen, 301, 12, "", fh, O_WRONLY | O_CREAT);
  w.record(RecordType::kTruncate, 301, 12, "", fh, 0, S_IFREG | 0644, 1, "", 1, /*aux=*/0);
  w.release(12, fh, O_WRONLY);
  w.exit(cut);
  auto cat = w.run(sh, 302, {"cat", "fresh"});
  w.read(302, 11);
  const uint64_t app = ++w.next_fh;
  w.record(RecordType::kOpen, 302, 12, "", app, O_WRONLY | O_APPEND);
  w.record(RecordType::kWrite, 302, 12, "", app, O_WRONLY | O_APPEND);
  w.release(12, app, O_WRONLY | O_APPEND, w.t);
  w.exit(cat);
  auto cp = w.run(sh, 303, {"cp", "app.log", "copy"});
  w.read(303, 12);
  w.write_new(303, 13, "copy");
  w.exit(cp);
  // The daemon writes again: the fs logs its first write after the truncation.
  w.read(300, 14);
  w.record(RecordType::kWrite, 300, 12, "", held, O_WRONLY | O_APPEND);
  w.release(12, held, O_WRONLY | O_APPEND, w.t);
  auto cp2 = w.run(sh, 304, {"cp", "app.log", "copy2"});
  w.read(304, 12);
  w.write_new(304, 15, "copy2");
  w.exit(cp2);
  w.exit(daemon);
  w.commit();
  auto r = why(*w.db, path("copy"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(cat fresh, fresh)")) << r.text;
  EXPECT_FALSE(has(e, "used(daemon, secret)")) << "the truncated content came back: " << r.text;
  EXPECT_EQ(r.text.find(path("secret")), std::string::npos) << r.text;
  auto later = edges(why(*w.db, path("copy2")).graph);
  EXPECT_TRUE(has(later, "used(daemon, late)")) << json(later).dump(1);
  EXPECT_TRUE(has(later, "used(cat fresh, fresh)")) << json(later).dump(1);
}

// dash runs `sh -c 'cat a > /tmp/x'` by opening /tmp/x in itself and forking cat, which
// writes through the inherited fd: the open comes first, then cat's write, on one version.
TEST(Causal, AWriterThroughAnInheritedFdLandsOnItsParentsOpen) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "a"}});
  auto dash = w.run(sh, 300, {"sh", "-c", "cat a > /tmp/x"});
  w.open_outside(dash, "/tmp/x", 7000, O_WRONLY | O_CREAT | O_TRUNC);
  auto cat = w.run(dash, 301, {"cat", "a"});
  w.read(301, 10);  // a reader of the mount: its writes are kept as they come
  w.file_io(cat, 7000, /*write=*/true);
  w.exit(cat);
  w.exit(dash);
  auto cp = w.run(sh, 302, {"cp", "/tmp/x", "out"});
  w.read_outside(cp, "/tmp/x", 7000);
  w.write_new(302, 12, "out");
  w.exit(cp);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "generated(/tmp/x, cat a)")) << json(e).dump(1) << r.text;
  EXPECT_TRUE(has(e, "used(cat a, a)")) << json(e).dump(1);
  EXPECT_FALSE(has(e, "generated(/tmp/x@v2, cat a)"))
      << "the write came before the open: " << r.text;
}

// `tar czf /tmp/a.tgz src` then `tar xzf /tmp/a.tgz`: tar's child opens the archive and
// execs gzip with it as stdin. gzip's read names a file it never opened itself; the file
// and its writers are still found.
TEST(Causal, AReadThroughAnFdAnotherImageOpenedFindsTheFileAndItsWriter) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "src"}});
  // tar czf: its gzip child writes the archive that its forked image opened.
  auto pack = w.run(sh, 200, {"tar", "czf", "/tmp/a.tgz", "src"});
  w.read(200, 10);
  w.pipe_io(pack, 900, /*write=*/true);
  auto zip = w.fork(pack, 201);
  w.open_outside(zip, "/tmp/a.tgz", 7100, O_WRONLY | O_CREAT | O_TRUNC);
  w.exec(zip, {"gzip"});
  w.pipe_io(zip, 900, /*write=*/false);
  w.file_io(zip, 7100, /*write=*/true);
  w.exit(zip);
  w.exit(pack);
  // tar xzf: the child opens the archive, execs gzip -d, which reads it and feeds tar.
  auto unpack = w.run(sh, 300, {"tar", "xzf", "/tmp/a.tgz"});
  auto unzip = w.fork(unpack, 301);
  w.open_outside(unzip, "/tmp/a.tgz", 7100, O_RDONLY);
  w.exec(unzip, {"gzip", "-d"});
  w.file_io(unzip, 7100, /*write=*/false);
  w.pipe_io(unzip, 901, /*write=*/true);
  w.exit(unzip);
  w.pipe_io(unpack, 901, /*write=*/false);
  w.write_new(300, 12, "extracted");
  w.exit(unpack);
  w.commit();
  auto r = why(*w.db, path("extracted"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(gzip -d, /tmp/a.tgz)")) << json(e).dump(1) << r.text;
  EXPECT_TRUE(has(e, "generated(/tmp/a.tgz, gzip)")) << json(e).dump(1);
  EXPECT_TRUE(has(e, "used(tar czf /tmp/a.tgz src, src)")) << json(e).dump(1);
}

// A writer kept late takes its version's place in time: `cat /secret > /tmp/f` (touches no
// mount: not kept), then `cat in > /tmp/f` (truncates and refills it), then `cp /tmp/f out`.
// The reader keeps the first writer (a cause of the file it read) after the refill was
// stored; out holds what the refill wrote, not the secret.
TEST(Causal, AWriterKeptLateDoesNotBecomeTheNewestVersion) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto early = w.run(sh, 200, {"cat", "/secret"});
  w.read_outside(early, "/secret", 7001);
  w.write_outside(early, "/tmp/f", 7000);
  w.exit(early);
  auto refill = w.run(sh, 300, {"cat", "in"});
  w.read(300, 10);  // a reader of the mount: kept as it comes
  w.write_outside(refill, "/tmp/f", 7000);
  w.exit(refill);
  auto cp = w.run(sh, 400, {"cp", "/tmp/f", "out"});
  w.read_outside(cp, "/tmp/f", 7000);
  w.write_new(400, 12, "out");
  w.exit(cp);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(cat in, in)")) << "the refill is missing: " << r.text;
  EXPECT_FALSE(has(e, "used(cat /secret, /secret)"))
      << "the truncated content came back: " << r.text;
  EXPECT_EQ(r.text.find("/secret"), std::string::npos) << r.text;
  // The versions of /tmp/f are numbered in the order they began.
  bento::lineage::Stmt q(w.db->handle(),
                         "SELECT e.version, e.created_ns FROM entities e JOIN names n ON "
                         "n.file_id = e.file_id WHERE n.path = '/tmp/f' ORDER BY e.version");
  int64_t last = 0;
  while (q.step()) {
    EXPECT_GT(q.int64(1), last) << "version " << q.int64(0) << " began before the one before it";
    last = q.int64(1);
  }
}

// `K=$(cat cfg); { cat a; } > out`: the shell creates out and cat, its forked child, writes
// it through the inherited handle. The shell wrote nothing into out: cfg, which it had
// read, is not a source of out; the shell is still named as who created it.
TEST(Causal, AShellThatOnlyCreatedTheFileGaveItNothingItRead) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"bash", "job.sh"});
  w.write_new(100, 10, "cfg");
  w.write_new(100, 11, "a");
  substitute_cat(w, sh, 200, 10);  // K=$(cat cfg)
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kCreate, 100, 12, "out", fh, O_WRONLY | O_CREAT | O_TRUNC);
  auto cat = w.run(sh, 201, {"cat", "a"});
  w.read(201, 11);
  w.record(RecordType::kWrite, 201, 12, "", fh, O_WRONLY);
  w.exit(cat);
  w.release(12, fh, O_WRONLY, w.t);
  // A subshell creates sub (`( exec 3> sub; cat a >&3 )`): its parent's read of cfg is not
  // sub's either.
  auto subshell = w.fork(sh, 202);
  const uint64_t fh2 = ++w.next_fh;
  w.record(RecordType::kCreate, 202, 14, "sub", fh2, O_WRONLY | O_CREAT | O_TRUNC);
  auto cat2 = w.run(subshell, 203, {"cat", "a"});
  w.read(203, 11);
  w.record(RecordType::kWrite, 203, 14, "", fh2, O_WRONLY);
  w.exit(cat2);
  w.release(14, fh2, O_WRONLY, w.t);
  w.exit(subshell);
  // The shell writes into a file of its own: there what it read counts.
  w.record(RecordType::kCreate, 100, 13, "own", ++w.next_fh, O_WRONLY | O_CREAT | O_TRUNC);
  w.record(RecordType::kWrite, 100, 13, "", w.next_fh, O_WRONLY);
  w.release(13, w.next_fh, O_WRONLY, w.t);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(cat a, a)")) << r.text;
  // cfg was read just before cat ran: only as what cat's command line may hold.
  EXPECT_NE(r.text.find(path("cfg")), std::string::npos) << r.text;
  EXPECT_NE(line_with(r.text, "read pipe:[").find(kPassedOn), std::string::npos)
      << "the creator's read is listed as data: " << r.text;
  EXPECT_NE(r.text.find("created by bash job.sh"), std::string::npos) << r.text;
  auto subr = why(*w.db, path("sub"));
  ASSERT_TRUE(subr.found) << subr.message;
  EXPECT_TRUE(has(edges(subr.graph), "used(cat a, a)")) << subr.text;
  // The subshell came after cat: cfg was read before the shell's last command.
  EXPECT_EQ(subr.text.find(path("cfg")), std::string::npos)
      << "its parent's read is listed: " << subr.text;
  auto own = why(*w.db, path("own"));
  ASSERT_TRUE(own.found) << own.message;
  EXPECT_NE(own.text.find(path("cfg")), std::string::npos) << own.text;
}

// A daemon creates its log, writes to it, and keeps the handle open while it reads requests
// and appends them: every request it read before its last write is a source of the log,
// while the handle is open and after it is released.
TEST(Causal, ACreatorThatWritesLaterKeepsItsInputs) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto daemon = w.run(sh, 200, {"logd"});
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kCreate, 200, 12, "log", fh, O_WRONLY | O_CREAT | O_APPEND);
  w.record(RecordType::kWrite, 200, 12, "", fh, O_WRONLY);  // "boot"
  w.write_new(100, 10, "req");
  w.read(200, 10);
  w.tick();  // appends it: the same thread, no new write record
  w.commit();
  auto open = why(*w.db, path("log"));
  ASSERT_TRUE(open.found) << open.message;
  EXPECT_TRUE(has(edges(open.graph), "used(logd, req)")) << open.text;
  EXPECT_NE(open.text.find(path("req")), std::string::npos) << open.text;
  w.release(12, fh, O_WRONLY, w.t);
  w.exit(daemon);
  w.commit();
  auto closed = why(*w.db, path("log"));
  ASSERT_TRUE(closed.found) << closed.message;
  EXPECT_NE(closed.text.find(path("req")), std::string::npos) << closed.text;
}

// `K=$(cat cfg); echo "$K" | tr a-z A-Z > out`: echo is a builtin, run by a forked subshell
// that never execs; it writes the pipe from its copy of the shell's memory. out holds cfg.
TEST(Causal, AForkedSubshellWritesWhatItsParentRead) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"bash", "job.sh"});
  w.write_new(100, 10, "cfg");
  substitute_cat(w, sh, 200, 10);  // K=$(cat cfg)
  auto echo = w.fork(sh, 300);     // no exec
  w.pipe_io(echo, 901, /*write=*/true);
  w.exit(echo);
  auto tr = w.run(sh, 301, {"tr", "a-z", "A-Z"});
  w.pipe_io(tr, 901, /*write=*/false);
  w.write_new(301, 12, "out");
  w.exit(tr);
  // `cat <<< "$K" > out2`: the forked image writes the here-string into a pipe, then execs
  // cat, which reads it.
  auto here = w.fork(sh, 302);
  w.pipe_io(here, 902, /*write=*/true);
  w.exec(here, {"cat"});
  w.pipe_io(here, 902, /*write=*/false);
  w.write_new(302, 13, "out2");
  w.exit(here);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(path("cfg")), std::string::npos)
      << "the variable's source is missing: " << r.text;
  auto r2 = why(*w.db, path("out2"));
  ASSERT_TRUE(r2.found) << r2.message;
  EXPECT_NE(r2.text.find(path("cfg")), std::string::npos)
      << "the here-string's source is missing: " << r2.text;
}

// `printf %s "$(cat secret)" > mid; cat mid > out`: printf reads nothing, its data came on
// its command line from what the shell had just read. As a writer of what is asked about
// its parent's passed-on read is listed; one level down (out's answer) too: the program
// carries that data, it is not folded as a writer without data inputs.
TEST(Causal, DataGivenOnACommandLineIsASourceAtAnyDepth) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"bash", "job.sh"});
  w.write_new(100, 10, "secret");
  w.write_new(100, 11, "decoy");
  substitute_cat(w, sh, 200, 10);  // $(cat secret)
  auto printf_ = w.run(sh, 201, {"/usr/bin/printf", "%s", "the-secret"});
  w.write_new(201, 12, "mid");
  w.exit(printf_);
  auto cat = w.run(sh, 202, {"cat", "mid"});
  w.read(202, 12);
  w.write_new(202, 13, "out");
  w.exit(cat);
  auto later = w.run(sh, 203, {"cat", "decoy"});  // not after a read of the shell's
  w.read(203, 11);
  w.exit(later);
  w.commit();
  for (const char* f : {"mid", "out"}) {
    auto r = why(*w.db, path(f));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find(path("secret")), std::string::npos) << f << "\n" << r.text;
    EXPECT_NE(r.text.find("read since the last command it started"), std::string::npos) << f << "\n"
                                                                                        << r.text;
    EXPECT_EQ(r.text.find(path("decoy")), std::string::npos) << f << "\n" << r.text;
  }
}

// `export TOKEN=$(cat secret); cmd; python3 job.py > out`: what the shell read before its
// last command is held back from job.py (it may be in its environment, or not), and the
// note names it, without listing it as a source.
TEST(Causal, WhatAParentReadBeforeItsLastCommandIsNamedInTheNote) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"bash", "job.sh"});
  w.write_new(100, 10, "secret");
  substitute_cat(w, sh, 200, 10);  // export TOKEN=$(cat secret)
  auto between = w.run(sh, 201, {"true"});
  w.exit(between);
  auto job = w.run(sh, 202, {"python3", "job.py"});
  w.write_new(202, 13, "out");
  w.exit(job);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("environment: not listed: the output of cat cfg (pid 200) (--all"),
            std::string::npos)
      << r.text;
  EXPECT_EQ(r.text.find("read pipe:"), std::string::npos) << "named, not listed\n" << r.text;
}

// A file written before provd started, by a process gone before provd could look it up:
// the fs log names only its tid. The answer says the program is unknown, not a blank.
TEST(Causal, AWriterGoneBeforeProvdIsNamedUnknown) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  w.write_new(4194301, 10, "early");  // a tid no process has here (above pid_max's default)
  w.run({1, 1}, 100, {"cat", "early"});
  w.read(100, 10);
  w.write_new(100, 12, "out");
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("created and written by [unknown program: exited before provd saw it]"),
            std::string::npos)
      << r.text;
}

// `K=$(cat cfg); ( cat a > out )`: the subshell reads nothing and forks cat, which execs.
// What the driving shell read reaches cat only through argv and environment, through the
// subshell as through any exec.
TEST(Causal, TheArgvRuleHoldsThroughASubshell) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"bash", "job.sh"});
  w.write_new(100, 10, "cfg");
  w.write_new(100, 11, "a");
  substitute_cat(w, sh, 200, 10);  // K=$(cat cfg)
  auto subshell = w.fork(sh, 300);
  w.filter(subshell, 301, {"cat", "a"}, 11, 12, "out");
  w.exit(subshell);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(has(edges(r.graph), "used(cat a, a)")) << r.text;
  EXPECT_NE(r.text.find(path("cfg")), std::string::npos) << r.text;
  EXPECT_NE(line_with(r.text, "read pipe:[").find(kPassedOn), std::string::npos)
      << "the driver's read is listed as data: " << r.text;
  EXPECT_NE(r.text.find("started by bash job.sh"), std::string::npos) << r.text;
}

// `K=$(cat k1); sort in > o1; K2=$(cat k2); cat o1 > o2`: under cat, its parent shows k2
// (read since sort, its last command) and not k1; under sort, the same parent shows k1.
TEST(Causal, WhatTheParentReadIsShownUnderTheCommandItMayHaveReached) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"bash", "job.sh"});
  w.write_new(100, 10, "k1");
  w.write_new(100, 11, "k2");
  w.write_new(100, 12, "in");
  substitute_cat(w, sh, 200, 10);  // K=$(cat k1)
  w.filter(sh, 300, {"sort", "in"}, 12, 13, "o1");
  substitute_cat(w, sh, 201, 11);  // K2=$(cat k2)
  w.filter(sh, 301, {"cat", "o1"}, 13, 14, "o2");
  w.commit();
  auto r = why(*w.db, path("o2"));
  ASSERT_TRUE(r.found) << r.message;
  const size_t k2 = r.text.find(path("k2")), sort = r.text.find("written by sort in"),
               k1 = r.text.find(path("k1"));
  ASSERT_NE(k2, std::string::npos) << r.text;
  ASSERT_NE(sort, std::string::npos) << r.text;
  ASSERT_NE(k1, std::string::npos) << r.text;
  EXPECT_LT(k2, sort) << "k2 is not under cat's parent: " << r.text;
  EXPECT_GT(k1, sort) << "k1 is not under sort's parent only: " << r.text;
  EXPECT_EQ(r.text.find(path("k1"), k1 + 1), std::string::npos) << r.text;
}

// A shell's forked image (pid 300) opens `out` (file 12) on a mount that is a real
// directory (the probes name it by its dev), then execs `cat f`, whose first write of out
// the probes report (at the call's entry; the fs logs a thread's first write through a
// handle only). `image_wrote`: the image wrote through the handle before the exec;
// `failed`: cat's write failed (ENOSPC) and the fs logged none. Returns out's edges.
struct ExecdWriter {
  prov_cli::QueryResult r;
  std::set<std::string> edges;
};
ExecdWriter execd_writer(bool image_wrote, bool failed) {
  TempDir dir;
  World w(dir.path() + "/prov.db", dir.path());
  struct stat st = {};
  EXPECT_EQ(::stat(dir.path().c_str(), &st), 0);
  auto sh = w.setup({{10, "f"}});
  auto sub = w.fork(sh, 300);
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kCreate, 300, 12, "out", fh, O_WRONLY | O_CREAT | O_APPEND);
  if (image_wrote) w.record(RecordType::kWrite, 300, 12, "", fh, O_WRONLY);
  w.exec(sub, {"cat", "f"});
  w.read(300, 10);
  w.file_io(sub, 12, /*write=*/true, st.st_dev);  // no fs record: the same thread, or failed
  w.exit(sub, failed ? 1 : 0);
  w.release(12, fh, O_WRONLY, image_wrote || !failed ? w.t : 0);
  w.commit();
  // The log is read well past the write (the probe's write waits for that).
  w.t += 3'000'000'000ULL;
  w.write_new(100, 20, "later");
  w.commit();
  ExecdWriter out{why(*w.db, dir.path() + "/out"), {}};
  EXPECT_TRUE(out.r.found) << out.r.message;
  out.edges = bento::test::lineage_edges(out.r.graph, dir.path(), {.versions = true});
  return out;
}

// `(echo a; cat f) >> out`: the subshell writes through its handle, then execs cat (the
// last command), which writes through the same handle with the same thread id. The fs log
// names a thread once per handle; the probes' first write of cat's image names cat.
TEST(Causal, AProgramExecdInTheWritersProcessIsNamedByItsWrite) {
  auto [r, e] = execd_writer(/*image_wrote=*/true, /*failed=*/false);
  EXPECT_TRUE(has(e, "used(cat f, f)")) << json(e).dump(1) << r.text;
  EXPECT_TRUE(has(e, "generated(out, cat f)")) << json(e).dump(1);
  EXPECT_NE(r.text.find("cat f"), std::string::npos) << r.text;
}

// `cat f > out` on a full disk: the shell's forked image creates out, cat's write fails
// (ENOSPC), and out stays empty. out was created by the shell, not written by cat.
TEST(Causal, AWriteThatFailedDidNotWriteTheFile) {
  auto [r, e] = execd_writer(/*image_wrote=*/false, /*failed=*/true);
  EXPECT_FALSE(has(e, "generated(out, cat f)")) << json(e).dump(1) << r.text;
  EXPECT_EQ(r.text.find("written by"), std::string::npos) << r.text;
}

// `cat /secret > /tmp/f; truncate -s 0 /tmp/f; cat in >> /tmp/f; cat /tmp/f > out`: the
// truncation emptied /tmp/f, so out holds `in` alone. Neither the first writer nor
// `truncate` touches a mount (they wait, undecided, until the reader keeps them): the
// truncation must wait with them, not be dropped. `truncate` opens without O_TRUNC and
// calls ftruncate; truncate(2) by path is the same; to a length above 0 keeps content.
TEST(Causal, ATruncationOutsideTheMountEmptiesTheFile) {
  struct Case {
    const char* what;
    bool by_path;
    int64_t length;
  };
  for (const Case& c : {Case{"ftruncate to 0", false, 0}, Case{"truncate(path) to 0", true, 0},
                        Case{"ftruncate to 1", false, 1}}) {
    SCOPED_TRACE(c.what);
    TempDir dir;
    World w(dir.path() + "/prov.db");
    const std::string f = dir.path() + "/f";  // a real file: truncate(path) is resolved
    std::ofstream(f) << "x";
    struct stat st = {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0);
    auto sh = w.setup({{10, "in"}});
    auto early = w.run(sh, 200, {"cat", "/secret"});
    w.read_outside(early, "/secret", 7001, st.st_dev);
    w.write_outside(early, f, st.st_ino, O_WRONLY | O_CREAT | O_TRUNC, st.st_dev);
    w.exit(early);
    auto trunc = w.run(sh, 300, {"truncate", "-s", std::to_string(c.length), f});
    if (c.by_path) {
      w.truncate_outside(trunc, 0, c.length, -1, f);
    } else {
      w.open_outside(trunc, f, st.st_ino, O_WRONLY | O_CREAT, st.st_dev);
      w.truncate_outside(trunc, st.st_ino, c.length, 3, "", st.st_dev);
    }
    w.exit(trunc);
    auto append = w.fork(sh, 400);  // the shell's `>> /tmp/f`, then cat in
    w.open_outside(append, f, st.st_ino, O_WRONLY | O_APPEND, st.st_dev);
    w.exec(append, {"cat", "in"});
    w.read(400, 10);
    w.file_io(append, st.st_ino, /*write=*/true, st.st_dev);
    w.exit(append);
    auto cp = w.run(sh, 500, {"cat", "f"});
    w.read_outside(cp, f, st.st_ino, st.st_dev);
    w.write_new(500, 12, "out");
    w.exit(cp);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    auto e = edges(r.graph);
    EXPECT_TRUE(has(e, "used(cat in, in)")) << r.text;
    EXPECT_EQ(r.text.find("/secret") != std::string::npos, c.length > 0) << r.text;
    EXPECT_NE(r.text.find("truncated by truncate"), std::string::npos) << r.text;
  }
}

// A writer that empties its file through its own fd and writes on (python: f.write(x);
// f.truncate(0); f.write(read("in"))): the probes report its first write only, so the
// truncation's version is written until the writer lets go of the file, not just at the
// ftruncate: `in`, read after it, is in the file.
TEST(Causal, AWriterThatTruncatesItsOwnFileWritesOn) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto py = w.run(sh, 200, {"python3", "job.py"});
  w.write_outside(py, "/tmp/f", 7000);
  w.truncate_outside(py, 7000, 0);
  w.read(200, 10);  // then writes what it read: no new first-write event
  w.exit(py);
  w.cat_outside(sh, 300, "/tmp/f", 7000, 12, "out");  // cat /tmp/f > out
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(has(edges(r.graph), "used(python3 job.py, in)")) << r.text;
}

// copytruncate: a daemon appends to /tmp/log and keeps it open; `truncate -s 0 /tmp/log`
// empties it; the daemon reads b and writes on (the probes report its first write only);
// `cat /tmp/log > out`. The daemon still writes into the emptied version: out is from b,
// by the daemon, not only "truncated by truncate".
TEST(Causal, AWriterHoldingAFileWritesIntoTheVersionAnotherMade) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "a"}, {11, "b"}});
  auto daemon = w.run(sh, 200, {"daemon"});
  w.read(200, 10);
  w.write_outside(daemon, "/tmp/log", 7000, O_WRONLY | O_CREAT | O_APPEND);
  auto trunc = w.run(sh, 300, {"truncate", "-s", "0", "/tmp/log"});
  w.open_outside(trunc, "/tmp/log", 7000, O_WRONLY | O_CREAT);
  w.truncate_outside(trunc, 7000, 0);
  w.exit(trunc);
  w.read(200, 11);  // then appends b's content: no new first-write event
  w.cat_outside(sh, 400, "/tmp/log", 7000, 12, "out");  // cat /tmp/log > out
  w.exit(daemon);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(daemon, b)")) << r.text;
  EXPECT_NE(r.text.find("truncated by truncate"), std::string::npos) << r.text;
}

// `sed -i s/x/y/ /tmp/f` writes a temporary file and renames it over /tmp/f. sed touches no
// mount: it waits, undecided, until `cat /tmp/f > out` keeps it. Its rename must wait with
// it, or the answer names the file by a temporary name that no longer exists.
TEST(Causal, ARenameOutsideTheMountWaitsWithItsActivity) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  const std::string tmp = dir.path() + "/sedX1", f = dir.path() + "/f";
  std::ofstream(tmp) << "y";  // the renamed file, as the collector finds it (lstat)
  struct stat st = {};
  ASSERT_EQ(::stat(tmp.c_str(), &st), 0);
  auto sh = w.setup({{10, "in"}});
  auto sed = w.run(sh, 200, {"sed", "-i", "s/x/y/", f});
  w.write_outside(sed, tmp, st.st_ino, O_RDWR | O_CREAT | O_EXCL, st.st_dev);
  ASSERT_EQ(::rename(tmp.c_str(), f.c_str()), 0);
  w.rename_outside(sed, tmp, f);
  w.exit(sed);
  auto cat = w.run(sh, 300, {"cat", f});
  w.read_outside(cat, f, st.st_ino, st.st_dev);
  w.write_new(300, 12, "out");
  w.exit(cat);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("created and written by sed"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("(as sedX1; then rename)"), std::string::npos) << r.text;
}

// `echo public > /tmp/f; K=$(cat cfg); cat /tmp/f > out`: the shell's write of /tmp/f ended
// when it closed the file, before it read cfg, so cfg is not in out. If the shell then
// appends "$K" (`echo "$K" >> /tmp/f`, reported again after the close), cfg is.
TEST(Causal, AWriteOutsideTheMountEndsAtItsLastClose) {
  for (bool appends : {false, true}) {
    SCOPED_TRACE(appends ? "appends after reading cfg" : "wrote only before");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.run({1, 1}, 100, {"bash", "job.sh"});
    w.write_new(100, 10, "cfg");
    w.write_outside(sh, "/tmp/f", 7000);
    w.close_outside(sh, 7000, /*last_write=*/true);
    substitute_cat(w, sh, 200, 10);  // K=$(cat cfg)
    if (appends) {
      w.write_outside(sh, "/tmp/f", 7000, O_WRONLY | O_APPEND);
      w.close_outside(sh, 7000, /*last_write=*/true);
    }
    w.cat_outside(sh, 300, "/tmp/f", 7000, 12, "out");  // cat /tmp/f > out
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find("/tmp/f"), std::string::npos) << r.text;
    // Without the append, cfg is only what the shell may have put in cat's command line.
    EXPECT_NE(r.text.find(path("cfg")), std::string::npos) << r.text;
    bool as_data = false;  // a line with the shell's read of cfg's pipe as /tmp/f's data
    std::istringstream lines(r.text);
    for (std::string l; std::getline(lines, l);)
      as_data = as_data || (l.find("read pipe:[") != std::string::npos &&
                            l.find(kPassedOn) == std::string::npos);
    EXPECT_EQ(as_data, appends) << r.text;
  }
}

// `exec 3< /tmp/f`, then `cp b /tmp/f` replaces its content, then `cat <&3 > out`: cat read
// /tmp/f as it was at its first read (the probes' FILE_IO), not as it was at the open. out
// comes from b, not from a (what /tmp/f held when it was opened).
TEST(Causal, AReadOutsideTheMountReadsTheVersionOfItsFirstRead) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "a"}, {11, "b"}});
  auto first = w.run(sh, 200, {"cp", "a", "/tmp/f"});
  w.read(200, 10);
  w.write_outside(first, "/tmp/f", 7000);
  w.close_outside(first, 7000, /*last_write=*/true);
  w.exit(first);
  auto cat = w.run(sh, 300, {"cat"});
  w.open_outside(cat, "/tmp/f", 7000, O_RDONLY);  // the open: before the second copy
  auto second = w.run(sh, 400, {"cp", "b", "/tmp/f"});
  w.read(400, 11);
  w.write_outside(second, "/tmp/f", 7000);  // O_TRUNC: nothing of a is left
  w.close_outside(second, 7000, /*last_write=*/true);
  w.exit(second);
  w.file_io(cat, 7000, /*write=*/false);  // the first read: after it
  w.write_new(300, 12, "out");
  w.exit(cat);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(path("b")), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find(path("a")), std::string::npos) << "a was gone before cat read: " << r.text;
}

// A file written through an fd its process opened before provd started (a daemon's log)
// is named from the fd while the process holds it: the answer says where the data went,
// not "[no name any more]".
TEST(Causal, AFileWrittenThroughAnFdOpenedBeforeTrackingIsNamed) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  const std::string log = dir.path() + "/daemon.log";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  struct stat st = {};
  ASSERT_EQ(fstat(fd, &st), 0);
  // This test process plays the daemon: the collector finds the fd in its /proc entry.
  const auto self = static_cast<uint32_t>(getpid());
  auto sh = w.setup({{10, "in"}});
  auto daemon = w.run(sh, self, {"daemon"});
  w.read(self, 10);
  w.file_io(daemon, st.st_ino, /*write=*/true, st.st_dev, fd);
  w.exit(daemon);
  w.commit();
  auto r = impact(*w.db, path("in"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("wrote " + log), std::string::npos) << r.text;
  // One the collector cannot name any more (the fd closed) is said to be unnamed.
  ::close(fd);
  auto daemon2 = w.run(sh, self, {"daemon2"});
  w.read(self, 10);
  w.file_io(daemon2, st.st_ino + 1, /*write=*/true, st.st_dev, fd);
  w.exit(daemon2);
  w.commit();
  auto r2 = impact(*w.db, path("in"));
  EXPECT_NE(r2.text.find("[name never seen]"), std::string::npos) << r2.text;
  EXPECT_EQ(r2.text.find("[no name any more]"), std::string::npos) << r2.text;
  // The summary line names it too (was an empty item: "reached ...: , /d/daemon.log").
  const std::string reached = line_with(r2.text, "reached");
  EXPECT_NE(reached.find("[name never seen: file " + std::to_string(st.st_ino + 1) + ":"),
            std::string::npos)
      << r2.text;
  EXPECT_EQ(reached.find(": , "), std::string::npos) << r2.text;
}

// An append to a file outside the mounts (an open for writing, then a write through it)
// reads "written by", not "opened for writing by": the probes saw the write.
TEST(Causal, AnAppendOutsideTheMountIsAWrite) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"bash", "job.sh"});
  w.write_new(100, 10, "cfg");
  auto appender = w.run(sh, 200, {"tee", "-a", "/tmp/log"});
  w.read(200, 10);
  w.write_outside(appender, "/tmp/log", 7000, O_WRONLY | O_APPEND);
  w.exit(appender);
  w.cat_outside(sh, 300, "/tmp/log", 7000, 12, "out");  // cat /tmp/log > out
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("written by tee -a /tmp/log"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("opened for writing"), std::string::npos) << r.text;
}

// A probe's first write to a mount waits a margin for the fs log's record of it; a read
// that the probes alone saw (the page cache served it) does not wait behind that write.
TEST(Causal, AReadOnAMountDoesNotWaitForAnotherProcesssWrite) {
  TempDir dir;
  World w(dir.path() + "/prov.db", dir.path());
  struct stat st = {};
  ASSERT_EQ(::stat(dir.path().c_str(), &st), 0);
  auto sh = w.setup({{10, "f"}, {11, "g"}});
  auto writer = w.run(sh, 300, {"tee", "g"});
  w.file_io(writer, 11, /*write=*/true, st.st_dev);
  auto reader = w.run(sh, 301, {"sort", "f"});
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kOpen, 301, 10, "", fh, O_RDONLY);
  w.file_io(reader, 10, /*write=*/false, st.st_dev);  // no fs READ: served from the cache
  w.release(10, fh, O_RDONLY);
  w.write_new(301, 12, "out");
  w.commit();  // the log is read just past the read, well within the write's margin
  auto r = why(*w.db, dir.path() + "/out");
  ASSERT_TRUE(r.found) << r.message;
  bool read = false;
  for (const json& e : r.graph["edges"])
    read = read || (e.value("type", "") == "used" && e.value("how", "") == "read");
  EXPECT_TRUE(read) << "the read waited for another process's write: " << r.text;
}

// gunzip is a script that execs gzip: `gunzip -c x.gz > out` runs two execs in the
// redirecting process. The driver's reads still reach gzip only through argv.
TEST(Causal, TheArgvRuleHoldsThroughSeveralExecs) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"driver"});
  w.write_new(100, 10, "x.gz");
  w.write_new(100, 11, "secret");
  w.read(100, 11);
  auto job = w.fork(sh, 300);
  w.record(RecordType::kCreate, 300, 12, "out", 500, O_WRONLY | O_CREAT | O_TRUNC);
  w.exec(job, {"gunzip", "-c", "x.gz"});
  w.exec(job, {"gzip", "-d", "-c", "x.gz"});
  w.read(300, 10);
  w.record(RecordType::kWrite, 300, 12, "", 500, O_WRONLY);
  w.release(12, 500, O_WRONLY, w.t);
  w.exit(job);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(has(edges(r.graph), "used(gzip -d -c x.gz, x.gz)")) << r.text;
  EXPECT_NE(line_with(r.text, path("secret")).find(kPassedOn), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("reaches this program only through its command line"), std::string::npos)
      << r.text;
}

// Interpreter runtime (its own installation, system prefixes, configuration every program
// reads) folds into one counted line; the data stays; --all lists everything.
TEST(Causal, RuntimeReadsFoldAndAllShowsThem) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in.csv"}});
  // Five programs read the same configuration file, never written: shared configuration.
  for (uint32_t i = 0; i < 5; i++) {
    auto p = w.run(sh, 600 + i, {"reader" + std::to_string(i)});
    w.open_outside(p, "/etc/app/shared.conf", 9000, O_RDONLY);
    w.write_new(600 + i, 20 + i, "r" + std::to_string(i));  // touches the mount: kept
  }
  auto py = w.fork(sh, 700);
  w.exec_file(py, "/home/u/.pyenv/versions/3.11.7/bin/python3.11", {"python3", "job.py"});
  w.open_outside(py, "/home/u/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py", 9001,
                 O_RDONLY);
  w.open_outside(py, "/usr/share/zoneinfo/UTC", 9002, O_RDONLY);
  w.open_outside(py, "/etc/app/shared.conf", 9000, O_RDONLY);
  w.open_outside(py, "/home/u/data/extra.csv", 9003, O_RDONLY);
  w.read(700, 10);
  w.write_new(700, 30, "out.csv");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, path("out.csv"));
  ASSERT_TRUE(r.found);
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(python3 job.py, in.csv)")) << json(e).dump(1);
  EXPECT_TRUE(has(e, "used(python3 job.py, /home/u/data/extra.csv)")) << json(e).dump(1);
  for (const auto& x : e) {
    EXPECT_EQ(x.find("json/__init__"), std::string::npos) << x;
    EXPECT_EQ(x.find("zoneinfo"), std::string::npos) << x;
    EXPECT_EQ(x.find("shared.conf"), std::string::npos) << x;
  }
  json py_node;
  for (const auto& a : r.graph["activities"])
    if (a["argv"] == json::array({"python3", "job.py"})) py_node = a;
  ASSERT_TRUE(py_node.contains("runtime_reads")) << r.graph.dump(1);
  EXPECT_EQ(py_node["runtime_reads"]["count"], 3);
  EXPECT_EQ(py_node["runtime_reads"]["by"]["program /home/u/.pyenv/versions/3.11.7/"], 1);
  EXPECT_EQ(py_node["runtime_reads"]["by"]["shared configuration"], 1);
  EXPECT_NE(r.text.find("+ 3 runtime reads folded"), std::string::npos) << r.text;
  auto all = edges(why(*w.db, path("out.csv"), 6, /*all=*/true).graph);
  EXPECT_TRUE(has(all,
                  "used(python3 job.py, /home/u/.pyenv/versions/3.11.7/lib/python3.11/json/"
                  "__init__.py)"))
      << json(all).dump(1);
  EXPECT_TRUE(has(all, "used(python3 job.py, /etc/app/shared.conf)"));
  EXPECT_TRUE(has(all, "used(python3 job.py, /usr/share/zoneinfo/UTC)"));
}

// A payload staged outside the mounts where installed software lives (`cp /secret
// /usr/local/share/x; cat /usr/local/share/x > out`; the loader's /usr/lib/; a module
// dropped into an interpreter's site-packages) is a source of out, not runtime: a recorded
// process wrote it. What nothing recorded wrote there still folds.
TEST(Causal, APayloadStagedWhereSoftwareLivesIsASource) {
  struct Case {
    const char* staged;
    const char* exe;  // the reader's program
  };
  for (const Case& c :
       {Case{"/usr/local/share/x.dat", "/usr/bin/cat"}, Case{"/usr/lib/x/x.dat", "/usr/bin/cat"},
        Case{"/home/u/.pyenv/versions/3.11.7/lib/python3.11/site-packages/evil.py",
             "/home/u/.pyenv/versions/3.11.7/bin/python3.11"}}) {
    SCOPED_TRACE(c.staged);
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "in"}});
    auto cp = w.run(sh, 200, {"cp", "/root/secret", c.staged});
    w.read_outside(cp, "/root/secret", 7001);
    w.write_outside(cp, c.staged, 7002);
    w.close_outside(cp, 7002, /*last_write=*/true);
    w.exit(cp);
    auto job = w.fork(sh, 300);
    w.exec_file(job, c.exe, {"job", "in"});
    w.read_outside(job, "/usr/share/zoneinfo/UTC", 7003);  // installed: runtime
    w.read_outside(job, c.staged, 7002);
    w.read(300, 10);
    w.write_new(300, 12, "out");
    w.exit(job);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    auto e = edges(r.graph);
    EXPECT_TRUE(has(e, "used(job in, in)")) << json(e).dump(1);
    EXPECT_TRUE(has(e, std::string("used(job in, ") + c.staged + ")")) << r.text;
    EXPECT_NE(r.text.find("/root/secret"), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find("zoneinfo"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("+ 1 runtime read folded: /usr/ (1)"), std::string::npos) << r.text;
  }
}

// `rm /mnt/x` by its absolute path: the probe's unlink event (which carries no directory
// dev then) comes before the fs log's record of it. The version is invalidated once.
TEST(Causal, AnUnlinkOnAMountIsStoredOnce) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "x"}});
  auto rm = w.run(sh, 300, {"rm", path("x")});
  w.unlink_outside(rm, path("x"));
  w.record(RecordType::kUnlink, 300, 10, "x", 0, 0, S_IFREG | 0644, 1, "", 1, fsprov::kAuxDied);
  w.exit(rm);
  w.commit();
  bento::lineage::Stmt n(w.db->handle(), "SELECT COUNT(*) FROM invalidated");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.int64(0), 1);
}

// `seq 10 | sort - in > out`: seq's pipe carried no data and is folded, its writer named
// (`folded_streams.writers`). The JSON document holds that writer: every id it names resolves.
TEST(Causal, AFoldedPipesWriterIsInTheJsonDocument) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto seq = w.run(sh, 200, {"seq", "10"});
  w.pipe_io(seq, 5000, true);
  w.exit(seq);
  auto sort = w.run(sh, 300, {"sort", "-", "in"});
  w.pipe_io(sort, 5000, false);
  w.read(300, 10);
  w.write_new(300, 11, "out");
  w.exit(sort);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  std::set<std::string> ids;
  for (const auto& a : r.graph["activities"]) ids.insert(a["id"].get<std::string>());
  int writers = 0;
  for (const auto& a : r.graph["activities"]) {
    if (!a.contains("folded_streams")) continue;
    for (const auto& id : a["folded_streams"]["writers"]) {
      writers++;
      EXPECT_EQ(ids.count(id.get<std::string>()), 1u) << id << " " << r.graph.dump(1);
    }
  }
  EXPECT_EQ(writers, 1) << r.text;
}

// `tr a-z A-Z < in > out`: the shell's forked image opens in, the tr it execs reads it. The
// process is one entry, and in one line under it: the read, not also the shell's open.
TEST(Causal, AStdinRedirectionIsOneLineOfItsProcess) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto tr = w.fork(sh, 200);
  w.record(RecordType::kOpen, 200, 10, "", 500, O_RDONLY);  // the shell's `< in`
  w.exec(tr, {"tr", "a-z", "A-Z"});
  w.record(RecordType::kRead, 200, 10, "", 500, O_RDONLY);
  w.write_new(200, 11, "out");
  w.release(10, 500, O_RDONLY);
  w.exit(tr);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  const std::string in = path("in") + "  (version 1";
  EXPECT_NE(r.text.find("read " + in), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find(in), r.text.rfind(in)) << "listed once: " << r.text;
  // The record keeps both facts.
  EXPECT_TRUE(has(edges(r.graph), "used(fork of setup, in)")) << json(edges(r.graph)).dump(1);
}

// A project on the mount run twice: run 1 reads secret and imports helper, and python
// writes __pycache__/helper.cpython-311.pyc; run 2 imports the bytecode and reads in. The
// bytecode came from helper.py, not from secret: run 2's output lists helper.py (compiled
// into the bytecode run 2 ran), not secret. A
// .pyc that cp put there is data like any file, and so is one a python run wrote without
// reading helper.py (bytecode planted from secret, not compiled).
TEST(Causal, BytecodeOnAMountComesFromItsModuleOnly) {
  enum How { kCompiled, kCopied, kPlanted };
  for (How how : {kCompiled, kCopied, kPlanted}) {
    const bool by_python = how != kCopied;
    SCOPED_TRACE(how == kCompiled ? "compiled by python"
                 : how == kCopied ? "copied by cp"
                                  : "written by python that never read helper.py");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "in"}, {11, "secret"}, {12, "helper.py"}});
    w.record(RecordType::kMkdir, 100, 60, "__pycache__", 0, 0, S_IFDIR | 0755);
    auto first = w.fork(sh, 200);
    w.exec_file(first, by_python ? "/usr/bin/python3.11" : "/usr/bin/cp", {"run1"});
    w.read(200, 11);
    if (how != kPlanted) w.read(200, 12);
    w.write_new(200, 13, "helper.cpython-311.pyc", 60);
    w.exit(first);
    auto second = w.fork(sh, 300);
    w.exec_file(second, "/usr/bin/python3.11", {"python3", "b.py"});
    w.read(300, 13);
    w.read(300, 10);
    w.write_new(300, 14, "out");
    w.exit(second);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find("helper.cpython-311.pyc"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("run1"), std::string::npos) << "who made it: " << r.text;
    EXPECT_EQ(r.text.find(path("secret")) == std::string::npos, how == kCompiled) << r.text;
    // The module's code is a source of out: the compiling run's read of it is listed.
    EXPECT_EQ(r.text.find("compiled from " + path("helper.py")) != std::string::npos,
              how == kCompiled)
        << r.text;
    EXPECT_EQ(r.text.find(path("helper.py")) != std::string::npos, how != kPlanted) << r.text;
  }
}

// One python run compiles two modules (a.py, b.py); a later run imports both bytecode
// files: under each, the compiling run is shown with that module's source only.
TEST(Causal, BytecodeNamesOnlyItsOwnModule) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}, {11, "a.py"}, {12, "b.py"}});
  w.record(RecordType::kMkdir, 100, 60, "__pycache__", 0, 0, S_IFDIR | 0755);
  auto first = w.fork(sh, 200);
  w.exec_file(first, "/usr/bin/python3.11", {"python3", "a.py"});
  w.read(200, 11);
  w.write_new(200, 13, "a.cpython-311.pyc", 60);
  w.read(200, 12);
  w.write_new(200, 14, "b.cpython-311.pyc", 60);
  w.exit(first);
  auto second = w.fork(sh, 300);
  w.exec_file(second, "/usr/bin/python3.11", {"python3", "c.py"});
  w.read(300, 13);
  w.read(300, 14);
  w.read(300, 10);
  w.write_new(300, 15, "out");
  w.exit(second);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  for (const char* module : {"a.py", "b.py"}) {
    const std::string line = "compiled from " + path(module);
    EXPECT_NE(r.text.find(line), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find(line), r.text.rfind(line)) << "once, under its bytecode: " << r.text;
  }
}

// A pyenv's python that compiles a module's bytecode into its own tree while recorded
// (`__pycache__/m.pyc`, when bytecode writing is on) wrote runtime, not data: a later run
// that imports it does not list it (nor the run that wrote it). The same file put there
// by cp would be a source (APayloadStagedWhereSoftwareLivesIsASource).
TEST(Causal, BytecodeAnInterpreterWroteIntoItsOwnTreeStaysRuntime) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  const std::string py = "/home/u/.pyenv/versions/3.11.7/bin/python3.11";
  const std::string lib = "/home/u/.pyenv/versions/3.11.7/lib/python3.11/";
  auto sh = w.setup({{10, "in"}, {11, "secret"}});
  auto first = w.fork(sh, 200);
  w.exec_file(first, py, {"python3", "a.py"});
  w.read(200, 11);  // the first run's own data
  w.read_outside(first, lib + "m.py", 7001);
  w.write_outside(first, lib + "__pycache__/m.pyc", 7002);
  w.close_outside(first, 7002, /*last_write=*/true);
  w.write_new(200, 12, "a.out");
  w.exit(first);
  auto second = w.fork(sh, 300);
  w.exec_file(second, py, {"python3", "b.py"});
  w.read_outside(second, lib + "__pycache__/m.pyc", 7002);
  w.read(300, 10);
  w.write_new(300, 13, "b.out");
  w.exit(second);
  w.commit();
  auto r = why(*w.db, path("b.out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(python3 b.py, in)")) << json(e).dump(1);
  EXPECT_EQ(r.text.find("m.pyc"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("secret"), std::string::npos) << "the other run's data: " << r.text;
}

// `cd /mnt; proj/bin/etl in > out` after the shell has gone: the program is named by the
// directory the probes saw it resolved from, not by a path relative to nothing.
TEST(Causal, AProgramRunByARelativePathIsNamedAbsolutely) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto etl = w.fork(sh, 300);
  w.exec_file(etl, "./proj/bin/etl", {"etl", "in"}, {0, 0, 0}, kMnt);
  w.read(300, 10);
  w.write_new(300, 12, "out");
  w.exit(etl);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  bool named = false;
  for (const auto& a : r.graph["activities"])
    named = named || a.value("exe", "") == std::string(kMnt) + "/proj/bin/etl";
  EXPECT_TRUE(named) << r.graph["activities"].dump(1);
}

// `chroot /srv/jail /bin/sh -c 'tool /in > /out.tmp; mv /out.tmp /out'`, then
// `cp /srv/jail/out report` on the mount: the paths a chrooted process passes name files
// under the jail, not the host's /bin/sh (dash) or /out. The program is the jail's busybox
// that its /bin/sh links to (an absolute symlink, followed inside the jail as the kernel did),
// the rename names the jail's /out, and the jail's own /lib is its runtime while its /in is
// data (the jail is no installation of its /bin/sh).
TEST(Causal, AChrootedProcessIsNamedByTheFilesUnderItsRoot) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  const std::string jail = dir.path() + "/jail";
  ASSERT_EQ(mkdir(jail.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((jail + "/bin").c_str(), 0755), 0);
  std::ofstream(jail + "/bin/busybox") << "#!";
  ASSERT_EQ(symlink("/bin/busybox", (jail + "/bin/sh").c_str()), 0);
  std::ofstream(jail + "/out") << "y";  // the renamed file, as the collector finds it (lstat)
  struct stat st = {};
  ASSERT_EQ(::stat((jail + "/out").c_str(), &st), 0);
  auto sh = w.setup({});
  auto job = w.fork(sh, 200);
  w.exec_file(job, "/bin/sh", {"sh", "-c", "tool /in > /out.tmp; mv /out.tmp /out"}, {0, 0, 0},
              jail);
  w.read_outside(job, jail + "/lib/libc.so.6", 7003);  // the jail's runtime
  w.read_outside(job, jail + "/in", 7001);             // OPEN: the host path
  w.write_outside(job, jail + "/out.tmp", st.st_ino, O_WRONLY | O_CREAT | O_TRUNC, st.st_dev);
  w.rename_outside(job, "/out.tmp", "/out", jail);
  w.exit(job);
  auto cp = w.run(sh, 300, {"cp", jail + "/out", "report"});
  w.read_outside(cp, jail + "/out", st.st_ino, st.st_dev);
  w.write_new(300, 12, "report");
  w.exit(cp);
  w.commit();
  auto r = why(*w.db, path("report"));
  ASSERT_TRUE(r.found) << r.message;
  bool named = false;
  for (const auto& a : r.graph["activities"])
    named = named || (a.value("exe", "") == jail + "/bin/sh" &&
                      a.value("program", "") == jail + "/bin/busybox");
  EXPECT_TRUE(named) << r.graph["activities"].dump(1);
  EXPECT_NE(r.text.find("read " + jail + "/in"), std::string::npos) << r.text;
  // in was there before the record: its time is when provd met it, not when it was made.
  EXPECT_NE(r.text.find(jail + "/in  (version 1, first seen "), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("report  (version 1, first seen"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("(as out.tmp; then rename)"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("read " + jail + "/lib/"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("folded: " + jail + "/lib/ (1)"), std::string::npos) << r.text;
}

// A project on a tracked mount with its own bin/: proj/bin/tool, run by its absolute path,
// reads proj/data/in, which cp wrote from /secret. The data beside the program is not the
// program's installation (whether the command line names it or not): in and /secret are
// sources. What the installation's own programs wrote there (pip in a virtualenv on the
// mount), or the run that made the virtualenv (`python3 -m venv`: pyvenv.cfg), still folds.
TEST(Causal, DataBesideAProgramOnAMountIsNotItsInstallation) {
  for (bool named : {true, false}) {
    SCOPED_TRACE(named ? "named on the command line" : "not named");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    const std::string proj = std::string(kMnt) + "/proj", venv = std::string(kMnt) + "/venv";
    auto sh = w.run({1, 1}, 100, {"setup"});
    w.record(RecordType::kMkdir, 100, 60, "proj", 0, 0, S_IFDIR | 0755);
    w.record(RecordType::kMkdir, 100, 61, "data", 0, 0, S_IFDIR | 0755, 60);
    w.record(RecordType::kMkdir, 100, 62, "venv", 0, 0, S_IFDIR | 0755);
    auto cp = w.run(sh, 200, {"cp", "/secret", "proj/data/in"});
    w.read_outside(cp, "/secret", 7001);
    w.write_new(200, 10, "in", 61);
    w.exit(cp);
    auto pip = w.fork(sh, 250);  // the virtualenv's pip installs a module
    w.exec_file(pip, venv + "/bin/pip", {venv + "/bin/python", venv + "/bin/pip", "install"});
    w.write_new(250, 11, "mod.py", 62);
    w.exit(pip);
    auto pip2 = w.fork(sh, 260);  // and once by a relative path, as `venv/bin/pip` runs it
    w.exec_file(pip2, "venv/bin/pip", {"venv/bin/python", "venv/bin/pip", "install"});
    w.write_new(260, 14, "mod2.py", 62);
    w.exit(pip2);
    auto mkvenv = w.fork(sh, 270);  // the run that made the virtualenv writes its pyvenv.cfg
    w.exec_file(mkvenv, "/usr/bin/python3.11", {"python3", "-m", "venv", venv + "/"});
    w.write_new(270, 15, "pyvenv.cfg", 62);
    w.exit(mkvenv);
    auto job = w.fork(sh, 300);
    std::vector<std::string> argv = {proj + "/bin/tool"};
    if (named) argv.push_back(proj + "/data/in");
    w.exec_file(job, proj + "/bin/tool", argv);
    w.read(300, 10);
    w.write_new(300, 12, "out");
    w.exit(job);
    auto py = w.fork(sh, 400);
    w.exec_file(py, venv + "/bin/python", {venv + "/bin/python", "job.py"});
    w.read(400, 15);
    w.read(400, 11);
    w.read(400, 14);
    w.read(400, 12);
    w.write_new(400, 13, "out2");
    w.exit(py);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find(proj + "/data/in"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("/secret"), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find("runtime reads folded"), std::string::npos) << r.text;
    auto r2 = why(*w.db, path("out2"));
    ASSERT_TRUE(r2.found) << r2.message;
    EXPECT_NE(r2.text.find("/secret"), std::string::npos) << r2.text;  // through out
    EXPECT_EQ(r2.text.find("mod.py"), std::string::npos) << r2.text;
    EXPECT_EQ(r2.text.find("mod2.py"), std::string::npos) << r2.text;
    EXPECT_EQ(r2.text.find("pyvenv.cfg"), std::string::npos) << r2.text;
    EXPECT_NE(r2.text.find("+ 3 runtime reads folded: program " + venv + "/ (3)"),
              std::string::npos)
        << r2.text;
  }
}

// `mv /tmp/m out` across file systems: mv reads /tmp/m, unlinks it, and only then does the
// mount's log (the create of out) keep mv. The unlink waits with mv: the source is shown
// deleted, not as a file still there.
TEST(Causal, AnUnlinkOutsideTheMountWaitsWithItsActivity) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto mv = w.run(sh, 200, {"mv", "/tmp/m", "out"});
  w.read_outside(mv, "/tmp/m", 7001);
  w.unlink_outside(mv, "/tmp/m");
  w.write_new(200, 12, "out");
  w.exit(mv);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(has(edges(r.graph), "used(mv /tmp/m out, /tmp/m)")) << r.text;
  EXPECT_NE(r.text.find("[deleted at"), std::string::npos) << r.text;
  bool deleted = false;
  for (const auto& e : r.graph["entities"])
    if (e.value("path", "") == "/tmp/m") deleted = e["status"].value("state", "") == "removed";
  EXPECT_TRUE(deleted) << r.graph.dump(1);
}

// `cat secret > /tmp/g; rm /tmp/g; cat pub > /tmp/g; cat /tmp/g > g`: rm touches no mount
// and is never kept, and the first /tmp/g is stored only once the mount's log keeps cat,
// after rm's unlink was met. It is still shown deleted (by rm), not as the /tmp/g there now,
// and the new /tmp/g (another inode) is neither deleted nor from secret.
TEST(Causal, AnUnlinkByAProcessNeverKeptStillDeletesTheFileStoredLater) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "secret"}, {11, "pub"}});
  // A read of the mount at `at`, whose log records are met only now.
  auto read_at = [&](uint32_t tid, uint64_t ino, uint64_t at) {
    uint64_t fh = ++w.next_fh;
    w.record(RecordType::kOpen, tid, ino, "", fh, O_RDONLY, S_IFREG | 0644, 1, "", 1, 0, 0, at);
    w.record(RecordType::kRead, tid, ino, "", fh, O_RDONLY, S_IFREG | 0644, 1, "", 1, 0, 0, at + 1);
    w.record(RecordType::kRelease, 0, ino, "", fh, O_RDONLY, S_IFREG | 0644, 1, "", 0, 0, 0,
             at + 2);
  };
  auto cat = w.run(sh, 200, {"cat", "secret"});
  const uint64_t cat_read = w.tick();
  w.tick();
  w.write_outside(cat, "/tmp/g", 7001);
  w.close_outside(cat, 7001, /*last_write=*/true);
  auto rm = w.run(sh, 201, {"rm", "/tmp/g"});
  w.unlink_outside(rm, "/tmp/g");
  w.exit(rm);
  read_at(200, 10, cat_read);  // the mount's log keeps cat (and its /tmp/g) only now
  w.exit(cat);
  auto cat2 = w.run(sh, 202, {"cat", "pub"});
  const uint64_t cat2_read = w.tick();
  w.tick();
  w.write_outside(cat2, "/tmp/g", 7002);
  w.close_outside(cat2, 7002, /*last_write=*/true);
  read_at(202, 11, cat2_read);
  w.exit(cat2);
  auto cp = w.run(sh, 203, {"cat", "/tmp/g"});
  w.read_outside(cp, "/tmp/g", 7002);
  w.write_new(203, 12, "g");
  w.exit(cp);
  w.commit();
  auto i = impact(*w.db, path("secret"));
  ASSERT_TRUE(i.found) << i.message;
  EXPECT_TRUE(has(edges(i.graph), "generated(/tmp/g, cat secret)")) << i.text;
  EXPECT_NE(i.text.find("[deleted at"), std::string::npos) << i.text;
  EXPECT_NE(i.text.find("by rm /tmp/g"), std::string::npos) << i.text;
  auto r = why(*w.db, path("g"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(has(edges(r.graph), "used(cat /tmp/g, /tmp/g)")) << r.text;
  EXPECT_EQ(r.text.find("secret"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("[deleted at"), std::string::npos) << r.text;
}

// `sort -T /tmp in > out`: sort's temporary files (written, read back and removed by it
// alone) hold only what it read already; they are folded as "files it wrote itself", not
// listed one by one (hundreds on a big input). A file another process wrote too is shown,
// with that writer, and so is one it finished and kept (it may pass it on).
TEST(Causal, FilesAProcessWroteOnlyItselfAreFoldedWhenItReadsThemBack) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}, {11, "x"}});
  auto cp = w.run(sh, 201, {"cp", "x", "/tmp/shared"});
  w.read(201, 11);
  w.write_outside(cp, "/tmp/shared", 7002);
  w.close_outside(cp, 7002, /*last_write=*/true);
  w.exit(cp);
  auto sort = w.run(sh, 200, {"sort", "-T", "/tmp", "in"});
  w.read(200, 10);
  w.write_outside(sort, "/tmp/sortA", 7001);
  w.close_outside(sort, 7001, /*last_write=*/true);
  w.read_outside(sort, "/tmp/sortA", 7001);
  w.unlink_outside(sort, "/tmp/sortA");
  // A file it wrote, finished and read back later but kept is shown.
  w.write_outside(sort, "/tmp/kept", 7003);
  w.close_outside(sort, 7003, /*last_write=*/true);
  w.read_outside(sort, "/tmp/kept", 7003);
  w.write_outside(sort, "/tmp/shared", 7002, O_WRONLY | O_APPEND);
  w.close_outside(sort, 7002, /*last_write=*/true);
  w.read_outside(sort, "/tmp/shared", 7002);
  w.write_new(200, 12, "out");
  w.exit(sort);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("files it wrote itself (1)"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("/tmp/sortA"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("/tmp/shared"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("/tmp/kept"), std::string::npos) << r.text;
  EXPECT_TRUE(has(edges(r.graph), "used(cp x /tmp/shared, x)")) << r.text;
  EXPECT_TRUE(has(edges(r.graph), "used(sort -T /tmp in, in)")) << r.text;
  auto all = why(*w.db, path("out"), 0, /*all=*/true);
  EXPECT_TRUE(has(edges(all.graph), "used(sort -T /tmp in, /tmp/sortA)")) << all.text;
}

// `as -o main.o x.s` reads back the object file while it writes it, and `ld` its output:
// the version asked about is not listed as its own input under its writer.
TEST(Causal, AWriterReadingBackTheFileItWritesIsNotItsOwnInput) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "main.s"}});
  auto as = w.run(sh, 200, {"as", "-o", "main.o", "main.s"});
  w.read(200, 10);
  // One O_RDWR open: write, read back, write on (the reads fall inside the writes).
  w.record(RecordType::kCreate, 200, 20, "main.o", 900, O_RDWR | O_CREAT, S_IFREG | 0644, 1);
  w.record(RecordType::kWrite, 200, 20, "", 900, O_RDWR);
  w.record(RecordType::kRead, 200, 20, "", 900, O_RDWR);
  w.record(RecordType::kWrite, 200, 20, "", 900, O_RDWR);
  w.release(20, 900, O_RDWR, w.t);
  w.exit(as);
  w.commit();
  auto r = why(*w.db, path("main.o"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(has(edges(r.graph), "used(as -o main.o main.s, main.s)")) << r.text;
  EXPECT_FALSE(has(edges(r.graph), "used(as -o main.o main.s, main.o)")) << r.text;
  EXPECT_EQ(r.text.find("read " + path("main.o")), std::string::npos) << r.text;
  auto all = why(*w.db, path("main.o"), 0, /*all=*/true);
  EXPECT_TRUE(has(edges(all.graph), "used(as -o main.o main.s, main.o)")) << all.text;
}

// git rewrites its config through config.lock renamed over config, and reads it back in
// between: a version it wrote and then replaced itself is a scratch file too, folded.
TEST(Causal, AFileTheProcessReplacedByRenamingOverItIsItsScratchFile) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto git = w.run(sh, 200, {"git", "clone", "in"});
  w.read(200, 10);
  w.write_new(200, 20, "config.lock");
  w.record(RecordType::kRename, 200, 20, "config.lock", 0, 0, S_IFREG | 0644, 1, "config", 1);
  w.read(200, 20);
  w.write_new(200, 21, "config.lock");
  w.record(RecordType::kRename, 200, 21, "config.lock", 0, 0, S_IFREG | 0644, 1, "config", 1,
           fsprov::kAuxDied, /*ino2=*/20);
  w.write_new(200, 30, "HEAD");
  w.exit(git);
  w.commit();
  auto r = why(*w.db, path("HEAD"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("files it wrote itself (1)"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find(path("config") + "  (version 2"), std::string::npos) << r.text;
  EXPECT_TRUE(has(edges(r.graph), "used(git clone in, in)")) << r.text;
  auto all = why(*w.db, path("HEAD"), 0, /*all=*/true);
  EXPECT_NE(all.text.find(path("config") + "  (version 2"), std::string::npos) << all.text;
}

// rsync's receiver writes each file under a temporary name, opens it again, and renames it
// into place itself: a file it alone wrote and moved holds only what it had, folded as its
// scratch file, not an input of the next file it writes.
TEST(Causal, ATemporaryFileTheProcessRenamedIntoPlaceIsItsScratchFile) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto rsync = w.run(sh, 200, {"rsync", "-a", "src/", "r/"});
  w.read(200, 10);
  w.write_new(200, 20, ".f1.XXXXXX");
  w.read(200, 20);
  w.record(RecordType::kRename, 200, 20, ".f1.XXXXXX", 0, 0, S_IFREG | 0644, 1, "f1", 1);
  w.write_new(200, 21, "f2");
  w.exit(rsync);
  w.commit();
  auto r = why(*w.db, path("f2"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("files it wrote itself (1)"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find(path(".f1.XXXXXX") + "  (version 1"), std::string::npos) << r.text;
  EXPECT_TRUE(has(edges(r.graph), "used(rsync -a src/ r/, in)")) << r.text;
  // Renamed by another process (`mv`): not its scratch file; what it read back is shown.
  TempDir dir2;
  World w2(dir2.path() + "/prov.db");
  auto sh2 = w2.setup({{10, "in"}});
  auto tool = w2.run(sh2, 200, {"tool"});
  w2.read(200, 10);
  w2.write_new(200, 20, "part");
  w2.read(200, 20);
  auto mv = w2.run(sh2, 201, {"mv", "part", "whole"});
  w2.record(RecordType::kRename, 201, 20, "part", 0, 0, S_IFREG | 0644, 1, "whole", 1);
  w2.exit(mv);
  w2.write_new(200, 21, "out");
  w2.exit(tool);
  w2.commit();
  auto r2 = why(*w2.db, path("out"));
  ASSERT_TRUE(r2.found) << r2.message;
  EXPECT_NE(r2.text.find(path("part") + "  (version 1"), std::string::npos) << r2.text;
}

// mkstemp opens its file O_RDWR|O_CREAT|O_EXCL: the open made the file, so its first
// version is the opener's, not one "first seen" that was there before and was read.
// So does one the probes saw an open create without O_EXCL (`sort > /tmp/x` of a new
// name, the JVM's /tmp/hsperfdata_USER/PID); an O_CREAT open of a name that existed says
// nothing of it, and gets the "first seen" version it may have read.
TEST(Causal, AFileMadeByOExclHasNoVersionBeforeIt) {
  enum Made { kExcl, kCreated, kExisted };
  for (const Made made : {kExcl, kCreated, kExisted}) {
    SCOPED_TRACE(made == kExcl ? "O_EXCL" : made == kCreated ? "created" : "existed");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "in"}});
    auto sort = w.run(sh, 200, {"sort", "in"});
    w.read(200, 10);
    w.open_outside(sort, "/tmp/sortB", 7001, O_RDWR | O_CREAT | (made == kExcl ? O_EXCL : 0), 0x803,
                   0, made == kCreated);
    w.file_io(sort, 7001, /*write=*/true);
    w.file_io(sort, 7001, /*write=*/false);
    w.write_new(200, 12, "out");
    w.exit(sort);
    w.commit();
    auto r = why(*w.db, path("out"), 0, /*all=*/true);
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_TRUE(has(edges(r.graph), made == kExisted ? "generated(/tmp/sortB@v2, sort in)"
                                                     : "generated(/tmp/sortB, sort in)"))
        << r.text;
    bool first_seen = false;
    std::istringstream lines(r.text);
    for (std::string line; std::getline(lines, line);)
      if (line.find("/tmp/sortB") != std::string::npos)
        first_seen |= line.find("first seen") != std::string::npos;
    EXPECT_EQ(first_seen, made == kExisted) << r.text;
    int64_t last = 0;
    for (const auto& e : r.graph["entities"])
      if (e.value("path", "") == "/tmp/sortB")
        last = std::max(last, e.value("version", int64_t{0}));
    EXPECT_EQ(last, made == kExisted ? 2 : 1) << r.graph.dump(1);
  }
}

// An outside file nothing recorded wrote existed before the record: its version begins
// when it is first seen, which is when the first activity kept read it. `cp /secret
// /tmp/s2` (touches no mount: kept late) read it before `py` (kept at once: it writes
// out), so cp's read lands on a version "created" after it. Forward from /secret, cp's read
// still counts: impact lists /tmp/s2 and what came of it, as `why out` lists /secret via cp.
TEST(Causal, ImpactOfAFileThatWasThereFollowsReadersKeptLate) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto cp = w.run(sh, 200, {"cp", "/secret", "/tmp/s2"});
  w.read_outside(cp, "/secret", 7001);
  w.write_outside(cp, "/tmp/s2", 7002);
  w.close_outside(cp, 7002, /*last_write=*/true);
  w.exit(cp);
  auto py = w.run(sh, 300, {"py"});
  w.read_outside(py, "/secret", 7001);
  w.read_outside(py, "/tmp/s2", 7002);
  w.write_new(300, 12, "out");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  ASSERT_TRUE(has(edges(r.graph), "used(cp /secret /tmp/s2, /secret)")) << r.text;
  auto i = impact(*w.db, "/secret");
  ASSERT_TRUE(i.found) << i.message;
  auto e = edges(i.graph);
  EXPECT_TRUE(has(e, "used(cp /secret /tmp/s2, /secret)")) << i.text;
  EXPECT_TRUE(has(e, "generated(/tmp/s2, cp /secret /tmp/s2)")) << i.text;
  EXPECT_TRUE(has(e, "used(py, /tmp/s2)")) << i.text;
  EXPECT_TRUE(has(e, "generated(out, py)")) << i.text;
  // export --path is why + impact: the same reader.
  prov_cli::LineageOptions o;
  auto x = prov_cli::export_graph(*w.db, {.path = "/secret"}, o);
  ASSERT_TRUE(x.found) << x.message;
  EXPECT_TRUE(has(edges(x.graph), "generated(/tmp/s2, cp /secret /tmp/s2)")) << x.graph.dump(1);
}

TEST(Causal, TheTextShowsTheRealProgramAndEscapesControlCharacters) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto evil = w.fork(sh, 800);
  w.exec_file(evil, "/tmp/.x/miner", {"[kworker/0:1]"});
  w.write_new(800, 10, "loot");
  w.run(sh, 801, {"sh", "-c", "echo hi\n├─ read /etc/shadow\x1b[2J"});
  w.write_new(801, 11, "odd");
  w.commit();
  auto r = why(*w.db, path("loot"));
  EXPECT_NE(r.text.find("[kworker/0:1]"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("[exe /tmp/.x/miner]"), std::string::npos) << r.text;
  auto o = why(*w.db, path("odd"));
  EXPECT_NE(o.text.find("echo hi\\n├─ read /etc/shadow\\e[2J"), std::string::npos) << o.text;
  for (size_t at = o.text.find('\n'); at != std::string::npos; at = o.text.find('\n', at + 1)) {
    const std::string next = o.text.substr(at + 1, 20);
    EXPECT_EQ(next.rfind("├─ read /etc/shadow", 0), std::string::npos)
        << "a forged line: " << o.text;
  }
  EXPECT_EQ(o.text.find('\x1b'), std::string::npos) << "no raw escape reaches the terminal";
}

TEST(Causal, LaterVersionsAndDeletionsAreMarked) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}, {11, "tmpin"}});
  auto p = w.run(sh, 900, {"join"});
  w.read(900, 10);
  w.read(900, 11);
  w.write_new(900, 12, "out");
  w.exit(p);
  // Later: in is overwritten, tmpin deleted.
  w.run(sh, 901, {"rewrite"});
  w.record(RecordType::kOpen, 901, 10, "", 5000, O_WRONLY);
  w.record(RecordType::kWrite, 901, 10, "", 5000, O_WRONLY);
  w.release(10, 5000, O_WRONLY, w.t);
  w.run(sh, 902, {"rm", "tmpin"});
  w.record(RecordType::kUnlink, 902, 11, "tmpin", 0, 0, S_IFREG | 0644, 1, "", 1, fsprov::kAuxDied);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found);
  EXPECT_NE(r.text.find("[changed later: write"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("by rewrite"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("[deleted"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("by rm tmpin"), std::string::npos) << r.text;
  bool changed = false, removed = false;
  for (const auto& e : r.graph["entities"]) {
    const std::string state = e.value("status", json::object()).value("state", "");
    changed = changed || (e.value("path", "") == path("in") && state == "changed");
    removed = removed || (e.value("path", "") == path("tmpin") && state == "removed");
  }
  EXPECT_TRUE(changed && removed) << r.graph.dump(1);
  // The deleted file's own why says it is gone.
  auto gone = why(*w.db, path("tmpin"));
  ASSERT_TRUE(gone.found);
  EXPECT_NE(gone.text.find("[deleted"), std::string::npos) << gone.text;
}

// A statement that fails (here: the connection turned read-only, as a full disk or a
// revoked file would do) fails its whole batch: nothing of the batch is stored, and the
// collector says why.
TEST(Causal, AFailedStatementFailsTheBatch) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  w.run({1, 1}, 100, {"setup"});
  w.write_new(100, 10, "kept");
  w.commit();
  w.write_new(100, 11, "lost");
  ASSERT_TRUE(w.db->exec("PRAGMA query_only = 1"));  // every later write fails
  w.write_new(100, 12, "also-lost");
  EXPECT_TRUE(w.col->batch_failed());
  std::string err;
  EXPECT_FALSE(w.col->commit(&err));
  EXPECT_NE(err.find("readonly"), std::string::npos) << err;
  ASSERT_TRUE(w.db->exec("PRAGMA query_only = 0"));
  w.col->begin();
  bento::lineage::Stmt n(w.db->handle(), "SELECT COUNT(*) FROM names WHERE path LIKE '%lost'");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.int64(0), 0) << "nothing of the failed batch was stored";
  EXPECT_TRUE(why(*w.db, path("kept")).found);
  w.write_new(100, 13, "after");  // the next batch works again
  w.commit();
  EXPECT_TRUE(why(*w.db, path("after")).found);
}

// A damaged database file: every query is an error (exit 3 from prov), never a different
// answer.
TEST(Causal, ADamagedDatabaseIsAnErrorNotAnAnswer) {
  TempDir dir;
  const std::string db = dir.path() + "/prov.db";
  {
    World w(db);
    w.run({1, 1}, 100, {"setup"});
    for (uint64_t i = 0; i < 400; i++) w.write_new(100, 10 + i, "f" + std::to_string(i));
    w.commit();
    w.db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  {
    // Scribble over pages past the schema (page 1 stays readable).
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0, std::ios::end);
    const std::streamoff size = f.tellp();
    ASSERT_GT(size, 16 * 4096);
    std::string junk(4096, '\x5a');
    for (std::streamoff off = 4 * 4096; off + 4096 < size; off += 3 * 4096) {
      f.seekp(off);
      f.write(junk.data(), junk.size());
    }
  }
  std::string err;
  auto d = bento::lineage::Database::open(db, bento::lineage::Database::Mode::kReadOnly, &err);
  if (d) {
    EXPECT_THROW(why(*d, path("f399")), bento::lineage::DbError);
  } else {
    EXPECT_NE(err.find("damaged"), std::string::npos) << err;
  }
  RunResult answer = run_prov("why " + path("f399"), db);
  EXPECT_EQ(answer.status, 3) << answer.output;
  EXPECT_NE(answer.output.find("damaged"), std::string::npos) << answer.output;
  // `prov check` looks at every page and lists what it found.
  RunResult check = run_prov("check", db);
  EXPECT_EQ(check.status, 3) << check.output;
  EXPECT_NE(check.output.find("is damaged"), std::string::npos) << check.output;
}

TEST(Causal, CheckPassesAnIntactDatabase) {
  TempDir dir;
  const std::string db = dir.path() + "/prov.db";
  {
    World w(db);
    w.run({1, 1}, 100, {"setup"});
    w.write_new(100, 10, "f");
    w.commit();
  }
  RunResult check = run_prov("check", db);
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_EQ(check.output, db + ": ok\n");
}

}  // namespace

namespace {

// A FIFO outside the mounts whose inode number an anonymous pipe had too (pipefs numbers
// its inodes apart from the file systems): its own file, not that pipe's flow. `cat secret
// | wc` on pipe 4242, then `cat public > /tmp/fifo` and `cp /tmp/fifo out` on a FIFO with
// inode 4242 of /tmp's file system: out is from public only.
TEST(Causal, AFifoIsNotAPipeWithTheSameInodeNumber) {
  for (bool fifo : {true, false}) {
    SCOPED_TRACE(fifo ? "a FIFO in /tmp" : "the same pipe (control)");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "secret"}, {11, "public"}});
    auto w1 = w.run(sh, 200, {"cat", "secret"});
    w.read(200, 10);
    w.pipe_io(w1, 4242, true);
    w.exit(w1);
    auto r1 = w.run(sh, 201, {"wc"});
    w.pipe_io(r1, 4242, false);
    w.exit(r1);
    const uint64_t dev = fifo ? 0x803 : World::pipefs_dev();
    auto w2 = w.run(sh, 300, {"cat", "public"});
    w.read(300, 11);
    w.fifo_io(w2, dev, 4242, true);
    w.exit(w2);
    auto r2 = w.run(sh, 301, {"cp", "/tmp/fifo", "out"});
    w.fifo_io(r2, dev, 4242, false);
    w.write_new(301, 12, "out");
    w.exit(r2);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    auto e = edges(r.graph);
    EXPECT_TRUE(has(e, "used(cat public, public)")) << json(e).dump(1) << r.text;
    EXPECT_EQ(has(e, "used(cat secret, secret)"), !fifo) << json(e).dump(1) << r.text;
  }
}

// A FIFO in /tmp, removed, and the next file made there, which ext4 gives the FIFO's inode
// number at once (`mkfifo /tmp/tf`; `cat secret > /tmp/tf & cat /tmp/tf > fromfifo`; `rm
// /tmp/tf`; `echo x > /tmp/mv; mv /tmp/mv moved`): two files, told apart by the inode
// generation. The FIFO's writer is kept only once the fs log's record of its read comes,
// after the new file was stored (fs records are read after the fact): the FIFO's flow is
// stored then, and must not become the new file.
TEST(Causal, AFifoIsNotTheFileThatTookItsInodeNumber) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "secret"}});
  const uint64_t dev = 0x803;
  auto w1 = w.run(sh, 200, {"cat", "secret"});
  const uint64_t read_at = w.tick();  // its read of secret, logged before its FIFO write
  w.tick();
  w.open_outside(w1, "/tmp/tf", 4242, O_WRONLY, dev, /*generation=*/7, false, S_IFIFO | 0644);
  w.fifo_io(w1, dev, 4242, true, 7);
  w.exit(w1);
  auto r1 = w.run(sh, 201, {"cat", "/tmp/tf"});
  w.open_outside(r1, "/tmp/tf", 4242, O_RDONLY, dev, 7, false, S_IFIFO | 0644);
  w.fifo_io(r1, dev, 4242, false, 7);
  w.write_outside(sh, "/tmp/mv", 4242, O_WRONLY | O_CREAT | O_TRUNC, dev, /*generation=*/8);
  w.record(RecordType::kOpen, 200, 10, "", 900, O_RDONLY, S_IFREG | 0644, 1, "", 1, 0, 0, read_at);
  w.record(RecordType::kRead, 200, 10, "", 900, O_RDONLY, S_IFREG | 0644, 1, "", 1, 0, 0,
           read_at + 1);
  w.release(10, 900, O_RDONLY);
  auto mv = w.run(sh, 202, {"mv", "/tmp/mv", "moved"});
  w.read_outside(mv, "/tmp/mv", 4242, dev, 8);
  w.write_new(202, 11, "moved");
  w.exit(mv);
  w.write_new(201, 12, "fromfifo");
  w.exit(r1);
  w.commit();

  auto moved = why(*w.db, path("moved"));
  ASSERT_TRUE(moved.found) << moved.message;
  auto e = edges(moved.graph);
  EXPECT_TRUE(has(e, "used(mv /tmp/mv moved, /tmp/mv)")) << json(e).dump(1) << moved.text;
  EXPECT_FALSE(has(e, "used(cat secret, secret)")) << json(e).dump(1) << moved.text;

  auto fifo = why(*w.db, path("fromfifo"));
  ASSERT_TRUE(fifo.found) << fifo.message;
  e = edges(fifo.graph);
  EXPECT_TRUE(has(e, "used(cat /tmp/tf, /tmp/tf)")) << json(e).dump(1) << fifo.text;
  EXPECT_TRUE(has(e, "used(cat secret, secret)")) << json(e).dump(1) << fifo.text;
  EXPECT_FALSE(has(e, "generated(/tmp/tf, setup)")) << json(e).dump(1) << fifo.text;
}

// An answer that spans days (a file written last week, read today) dates every time not on
// the day of the version asked about, and says the times are UTC.
TEST(Causal, TimesOnAnotherDayThanTheAnswersAreDated) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  w.t += 3 * 86'400'000'000'000ULL;  // three days later
  w.filter(sh, 501, {"cp1"}, 10, 11, "out");
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  const std::string day = prov_cli::clock_day();
  ASSERT_EQ(day.size(), 10u) << r.text;
  EXPECT_NE(r.text.find("(times are UTC, on " + day + " unless dated)"), std::string::npos)
      << r.text;
  // The setup's write of `in`, three days before: dated; out's own times: not.
  const size_t in_line = r.text.find(path("in") + "  (version 1, ");
  ASSERT_NE(in_line, std::string::npos) << r.text;
  const std::string rest = r.text.substr(in_line + path("in").size() + 14, 11);
  EXPECT_TRUE(rest.size() == 11 && rest[4] == '-' && rest[7] == '-' && rest[10] == ' ')
      << rest << "\n"
      << r.text;
  EXPECT_NE(rest.substr(0, 10), day) << r.text;
  EXPECT_EQ(r.text.find(path("out") + "  (version 1, " + day), std::string::npos) << r.text;
}

// Per-file tools: `gzip a b` reads a and writes a.gz, then reads b and writes b.gz. Its
// read of a ended before b.gz began, and a.gz was finished in between: b.gz's answer still
// lists a (what stays in a process's memory cannot be told), but says it was maybe only for
// a.gz; `impact a` says the same of b.gz. A file it read back (sort's scratch file) is no
// such earlier file: its data goes on.
TEST(Causal, APerFileToolsEarlierInputIsSaidToBeMaybeForItsEarlierOutput) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "a"}, {11, "b"}, {12, "c"}});
  auto gz = w.run(sh, 200, {"gzip", "a", "b"});
  w.read(200, 10);
  w.write_new(200, 20, "a.gz");
  w.read(200, 11);
  w.write_new(200, 21, "b.gz");
  w.exit(gz);
  auto sort = w.run(sh, 201, {"sort", "-o", "sorted", "c"});  // c -> scratch -> sorted
  w.read(201, 12);
  w.write_new(201, 30, "scratch");
  w.read(201, 30);
  w.write_new(201, 31, "sorted");
  w.exit(sort);
  w.commit();
  const std::string maybe = "a file it wrote before this one: maybe only for that one";
  auto r = why(*w.db, path("b.gz"));
  ASSERT_TRUE(r.found) << r.message;
  const size_t a_line = r.text.find(" " + path("a") + "  (version");
  ASSERT_NE(a_line, std::string::npos) << r.text;  // still listed
  const std::string a_text = r.text.substr(a_line, r.text.find('\n', a_line) - a_line);
  EXPECT_NE(a_text.find("read before it finished " + path("a.gz")), std::string::npos) << r.text;
  EXPECT_NE(a_text.find(maybe), std::string::npos) << r.text;
  const size_t b_line = r.text.find(" " + path("b") + "  (version");
  ASSERT_NE(b_line, std::string::npos) << r.text;
  EXPECT_EQ(r.text.substr(b_line, r.text.find('\n', b_line) - b_line).find(maybe),
            std::string::npos)
      << r.text;
  int marked = 0;
  for (const auto& e : r.graph["edges"])
    if (e.value("type", "") == "used" && e.contains("before_output")) {
      marked++;
      EXPECT_EQ(e["before_output"].value("path", ""), path("a.gz")) << e.dump();
    }
  EXPECT_EQ(marked, 1) << r.graph.dump(1);
  EXPECT_TRUE(has(edges(r.graph), "derived(b.gz, b, process)")) << json(edges(r.graph)).dump(1);
  EXPECT_FALSE(has(edges(r.graph), "derived(b.gz, a, process)")) << json(edges(r.graph)).dump(1);
  // Forward: b.gz is said to be maybe not from a; a.gz is not.
  auto im = impact(*w.db, path("a"));
  ASSERT_TRUE(im.found) << im.message;
  const size_t b_gz = im.text.find("wrote " + path("b.gz"));
  ASSERT_NE(b_gz, std::string::npos) << im.text;
  EXPECT_NE(im.text.substr(b_gz, im.text.find('\n', b_gz) - b_gz).find("maybe not from it"),
            std::string::npos)
      << im.text;
  const size_t a_gz = im.text.find("wrote " + path("a.gz"));
  ASSERT_NE(a_gz, std::string::npos) << im.text;
  EXPECT_EQ(im.text.substr(a_gz, im.text.find('\n', a_gz) - a_gz).find("maybe"), std::string::npos)
      << im.text;
  // sort read its scratch file back: c is in sorted, said plainly.
  auto s = why(*w.db, path("sorted"));
  ASSERT_TRUE(s.found) << s.message;
  EXPECT_NE(s.text.find(" " + path("c") + "  (version"), std::string::npos) << s.text;
  EXPECT_EQ(s.text.find("maybe"), std::string::npos) << s.text;
}

}  // namespace

namespace {

// A sequential server (one process, one activity) receives client 1's upload, writes up1,
// then receives client 2's and writes up2. Client 1 exited before up2 was begun: its
// connection, listed under up2, is said to be maybe only for up1. Client 3, still running
// (and able to send) when the server began up3, is not said so.
TEST(Causal, ASequentialServersEarlierConnectionIsSaidToBeMaybeForItsEarlierUpload) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "one"}, {12, "two"}, {13, "three"}, {14, "server.conf"}});
  auto server = w.run(sh, 500, {"server"});
  w.read(500, 14);  // its configuration, read once for every upload
  auto upload = [&](uint32_t pid, uint64_t in, uint16_t port, bool exits) {
    auto client = w.run(sh, pid, {"client", std::to_string(in)});
    w.read(pid, in);
    w.udp_io(client, 6000 + pid, port, 9000, /*send=*/true);
    w.udp_io(server, 6000, 9000, port, /*send=*/false);
    if (exits) w.exit(client);
    return client;
  };
  upload(501, 11, 40001, true);
  w.write_new(500, 21, "up1");
  upload(502, 12, 40002, true);
  w.write_new(500, 22, "up2");
  auto late = upload(503, 13, 40003, false);
  w.write_new(500, 23, "up3");
  w.exit(late);
  w.exit(server);
  w.commit();
  const std::string maybe = "maybe only for that one";
  auto r = why(*w.db, path("up2"));
  ASSERT_TRUE(r.found) << r.message;
  const size_t one = r.text.find("received over udp 127.0.0.1:40001");
  ASSERT_NE(one, std::string::npos) << r.text;  // still listed
  const std::string one_line = r.text.substr(one, r.text.find('\n', one) - one);
  EXPECT_NE(one_line.find("began receiving before it finished " + path("up1")), std::string::npos)
      << r.text;
  EXPECT_NE(one_line.find("its sender exited at"), std::string::npos) << r.text;
  EXPECT_NE(one_line.find(maybe), std::string::npos) << r.text;
  const size_t two = r.text.find("received over udp 127.0.0.1:40002");
  ASSERT_NE(two, std::string::npos) << r.text;
  EXPECT_EQ(r.text.substr(two, r.text.find('\n', two) - two).find(maybe), std::string::npos)
      << r.text;
  int marked = 0;
  for (const auto& e : r.graph["edges"])
    if (e.value("type", "") == "used" && e.contains("before_output")) {
      marked++;
      EXPECT_EQ(e["before_output"].value("path", ""), path("up1")) << e.dump();
      EXPECT_TRUE(e["before_output"].contains("sender_end")) << e.dump();
    }
  EXPECT_EQ(marked, 1) << r.graph.dump(1);  // the connection, not the configuration
  const size_t conf = r.text.find(path("server.conf"));
  ASSERT_NE(conf, std::string::npos) << r.text;
  EXPECT_EQ(r.text.substr(conf, r.text.find('\n', conf) - conf).find(maybe), std::string::npos)
      << r.text;
  auto conf_impact = impact(*w.db, path("server.conf"));
  ASSERT_TRUE(conf_impact.found) << conf_impact.message;
  EXPECT_NE(conf_impact.text.find(path("up2")), std::string::npos) << conf_impact.text;
  EXPECT_EQ(conf_impact.text.find("maybe not from it"), std::string::npos) << conf_impact.text;
  // Client 3 had not exited when up3 was begun (it could still send): not said so; client 2
  // had, after up2 was finished: said so.
  auto r3 = why(*w.db, path("up3"));
  ASSERT_TRUE(r3.found) << r3.message;
  const size_t three = r3.text.find("received over udp 127.0.0.1:40003");
  ASSERT_NE(three, std::string::npos) << r3.text;
  EXPECT_EQ(r3.text.substr(three, r3.text.find('\n', three) - three).find(maybe), std::string::npos)
      << r3.text;
  const size_t two3 = r3.text.find("received over udp 127.0.0.1:40002");
  ASSERT_NE(two3, std::string::npos) << r3.text;
  EXPECT_NE(r3.text.substr(two3, r3.text.find('\n', two3) - two3).find(maybe), std::string::npos)
      << r3.text;
}

// A file server answers client A with a, then client B with b; B saves its reply. The
// reply to A (finished once A, its only receiver, exited) is a batch of its own: a and A's
// request are maybe only for it, b and B's request are not. A's reply is in the answer
// only through A's request (the probes see a socket's first send only): it does not make
// the server's batches begin earlier.
TEST(Causal, AFileServersEarlierReplyIsABatchOfItsOwn) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "a"}, {12, "b"}});
  auto server = w.run(sh, 500, {"server"});
  auto fetch = [&](uint32_t pid, uint64_t file, uint16_t port) {
    auto client = w.run(sh, pid, {"client", std::to_string(port)});
    w.udp_io(client, 6000 + pid, port, 9000, /*send=*/true);
    w.udp_io(server, 6000, 9000, port, /*send=*/false);
    w.read(500, file);
    w.udp_io(server, 6000, 9000, port, /*send=*/true);
    w.udp_io(client, 6000 + pid, port, 9000, /*send=*/false);
    return client;
  };
  w.exit(fetch(501, 11, 40001));
  auto b = fetch(502, 12, 40002);
  w.write_new(502, 21, "got_b");
  w.exit(b);
  w.exit(server);
  w.commit();
  const std::string maybe = "maybe only for that one";
  auto r = why(*w.db, path("got_b"));
  ASSERT_TRUE(r.found) << r.message;
  auto line = [&](const std::string& what) {
    const std::string l = line_with(r.text, what);
    return l.empty() ? std::string("(missing)") : l;
  };
  EXPECT_NE(line("opened " + path("a")).find(maybe), std::string::npos) << r.text;
  EXPECT_NE(line("opened " + path("a")).find("before it sent over udp"), std::string::npos)
      << r.text;
  EXPECT_NE(line("received over udp 127.0.0.1:40001").find(maybe), std::string::npos) << r.text;
  EXPECT_EQ(line("opened " + path("b")).find(maybe), std::string::npos) << r.text;
  EXPECT_NE(line("opened " + path("b")), "(missing)") << r.text;
  EXPECT_EQ(line("received over udp 127.0.0.1:40002").find(maybe), std::string::npos) << r.text;
  int sent = 0;
  for (const auto& e : r.graph["edges"])
    if (e.contains("before_output")) sent += e["before_output"].value("sent", false) ? 1 : 0;
  EXPECT_EQ(sent, 2) << r.graph.dump(1);
  // impact a: B's reply was begun after the server had answered A.
  auto ia = impact(*w.db, path("a"));
  ASSERT_TRUE(ia.found) << ia.message;
  EXPECT_NE(ia.text.find("maybe not from it"), std::string::npos) << ia.text;
}

// The socket tests below: a client sent pub, read secret, and sent again after the
// server wrote out1 and before out2. out1 lists pub, not secret; out2 both. Returns out2's.
prov_cli::QueryResult secret_only_in_out2(bento::lineage::Database& db) {
  auto out1 = why(db, path("out1"));
  EXPECT_TRUE(out1.found) << out1.message;
  EXPECT_NE(out1.text.find(path("pub")), std::string::npos) << out1.text;
  EXPECT_EQ(out1.text.find(path("secret")), std::string::npos) << out1.text;
  auto out2 = why(db, path("out2"));
  EXPECT_TRUE(out2.found) << out2.message;
  EXPECT_NE(out2.text.find(path("pub")), std::string::npos) << out2.text;
  EXPECT_NE(out2.text.find(path("secret")), std::string::npos) << out2.text;
  return out2;
}

// A stream socket's sends and receives are instants, reported again after news (events.h
// v11), as a pipe's are. A client sends what it read of pub, reads secret, and sends
// again; the server received the first message before it wrote out1, the second before
// out2. out1 holds nothing of secret: the client read it after the only send the server
// had received from by then. out2 may hold both.
TEST(Causal, AStreamSocketCarriesWhatItsSenderHadAtItsLastReportedSend) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "pub"}, {12, "secret"}});
  auto server = w.run(sh, 500, {"server"});
  auto client = w.run(sh, 501, {"client"});
  const uint32_t first = BENTO_SOCK_INSTANT, again = BENTO_SOCK_INSTANT | BENTO_SOCK_AGAIN;
  w.read(501, 11);
  w.tcp_io(client, 6001, 40001, 9000, /*send=*/true, first);
  w.tcp_io(server, 7001, 9000, 40001, /*send=*/false, first);
  w.read(501, 12);
  w.write_new(500, 21, "out1");
  w.tcp_io(client, 6001, 40001, 9000, /*send=*/true, again);
  w.tcp_io(server, 7001, 9000, 40001, /*send=*/false, again);
  w.write_new(500, 22, "out2");
  w.exit(client);
  w.exit(server);
  w.commit();
  const auto out2 = secret_only_in_out2(*w.db);
  // The later send and receive are edges of their own, named as sockets' are.
  std::map<std::string, int> later;  // how -> edges of pipe_transfers rows
  for (const auto& e : out2.graph["edges"])
    if (e.value("id", "").rfind("t:", 0) == 0) later[e.value("how", "")]++;
  EXPECT_EQ(later["send"], 1) << out2.graph.dump(1);
  EXPECT_EQ(later["receive"], 1) << out2.graph.dump(1);
  auto secret = impact(*w.db, path("secret"));
  ASSERT_TRUE(secret.found) << secret.message;
  EXPECT_NE(secret.text.find(path("out2")), std::string::npos) << secret.text;
  EXPECT_EQ(secret.text.find(path("out1")), std::string::npos) << secret.text;
}

// A UDP socket's sends are instants, reported again after news (events.h v11); its
// receives are reported once and last. A client sends pub, reads secret; the server
// wrote out1 after that read: nothing of secret is in it (the client's last send before
// out1 was before the read). The client sends again; out2, written after, may hold it.
TEST(Causal, AUdpSendCarriesWhatItsSenderHadThen) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "pub"}, {12, "secret"}});
  auto server = w.run(sh, 500, {"server"});
  auto client = w.run(sh, 501, {"client"});
  w.read(501, 11);
  w.udp_io(client, 6001, 40001, 9000, /*send=*/true, BENTO_SOCK_INSTANT);
  w.udp_io(server, 7001, 9000, 40001, /*send=*/false);
  w.read(501, 12);
  w.write_new(500, 21, "out1");
  w.udp_io(client, 6001, 40001, 9000, /*send=*/true, BENTO_SOCK_INSTANT | BENTO_SOCK_AGAIN);
  w.write_new(500, 22, "out2");
  w.exit(client);
  w.exit(server);
  w.commit();
  secret_only_in_out2(*w.db);
}

// A UDP server that receives with recv() (no source address asked for) from two local
// clients, writing up1 after the first datagram and up2 after the second; a third client
// sends to another port. The probes report such a receive again after a new send to its
// port (events.h v14): each receive is from the local senders to its address that sent
// since the previous one, so up1 is from client 1 and up2 from client 2 (client 1 hedged,
// as for any earlier receive), never from the third; not from an unknown "udp ?".
TEST(Causal, AUdpReceiveThatNamesNoSourceIsFromTheLocalSendersToItsAddress) {
  for (const bool bound_to_any : {false, true}) {
    SCOPED_TRACE(bound_to_any ? "bound to 0.0.0.0" : "bound to 127.0.0.1");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{11, "one"}, {12, "two"}, {13, "other"}});
    auto server = w.run(sh, 500, {"server"});
    auto send = [&](uint32_t pid, uint64_t in, uint16_t port, uint16_t to) {
      auto client = w.run(sh, pid, {"client", std::to_string(in)});
      w.read(pid, in);
      w.udp_io(client, 6000 + pid, port, to, /*send=*/true, BENTO_SOCK_INSTANT);
      w.exit(client);
    };
    send(501, 11, 40001, 9000);
    w.udp_recv_unnamed(server, 7001, 9000, bound_to_any);
    w.write_new(500, 21, "up1");
    send(503, 13, 40003, 9100);
    send(502, 12, 40002, 9000);
    w.udp_recv_unnamed(server, 7001, 9000, bound_to_any);
    w.write_new(500, 22, "up2");
    w.exit(server);
    w.commit();
    auto r1 = why(*w.db, path("up1"));
    ASSERT_TRUE(r1.found) << r1.message;
    EXPECT_NE(r1.text.find("received over udp 127.0.0.1:40001"), std::string::npos) << r1.text;
    EXPECT_NE(r1.text.find(path("one")), std::string::npos) << r1.text;
    EXPECT_EQ(r1.text.find(path("two")), std::string::npos) << r1.text;
    EXPECT_EQ(r1.text.find(path("other")), std::string::npos) << r1.text;
    EXPECT_EQ(r1.text.find("udp ?"), std::string::npos) << r1.text;
    auto r2 = why(*w.db, path("up2"));
    ASSERT_TRUE(r2.found) << r2.message;
    const size_t two = r2.text.find("received over udp 127.0.0.1:40002");
    ASSERT_NE(two, std::string::npos) << r2.text;
    EXPECT_EQ(r2.text.substr(two, r2.text.find('\n', two) - two).find("maybe"), std::string::npos)
        << r2.text;
    EXPECT_NE(r2.text.find(path("two")), std::string::npos) << r2.text;
    EXPECT_EQ(r2.text.find(path("other")), std::string::npos) << r2.text;
    const size_t one = r2.text.find("received over udp 127.0.0.1:40001");
    if (one != std::string::npos) {  // the earlier receive lasts, hedged
      EXPECT_NE(r2.text.substr(one, r2.text.find('\n', one) - one).find("maybe only for that one"),
                std::string::npos)
          << r2.text;
    }
  }
}

// A chatty connection runs out of reports (BENTO_PIPE_IO_REPORTS per image, socket and
// direction): the last one (BENTO_SOCK_LAST) lasts, as a send seen once does, until the
// sender's FIN. So the client's read of secret after its last report reaches what the
// server wrote after receiving, unless the client had sent its FIN before that read.
TEST(Causal, AStreamSocketsLastReportLastsUntilTheSendersFin) {
  for (const bool fin_first : {false, true}) {
    SCOPED_TRACE(fin_first ? "FIN before the read" : "FIN after the read");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{11, "pub"}, {12, "secret"}});
    auto server = w.run(sh, 500, {"server"});
    auto client = w.run(sh, 501, {"client"});
    const uint32_t last = BENTO_SOCK_INSTANT | BENTO_SOCK_AGAIN | BENTO_SOCK_LAST;
    w.read(501, 11);
    w.tcp_io(client, 6001, 40001, 9000, /*send=*/true, BENTO_SOCK_INSTANT);
    w.tcp_io(server, 7001, 9000, 40001, /*send=*/false, BENTO_SOCK_INSTANT);
    w.tcp_io(client, 6001, 40001, 9000, /*send=*/true, last);
    w.tcp_io(server, 7001, 9000, 40001, /*send=*/false, last);
    if (fin_first) w.tcp_fin(client, 6001, 40001, 9000);
    w.read(501, 12);
    if (!fin_first) w.tcp_fin(client, 6001, 40001, 9000);
    w.write_new(500, 21, "out");
    w.exit(client);
    w.exit(server);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find(path("pub")), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find(path("secret")) != std::string::npos, !fin_first) << r.text;
  }
}

// One long-lived client (a script that downloads a, saves it, then downloads b) from a
// file server over two TCP connections. Its receivers never exit between the replies, so
// only the server's FIN after each reply (SOCK_END) ends reply A: then a, and reply A under
// the client, are "maybe only for" the earlier reply and file; without the FIN nothing
// ends reply A before b was read, and nothing is said.
TEST(Causal, AReplyEndsAtTheServersFinForALongLivedClient) {
  for (const bool fin : {true, false}) {
    SCOPED_TRACE(fin ? "FIN seen" : "no FIN");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{11, "a"}, {12, "b"}});
    auto server = w.run(sh, 500, {"server"});
    auto client = w.run(sh, 501, {"fetch", "a", "b"});
    auto fetch = [&](uint64_t file, uint16_t port, uint64_t out, const std::string& name) {
      w.tcp_io(client, 6000 + port, port, 9000, /*send=*/true);
      w.tcp_io(server, 7000 + port, 9000, port, /*send=*/false);
      w.read(500, file);
      w.tcp_io(server, 7000 + port, 9000, port, /*send=*/true);
      if (fin) w.tcp_fin(server, 7000 + port, 9000, port);
      w.tcp_io(client, 6000 + port, port, 9000, /*send=*/false);
      w.write_new(501, out, name);
    };
    fetch(11, 40001, 21, "got_a");
    fetch(12, 40002, 22, "got_b");
    w.exit(client);
    w.exit(server);
    w.commit();
    const std::string maybe = "maybe only for that one";
    auto r = why(*w.db, path("got_b"));
    ASSERT_TRUE(r.found) << r.message;
    const std::string a = line_with(r.text, "opened " + path("a"));
    const std::string reply_a =
        line_with(r.text, "received over tcp 127.0.0.1:9000 → 127.0.0.1:40001");
    ASSERT_FALSE(a.empty()) << r.text;
    ASSERT_FALSE(reply_a.empty()) << r.text;
    // Under reply A itself, a is what it sent: no note there.
    EXPECT_EQ(a.find(maybe), std::string::npos) << r.text;
    EXPECT_EQ(reply_a.find(maybe) != std::string::npos, fin) << r.text;
    if (fin) {
      EXPECT_NE(reply_a.find("its sender closed it at"), std::string::npos) << r.text;
    }
    EXPECT_EQ(line_with(r.text, "opened " + path("b")).find(maybe), std::string::npos) << r.text;
    // Under reply B the server's read of a (for reply A) is said so too. (Without the FIN
    // reply A lasts as long as the server: the server is shown once, under reply A.)
    if (fin) {
      const size_t under_b = r.text.find("received over tcp 127.0.0.1:9000 → 127.0.0.1:40002");
      ASSERT_NE(under_b, std::string::npos) << r.text;
      const std::string a_under_b = line_with(r.text.substr(under_b), "opened " + path("a"));
      EXPECT_NE(a_under_b.find(maybe), std::string::npos) << r.text;
      EXPECT_NE(
          a_under_b.find("before it sent over tcp 127.0.0.1:9000 → 127.0.0.1:40001 (closed at "),
          std::string::npos)
          << r.text;
    }
    bool closed = false;
    for (const auto& e : r.graph["edges"])
      if (e.contains("before_output")) closed |= e["before_output"].value("closed", false);
    EXPECT_EQ(closed, fin) << r.graph.dump(1);
  }
}

// A threaded server whose clients overlapped: it began receiving both, both exited, then
// it wrote up1 and up2. Each connection might be for either file: nothing is said (up2
// cannot have come from neither), and impact does not call up2 "maybe not from" either.
TEST(Causal, AServerWhoseClientsOverlappedSaysNothingOfBatches) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "one"}, {12, "two"}});
  auto server = w.run(sh, 500, {"server"});
  std::vector<World::Proc> clients;
  for (uint32_t i = 0; i < 2; i++) {
    clients.push_back(w.run(sh, 501 + i, {"client", std::to_string(i)}));
    w.read(501 + i, 11 + i);
    w.udp_io(clients.back(), 6501 + i, static_cast<uint16_t>(40001 + i), 9000, /*send=*/true);
    w.udp_io(server, 6000, 9000, static_cast<uint16_t>(40001 + i), /*send=*/false);
  }
  for (auto& c : clients) w.exit(c);
  w.write_new(500, 21, "up1");
  w.write_new(500, 22, "up2");
  w.exit(server);
  w.commit();
  auto r = why(*w.db, path("up2"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("received over udp 127.0.0.1:40002"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("maybe"), std::string::npos) << r.text;
  auto im = impact(*w.db, path("two"));
  ASSERT_TRUE(im.found) << im.message;
  EXPECT_NE(im.text.find("wrote " + path("up2")), std::string::npos) << im.text;
  EXPECT_EQ(im.text.find("maybe"), std::string::npos) << im.text;
}

}  // namespace

// Processes that share memory pass data through it with no call to see: a child forked
// while its parent holds a shared writable mapping (anonymous, or of a /dev/shm file) reads
// what the parent writes there after the fork. The parent reads secret after the fork and
// the child then writes out: out may hold secret, through the memory, whether the parent
// read it on the mount or outside (then the parent, waiting to be kept, is kept for it).
// A POSIX semaphore (sem_open's /dev/shm/sem.*) holds a count: it carries nothing.
TEST(Causal, AChildReadsWhatItsParentWroteIntoSharedMemoryAfterTheFork) {
  for (const bool anonymous : {true, false}) {
    for (const bool outside : {false, true}) {
      SCOPED_TRACE(std::string(anonymous ? "anonymous" : "/dev/shm file") +
                   (outside ? ", secret outside the mount" : ", secret on the mount"));
      TempDir dir;
      World w(dir.path() + "/prov.db");
      auto sh = w.setup({{11, "pub"}, {12, "secret"}});
      auto parent = w.run(sh, 500, {"parent"});
      const uint64_t shm = 0x16;
      if (!anonymous) w.open_outside(parent, "/dev/shm/pym-500-x", 900, O_RDWR | O_CREAT, shm);
      w.map_for_writing(parent, 900, shm, anonymous);
      auto child = w.fork(parent, 501);
      w.inherit_mapping(child, 900, shm);
      if (outside)
        w.read_outside(parent, "/etc/secret", 77);
      else
        w.read(500, 12);
      w.write_new(501, 21, "out");
      w.exit(child);
      w.exit(parent);
      w.commit();
      auto out = why(*w.db, path("out"));
      ASSERT_TRUE(out.found) << out.message;
      const std::string secret = outside ? "/etc/secret" : path("secret");
      EXPECT_NE(out.text.find(secret), std::string::npos) << out.text;
      EXPECT_NE(out.text.find("read through a shared mapping " +
                              std::string(anonymous ? "[anonymous shared memory of pid 500]"
                                                    : "/dev/shm/pym-500-x")),
                std::string::npos)
          << out.text;
      // The parent's read of the memory it writes is not shown again under it.
      EXPECT_EQ(out.text.find("read through a shared mapping"),
                out.text.rfind("read through a shared mapping"))
          << out.text;
    }
  }
}

// A process creates x and maps it shared; its forked child reads pub and writes into the
// mapping; the parent reads x back. x's answer lists both writers once: the parent's
// read of x (the version asked about) says "(shown above)", not x's writers a second time.
TEST(Causal, AVersionItsOwnWriterReadsBackIsNotWalkedAgain) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "pub"}});
  auto parent = w.run(sh, 500, {"parent"});
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kCreate, 500, 21, "x", fh, O_RDWR | O_CREAT);
  w.record(RecordType::kWrite, 500, 21, "", fh, O_RDWR);
  auto child = w.fork(parent, 501);
  w.read(501, 11);
  w.record(RecordType::kWrite, 501, 21, "", fh, O_RDWR);
  w.read(500, 21);
  w.release(21, fh, O_RDWR, w.t);
  w.exit(child);
  w.exit(parent);
  w.commit();
  auto r = why(*w.db, path("x"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(path("pub")), std::string::npos) << r.text;
  const auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = r.text.find(what); at != std::string::npos; at = r.text.find(what, at + 1))
      n++;
    return n;
  };
  EXPECT_EQ(count(path("pub")), 1u) << r.text;
  EXPECT_EQ(count("opened " + path("x")), 1u) << r.text;
  const size_t back = r.text.find("opened " + path("x"));
  ASSERT_NE(back, std::string::npos) << r.text;
  const size_t next = r.text.find('\n', back) + 1;
  EXPECT_NE(r.text.substr(next, r.text.find('\n', next) - next).find("(shown above)"),
            std::string::npos)
      << r.text;
}

TEST(Causal, APosixSemaphoreCarriesNoData) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "pub"}, {12, "secret"}});
  auto parent = w.run(sh, 500, {"parent"});
  w.open_outside(parent, "/dev/shm/sem.mp-1", 901, O_RDWR | O_CREAT, 0x16);
  w.map_for_writing(parent, 901, 0x16);
  auto child = w.fork(parent, 501);
  w.inherit_mapping(child, 901, 0x16);
  w.read(500, 12);
  w.read(501, 11);
  w.write_new(501, 21, "out");
  w.exit(child);
  w.exit(parent);
  w.commit();
  auto out = why(*w.db, path("out"));
  ASSERT_TRUE(out.found) << out.message;
  EXPECT_NE(out.text.find(path("pub")), std::string::npos) << out.text;
  EXPECT_EQ(out.text.find(path("secret")), std::string::npos) << out.text;
}

// A process alone with its mapping only writes through it: its own answer lists no read
// of the memory (a lone mmap writer of a file is not its own input).
TEST(Causal, ALoneSharedMappingIsOnlyAWrite) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "pub"}});
  auto p = w.run(sh, 500, {"writer"});
  w.map_for_writing(p, 902, 0x16, /*anonymous=*/true);
  w.read(500, 11);
  w.write_new(500, 21, "out");
  w.exit(p);
  w.commit();
  auto out = why(*w.db, path("out"));
  ASSERT_TRUE(out.found) << out.message;
  EXPECT_NE(out.text.find(path("pub")), std::string::npos) << out.text;
  EXPECT_EQ(out.text.find("shared"), std::string::npos) << out.text;
}
