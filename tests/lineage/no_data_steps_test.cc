// A rename, chmod, chown or an empty create puts none of the process's data into the file
// (lineage_answer.h puts_no_data): `prov impact` of what the process read does not reach a
// file it only renamed or chmod'ed. vim with `backupcopy=no` read ins.txt (`:r ins.txt`),
// renamed conf to conf~ and wrote a new conf: ins.txt is in conf, not in conf~.
#include <gtest/gtest.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

bool has(const std::set<std::string>& e, const std::string& x) {
  return e.count(x) != 0;
}

TEST(NoDataSteps, ImpactDoesNotReachAFileTheReaderOnlyRenamedOrChmodded) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  w.setup({{10, "ins.txt"}, {20, "conf"}, {30, "other"}});
  auto vim = w.run({1, 1}, 200, {"vim", "conf"});
  w.read(200, 20);
  w.read(200, 10);
  w.record(RecordType::kRename, 200, 20, "conf", 0, 0, S_IFREG | 0644, 1, "conf~", 1);
  w.write_new(200, 21, "conf");
  w.record(RecordType::kChmod, 200, 30, "", 0, 0, S_IFREG | 0600);
  w.exit(vim);
  w.commit();
  auto im = impact(*w.db, path("ins.txt"));
  ASSERT_TRUE(im.found) << im.message;
  auto e = edges(im.graph);
  EXPECT_TRUE(has(e, "generated(conf, vim conf)")) << json(e).dump(1) << im.text;
  EXPECT_EQ(im.text.find(path("conf~")), std::string::npos) << im.text;
  EXPECT_EQ(im.text.find(path("other")), std::string::npos) << im.text;
  // The rename is still the version's maker where the file itself is asked about.
  auto r = why(*w.db, path("conf~"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("rename by vim conf"), std::string::npos) << r.text;
  // --all is every time-respecting step, these too.
  prov_cli::LineageOptions o;
  o.all = true;
  auto all = prov_cli::impact(*w.db, path("ins.txt"), o);
  EXPECT_NE(all.text.find(path("conf~")), std::string::npos) << all.text;
}

// `K=$(<secret); mv staged final` (mv exec'd by a forked shell), and a subshell renaming
// without exec: a rename puts nothing in, so what the shell read is not listed under it,
// not even as what the shell may have passed on to mv through its command line.
TEST(NoDataSteps, WhatTheShellOfARenameReadIsNotListedUnderIt) {
  for (const bool exec : {true, false}) {
    SCOPED_TRACE(exec ? "mv exec'd" : "subshell renames");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto gen = w.run({1, 1}, 150, {"keygen"});
    w.write_new(150, 11, "secret");
    w.exit(gen);
    auto sh = w.setup({{10, "staged"}});
    w.read(100, 11);
    auto mv = exec ? w.run(sh, 300, {"mv", "staged", "final"}) : w.fork(sh, 300);
    w.record(RecordType::kRename, 300, 10, "staged", 0, 0, S_IFREG | 0644, 1, "final", 1);
    w.exit(mv);
    w.commit();
    auto r = why(*w.db, path("final"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find("rename by"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("started by"), std::string::npos) << "who ran it: " << r.text;
    EXPECT_EQ(r.text.find(path("secret")), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find("command line"), std::string::npos) << r.text;
    EXPECT_EQ(r.graph.dump().find("passed_on"), std::string::npos) << r.graph.dump(1);
    for (const std::string& e : edges(r.graph)) {
      if (e.rfind("derived(", 0) == 0) {
        EXPECT_EQ(e.find("secret"), std::string::npos) << e;
      }
    }
  }
}

// git writes each object as tmp_obj_*, links it to its hash's name and unlinks the
// temporary one: listed as the content it wrote, one line "(as tmp_obj_1; then link,
// unlink)", no previous versions for its own renames (LINEAGE.md); a `mv` by another
// process stays a version of its own, with who moved it.
TEST(NoDataSteps, ATemporaryFileItsWriterPutInPlaceIsListedAsItsContent) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "f.txt"}});
  auto git = w.run(sh, 300, {"git", "commit"});
  w.read(300, 10);
  w.write_new(300, 20, "tmp_obj_1");
  w.record(RecordType::kLink, 300, 20, "e10d8a");
  w.record(RecordType::kUnlink, 300, 20, "tmp_obj_1");
  w.exit(git);
  auto mv = w.run(sh, 400, {"mv", "e10d8a", "moved"});
  w.record(RecordType::kRename, 400, 20, "e10d8a", 0, 0, S_IFREG | 0644, 1, "moved", 1);
  w.exit(mv);
  auto cat = w.run(sh, 500, {"cat", "moved"});
  w.read(500, 20);
  w.write_new(500, 30, "out");
  w.exit(cat);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("created and written by git commit"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("(as tmp_obj_1; then link, unlink)"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("rename by mv e10d8a moved"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("f.txt")), std::string::npos) << r.text;
  size_t versions = 0;
  for (size_t at = r.text.find("previous version"); at != std::string::npos;
       at = r.text.find("previous version", at + 1))
    versions++;
  EXPECT_EQ(versions, 1u) << "the one mv renamed, not git's own link and unlink\n" << r.text;
}

// `ar rcs lib.a f.o`: ar creates lib.a, reads it back, truncates it and writes the archive.
// The version it read held only what ar itself had: folded as a file it wrote itself, not
// shown under it as an input (with its own writer, ar again, below it).
TEST(NoDataSteps, AFileItEmptiedAndRewroteIsItsOwnScratch) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "f.o"}});
  auto ar = w.run(sh, 300, {"ar", "rcs", "lib.a", "f.o"});
  w.write_new(300, 20, "lib.a");
  w.read(300, 20);  // after its write ended: not read back while writing
  w.read(300, 10);
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kOpen, 300, 20, "", fh, O_WRONLY);
  w.record(RecordType::kTruncate, 300, 20, "", fh, 0, S_IFREG | 0644, 1, "", 1, /*aux=*/0);
  w.record(RecordType::kWrite, 300, 20, "", fh, O_WRONLY);
  w.release(20, fh, O_WRONLY, w.t);
  w.exit(ar);
  w.commit();
  auto r = why(*w.db, path("lib.a"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(path("f.o") + "  (version 1"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("read " + path("lib.a")), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("files it wrote itself (1)"), std::string::npos) << r.text;
}

// `rsync a b` writes .b.XXXX, chmods it and renames it to b: the process that wrote it is
// shown once with who ran it, its rename said on that line (LINEAGE.md). Its own chmod of
// what it wrote is no change of its own (ApplyingItsOwnModeMakesNoNewVersion).
TEST(NoDataSteps, TheWriterOfAFileItAlsoRenamedIsShownOnce) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "a"}});
  auto cp = w.run(sh, 300, {"rsync", "a", "b"});
  w.read(300, 10);
  w.write_new(300, 20, ".b.tmp");
  w.record(RecordType::kChmod, 300, 20, "", 0, 0, S_IFREG | 0600);
  w.record(RecordType::kRename, 300, 20, ".b.tmp", 0, 0, S_IFREG | 0600, 1, "b", 1);
  w.exit(cp);
  w.commit();
  auto r = why(*w.db, path("b"));
  ASSERT_TRUE(r.found) << r.message;
  size_t started = 0;
  for (size_t at = r.text.find("started by setup"); at != std::string::npos;
       at = r.text.find("started by setup", at + 1))
    started++;
  EXPECT_EQ(started, 1u) << r.text;
  EXPECT_EQ(r.text.find("chmod by"), std::string::npos) << r.text;
  // Its rename of its own temporary file is no step of its own: said on its writer's line.
  EXPECT_EQ(r.text.find("rename by"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("created and written by rsync a b"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("(as .b.tmp; then rename)"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("a") + "  (version 1"), std::string::npos) << r.text;
}

// zstd, cp -p and tar set the mode and owner of what they wrote after they closed it:
// that is no new version (one line, not a chain of "previous version ... changed later:
// chown" under it), and what the writer read after its write is not put in by it. Another
// process's `chmod +x` is a change of its own, shown as who made the file so.
TEST(NoDataSteps, ApplyingItsOwnModeMakesNoNewVersion) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "plan.txt"}, {11, "secret"}});
  auto zstd = w.run(sh, 300, {"zstd", "plan.txt", "-o", "plan.zst"});
  w.read(300, 10);
  w.write_new(300, 20, "plan.zst");
  w.read(300, 11);  // after its write, before its chown and chmod
  w.record(RecordType::kChown, 300, 20, "", 0, 0, S_IFREG | 0644);
  w.record(RecordType::kChmod, 300, 20, "", 0, 0, S_IFREG | 0644);
  w.exit(zstd);
  auto reader = w.run(sh, 400, {"zstd", "-d", "plan.zst"});
  w.read(400, 20);
  w.write_new(400, 30, "plan.unz");
  w.exit(reader);
  w.commit();
  auto r = why(*w.db, path("plan.unz"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(path("plan.zst") + "  (version 1"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("previous version"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("chown by"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("plan.txt")), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find(path("secret")), std::string::npos) << r.text;

  auto chmod = w.run(sh, 500, {"chmod", "+x", "plan.unz"});
  w.record(RecordType::kChmod, 500, 30, "", 0, 0, S_IFREG | 0755);
  w.exit(chmod);
  w.commit();
  auto x = why(*w.db, path("plan.unz"));
  ASSERT_TRUE(x.found) << x.message;
  EXPECT_NE(x.text.find(path("plan.unz") + "  (version 2"), std::string::npos) << x.text;
  EXPECT_NE(x.text.find("chmod by chmod +x plan.unz"), std::string::npos) << x.text;
  EXPECT_NE(x.text.find("previous version " + path("plan.unz") + "  (version 1"), std::string::npos)
      << x.text;
}

}  // namespace
