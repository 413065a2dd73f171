// The collector and the `prov` queries in process: synthetic probe events and fs log
// records (the exact structs provd feeds) go through collector.cc into a real SQLite file,
// then why / impact / process / window / export must return the lineage those facts imply.
// The end-to-end twin with real processes, FUSE and eBPF is tests/lineage_e2e.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "bento_bpf/events.h"
#include "collector.h"
#include "dot_export.h"
#include "export_stream.h"
#include "lineage_edges.h"
#include "lineage_query.h"
#include "lineage_world.h"
#include "prov_json.h"
#include "record_format.h"
#include "time_arg.h"
#include "wall_clock.h"

namespace {

using namespace lineage_test;
namespace fsprov = bentofs::prov;
using bento::collector::Collector;
using bento::lineage::Database;
using fsprov::RecordType;
using nlohmann::json;

class LineageTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(HasFailure()) << "no scratch directory"; }

  // The shell pipeline `sort -n a | uniq > out` from a shell that made a, plus an
  // unrelated `cat b > c`.
  void pipeline(World& w) {
    sh_ = w.run({1, 1}, 100, {"sh"});
    w.write_new(100, 10, "a");
    w.write_new(100, 11, "b");
    auto sort = w.fork(sh_, 101);
    auto uniq = w.fork(sh_, 102);
    w.exec(sort, {"sort", "-n", "a"}, {0, 5000, 0});
    w.exec(uniq, {"uniq"}, {5000, 0, 0});
    w.read(101, 10);
    w.write_new(102, 12, "out");
    w.exit(sort);
    w.exit(uniq);
    w.filter(sh_, 103, {"cat", "b"}, 11, 13, "c");
    w.commit();
  }

  TempDir tmp_;
  const std::string dir_ = tmp_.path(), db_path_ = dir_ + "/prov.db";
  World::Proc sh_{};
};

TEST_F(LineageTest, WhyFollowsThePipelineThroughThePipe) {
  World w(db_path_);
  pipeline(w);
  auto r = why(*w.db, path("out"), 6);
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  for (const char* want :
       {"generated(out, uniq)", "used(uniq, pipe)", "generated(pipe, sort -n a)",
        "used(sort -n a, a)", "generated(a, sh)", "informed(uniq, fork of sh)"}) {
    EXPECT_TRUE(e.count(want)) << want << " missing from " << json(e).dump(1);
  }
  EXPECT_FALSE(e.count("used(cat b, b)")) << "the unrelated cat must not appear";
  EXPECT_NE(r.text.find("created and written by uniq"), std::string::npos) << r.text;
  EXPECT_EQ(r.graph["query"], "why");
}

// A daemon running before tracking began (this test process, found in /proc, never seen
// starting) writes out from in: the answer names it and says its earlier reads and its
// parent are not known, rather than presenting the reads it saw as all there is.
TEST_F(LineageTest, AWriterRunningBeforeTrackingBeganIsSaidToBe) {
  World w(db_path_);
  w.setup({{10, "in"}});
  const auto self = static_cast<uint32_t>(::getpid());
  w.read(self, 10);
  w.write_new(self, 12, "out");
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("running before tracking began: earlier reads unknown"), std::string::npos)
      << r.text;
  EXPECT_NE(r.text.find(path("in")), std::string::npos) << "what it read once tracked: " << r.text;
  bool observed = false;
  for (const json& a : r.graph["activities"]) observed |= a.value("origin", "") == "observed";
  EXPECT_TRUE(observed) << r.graph.dump(1);
}

TEST_F(LineageTest, ImpactFindsEverythingDerivedFromAnInput) {
  World w(db_path_);
  pipeline(w);
  auto r = impact(*w.db, path("a"), 6);
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  for (const char* want : {"used(sort -n a, a)", "generated(pipe, sort -n a)", "used(uniq, pipe)",
                           "generated(out, uniq)"}) {
    EXPECT_TRUE(e.count(want)) << want << " missing from " << json(e).dump(1);
  }
  for (const auto& x : e) EXPECT_EQ(x.find("(c,"), std::string::npos) << "c is not from a: " << x;
  // sort only opened a (no read record): said as in why.
  EXPECT_NE(r.text.find("opened by sort -n a"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("wrote " + path("out")), std::string::npos) << r.text;
  // b only reaches c.
  auto rb = impact(*w.db, path("b"), 6);
  ASSERT_TRUE(rb.found);
  EXPECT_TRUE(edges(rb.graph).count("generated(c, cat b)"));
  EXPECT_FALSE(edges(rb.graph).count("generated(out, uniq)"));
}

TEST_F(LineageTest, UnknownPathAndEmptyDatabaseSaySo) {
  World w(db_path_);
  auto empty = why(*w.db, path("x"), 6);
  EXPECT_FALSE(empty.found);
  EXPECT_NE(empty.message.find("empty"), std::string::npos) << empty.message;
  pipeline(w);
  auto r = impact(*w.db, path("never-written"), 6);
  EXPECT_FALSE(r.found);
  EXPECT_NE(r.message.find("no provenance recorded for"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("directory"), std::string::npos) << r.message;
  auto dir = why(*w.db, "/tmp", 6);  // a directory: said so, not "not on a tracked mount"
  EXPECT_FALSE(dir.found);
  EXPECT_NE(dir.message.find("it is a directory"), std::string::npos) << dir.message;
  EXPECT_FALSE(process(*w.db, 999999).found);
}

TEST_F(LineageTest, PidReuseKeepsProcessesApart) {
  World w(db_path_);
  auto sh = w.fork({1, 1}, 100);
  auto first = w.run(sh, 500, {"writer-one"});
  w.write_new(500, 20, "x");
  w.exit(first);
  auto second = w.run(sh, 500, {"writer-two"});  // the same pid, later
  w.write_new(500, 21, "y");
  w.exit(second, 3);
  w.commit();
  EXPECT_TRUE(edges(why(*w.db, path("x"), 2).graph).count("generated(x, writer-one)"));
  auto y = edges(why(*w.db, path("y"), 2).graph);
  EXPECT_TRUE(y.count("generated(y, writer-two)"));
  EXPECT_FALSE(y.count("generated(y, writer-one)"));
  auto p = process(*w.db, 500, /*all=*/true);
  ASSERT_TRUE(p.found) << p.message;
  ASSERT_EQ(p.graph["processes"].size(), 2u);
  EXPECT_EQ(p.graph["processes"][0]["exit_code"], 3 << 8) << "newest first";
  EXPECT_NE(p.text.find("wrote " + path("y")), std::string::npos) << p.text;
}

TEST_F(LineageTest, FortyThreadsWritingAreOneProcessAndOneVersion) {
  World w(db_path_);
  auto sh = w.fork({1, 1}, 100);
  auto p = w.run(sh, 600, {"threaded"});
  uint64_t fh0 = 9000;
  w.record(RecordType::kCreate, 600, 30, "big", fh0, O_WRONLY | O_CREAT);
  for (uint32_t i = 1; i <= 40; i++) {
    w.fork(p, 0, true, 600 + i);
    w.record(RecordType::kOpen, 600 + i, 30, "", fh0 + i, O_WRONLY);
  }
  for (uint32_t i = 1; i <= 40; i++)
    w.record(RecordType::kWrite, 600 + i, 30, "", fh0 + i, O_WRONLY);
  for (uint32_t i = 0; i <= 40; i++) w.release(30, fh0 + i, O_WRONLY, w.t);
  w.commit();
  auto r = why(*w.db, path("big"), 2);
  ASSERT_TRUE(r.found);
  std::set<std::string> producers;
  for (const auto& x : edges(r.graph))
    if (x.rfind("generated(", 0) == 0) producers.insert(x);
  EXPECT_EQ(producers, (std::set<std::string>{"generated(big, threaded)"}));
  EXPECT_EQ(r.graph["entities"].size(), 1u) << "one version while 40 handles wrote";
}

// Records attributed by the time they carry, not by the order they arrive: provd reads the
// probes first, then the fs log, so a write made before an exec is often ingested after it.
TEST_F(LineageTest, RecordsBeforeAnExecBelongToTheOldImage) {
  World w(db_path_);
  auto sh = w.run({1, 1}, 100, {"sh"});
  auto p = w.fork(sh, 700);
  const uint64_t before = w.tick();
  w.exec(p, {"second-image"});
  const uint64_t after = w.tick();
  uint64_t fh = 77;
  w.record(RecordType::kCreate, 700, 40, "before", fh, O_WRONLY | O_CREAT, S_IFREG | 0644, 1, "", 1,
           0, 0, before);
  w.record(RecordType::kCreate, 700, 41, "after", fh + 1, O_WRONLY | O_CREAT, S_IFREG | 0644, 1, "",
           1, 0, 0, after);
  w.record(RecordType::kCreate, 700, 42, "before-again", fh + 2, O_WRONLY | O_CREAT, S_IFREG | 0644,
           1, "", 1, 0, 0, before + 1);
  w.commit();
  EXPECT_TRUE(edges(why(*w.db, path("before"), 1).graph).count("generated(before, fork of sh)"))
      << json(edges(why(*w.db, path("before"), 1).graph)).dump(1);
  EXPECT_TRUE(edges(why(*w.db, path("after"), 1).graph).count("generated(after, second-image)"));
  EXPECT_TRUE(edges(why(*w.db, path("before-again"), 1).graph)
                  .count("generated(before-again, fork of sh)"));
}

// Files from before tracking are named by a walk of the mount, which runs when their first
// record is read: after the fact. `sed -i s/a/b/ conf` had replaced conf by then, and
// `cat old > out; rm old` removed old: the walk saw neither. The rename-over and the unlink
// name them (the read original is `conf`, not "[name never seen]").
TEST_F(LineageTest, AFileGoneBeforeTheWalkIsNamedByTheCallThatRemovedIt) {
  World w(db_path_);
  auto sh = w.run({1, 1}, 100, {"sh"});
  auto sed = w.run(sh, 200, {"sed", "-i", "s/a/b/", "conf"});
  w.read(200, 5);  // conf, from before tracking
  w.write_new(200, 10, "sedAbc12");
  w.record(RecordType::kRename, 200, 10, "sedAbc12", 0, 0, S_IFREG | 0644, 1, "conf", 1,
           fsprov::kAuxDied, 5);
  w.exit(sed);
  auto cat = w.run(sh, 300, {"cat", "old"});
  w.read(300, 6);  // old, from before tracking
  w.write_new(300, 11, "out");
  w.exit(cat);
  auto rm = w.run(sh, 400, {"rm", "old"});
  w.record(RecordType::kUnlink, 400, 6, "old", 0, 0, S_IFREG | 0644, 1, "", 1, fsprov::kAuxDied);
  w.exit(rm);
  w.commit();
  auto conf = why(*w.db, path("conf"), 4);
  ASSERT_TRUE(conf.found) << conf.message;
  EXPECT_NE(conf.text.find(path("conf") + "  (version 1, first seen"), std::string::npos)
      << conf.text;
  EXPECT_EQ(conf.text.find("[name never seen]"), std::string::npos) << conf.text;
  auto out = why(*w.db, path("out"), 4);
  ASSERT_TRUE(out.found) << out.message;
  EXPECT_NE(out.text.find(path("old") + "  (version 1, first seen"), std::string::npos) << out.text;
  EXPECT_TRUE(why(*w.db, path("old"), 4).found) << "the removed file is found by its old name";
}

TEST_F(LineageTest, RenameOverAndUnlinkInvalidate) {
  World w(db_path_);
  w.run({1, 1}, 100, {"sh"});
  w.write_new(100, 50, "final");
  w.write_new(100, 51, "tmp");
  w.record(RecordType::kRename, 100, 51, "tmp", 0, 0, S_IFREG | 0644, 1, "final", 1,
           fsprov::kAuxDied, 50);
  w.write_new(100, 52, "gone");
  w.record(RecordType::kUnlink, 100, 52, "gone", 0, 0, S_IFREG | 0644, 1, "", 1, fsprov::kAuxDied);
  w.commit();
  auto r = why(*w.db, path("final"), 2);
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.graph["entities"][0]["file"]["ino"], 51) << "final is now the renamed file";
  auto e_final = edges(r.graph);
  EXPECT_TRUE(e_final.count("generated(final@v2, sh)"))
      << "the rename made a version, by sh: " << json(e_final).dump(1);
  EXPECT_TRUE(e_final.count("derived(final@v2, tmp, version)")) << json(e_final).dump(1);
  // One process wrote tmp and renamed it over final: one line, naming tmp and the rename.
  EXPECT_NE(r.text.find("created and written by sh"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("(as tmp; then rename)"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("previous version"), std::string::npos) << r.text;
  auto window = prov_cli::window(*w.db, 0, INT64_MAX, false);
  ASSERT_TRUE(window.found);
  auto e = edges(window.graph);
  EXPECT_TRUE(e.count("invalidated(final, rename-over)")) << json(e).dump(1);
  EXPECT_TRUE(e.count("invalidated(gone, unlink)")) << json(e).dump(1);
}

TEST_F(LineageTest, RenamedDirectoryMovesThePathsBelowIt) {
  World w(db_path_);
  w.run({1, 1}, 100, {"sh"});
  w.record(RecordType::kMkdir, 100, 60, "d", 0, 0, S_IFDIR | 0755);
  w.record(RecordType::kMkdir, 100, 61, "sub", 0, 0, S_IFDIR | 0755, 60);
  w.write_new(100, 62, "f", 61);
  w.record(RecordType::kRename, 100, 60, "d", 0, 0, S_IFDIR | 0755, 1, "e", 1);
  w.write_new(100, 63, "g", 61);  // made after the move: its parent's path is the new one
  w.commit();
  EXPECT_TRUE(why(*w.db, path("e/sub/f"), 1).found);
  EXPECT_TRUE(why(*w.db, path("e/sub/g"), 1).found);
  auto old = why(*w.db, path("d/sub/f"), 1);
  ASSERT_TRUE(old.found) << "the old path still answers (it was its name)";
  EXPECT_EQ(old.graph["entities"][0]["file"]["ino"], 62);
}

// A directory made before tracking is found by one walk of the mount. Records naming
// directories that are gone (removed before a lagging or restarted collector read their
// records) do not walk the tree again each time: one walk per tracking session.
TEST_F(LineageTest, DirectoriesFromBeforeTrackingNeedOneWalkPerSession) {
  const std::string mnt = dir_ + "/mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((mnt + "/old").c_str(), 0755), 0);
  for (int i = 0; i < 50; i++) std::ofstream(mnt + "/old/f" + std::to_string(i)) << i;
  struct stat st {};
  ASSERT_EQ(stat((mnt + "/old").c_str(), &st), 0);
  World w(db_path_, mnt);
  w.run({1, 1}, 100, {"sh"});
  w.write_new(100, 900, "new", st.st_ino);
  for (uint64_t gone = 5000; gone < 7000; gone++)
    w.record(RecordType::kUnlink, 100, gone + 100000, "x", 0, 0, S_IFREG | 0644, gone);
  EXPECT_EQ(w.col->tree_walks(), 1u);
  w.record(RecordType::kTrackingStart, 0, 0);
  w.record(RecordType::kUnlink, 100, 1, "y", 0, 0, S_IFREG | 0644, 424242);
  EXPECT_EQ(w.col->tree_walks(), 2u) << "a new session walks again";
  w.commit();
  auto r = why(*w.db, mnt + "/old/new", 1);
  EXPECT_TRUE(r.found) << "the directory made before tracking was named by the walk";
}

// `sed -i.bak s/^/#/ conf` on a file from before tracking: sed reads conf, renames it to
// conf.bak and its temporary file to conf. The walk that names conf runs when its first
// record is read, after the fact: it finds the file as conf.bak. What sed read was conf.
TEST_F(LineageTest, AFileRenamedBeforeTheWalkHadItsOldNameUntilTheRename) {
  const std::string mnt = dir_ + "/mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  std::ofstream(mnt + "/conf.bak") << "a\n";
  struct stat st {};
  ASSERT_EQ(stat((mnt + "/conf.bak").c_str(), &st), 0);
  World w(db_path_, mnt);
  auto sh = w.run({1, 1}, 100, {"sh"});
  auto sed = w.run(sh, 200, {"sed", "-i.bak", "s/^/#/", "conf"});
  w.read(200, st.st_ino);
  w.write_new(200, 900, "sedAbc12");
  w.record(RecordType::kRename, 200, st.st_ino, "conf", 0, 0, S_IFREG | 0644, 1, "conf.bak", 1);
  w.record(RecordType::kRename, 200, 900, "sedAbc12", 0, 0, S_IFREG | 0644, 1, "conf", 1);
  w.exit(sed);
  w.commit();
  auto r = why(*w.db, mnt + "/conf", 4);
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(mnt + "/conf  (version 1, first seen"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("conf.bak  (version 1"), std::string::npos) << r.text;
  auto bak = why(*w.db, mnt + "/conf.bak", 4);
  ASSERT_TRUE(bak.found) << bak.message;
  EXPECT_EQ(bak.graph["entities"][0]["file"]["ino"], st.st_ino) << "conf.bak is that file now";
}

// provd restarts: the cursor and last_seq stored with the rows mean nothing is lost or
// repeated when the same records are offered again.
TEST_F(LineageTest, RestartNeitherLosesNorRepeats) {
  uint64_t seq = 0, offset = 0, t = 0;
  {
    World w(db_path_);
    w.run({1, 1}, 100, {"sh"});
    w.write_new(100, 70, "one");
    w.commit();
    seq = w.seq;
    offset = w.offset;
    t = w.t;
  }
  World again(db_path_);
  EXPECT_EQ(again.last_seq, seq);
  uint64_t cursor = 0, last = 0;
  again.col->fs_source(kMnt, &cursor, &last);
  EXPECT_EQ(cursor, offset) << "the read position was stored with the rows";
  // The log offers the last record again (it was not acknowledged), then a new one.
  again.seq = seq - 1;
  again.t = t;
  again.release(70, 101, O_WRONLY, t);
  again.write_new(100, 71, "two");
  again.commit();
  bento::lineage::Stmt n(again.db->handle(), "SELECT COUNT(*), COUNT(DISTINCT seq) FROM events");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.int64(0), static_cast<int64_t>(seq + 3));
  EXPECT_EQ(n.int64(0), n.int64(1)) << "no record stored twice";
  EXPECT_TRUE(why(*again.db, path("two"), 1).found);
}

// A handle open across a provd restart still belongs to its write session: a second
// writer joining it after the restart writes the same version, not a new one.
TEST_F(LineageTest, OpenHandlesSurviveARestart) {
  World::Proc sh{};
  uint64_t seq = 0, offset = 0, t = 0;
  {
    World w(db_path_);
    sh = w.run({1, 1}, 100, {"sh"});
    w.record(RecordType::kCreate, 100, 80, "log", 500, O_WRONLY | O_CREAT);
    w.record(RecordType::kWrite, 100, 80, "", 500, O_WRONLY);
    w.commit();
    seq = w.seq, offset = w.offset, t = w.t;
  }
  World w(db_path_);
  w.seq = seq, w.offset = offset, w.t = t;
  w.record(RecordType::kOpen, 100, 80, "", 501, O_WRONLY);
  w.record(RecordType::kWrite, 100, 80, "", 501, O_WRONLY);
  w.release(80, 501, O_WRONLY, w.t);
  w.release(80, 500, O_WRONLY, w.t);
  // Both closed: the next writer starts version 2.
  w.record(RecordType::kOpen, 100, 80, "", 502, O_WRONLY);
  w.record(RecordType::kWrite, 100, 80, "", 502, O_WRONLY);
  w.release(80, 502, O_WRONLY, w.t);
  w.commit();
  bento::lineage::Stmt v(w.db->handle(), "SELECT MAX(version) FROM entities");
  ASSERT_TRUE(v.step());
  EXPECT_EQ(v.int64(0), 2) << "one version across the restart, a second after both closed";
  bento::lineage::Stmt open(w.db->handle(), "SELECT COUNT(*) FROM open_handles");
  ASSERT_TRUE(open.step());
  EXPECT_EQ(open.int64(0), 0) << "every handle was released";
}

// Opens outside the tracked mounts (probes) count only for programs that touch a tracked
// mount or a pipe: the script that reads /etc/app.conf and writes the mount, not the
// compiler that reads a thousand headers elsewhere.
TEST_F(LineageTest, OutsideOpensCountForProgramsThatTouchTheMount) {
  World w(db_path_);
  auto sh = w.run({1, 1}, 100, {"sh"});
  auto app = w.run(sh, 200, {"app"});
  w.open_outside(app, "/etc/app.conf", 5001, O_RDONLY);
  w.open_outside(app, "/usr/lib/x86_64-linux-gnu/libc.so.6", 5002, O_RDONLY);
  w.open_outside(app, "/var/backup/copy", 5003, O_WRONLY | O_CREAT);
  w.write_new(200, 90, "report");
  auto cc = w.run(sh, 201, {"cc"});
  w.open_outside(cc, "/usr/include/stdio.h", 5004, O_RDONLY);
  w.exit(cc);
  w.commit();
  auto e = edges(why(*w.db, path("report"), 2).graph);
  EXPECT_TRUE(e.count("used(app, /etc/app.conf)")) << json(e).dump(1);
  for (const auto& x : e) EXPECT_EQ(x.find("libc.so"), std::string::npos) << x;
  auto out = impact(*w.db, "/etc/app.conf", 2);
  ASSERT_TRUE(out.found) << out.message;
  EXPECT_TRUE(edges(out.graph).count("generated(report, app)"));
  EXPECT_TRUE(edges(out.graph).count("generated(/var/backup/copy, app)"))
      << "what the reader wrote outside: where the data may have gone";
  EXPECT_FALSE(impact(*w.db, "/usr/include/stdio.h", 2).found)
      << "cc never touched the mount: its reads are not stored";
}

TEST_F(LineageTest, MalformedInputIsCountedAndSkipped) {
  World w(db_path_);
  char junk[64] = {};
  EXPECT_FALSE(w.col->on_probe_event(junk, 3)) << "shorter than a header";
  bento_event_header h{};
  h.type = 999;
  EXPECT_FALSE(w.col->on_probe_event(&h, sizeof h)) << "unknown type";
  h.type = BENTO_EV_EXEC;
  EXPECT_FALSE(w.col->on_probe_event(&h, sizeof h)) << "exec event cut short";
  w.col->on_fs_malformed(w.source, 4096);
  w.commit();
  bento::lineage::Stmt q(w.db->handle(), "SELECT malformed, cursor FROM sources WHERE id = ?");
  q.bind(1, w.source);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.int64(0), 1);
  EXPECT_EQ(q.int64(1), 4096) << "the cursor moves past the bad record";
}

TEST_F(LineageTest, WindowShowsOnlyWhatHappenedInIt) {
  World w(db_path_);
  pipeline(w);
  const uint64_t mid = w.tick();
  w.run(sh_, 104, {"touch", "late"});
  w.write_new(104, 14, "late");
  w.commit();
  auto r = prov_cli::window(*w.db, static_cast<int64_t>(mid), INT64_MAX, false);
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(e.count("generated(late, touch late)")) << json(e).dump(1);
  EXPECT_FALSE(e.count("generated(out, uniq)")) << "before the window";
  EXPECT_NE(r.text.find("touch late"), std::string::npos) << r.text;
  EXPECT_FALSE(prov_cli::window(*w.db, static_cast<int64_t>(w.tick()), INT64_MAX, false).found);
}

// The W3C PROV-JSON submission's structure: the top-level sections, each relation's
// required and optional attributes, qualified names with declared prefixes, references to
// declared nodes, xsd:dateTime times.
void expect_valid_prov_json(const json& doc) {
  const std::set<std::string> sections = {"prefix",
                                          "entity",
                                          "activity",
                                          "agent",
                                          "used",
                                          "wasGeneratedBy",
                                          "wasInformedBy",
                                          "wasDerivedFrom",
                                          "wasAssociatedWith",
                                          "wasInvalidatedBy",
                                          "wasEndedBy"};
  // relation -> {required, optional}; the attribute -> the section its value must name.
  const std::map<std::string,
                 std::pair<std::map<std::string, std::string>, std::map<std::string, std::string>>>
      relations = {
          {"used", {{{"prov:activity", "activity"}}, {{"prov:entity", "entity"}}}},
          {"wasGeneratedBy", {{{"prov:entity", "entity"}}, {{"prov:activity", "activity"}}}},
          {"wasInformedBy", {{{"prov:informed", "activity"}, {"prov:informant", "activity"}}, {}}},
          {"wasDerivedFrom",
           {{{"prov:generatedEntity", "entity"}, {"prov:usedEntity", "entity"}},
            {{"prov:activity", "activity"}}}},
          {"wasAssociatedWith", {{{"prov:activity", "activity"}}, {{"prov:agent", "agent"}}}},
          {"wasInvalidatedBy", {{{"prov:entity", "entity"}}, {{"prov:activity", "activity"}}}},
          {"wasEndedBy", {{{"prov:activity", "activity"}}, {{"prov:ender", "activity"}}}},
      };
  const std::regex qname("^([A-Za-z_][A-Za-z0-9_.-]*):[A-Za-z0-9_.-]+$");
  const std::regex date_time(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$)");
  ASSERT_TRUE(doc.is_object());
  ASSERT_TRUE(doc.contains("prefix"));
  for (const auto& [k, v] : doc.items()) EXPECT_TRUE(sections.count(k)) << "unknown section " << k;
  std::set<std::string> prefixes = {"prov", "xsd"};
  for (const auto& [p, uri] : doc["prefix"].items()) {
    prefixes.insert(p);
    EXPECT_TRUE(uri.is_string());
  }
  auto check_qname = [&](const std::string& q) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(q, m, qname)) << q << " is not a qualified name";
    EXPECT_TRUE(prefixes.count(m[1])) << "undeclared prefix in " << q;
  };
  for (const char* node : {"entity", "activity", "agent"}) {
    const json nodes = doc.value(node, json::object());
    for (const auto& [id, attrs] : nodes.items()) {
      check_qname(id);
      EXPECT_TRUE(attrs.is_object());
      for (const auto& [k, v] : attrs.items()) {
        check_qname(k);
        if (k == "prov:startTime" || k == "prov:endTime") {
          EXPECT_TRUE(std::regex_match(v.get<std::string>(), date_time)) << v;
        }
        if (v.is_object()) {  // a typed literal
          EXPECT_TRUE(v.contains("$") && v.contains("type")) << v;
          if (v.value("type", "") == "xsd:dateTime") {
            EXPECT_TRUE(std::regex_match(v["$"].get<std::string>(), date_time)) << v;
          }
        }
      }
    }
  }
  for (const auto& [rel, spec] : relations) {
    const json rels = doc.value(rel, json::object());
    for (const auto& [id, attrs] : rels.items()) {
      EXPECT_EQ(id.rfind("_:", 0), 0u) << rel << " id " << id;
      for (const auto& [key, section] : spec.first) {
        ASSERT_TRUE(attrs.contains(key)) << rel << " " << id << " lacks " << key;
      }
      for (const auto& [k, v] : attrs.items()) {
        check_qname(k);
        std::string section;
        if (spec.first.count(k)) section = spec.first.at(k);
        if (spec.second.count(k)) section = spec.second.at(k);
        if (!section.empty()) {
          EXPECT_TRUE(doc[section].contains(v.get<std::string>()))
              << rel << " " << id << ": " << k << " names undeclared " << v;
        } else if (k == "prov:time") {
          EXPECT_TRUE(std::regex_match(v.get<std::string>(), date_time)) << v;
        } else {
          EXPECT_EQ(k.rfind("bento:", 0), 0u) << rel << " has a foreign attribute " << k;
        }
      }
    }
  }
}

std::string stream_text(bento::lineage::Database& db, prov_cli::ExportFormat f) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  prov_cli::StreamScope scope;
  scope.chunk = 3;  // many chunks even on a small graph
  std::string err;
  EXPECT_TRUE(prov_cli::stream_export(db, f, scope, out, &err)) << err;
  std::fclose(out);
  std::string text(buf, len);
  std::free(buf);
  return text;
}
json stream(bento::lineage::Database& db, prov_cli::ExportFormat f) {
  std::string text = stream_text(db, f);
  json j = json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

// writer (pid 200) reads in and writes pipe 7000, reader (201) reads it and writes out;
// then `later` times more, each reported again (events.h v10).
void pipe_reported_again(World& w, int later) {
  auto sh = w.setup({{10, "in"}});
  auto writer = w.run(sh, 200, {"writer"});
  auto reader = w.run(sh, 201, {"reader"});
  for (int i = 0; i <= later; i++) {
    w.read(200, 10);
    w.pipe_io(writer, 7000, /*write=*/true, /*again=*/i == 0 ? 0 : 1);
    w.pipe_io(reader, 7000, /*write=*/false, /*again=*/i == 0 ? 0 : 1);
  }
  w.write_new(201, 12, "out");
  w.commit();
}

// A pipe's later reads and writes (schema v9) are edges of the export too ("t:<id>"),
// instants, in both formats.
TEST_F(LineageTest, ExportListsAPipesLaterReadsAndWrites) {
  World w(db_path_);
  pipe_reported_again(w, 1);
  json all = stream(*w.db, prov_cli::ExportFormat::kNative);
  std::map<std::string, int> later;  // type -> edges of pipe_transfers rows
  for (const json& e : all["edges"])
    if (e.value("id", "").rfind("t:", 0) == 0) {
      later[e.value("type", "")]++;
      EXPECT_EQ(e["time"], e["last"]) << e.dump();
    }
  EXPECT_EQ(later, (std::map<std::string, int>{{"used", 1}, {"wasGeneratedBy", 1}})) << all.dump(1);
  json pj = stream(*w.db, prov_cli::ExportFormat::kProvJson);
  expect_valid_prov_json(pj);
  EXPECT_TRUE(pj["used"].contains("_:t:1") || pj["used"].contains("_:t:2")) << pj.dump(1);
}

// `prov process` lists a pipe's later reads and writes too (it showed the first only): one
// line each pipe and direction with their count and the last one's time; the JSON has each.
TEST_F(LineageTest, ProcessListsAPipesLaterReadsAndWrites) {
  World w(db_path_);
  pipe_reported_again(w, 2);
  auto r = process(*w.db, 201);
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read pipe:"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("again (2 times, until"), std::string::npos) << r.text;
  int later = 0;
  for (const json& e : r.graph["edges"])
    if (e.value("id", "").rfind("t:", 0) == 0 && e.value("type", "") == "used") later++;
  EXPECT_EQ(later, 2) << r.graph.dump(1);
  auto wr = process(*w.db, 200);
  ASSERT_TRUE(wr.found) << wr.message;
  EXPECT_NE(wr.text.find("again (2 times, until"), std::string::npos) << wr.text;
  // `prov window` over the whole record: every one of them.
  auto win = prov_cli::window(*w.db, 0, std::numeric_limits<int64_t>::max(), false);
  std::map<std::string, int> in_window;
  for (const json& e : win.graph["edges"])
    if (e.value("id", "").rfind("t:", 0) == 0) in_window[e.value("type", "")]++;
  EXPECT_EQ(in_window, (std::map<std::string, int>{{"used", 2}, {"wasGeneratedBy", 2}}))
      << win.graph.dump(1);
}

// `prov process` and `prov window` tell a process's inputs as `prov why` does: a file it opened for
// reading and never read is "opened", not "read"; one it read is "read".
TEST_F(LineageTest, ProcessSaysOpenedForAFileItNeverRead) {
  World w(db_path_);
  auto sh = w.setup({{11, "open-me"}});
  auto p = w.run(sh, 300, {"tool"});
  w.read_outside(p, "/srv/read-me", 7000);  // the probes saw its read
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kOpen, 300, 11, "", fh, O_RDONLY);
  w.release(11, fh, O_RDONLY, 0);
  w.write_new(300, 12, "out");
  w.exit(p);
  w.commit();
  auto r = process(*w.db, 300);
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("opened " + path("open-me")), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("read " + path("open-me")), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("read /srv/read-me"), std::string::npos) << r.text;
  // `prov window` likewise.
  auto win = prov_cli::window(*w.db, 0, std::numeric_limits<int64_t>::max(), false);
  EXPECT_NE(win.text.find("  opened  " + path("open-me")), std::string::npos) << win.text;
  EXPECT_NE(win.text.find("  read  /srv/read-me"), std::string::npos) << win.text;
}

TEST_F(LineageTest, ExportIsValidProvJsonAndDot) {
  World w(db_path_);
  pipeline(w);
  w.write_new(100, 15, "doomed");
  w.record(RecordType::kUnlink, 100, 15, "doomed", 0, 0, S_IFREG | 0644, 1, "", 1,
           fsprov::kAuxDied);
  w.commit();
  // The whole graph streams (small chunks: many read transactions), in all three formats.
  json all = stream(*w.db, prov_cli::ExportFormat::kNative);
  ASSERT_TRUE(all.is_object());
  json pj = stream(*w.db, prov_cli::ExportFormat::kProvJson);
  expect_valid_prov_json(pj);
  json translated = prov_cli::to_prov_json(all), streamed = pj;
  for (json* doc : {&translated, &streamed})
    for (auto it = doc->begin(); it != doc->end();)
      it = it->empty() ? doc->erase(it) : std::next(it);
  EXPECT_EQ(streamed, translated) << "streamed PROV-JSON = the native one translated: "
                                  << json::diff(streamed, translated);
  for (const char* rel : {"entity", "activity", "agent", "used", "wasGeneratedBy", "wasInformedBy",
                          "wasAssociatedWith", "wasInvalidatedBy", "wasEndedBy"}) {
    EXPECT_FALSE(pj.value(rel, json::object()).empty()) << rel << " is empty in the export";
  }
  // Same facts in both formats: one PROV relation per native edge (marks of calls on no
  // file and no process have no PROV relation).
  size_t relations = 0, unmapped = 0;
  for (const char* rel : {"used", "wasGeneratedBy", "wasInformedBy", "wasDerivedFrom",
                          "wasAssociatedWith", "wasInvalidatedBy", "wasEndedBy"})
    relations += pj.value(rel, json::object()).size();
  for (const json& e : all["edges"])
    if (e.value("type", "") == "action" && !e.contains("entity") && !e.contains("other"))
      unmapped++;
  EXPECT_EQ(relations + unmapped, all["edges"].size());
  EXPECT_EQ(pj["entity"].size(), all["entities"].size());
  bento::lineage::Stmt count(
      w.db->handle(),
      "SELECT (SELECT COUNT(*) FROM entities), (SELECT COUNT(*) FROM used) + "
      "(SELECT COUNT(*) FROM generated)");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(static_cast<int64_t>(all["entities"].size()), count.int64(0)) << "every node, once";
  size_t flows = 0;
  std::set<std::string> ids;
  for (const json& e : all["edges"]) {
    EXPECT_TRUE(ids.insert(e.value("id", "")).second) << "edge ids are unique: " << e;
    flows += e.value("type", "") == "used" || e.value("type", "") == "wasGeneratedBy";
  }
  EXPECT_EQ(static_cast<int64_t>(flows), count.int64(1)) << "every relation row, once";
  std::string dot_all = stream_text(*w.db, prov_cli::ExportFormat::kDot);
  EXPECT_EQ(dot_all.rfind("digraph provenance {", 0), 0u);

  // A subgraph by path: what made out and what came of it, nothing about c.
  prov_cli::ExportScope scope;
  scope.path = path("out");
  prov_cli::LineageOptions lo;
  auto sub = prov_cli::export_graph(*w.db, scope, lo);
  ASSERT_TRUE(sub.found);
  auto e = edges(sub.graph);
  EXPECT_TRUE(e.count("generated(out, uniq)"));
  EXPECT_FALSE(e.count("generated(c, cat b)"));
  expect_valid_prov_json(prov_cli::to_prov_json(sub.graph));

  std::string dot = prov_cli::to_dot(sub.graph);
  EXPECT_EQ(dot.rfind("digraph provenance {", 0), 0u);
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
  for (const auto& a : sub.graph["activities"])
    EXPECT_NE(dot.find("\"" + a.value("id", "") + "\" [shape=box"), std::string::npos);
  size_t arrows = 0, drawn = 0;
  for (size_t at = dot.find(" -> "); at != std::string::npos; at = dot.find(" -> ", at + 1))
    arrows++;
  for (const json& e : sub.graph["edges"])
    drawn += e.value("type", "") != "wasEndedBy" && e.value("type", "") != "wasAssociatedWith";
  EXPECT_EQ(arrows, drawn) << "one arrow per relation between two nodes";
  EXPECT_FALSE(prov_cli::to_prov_json(sub.graph).value("wasDerivedFrom", json::object()).empty())
      << "out was derived from a through the processes";
}

TEST(TimeArg, ReadsAbsoluteRelativeAndRejectsJunk) {
  int64_t a = 0, b = 0, now = 0;
  std::string err;
  ASSERT_TRUE(prov_cli::parse_time_arg("2026-12-01T21:05:00Z", &a, &err)) << err;
  ASSERT_TRUE(prov_cli::parse_time_arg("2026-12-01T22:05:00.5+01:00", &b, &err)) << err;
  EXPECT_NEAR(static_cast<double>(b - a), 500e6, 1e6) << "same instant plus half a second";
  ASSERT_TRUE(prov_cli::parse_time_arg("now", &now, &err));
  int64_t ago = 0;
  ASSERT_TRUE(prov_cli::parse_time_arg("-10m", &ago, &err));
  EXPECT_NEAR(static_cast<double>(now - ago), 600e9, 5e9);
  EXPECT_TRUE(prov_cli::is_relative_time("-2h"));
  EXPECT_FALSE(prov_cli::is_relative_time("--json"));
  EXPECT_FALSE(prov_cli::parse_time_arg("yesterday-ish", &a, &err));
  EXPECT_NE(err.find("cannot read the time"), std::string::npos);
  EXPECT_FALSE(prov_cli::parse_time_arg("2026-12-01T21:05:00Zjunk", &a, &err));
  // A time of day as the answers print it (UTC): its latest occurrence, not in the future.
  const int64_t wall_now = bento::clock_ns(CLOCK_REALTIME);
  const std::string printed =
      prov_cli::wall_time_text(static_cast<uint64_t>(wall_now - 5000000000LL));
  int64_t tod = 0;
  ASSERT_TRUE(prov_cli::parse_time_arg(printed.substr(11, 12), &tod, &err)) << err;
  EXPECT_NEAR(static_cast<double>(now - tod), 5e9, 2e9) << printed.substr(11, 12);
  EXPECT_FALSE(prov_cli::parse_time_arg("25:00:00", &a, &err));
  EXPECT_FALSE(prov_cli::parse_time_arg("17:01:55junk", &a, &err));
}

}  // namespace
