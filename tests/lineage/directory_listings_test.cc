// A directory's listing is data its reader takes in (fs/format/prov_log.h record format 4,
// query-cli/LINEAGE.md "Directory listings"): `ls d > listing` has d as an input, shown as
// "listed directory" and not walked further (who made d or its entries is not where the
// names came from); the directories python lists to find the modules it imports fold as
// its runtime, a directory its inline code names does not.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

// A maker that read secret made d and a file in it; `ls d > listing` lists d.
TEST(DirectoryListings, AListedDirectoryIsAnInputNotWalkedFurther) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "secret"}});
  auto maker = w.run(sh, 200, {"maker"});
  w.read(200, 11);
  w.record(RecordType::kMkdir, 200, 50, "d", 0, 0, S_IFDIR | 0755);
  w.write_new(200, 51, "a.csv", 50);
  w.exit(maker);
  auto ls = w.run(sh, 201, {"ls", "d"});
  w.record(RecordType::kReaddir, 201, 50, "", ++w.next_fh, 0, S_IFDIR | 0755);
  w.write_new(201, 60, "listing");
  w.exit(ls);
  auto ls_here = w.run(sh, 202, {"ls"});  // `ls > files.txt`: writes where it lists
  w.record(RecordType::kReaddir, 202, 1, "", ++w.next_fh, 0, S_IFDIR | 0755);
  w.write_new(202, 61, "files.txt");
  w.exit(ls_here);
  w.commit();
  auto here = why(*w.db, path("files.txt"));
  ASSERT_TRUE(here.found) << here.message;
  EXPECT_NE(here.text.find("listed directory " + std::string(kMnt) + "  (version 1"),
            std::string::npos)
      << here.text;
  auto r = why(*w.db, path("listing"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("listed directory " + path("d") + "  (version 1"), std::string::npos)
      << r.text;
  EXPECT_EQ(r.text.find(path("secret")), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("maker"), std::string::npos) << r.text;
  bool listed = false;  // the export says how
  for (const json& e : r.graph["edges"])
    listed = listed || (e.value("type", "") == "used" && e.value("how", "") == "readdir");
  EXPECT_TRUE(listed) << r.graph.dump();
}

// git lists its repository's directories as it works (an empty .git/objects/pack): folded
// as its runtime, while `ls` listing the same directory names it.
TEST(DirectoryListings, GitListingItsRepositoryIsItsRuntime) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  w.record(RecordType::kMkdir, 100, 70, ".git", 0, 0, S_IFDIR | 0755);
  w.record(RecordType::kMkdir, 100, 71, "objects", 0, 0, S_IFDIR | 0755, 70);
  w.record(RecordType::kMkdir, 100, 72, "pack", 0, 0, S_IFDIR | 0755, 71);
  auto git = w.fork(sh, 200);
  w.exec_file(git, "/usr/bin/git", {"git", "log"});
  w.record(RecordType::kReaddir, 200, 72, "", ++w.next_fh, 0, S_IFDIR | 0755);
  w.write_new(200, 80, "log.txt");
  w.exit(git);
  auto ls = w.run(sh, 201, {"ls", ".git/objects/pack"});
  w.record(RecordType::kReaddir, 201, 72, "", ++w.next_fh, 0, S_IFDIR | 0755);
  w.write_new(201, 81, "packs.txt");
  w.exit(ls);
  w.commit();
  auto g = why(*w.db, path("log.txt"));
  ASSERT_TRUE(g.found) << g.message;
  EXPECT_EQ(g.text.find("listed directory"), std::string::npos) << g.text;
  EXPECT_NE(g.text.find("git's repository (1)"), std::string::npos) << g.text;
  auto l = why(*w.db, path("packs.txt"));
  ASSERT_TRUE(l.found) << l.message;
  EXPECT_NE(l.text.find("listed directory " + path(".git/objects/pack")), std::string::npos)
      << l.text;
}

// `python3 run.py` lists its script's directory and the package it imports from (lib/,
// whose m1.py it loads); `python3 -c '...os.listdir("lib")...'` lists its working
// directory to import and lib because its code says so.
TEST(DirectoryListings, PythonsModuleSearchFoldsWhatItsCodeListsDoesNot) {
  TempDir dir;
  const std::string mnt = dir.path() + "/mnt", proj = mnt + "/proj";
  for (const std::string& d : {mnt, proj, proj + "/lib"}) ASSERT_EQ(mkdir(d.c_str(), 0755), 0) << d;
  const uint64_t run = file_before_record(proj + "/run.py"),
                 m1 = file_before_record(proj + "/lib/m1.py"),
                 in = file_before_record(proj + "/in.csv");
  const uint64_t proj_ino = inode_of(proj), lib_ino = inode_of(proj + "/lib");
  World w(dir.path() + "/prov.db", mnt);
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto listdir = [&](uint32_t tid, uint64_t ino) {
    w.record(RecordType::kReaddir, tid, ino, "", ++w.next_fh, 0, S_IFDIR | 0755);
  };
  auto py = w.fork(sh, 200);
  w.exec_file(py, "/usr/bin/python3.11", {"python3", "run.py"});
  w.read(200, run);
  listdir(200, proj_ino);
  listdir(200, lib_ino);
  w.read(200, m1);
  w.read(200, in);
  w.write_new(200, 900, "py.out", proj_ino);
  w.exit(py);
  auto inline_code = w.fork(sh, 201);
  w.exec_file(inline_code, "/usr/bin/python3.11",
              {"python3", "-c", "import os; print(os.listdir(\"lib\"))"});
  listdir(201, proj_ino);
  listdir(201, lib_ino);
  w.write_new(201, 901, "ls.out");  // outside proj: its listing found nothing
  w.exit(inline_code);
  w.commit();

  auto r = why(*w.db, proj + "/py.out");
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(" " + proj + "/in.csv  (version"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("listed directory"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("listings of directories it read files in (2)"), std::string::npos)
      << r.text;
  auto all = why(*w.db, proj + "/py.out", 0, true);
  EXPECT_NE(all.text.find("listed directory " + proj + "/lib  (version"), std::string::npos)
      << all.text;

  auto l = why(*w.db, mnt + "/ls.out");
  ASSERT_TRUE(l.found) << l.message;
  EXPECT_NE(l.text.find("listed directory " + proj + "/lib  (version"), std::string::npos)
      << l.text;
  EXPECT_EQ(l.text.find("listed directory " + proj + "  (version"), std::string::npos) << l.text;
  EXPECT_NE(l.text.find("python's module search (1)"), std::string::npos) << l.text;
}

// Outside the mounts the probes see listings too (events.h LISTING): `find /etc -name
// '*.key' > keys.txt` took keys.txt's lines from /etc's listings, and its answer names them
// (before, find had no input at all), even though find had read a file in /etc before it
// listed /etc (rule 7 folds a listing that found what was read). A lister that puts nothing
// on a tracked mount, or
// through a kept process, stores nothing; a listing on the mount is the fs log's, not the
// probes' (one line, not two).
TEST(DirectoryListings, ListingsOutsideTheMountsAreInputsToo) {
  TempDir dir;
  const std::string mnt = dir.path() + "/mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  struct stat st = {};
  ASSERT_EQ(stat(mnt.c_str(), &st), 0);
  World w(dir.path() + "/prov.db", mnt);
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto find = w.run(sh, 200, {"find", "/etc", "-name", "*.key"});
  w.read_outside(find, "/etc/locale.alias", 499);  // as it starts: not what the listing found
  w.list_outside(find, "/etc", 500);
  w.list_outside(find, "/etc/ssl", 501);
  w.list_outside(find, "/etc", 500);  // another image's would be reported again: same line
  w.write_new(200, 60, "keys.txt");
  w.exit(find);
  auto ls = w.run(sh, 201, {"ls", "/var/log"});  // writes nowhere tracked
  w.list_outside(ls, "/var/log", 510);
  w.exit(ls);
  auto lm = w.run(sh, 202, {"ls", "."});  // on the mount: the probes' event is left out
  w.list_outside(lm, mnt, st.st_ino, st.st_dev);
  w.record(RecordType::kReaddir, 202, 1, "", ++w.next_fh, 0, S_IFDIR | 0755);
  w.write_new(202, 61, "here.txt");
  w.exit(lm);
  w.commit();
  auto r = why(*w.db, mnt + "/keys.txt");
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("listed directory /etc  (version"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("listed directory /etc/ssl  (version"), std::string::npos) << r.text;
  bento::lineage::Stmt n(w.db->handle(),
                         "SELECT COUNT(*) FROM used u JOIN entities e ON e.id = u.entity_id "
                         "JOIN files f ON f.id = e.file_id WHERE u.how = 'readdir' AND "
                         "f.kind = 'dir'");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.int64(0), 3) << "find's two directories and the mount's root once";
  bento::lineage::Stmt v(w.db->handle(), "SELECT COUNT(*) FROM names WHERE path = '/var/log'");
  ASSERT_TRUE(v.step());
  EXPECT_EQ(v.int64(0), 0) << "a listing by nothing kept is not stored";
}

// A walk's listings are one line in the text, grouped by where they lie (`find /srv -name
// '*.pem'` listed 14 directories): the names are find's data, a line each drowned the
// answer. --all lists each; a few listings stay lines of their own.
TEST(DirectoryListings, AWalksListingsAreOneLineGroupedByWhereTheyLie) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto find = w.run(sh, 200, {"find", "/srv", "-name", "*.pem"});
  w.list_outside(find, "/srv", 500);
  for (int i = 0; i < 10; i++) w.list_outside(find, "/srv/www/site" + std::to_string(i), 510 + i);
  w.list_outside(find, "/srv/www", 501);
  w.list_outside(find, "/srv/git", 502);
  w.list_outside(find, "/srv/git/repo", 503);
  w.write_new(200, 60, "pems.txt");
  w.exit(find);
  auto ls = w.run(sh, 201, {"ls", "/srv/www", "/srv/git"});
  w.list_outside(ls, "/srv/www", 501);
  w.list_outside(ls, "/srv/git", 502);
  w.write_new(201, 61, "two.txt");
  w.exit(ls);
  w.commit();
  auto r = why(*w.db, path("pems.txt"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("listed 14 directories under /srv/: www/ (11), git/ (2), /srv/ at "),
            std::string::npos)
      << r.text;
  EXPECT_EQ(r.text.find("listed directory"), std::string::npos) << r.text;
  auto all = why(*w.db, path("pems.txt"), 0, true);
  EXPECT_NE(all.text.find("listed directory /srv/www/site7  (version"), std::string::npos)
      << all.text;
  EXPECT_EQ(all.text.find("listed 14 directories"), std::string::npos) << all.text;
  auto two = why(*w.db, path("two.txt"));
  ASSERT_TRUE(two.found) << two.message;
  EXPECT_NE(two.text.find("listed directory /srv/www  (version"), std::string::npos) << two.text;
  EXPECT_NE(two.text.find("listed directory /srv/git  (version"), std::string::npos) << two.text;
}

// The collector walks a mount for the names of files from before the record; the walk's
// own listings come back as records of its thread, and are no one's input.
TEST(DirectoryListings, TheCollectorsOwnWalkIsNotAnInput) {
  TempDir dir;
  const std::string mnt = dir.path() + "/mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  const uint64_t old = file_before_record(mnt + "/old.txt");
  World w(dir.path() + "/prov.db", mnt);
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto cat = w.run(sh, 200, {"cat", "old.txt"});
  w.read(200, old);  // an unknown inode: the collector walks the mount to name it
  w.exit(cat);
  const uint32_t walker = static_cast<uint32_t>(gettid());
  w.record(RecordType::kReaddir, walker, 1, "", ++w.next_fh, 0, S_IFDIR | 0755);
  auto ls = w.run(sh, 201, {"ls"});
  w.record(RecordType::kReaddir, 201, 1, "", ++w.next_fh, 0, S_IFDIR | 0755);
  w.exit(ls);
  w.commit();
  bento::lineage::Stmt n(w.db->handle(), "SELECT COUNT(*) FROM used WHERE how = 'readdir'");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.int64(0), 1) << "ls's listing only";
}

}  // namespace
