// Runtime reads outside the tracked mounts (query-cli/LINEAGE.md §3, rules 1 to 6): an
// installation or a configuration file many programs read folds, but the data a user gives
// a program, or that a script finds beside itself, is a source: folding it would answer
// "written from nothing" for an output made from it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

// A project outside the mounts: /srv/proj/bin/etl.py (run by python) reads
// /srv/proj/data/sales.csv beside it; /srv/proj/bin/tool is given /srv/proj/data/sales.csv on
// its command line and also loads /srv/proj/lib/libtool.so. The script itself and the tool's
// library fold as the installation's; sales.csv is each output's source.
TEST(RuntimeRules, DataBesideAProgramOutsideTheMountsIsASource) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  const std::string proj = "/srv/proj";
  auto py = w.fork(sh, 200);
  w.exec_file(py, "/usr/bin/python3.11", {"python3", proj + "/bin/etl.py", "out1"});
  w.read_outside(py, proj + "/bin/etl.py", 7001);
  w.read_outside(py, proj + "/data/sales.csv", 7002);
  w.write_new(200, 10, "out1");
  w.exit(py);
  auto tool = w.fork(sh, 300);
  w.exec_file(tool, proj + "/bin/tool", {proj + "/bin/tool", proj + "/data/sales.csv"});
  w.read_outside(tool, proj + "/lib/libtool.so", 7003);
  w.read_outside(tool, proj + "/data/sales.csv", 7002);
  w.write_new(300, 11, "out2");
  w.exit(tool);
  w.commit();
  auto r1 = why(*w.db, path("out1"));
  ASSERT_TRUE(r1.found) << r1.message;
  EXPECT_TRUE(edges(r1.graph).count("used(python3 " + proj + "/bin/etl.py out1, " + proj +
                                    "/data/sales.csv)"))
      << r1.text;
  EXPECT_NE(r1.text.find("+ 1 runtime read folded: program " + proj + "/ (1)"), std::string::npos)
      << r1.text;
  auto r2 = why(*w.db, path("out2"));
  ASSERT_TRUE(r2.found) << r2.message;
  EXPECT_TRUE(edges(r2.graph).count("used(" + proj + "/bin/tool " + proj + "/data/sales.csv, " +
                                    proj + "/data/sales.csv)"))
      << r2.text;
  EXPECT_EQ(r2.text.find("read " + proj + "/lib/libtool.so"), std::string::npos) << r2.text;
  EXPECT_NE(r2.text.find("+ 1 runtime read folded: program " + proj + "/ (1)"), std::string::npos)
      << r2.text;
}

// A data file outside the mounts that five programs were given on their command line
// (`wc -l customers.csv`, `md5sum customers.csv`, ...) is no shared configuration: the
// output of the sixth (`awk ... customers.csv > out`) lists it. A file five programs read
// without being asked for it still folds.
TEST(RuntimeRules, AFileManyProgramsAreGivenIsNotSharedConfiguration) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  const char* tools[] = {"wc", "grep", "md5sum", "sha256sum", "cksum"};
  for (uint32_t i = 0; i < 5; i++) {
    auto p = w.run(sh, 600 + i, {tools[i], "customers.csv"});
    w.read_outside(p, "/srv/data/customers.csv", 9000);
    w.read_outside(p, "/etc/app/implicit.conf", 9001);
    w.write_new(600 + i, 20 + i, std::string(tools[i]) + ".out");
    w.exit(p);
  }
  auto awk = w.run(sh, 700, {"awk", "-F,", "{print $2}", "customers.csv"});
  w.read_outside(awk, "/etc/app/implicit.conf", 9001);
  w.read_outside(awk, "/srv/data/customers.csv", 9000);
  w.write_new(700, 30, "out");
  w.exit(awk);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(
      edges(r.graph).count("used(awk -F, {print $2} customers.csv, /srv/data/customers.csv)"))
      << r.text;
  EXPECT_NE(r.text.find("+ 1 runtime read folded: shared configuration (1)"), std::string::npos)
      << r.text;
  auto r2 = why(*w.db, path("md5sum.out"));
  ASSERT_TRUE(r2.found) << r2.message;
  EXPECT_NE(r2.text.find("read /srv/data/customers.csv"), std::string::npos) << r2.text;
}

}  // namespace

// A system file a program is given (`cut -d: -f1 /etc/passwd > users`) is its data: the
// user list is in the output. The same program's implicit reads (its time zone) still fold.
TEST(RuntimeRules, ASystemFileNamedOnTheCommandLineIsData) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto cut = w.run(sh, 200, {"cut", "-d:", "-f1", "/etc/passwd"});
  w.read_outside(cut, "/usr/share/zoneinfo/UTC", 7001);
  w.read_outside(cut, "/etc/passwd", 7002);
  w.write_new(200, 10, "users");
  w.exit(cut);
  w.commit();
  auto r = why(*w.db, path("users"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(edges(r.graph).count("used(cut -d: -f1 /etc/passwd, /etc/passwd)")) << r.text;
  EXPECT_NE(r.text.find("+ 1 runtime read folded: /usr/ (1)"), std::string::npos) << r.text;
}

// A folded read under a prefix that is a directory is counted ("/usr/ (2)"); under one that
// is not ("/etc/locale.", the file "/etc/timezone") the line names its file, or says
// "/etc/locale.* (2)": never the half-word "/etc/locale. (1)".
TEST(RuntimeRules, AFoldedPrefixThatIsNoDirectoryNamesItsFile) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto tool = w.run(sh, 200, {"tool"});
  w.read_outside(tool, "/etc/locale.alias", 7001);
  w.read_outside(tool, "/etc/locale.conf", 7002);
  w.read_outside(tool, "/etc/timezone", 7003);
  w.read_outside(tool, "/usr/share/zoneinfo/UTC", 7004);
  w.read_outside(tool, "/usr/share/misc/magic", 7005);
  w.write_new(200, 10, "out");
  w.exit(tool);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("+ 5 runtime reads folded: /etc/locale.* (2), /etc/timezone, "
                        "/usr/ (2); --all lists them"),
            std::string::npos)
      << r.text;
}

// A system file inline code names (`python3 -c '...open("/etc/group")...'`) is its data
// too; one it only mentions inside a longer path (`/etc/group.bak`) is not named, and its
// look-up of the user database still folds.
TEST(RuntimeRules, ASystemFileInlineCodeNamesIsData) {
  for (const bool named : {true, false}) {
    SCOPED_TRACE(named ? "named" : "a longer path");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({});
    const std::string code = std::string("import hashlib; print(hashlib.sha256(open(\"") +
                             (named ? "/etc/group" : "/etc/group.bak") + "\").read()))";
    auto py = w.run(sh, 200, {"python3", "-c", code});
    w.read_outside(py, "/etc/group", 7002);
    w.write_new(200, 10, "hash.out");
    w.exit(py);
    w.commit();
    auto r = why(*w.db, path("hash.out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_EQ(r.text.find("folded: /etc/group;") == std::string::npos, named) << r.text;
    EXPECT_EQ(r.text.find("read /etc/group") != std::string::npos, named) << r.text;
  }
}

// A file the shell opened for the program before the exec (`proj/bin/tool < proj/data/in`,
// `sort < /etc/passwd`) was handed to it as its data, as a named one is: not the program's
// installation, nor runtime by prefix. A file every image opens and reads by itself (the
// time zone) still folds.
TEST(RuntimeRules, AFileGivenOnStdinIsData) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  const std::string proj = "/srv/proj";
  struct Case {
    std::string exe, in;
    uint32_t pid;
    uint64_t ino, out;
  };
  for (const Case& c : {Case{proj + "/bin/tool", proj + "/data/in.csv", 200, 7001, 10},
                        Case{"/usr/bin/sort", "/etc/passwd", 300, 7002, 11}}) {
    auto p = w.fork(sh, c.pid);
    w.read_outside(p, "/usr/share/zoneinfo/UTC", 7100);  // the shell's image: its own read
    w.open_outside(p, c.in, c.ino, O_RDONLY);            // < in
    const uint64_t fh = ++w.next_fh;                     // > out
    w.record(RecordType::kCreate, c.pid, c.out, "out" + std::to_string(c.pid), fh,
             O_WRONLY | O_CREAT | O_TRUNC);
    w.exec_file(p, c.exe, {c.exe});
    w.read_outside(p, "/usr/share/zoneinfo/UTC", 7100);
    w.file_io(p, c.ino, /*write=*/false, 0x803, /*fd=*/0);
    w.record(RecordType::kWrite, c.pid, c.out, "", fh, O_WRONLY);
    w.release(c.out, fh, O_WRONLY, w.t);
    w.exit(p);
  }
  w.commit();
  for (const Case& c : {Case{proj + "/bin/tool", proj + "/data/in.csv", 200, 7001, 10},
                        Case{"/usr/bin/sort", "/etc/passwd", 300, 7002, 11}}) {
    SCOPED_TRACE(c.exe);
    auto r = why(*w.db, path("out" + std::to_string(c.pid)));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find("read " + c.in), std::string::npos) << r.text;
    // Each image's own read of the time zone; nothing of the file given.
    EXPECT_NE(r.text.find("+ 2 runtime reads folded: /usr/ (2);"), std::string::npos) << r.text;
  }
}

// `cat < /etc/passwd | sort > out`: cat's forked image opened /etc/passwd and was never
// kept (it touched no mount), so only the exec's fd 0 (events.h v8) says the file was
// given: cat's read of it is data, said "read on stdin", and the pipe carries it to sort.
TEST(RuntimeRules, AFileOnAPipelinesStdinIsData) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto cat = w.fork(sh, 400);
  w.open_outside(cat, "/etc/passwd", 7003, O_RDONLY);  // < /etc/passwd
  bento_exec_event e = w.exec_event(cat, "/usr/bin/cat", {"cat"});
  e.stdin_mode = S_IFREG;
  e.stdin_dev = 0x803;
  e.stdin_ino = 7003;
  e.std_pipe_ino[1] = 950;
  w.send_exec(e);
  w.file_io(cat, 7003, /*write=*/false, 0x803, /*fd=*/0);
  w.pipe_io(cat, 950, /*write=*/true);
  w.exit(cat);
  auto sort = w.fork(sh, 401);
  w.exec(sort, {"sort"}, {950, 0, 0});
  w.pipe_io(sort, 950, /*write=*/false);
  w.write_new(401, 12, "sorted");
  w.exit(sort);
  w.commit();
  auto r = why(*w.db, path("sorted"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read on stdin /etc/passwd"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("runtime read"), std::string::npos) << r.text;
}

// A home directory is no installation: ~/bin/git reading ~/.gitconfig (a secret in it) and a
// ~/bin/python3 link to an interpreter reading ~/.aws/credentials read their user's files.
// What is installed elsewhere (/opt/) still folds.
TEST(RuntimeRules, AHomeDirectoryIsNoInstallation) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  for (const std::string home : {"/home/u", "/root"}) {
    SCOPED_TRACE(home);
    const uint32_t pid = home == "/root" ? 300 : 200;
    auto git = w.fork(sh, pid);
    w.exec_file(git, home + "/bin/git", {home + "/bin/git", "config", "--get", "user.secret"});
    w.read_outside(git, home + "/.gitconfig", pid + 7000);
    w.write_new(pid, pid / 100 + 10, "git" + std::to_string(pid));
    w.exit(git);
    auto py = w.fork(sh, pid + 1);
    w.exec_file(py, home + "/bin/python3", {home + "/bin/python3", "-c", "..."});
    w.read_outside(py, "/opt/py/lib/python3.11/os.py", 7500);
    w.read_outside(py, home + "/.aws/credentials", pid + 7001);
    w.write_new(pid + 1, pid / 100 + 20, "aws" + std::to_string(pid));
    w.exit(py);
  }
  w.commit();
  for (const std::string home : {"/home/u", "/root"}) {
    SCOPED_TRACE(home);
    const uint32_t pid = home == "/root" ? 300 : 200;
    auto r = why(*w.db, path("git" + std::to_string(pid)));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find("read " + home + "/.gitconfig"), std::string::npos) << r.text;
    auto a = why(*w.db, path("aws" + std::to_string(pid)));
    ASSERT_TRUE(a.found) << a.message;
    EXPECT_NE(a.text.find("read " + home + "/.aws/credentials"), std::string::npos) << a.text;
    EXPECT_NE(a.text.find("+ 1 runtime read folded: /opt/ (1)"), std::string::npos) << a.text;
  }
}

// On a tracked mount, a program of the mount's own (proj/bin/git, there before the record)
// reads proj/.gitconfig, there before the record too: the data it was set up to read, not
// its installation's (only an interpreter's environment, a virtualenv, holds what was
// installed before). A virtualenv's module there before the record still folds.
TEST(RuntimeRules, WhatLayBesideAProgramOnAMountBeforeTheRecordIsData) {
  TempDir dir;
  const std::string mnt = dir.path() + "/mnt", proj = mnt + "/proj", venv = mnt + "/venv";
  for (const std::string& d : {mnt, proj, proj + "/bin", venv, venv + "/bin"})
    ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
  const uint64_t gitconfig = file_before_record(proj + "/.gitconfig"),
                 cfg = file_before_record(venv + "/pyvenv.cfg"),
                 mod = file_before_record(venv + "/mymod.py");
  World w(dir.path() + "/prov.db", mnt);
  auto read_file = [&](uint32_t tid, uint64_t ino) {
    const uint64_t fh = ++w.next_fh;
    w.record(RecordType::kOpen, tid, ino, "", fh, O_RDONLY);
    w.record(RecordType::kRead, tid, ino, "", fh, O_RDONLY);
    w.release(ino, fh, O_RDONLY);
  };
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto git = w.fork(sh, 200);
  w.exec_file(git, proj + "/bin/git", {proj + "/bin/git", "config", "--get", "user.secret"});
  read_file(200, gitconfig);
  w.write_new(200, 900, "git.out");
  w.exit(git);
  auto py = w.fork(sh, 300);
  w.exec_file(py, venv + "/bin/python", {venv + "/bin/python", "job.py"});
  read_file(300, cfg);
  read_file(300, mod);
  w.write_new(300, 901, "job.out");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, mnt + "/git.out");
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(" " + proj + "/.gitconfig  (version 1"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("folded"), std::string::npos) << r.text;
  auto j = why(*w.db, mnt + "/job.out");
  ASSERT_TRUE(j.found) << j.message;
  EXPECT_EQ(j.text.find("mymod.py"), std::string::npos) << j.text;
  EXPECT_NE(j.text.find("+ 2 runtime reads folded: program " + venv + "/ (2)"), std::string::npos)
      << j.text;
}

// The shell's image opens a program on the mount for the exec (the fs logs the kernel's
// open of the executable as that image's open): that is the exec, not data the shell handed
// the program. A virtualenv's python whose reads fold lists neither it nor a count of it.
TEST(RuntimeRules, TheExecsOpenOfTheProgramIsNoInput) {
  TempDir dir;
  const std::string mnt = dir.path() + "/mnt", venv = mnt + "/venv";
  for (const std::string& d : {mnt, venv, venv + "/bin"}) ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
  const uint64_t python = file_before_record(venv + "/bin/python"),
                 cfg = file_before_record(venv + "/pyvenv.cfg");
  World w(dir.path() + "/prov.db", mnt);
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto py = w.fork(sh, 300);
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kOpen, 300, python, "", fh, O_RDONLY);  // the exec's open
  w.release(python, fh, O_RDONLY);
  struct stat st = {};
  ASSERT_EQ(::stat(mnt.c_str(), &st), 0);
  w.exec_program(py, venv + "/bin/python", {venv + "/bin/python", "-c", "print(1)"}, python,
                 st.st_dev);
  w.read(300, cfg);
  w.write_new(300, 901, "job.out");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, mnt + "/job.out");
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_EQ(r.text.find("opened " + venv + "/bin/python"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("exec of"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("runtime reads folded: program " + venv + "/ (2)"), std::string::npos)
      << r.text;
}

// Rule 5: a configuration file a package shipped, as shipped (dpkg's MD5 matches), folds as
// "package configuration": java's java.security does not crowd the answer. Changed since it
// was installed, it is data again and listed.
TEST(RuntimeRules, APackagesConfigurationAsShippedFoldsAndChangedIsData) {
  TempDir dir;
  const std::string conf = dir.path() + "/java.security", status = dir.path() + "/status";
  std::ofstream(conf) << "x=1\n";
  std::ofstream(status) << "Package: openjdk-17-jre-headless\nStatus: install ok installed\n"
                           "Conffiles:\n "
                        << conf
                        << " f968f33f844c98de1d3b4fe70f2e1a0f\n /etc/other.conf newconffile\n"
                           "Description: Java runtime\n";
  setenv("BENTO_PROV_DPKG_STATUS", status.c_str(), 1);
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in.txt"}});
  auto java = w.fork(sh, 200);
  w.exec_file(java, "/usr/lib/jvm/java-17/bin/java", {"java", "Conv.java"});
  w.read_outside(java, conf, 7001);
  w.read(200, 10);
  w.write_new(200, 11, "out");
  w.exit(java);
  w.commit();
  auto shipped = why(*w.db, path("out"));
  ASSERT_TRUE(shipped.found) << shipped.message;
  EXPECT_EQ(shipped.text.find("read " + conf), std::string::npos) << shipped.text;
  EXPECT_NE(shipped.text.find("package configuration (1)"), std::string::npos) << shipped.text;
  EXPECT_NE(shipped.text.find(path("in.txt")), std::string::npos) << shipped.text;
  std::ofstream(conf) << "x=2\n";  // an administrator's (or an intruder's) change
  auto changed = why(*w.db, path("out"));
  unsetenv("BENTO_PROV_DPKG_STATUS");
  EXPECT_NE(changed.text.find("read " + conf), std::string::npos) << changed.text;
  EXPECT_EQ(changed.text.find("package configuration"), std::string::npos) << changed.text;
}

// Rule 6: what a shell reads to start (/etc/profile.d/*, ~/.bashrc, readline's inputrc,
// the history an interactive one loads) is its set-up; the same ~/.bashrc or history read
// by python is data (a script harvesting ~/.bash_history).
TEST(RuntimeRules, AShellsStartupFilesFoldButNotForAnotherProgram) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in.txt"}});
  auto bash = w.fork(sh, 200);
  w.exec_file(bash, "/usr/bin/bash", {"bash", "-l", "-c", "cat in.txt > out"});
  w.read_outside(bash, "/etc/profile.d/site.sh", 7001);
  w.read_outside(bash, "/root/.bashrc", 7002);
  w.read_outside(bash, "/home/alice/.profile", 7003);
  w.read_outside(bash, "/etc/inputrc", 7004);
  w.read_outside(bash, "/root/.bash_history", 7005);
  w.read(200, 10);
  w.write_new(200, 11, "out");
  w.exit(bash);
  auto py = w.fork(sh, 300);
  w.exec_file(py, "/usr/bin/python3.11", {"python3", "-c", "steal()"});
  w.read_outside(py, "/root/.bashrc", 7002);
  w.read_outside(py, "/root/.bash_history", 7005);
  w.write_new(300, 12, "loot");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("shell startup files (5)"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("read /root/.bashrc"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("read /root/.bash_history"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("in.txt")), std::string::npos) << r.text;
  auto loot = why(*w.db, path("loot"));
  ASSERT_TRUE(loot.found) << loot.message;
  EXPECT_NE(loot.text.find("read /root/.bashrc"), std::string::npos) << loot.text;
  EXPECT_NE(loot.text.find("read /root/.bash_history"), std::string::npos) << loot.text;
}

// A POSIX semaphore's file (multiprocessing's locks under a spawn context: the parent
// creates /dev/shm/sem.*, each worker maps it) holds a count: a worker's read of it is
// folded, not walked back to the parent and every lock it made.
TEST(RuntimeRules, APosixSemaphoreIsNoInput) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in1.txt"}});
  auto parent = w.run(sh, 200, {"python3", "pool.py"});
  w.write_outside(parent, "/dev/shm/sem.mp-q3oyua43", 8001);
  auto worker =
      w.run(parent, 300, {"python3", "-c", "from multiprocessing.spawn import spawn_main"});
  w.read_outside(worker, "/dev/shm/sem.mp-q3oyua43", 8001);
  w.read(300, 10);
  w.write_new(300, 11, "part.out");
  w.exit(worker);
  w.exit(parent);
  w.commit();
  auto r = why(*w.db, path("part.out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_EQ(r.text.find("read /dev/shm/sem."), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("POSIX semaphores (1)"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("in1.txt")), std::string::npos) << r.text;
}
