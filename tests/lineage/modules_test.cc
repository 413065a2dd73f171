// The modules an interpreter's program loads (query-cli/LINEAGE.md §3, rule 4): what python
// or node reads from a package directory, or loads as code from beside its script, folds
// into one counted line, so that the data it read are not drowned in 50 module lines. A
// module changed in the record by anything but a package manager is shown with its writer;
// a file the command line names, or lies under a directory it names, is data.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

// A project on the mount, there before the record (the walk of the mount names it):
//   proj/run.py, proj/lib/m1.py, proj/lib/m2.py, proj/lib/table.csv, proj/in.csv,
//   proj/main.js, proj/node_modules/pkg/{index.js,package.json}
struct Project {
  explicit Project(const std::string& root) : mnt(root + "/mnt"), proj(mnt + "/proj") {
    for (const std::string& d : {mnt, proj, proj + "/lib", proj + "/node_modules",
                                 proj + "/node_modules/pkg", proj + "/node_modules/evil"})
      EXPECT_EQ(mkdir(d.c_str(), 0755), 0) << d;
    for (const char* f : {"run.py", "lib/m1.py", "lib/m2.py", "lib/table.csv", "in.csv", "main.js",
                          "node_modules/pkg/index.js", "node_modules/pkg/package.json"})
      ino[f] = file_before_record(proj + "/" + f);
    ino["lib"] = inode_of(proj + "/lib");
    ino["node_modules/evil"] = inode_of(proj + "/node_modules/evil");
  }
  std::string mnt, proj;
  std::map<std::string, uint64_t> ino;
};

// An in-place write of a file there before the record (`echo x >> lib/m1.py`).
void append(World& w, uint32_t tid, uint64_t ino) {
  const uint64_t fh = ++w.next_fh;
  w.record(RecordType::kOpen, tid, ino, "", fh, O_WRONLY | O_APPEND);
  w.record(RecordType::kWrite, tid, ino, "", fh, O_WRONLY | O_APPEND);
  w.release(ino, fh, O_WRONLY | O_APPEND, w.t);
}

// `python3 run.py` imports lib/m1.py and lib/m2.py and reads in.csv and lib/table.csv (data
// beside its modules); `node main.js` requires node_modules/pkg and reads in.csv. Each
// output lists its data and its program, and folds the modules into one counted line.
TEST(ProgramModules, ModulesBesideTheScriptAndInAPackageDirectoryFold) {
  TempDir dir;
  Project p(dir.path());
  World w(dir.path() + "/prov.db", p.mnt);
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto py = w.fork(sh, 200);
  w.exec_file(py, "/usr/bin/python3.11", {"python3", "run.py"});
  for (const char* f : {"run.py", "lib/m1.py", "lib/m2.py", "in.csv", "lib/table.csv"})
    w.read(200, p.ino[f]);
  w.write_new(200, 900, "py.out");
  w.exit(py);
  auto node = w.fork(sh, 300);
  w.exec_file(node, "/usr/bin/node", {"node", "main.js"});
  for (const char* f :
       {"main.js", "node_modules/pkg/package.json", "node_modules/pkg/index.js", "in.csv"})
    w.read(300, p.ino[f]);
  w.write_new(300, 901, "node.out");
  w.exit(node);
  w.commit();

  auto r = why(*w.db, p.mnt + "/py.out");
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("program " + p.proj + "/run.py"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(" " + p.proj + "/in.csv" + "  (version"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(" " + p.proj + "/lib/table.csv" + "  (version"), std::string::npos)
      << "data beside the modules is data: " << r.text;
  EXPECT_EQ(r.text.find("m1.py"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("+ 2 runtime reads folded: modules " + p.proj + "/ (2)"), std::string::npos)
      << r.text;
  auto all = why(*w.db, p.mnt + "/py.out", 0, true);
  EXPECT_NE(all.text.find(" " + p.proj + "/lib/m1.py" + "  (version"), std::string::npos)
      << all.text;

  auto n = why(*w.db, p.mnt + "/node.out");
  ASSERT_TRUE(n.found) << n.message;
  EXPECT_NE(n.text.find("program " + p.proj + "/main.js"), std::string::npos) << n.text;
  EXPECT_NE(n.text.find(" " + p.proj + "/in.csv" + "  (version"), std::string::npos) << n.text;
  EXPECT_EQ(n.text.find("index.js"), std::string::npos) << n.text;
  EXPECT_NE(n.text.find("+ 2 runtime reads folded: modules " + p.proj + "/node_modules/ (2)"),
            std::string::npos)
      << n.text;
}

// A program is an interpreter by its executable, not by the name its caller gave it:
// `exec -a python3 ./tool run.py` reading lib/m1.py lists it; a `#!/usr/bin/python3`
// script (exe is the script, the kernel put the interpreter in argv[0]) folds it.
TEST(ProgramModules, AProgramIsAnInterpreterByItsExecutable) {
  for (bool shebang : {false, true}) {
    SCOPED_TRACE(shebang ? "#! script" : "exec -a python3");
    TempDir dir;
    Project p(dir.path());
    World w(dir.path() + "/prov.db", p.mnt);
    auto sh = w.run({1, 1}, 100, {"setup"});
    auto tool = w.fork(sh, 200);
    if (shebang)
      w.exec_file(tool, p.proj + "/run.py", {"/usr/bin/python3", p.proj + "/run.py"});
    else
      w.exec_file(tool, "/lineage-test-nowhere/tool", {"python3", "run.py"});
    for (const char* f : {"run.py", "lib/m1.py", "in.csv"}) w.read(200, p.ino[f]);
    w.write_new(200, 900, "out");
    w.exit(tool);
    w.commit();
    auto r = why(*w.db, p.mnt + "/out");
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_NE(r.text.find(" " + p.proj + "/in.csv" + "  (version"), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find(p.proj + "/lib/m1.py  (version") == std::string::npos, shebang) << r.text;
  }
}

// `python3 -m lib.m1` runs a module of the project it was started in: that module is its
// program; what it imports from there folds as its program's modules, as beside a script;
// its data does not.
TEST(ProgramModules, ThePackageOfAModuleRunWithDashMHoldsItsModules) {
  TempDir dir;
  Project p(dir.path());
  World w(dir.path() + "/prov.db", p.mnt);
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto py = w.fork(sh, 200);
  w.exec_file(py, "/usr/bin/python3.11", {"python3", "-u", "-m", "lib.m1"});
  for (const char* f : {"lib/m1.py", "lib/m2.py", "in.csv"}) w.read(200, p.ino[f]);
  w.write_new(200, 900, "py.out");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, p.mnt + "/py.out");
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(" " + p.proj + "/in.csv  (version"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("program " + p.proj + "/lib/m1.py"), std::string::npos)
      << "the module it runs is its program: " << r.text;
  EXPECT_EQ(r.text.find("m2.py"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("+ 1 runtime read folded: modules " + p.proj + "/ (1)"), std::string::npos)
      << r.text;
}

// A module an attacker or an editor changed in the record is shown with its writer (`echo
// ... >> lib/m1.py`, a package curl dropped into node_modules/, a program calling itself
// npm, cp calling itself node running npm); one the package manager installed folds, with
// its command. Bytecode folds when python compiled it from its unchanged module, and is
// shown when a python run wrote it without reading the module (planted), compiled it from
// a module the shell changed, or only called itself python.
TEST(ProgramModules, AModuleChangedInTheRecordIsShownWithItsWriter) {
  TempDir dir;
  Project p(dir.path());
  World w(dir.path() + "/prov.db", p.mnt);
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto echo = w.fork(sh, 110);  // the shell's own `>> lib/m1.py`, before any exec
  append(w, 110, p.ino["lib/m1.py"]);
  w.exit(echo);
  auto npm = w.fork(sh, 120);
  w.exec_file(npm, "/usr/bin/node", {"node", "/usr/bin/npm", "--prefix", "proj", "install", "pkg"});
  append(w, 120, p.ino["node_modules/pkg/index.js"]);
  w.exit(npm);
  auto curl = w.fork(sh, 130);
  w.exec_file(curl, "/usr/bin/curl", {"curl", "-o", "node_modules/evil/index.js", "http://x"});
  w.write_new(130, 800, "index.js", p.ino["node_modules/evil"]);
  w.exit(curl);
  w.record(RecordType::kMkdir, 100, 60, "__pycache__", 0, 0, S_IFDIR | 0755, p.ino["lib"]);
  auto compile = w.fork(sh, 140);  // a first run compiles m2
  w.exec_file(compile, "/usr/bin/python3.11", {"python3", "run.py"});
  w.read(140, p.ino["run.py"]);
  w.read(140, p.ino["lib/m2.py"]);
  w.write_new(140, 801, "m2.cpython-311.pyc", 60);
  w.exit(compile);
  auto plant = w.fork(sh, 150);  // bytecode written from other data
  w.exec_file(plant, "/usr/bin/python3.11", {"python3", "-c", "open(...).write(...)"});
  w.read(150, p.ino["in.csv"]);
  w.write_new(150, 802, "m3.cpython-311.pyc", 60);
  w.exit(plant);

  auto py = w.fork(sh, 200);
  w.exec_file(py, "/usr/bin/python3.11", {"python3", "run.py"});
  w.read(200, p.ino["run.py"]);
  w.read(200, p.ino["lib/m1.py"]);
  w.read(200, 801);
  w.read(200, 802);
  w.write_new(200, 900, "py.out");
  w.exit(py);
  auto compile_changed = w.fork(sh, 160);  // compiles the m1.py the shell changed
  w.exec_file(compile_changed, "/usr/bin/python3.11", {"python3", "run.py"});
  w.read(160, p.ino["run.py"]);
  w.read(160, p.ino["lib/m1.py"]);
  w.write_new(160, 803, "m1.cpython-311.pyc", 60);
  w.exit(compile_changed);
  auto fake_python = w.fork(sh, 180);  // `exec -a python3 /tmp/evil run.py`
  w.exec_file(fake_python, "/tmp/evil", {"python3", "run.py"});
  w.read(180, p.ino["lib/m2.py"]);
  w.write_new(180, 805, "m2.cpython-312.pyc", 60);
  w.exit(fake_python);
  auto fake_npm = w.fork(sh, 190);  // `exec -a node /usr/bin/cp /usr/bin/npm i -rt ...`
  w.exec_file(fake_npm, "/usr/bin/cp", {"node", "/usr/bin/npm", "i", "-rt", "node_modules/evil/"});
  w.write_new(190, 804, "cp.js", p.ino["node_modules/evil"]);
  w.exit(fake_npm);
  auto py2 = w.fork(sh, 210);
  w.exec_file(py2, "/usr/bin/python3.11", {"python3", "run.py"});
  w.read(210, p.ino["run.py"]);
  w.read(210, 803);
  w.read(210, 805);
  w.write_new(210, 902, "py2.out");
  w.exit(py2);
  auto spoof = w.fork(sh, 170);
  w.exec_file(spoof, "/tmp/evil/dropper", {"npm", "install"});
  append(w, 170, p.ino["node_modules/pkg/package.json"]);
  w.exit(spoof);
  auto node = w.fork(sh, 300);
  w.exec_file(node, "/usr/bin/node", {"node", "main.js"});
  w.read(300, p.ino["main.js"]);
  w.read(300, p.ino["node_modules/pkg/index.js"]);
  w.read(300, p.ino["node_modules/pkg/package.json"]);
  w.read(300, 800);
  w.read(300, 804);
  w.write_new(300, 901, "node.out");
  w.exit(node);
  w.commit();

  auto r = why(*w.db, p.mnt + "/py.out");
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(" " + p.proj + "/lib/m1.py" + "  (version"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("setup"), std::string::npos) << "who changed it: " << r.text;
  EXPECT_EQ(r.text.find("m2.cpython-311.pyc"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(" " + p.proj + "/lib/__pycache__/m3.cpython-311.pyc" + "  (version"),
            std::string::npos)
      << r.text;
  EXPECT_NE(r.text.find("+ 1 runtime read folded: modules " + p.proj + "/ (1)"), std::string::npos)
      << r.text;

  auto n = why(*w.db, p.mnt + "/node.out");
  ASSERT_TRUE(n.found) << n.message;
  EXPECT_NE(n.text.find(" " + p.proj + "/node_modules/evil/index.js" + "  (version"),
            std::string::npos)
      << n.text;
  EXPECT_NE(n.text.find("curl -o node_modules/evil/index.js"), std::string::npos) << n.text;
  EXPECT_EQ(n.text.find("/node_modules/pkg/index.js"), std::string::npos) << n.text;
  // Installed in the record: folded, with the command that installed it.
  EXPECT_NE(
      n.text.find("modules " + p.proj +
                  "/node_modules/ installed by node /usr/bin/npm --prefix proj install pkg (1)"),
      std::string::npos)
      << n.text;
  // A program named `npm` that is no installed package manager, writing into node_modules/:
  // shown with its writer.
  EXPECT_NE(n.text.find(" " + p.proj + "/node_modules/pkg/package.json  (version"),
            std::string::npos)
      << n.text;
  EXPECT_NE(n.text.find("npm install  [exe /tmp/evil/dropper]"), std::string::npos) << n.text;

  // Bytecode compiled from a module the shell had changed: shown, with that change.
  auto r2 = why(*w.db, p.mnt + "/py2.out");
  ASSERT_TRUE(r2.found) << r2.message;
  EXPECT_NE(r2.text.find(" " + p.proj + "/lib/__pycache__/m1.cpython-311.pyc  (version"),
            std::string::npos)
      << r2.text;
  EXPECT_NE(r2.text.find("compiled from"), std::string::npos) << r2.text;
  // Programs that call themselves python or node by argv[0] are known by their executable.
  EXPECT_NE(r2.text.find(" " + p.proj + "/lib/__pycache__/m2.cpython-312.pyc  (version"),
            std::string::npos)
      << r2.text;
  EXPECT_NE(n.text.find(" " + p.proj + "/node_modules/evil/cp.js  (version"), std::string::npos)
      << n.text;
}

// A python tool given a directory (`python3 lint.py lib`, `black lib/`, `fmt.py .`) reads the
// modules there as its data, and so does one that rewrites a module it read; a program that
// is no interpreter (tar) reads node_modules/ as data.
TEST(ProgramModules, ModulesAProgramIsGivenAreData) {
  TempDir dir;
  Project p(dir.path());
  World w(dir.path() + "/prov.db", p.mnt);
  auto sh = w.run({1, 1}, 100, {"setup"});
  auto lint = w.fork(sh, 200);
  w.exec_file(lint, "/usr/bin/python3.11", {"python3", "run.py", "lib"});
  w.read(200, p.ino["run.py"]);
  w.read(200, p.ino["lib/m1.py"]);
  w.write_new(200, 900, "report");
  w.exit(lint);
  auto dot = w.fork(sh, 210);  // `python3 run.py .`: what lies there is what it works on
  w.exec_file(dot, "/usr/bin/python3.11", {"python3", "run.py", "."});
  w.read(210, p.ino["run.py"]);
  w.read(210, p.ino["lib/m2.py"]);
  w.write_new(210, 902, "report2");
  w.exit(dot);
  auto fmt = w.fork(sh, 220);  // a formatter rewriting the module it read
  w.exec_file(fmt, "/usr/bin/python3.11", {"python3", "run.py"});
  w.read(220, p.ino["run.py"]);
  w.read(220, p.ino["main.js"]);  // not a module of python: data anyway
  w.read(220, p.ino["lib/m1.py"]);
  append(w, 220, p.ino["lib/m1.py"]);
  w.exit(fmt);
  auto tar = w.fork(sh, 300);
  w.exec_file(tar, "/usr/bin/tar", {"tar", "cf", "backup.tar", "proj"});
  w.read(300, p.ino["node_modules/pkg/index.js"]);
  w.write_new(300, 901, "backup.tar");
  w.exit(tar);
  w.commit();
  auto r = why(*w.db, p.mnt + "/report");
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(" " + p.proj + "/lib/m1.py" + "  (version"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("folded"), std::string::npos) << r.text;
  auto r2 = why(*w.db, p.mnt + "/report2");
  ASSERT_TRUE(r2.found) << r2.message;
  EXPECT_NE(r2.text.find(" " + p.proj + "/lib/m2.py  (version"), std::string::npos) << r2.text;
  auto f = why(*w.db, p.proj + "/lib/m1.py");
  ASSERT_TRUE(f.found) << f.message;
  EXPECT_EQ(f.text.find("folded: modules"), std::string::npos) << f.text;
  auto t = why(*w.db, p.mnt + "/backup.tar");
  ASSERT_TRUE(t.found) << t.message;
  EXPECT_NE(t.text.find(" " + p.proj + "/node_modules/pkg/index.js" + "  (version"),
            std::string::npos)
      << t.text;
}

}  // namespace
