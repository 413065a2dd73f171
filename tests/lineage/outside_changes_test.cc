// Files outside the tracked mounts as they change (query-cli/LINEAGE.md §3, §6): a write
// the probes reported at its entry that then failed wrote nothing, whether it was stored
// already or still waited with its undecided process; a reader holding a file open that
// reads it again after another process wrote it (the probes report that read again) is a
// reader of the new version.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;
using nlohmann::json;

bool has(const std::set<std::string>& e, const std::string& x) {
  return e.count(x) != 0;
}

// `sh -c 'cat IN > /tmp/x'` then `cp /tmp/x out`: the shell's image opens /tmp/x, cat
// (exec'd in a child) writes it. IN is on the mount (cat is kept when it writes: its write
// is stored, then undone) or outside it (cat waits undecided: its write is dropped).
struct Run {
  prov_cli::QueryResult r;
  std::set<std::string> e;
};
Run redirected_cat(bool input_on_mount, bool failed) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "a"}});
  if (!input_on_mount) {
    auto dl = w.run(sh, 250, {"curl", "-o", "/tmp/in"});
    w.write_outside(dl, "/tmp/in", 7001);
    w.exit(dl);
  }
  auto dash = w.run(sh, 300, {"sh", "-c", "cat IN > /tmp/x"});
  w.open_outside(dash, "/tmp/x", 7000, O_WRONLY | O_CREAT | O_TRUNC);
  auto cat = w.run(dash, 301, {"cat", "IN"});
  if (input_on_mount)
    w.read(301, 10);
  else
    w.read_outside(cat, "/tmp/in", 7001);
  w.file_io(cat, 7000, /*write=*/true);   // at the call's entry
  if (failed) w.write_failed(cat, 7000);  // ENOSPC at its return
  w.exit(cat);
  w.exit(dash);
  auto cp = w.run(sh, 302, {"cp", "/tmp/x", "out"});
  w.read_outside(cp, "/tmp/x", 7000);
  w.write_new(302, 12, "out");
  w.exit(cp);
  w.commit();
  Run out{why(*w.db, path("out")), {}};
  out.e = edges(out.r.graph);
  return out;
}

TEST(OutsideChanges, AFailedWriteOutsideTheMountWroteNothing) {
  for (bool on_mount : {true, false}) {
    SCOPED_TRACE(on_mount ? "stored, then undone" : "dropped while it waited");
    const std::string input = on_mount ? "a" : "/tmp/in";
    auto ok = redirected_cat(on_mount, /*failed=*/false);  // what a write that worked gives
    ASSERT_TRUE(ok.r.found) << ok.r.message;
    EXPECT_TRUE(has(ok.e, "generated(/tmp/x, cat IN)")) << json(ok.e).dump(1) << ok.r.text;
    EXPECT_TRUE(has(ok.e, "used(cat IN, " + input + ")")) << json(ok.e).dump(1);
    auto bad = redirected_cat(on_mount, /*failed=*/true);
    ASSERT_TRUE(bad.r.found) << bad.r.message;
    EXPECT_FALSE(has(bad.e, "generated(/tmp/x, cat IN)")) << json(bad.e).dump(1) << bad.r.text;
    EXPECT_FALSE(has(bad.e, "used(cat IN, " + input + ")")) << json(bad.e).dump(1);
    EXPECT_EQ(bad.r.text.find(on_mount ? path("a") : "/tmp/in"), std::string::npos) << bad.r.text;
    // Still made by the shell's open (O_CREAT|O_TRUNC), as it was.
    EXPECT_TRUE(has(bad.e, "generated(/tmp/x, sh -c cat IN > /tmp/x)")) << json(bad.e).dump(1);
  }
}

// dash opens a redirection in the shell itself, then vforks the command that writes
// (`sh -c 'K=$(cat key); true; cat a > /tmp/x'`): the shell made /tmp/x but put nothing in
// it. It is "created by" (a new name) or "truncated by" (one there before the record), not
// "written by", and what the shell itself had read (`key`, before the command it ran
// before cat) is not a source of what cat wrote.
TEST(OutsideChanges, AShellThatOnlyOpenedTheRedirectionWroteNothingIntoIt) {
  for (const bool made : {true, false}) {
    SCOPED_TRACE(made ? "a new file" : "there before the record");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "a"}, {11, "key"}});
    w.read_outside(sh, "/etc/motd", 6999);  // the probes report first reads and writes
    auto dash = w.run(sh, 300, {"sh", "-c", "K=$(cat key); cat a > /tmp/x"});
    w.read(300, 11);
    auto sub = w.run(dash, 303, {"true"});  // a command it ran after it read key
    w.exit(sub);
    w.open_outside(dash, "/tmp/x", 7000, O_WRONLY | O_CREAT | O_TRUNC, 0x803, 0, made);
    auto cat = w.run(dash, 301, {"cat", "a"});
    w.read(301, 10);
    w.file_io(cat, 7000, /*write=*/true);
    w.exit(cat);
    w.exit(dash);
    w.cat_outside(sh, 302, "/tmp/x", 7000, 12, "out");
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find("written by cat a"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find(std::string(made ? "created" : "truncated") + " by sh -c"),
              std::string::npos)
        << r.text;
    EXPECT_EQ(r.text.find("written by sh -c"), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find(path("key")), std::string::npos) << r.text;
    EXPECT_NE(r.text.find(path("a")), std::string::npos) << r.text;
  }
}

// `tee -a /tmp/log` opens the file itself, and its first write fails: its step goes back to
// what the open made of it (opened for writing), not "written by". A later write of the
// same image that works (the probes report it again) writes it.
TEST(OutsideChanges, AFailedWriteAfterItsOwnOpenLeavesTheOpen) {
  for (bool later_ok : {false, true}) {
    SCOPED_TRACE(later_ok ? "a later write worked" : "no write worked");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "cfg"}});
    auto tee = w.run(sh, 200, {"tee", "-a", "/tmp/log"});
    w.read(200, 10);
    w.write_outside(tee, "/tmp/log", 7000, O_WRONLY | O_APPEND);
    w.write_failed(tee, 7000);
    if (later_ok) w.file_io(tee, 7000, /*write=*/true);
    w.exit(tee);
    w.cat_outside(sh, 300, "/tmp/log", 7000, 12, "out");
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_EQ(r.text.find("written by tee -a /tmp/log") != std::string::npos, later_ok) << r.text;
    EXPECT_EQ(r.text.find("opened for writing by tee") != std::string::npos, !later_ok) << r.text;
  }
}

// `tail -f /tmp/log > out` beside `echo "$SECRET" >> /tmp/log`: the reader holds the log
// open, the appender writes a new version, the reader reads again. The probes report that
// read again (a read after another process changed the file): out has what the appender
// wrote. Without that second read (what the probes sent before), it would not.
TEST(OutsideChanges, AReaderHoldingAFileOpenReadsItsLaterVersions) {
  for (bool read_again : {false, true}) {
    SCOPED_TRACE(read_again ? "read reported again" : "first read only");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "secret"}});
    auto first = w.run(sh, 200, {"logger"});
    w.write_outside(first, "/tmp/log", 7000);
    w.exit(first);
    auto tail = w.run(sh, 300, {"tail", "-f", "/tmp/log"});
    w.read_outside(tail, "/tmp/log", 7000);
    auto echo = w.run(sh, 301, {"appender"});
    w.read(301, 10);
    w.write_outside(echo, "/tmp/log", 7000, O_WRONLY | O_APPEND);
    w.exit(echo);
    if (read_again) w.file_io(tail, 7000, /*write=*/false);
    w.write_new(300, 12, "out");
    w.exit(tail);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    auto e = edges(r.graph);
    EXPECT_EQ(has(e, "used(appender, secret)"), read_again) << json(e).dump(1) << r.text;
    EXPECT_EQ(r.text.find(path("secret")) != std::string::npos, read_again) << r.text;
    EXPECT_TRUE(has(e, "generated(/tmp/log, logger)")) << json(e).dump(1);
  }
}

}  // namespace
