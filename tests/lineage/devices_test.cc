// Character devices read (query-cli/LINEAGE.md §3, "Devices"): what was typed at a
// terminal, /dev/urandom's bytes. The probes report an image's first read of one that
// returned data (events.h FILE_IO DEVICE_READ), and a pty master's first write as its
// terminal's (DEVICE_WRITE: who typed it); the collector names the device by its number.
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

bool has(const std::set<std::string>& e, const std::string& x) {
  return e.count(x) != 0;
}

// `cat > notes` typed at /dev/pts/3: the terminal is where its bytes came from, an origin,
// named though cat has exited (and its fd with it) when the read is ingested.
TEST(Devices, WhatWasTypedAtATerminalComesFromTheTerminal) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto cat = w.run(sh, 300, {"cat"});
  w.device_read(cat, makedev(136, 3), 6);
  w.write_new(300, 12, "notes");
  w.exit(cat);
  w.commit();
  auto r = why(*w.db, path("notes"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_TRUE(has(edges(r.graph), "used(cat, /dev/pts/3)")) << json(edges(r.graph)).dump(1);
  EXPECT_NE(r.text.find("read /dev/pts/3"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("origins (there before the record, or from outside it): /dev/pts/3"),
            std::string::npos)
      << r.text;
  // Forward: what was typed there.
  auto im = impact(*w.db, "/dev/pts/3");
  ASSERT_TRUE(im.found) << im.message;
  EXPECT_NE(im.text.find(path("notes")), std::string::npos) << im.text;
}

// An interactive shell at /dev/pts/3: it reads each command line at the terminal before it
// starts the command (the probes report its read again after each fork). Each command's
// answer lists the shell's read of the terminal as what its command line may hold, not
// only the first command's. A shell that read the terminal once, before its first command
// (`read -p go?` at the top of a script), gave the later ones nothing typed.
TEST(Devices, EachCommandTypedAtAShellListsTheTerminalReadBeforeIt) {
  for (bool interactive : {true, false}) {
    SCOPED_TRACE(interactive ? "bash -i" : "a script that read the terminal once");
    TempDir dir;
    World w(dir.path() + "/prov.db");
    auto sh = w.setup({{10, "in"}});
    auto shell = w.run(sh, 200, {"bash", "-i"});
    w.device_read(shell, makedev(136, 3), 6);
    w.filter(shell, 201, {"sort", "in"}, 10, 20, "o1");
    w.t += 1000;
    if (interactive) w.device_read(shell, makedev(136, 3), 6);  // the next line typed
    w.filter(shell, 202, {"sort", "in"}, 10, 21, "o2");
    w.exit(shell);
    w.commit();
    auto first = why(*w.db, path("o1"));
    ASSERT_TRUE(first.found) << first.message;
    EXPECT_NE(line_with(first.text, "/dev/pts/3").find(kPassedOn), std::string::npos) << first.text;
    auto second = why(*w.db, path("o2"));
    ASSERT_TRUE(second.found) << second.message;
    EXPECT_EQ(line_with(second.text, "/dev/pts/3").find(kPassedOn) != std::string::npos,
              interactive)
        << second.text;
  }
}

// What a pty master's holder writes (sshd-session, tmux, script) is what its terminal's
// readers read: `cat > notes` at /dev/pts/3 goes back to the session's writer and the
// connection it received from, not to its configuration or keys (it relays what it
// receives). /dev/pts/3 comes back for a later session: each session is its writer's
// version of the device, and one session's typing never reaches another's. The first
// writer is kept only when its terminal's reader is (it touched no mount), after that read
// was stored; the second had read a mount file.
TEST(Devices, EachTerminalSessionIsItsMasterWritersInput) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "keys-b"}});
  const uint64_t kPts3 = makedev(136, 3);
  auto a = w.run(sh, 400, {"sshd-a"});
  w.read_outside(a, "/etc/ssh/host-key-a", 7001);
  w.tcp_recv_remote(a, 5551, 3, 4441);
  w.device_read(a, kPts3, 6, 0x19, 5, /*write=*/true);
  auto cat1 = w.run(sh, 401, {"cat", "one"});
  w.device_read(cat1, kPts3, 6);
  w.write_new(401, 20, "notes1");
  w.exit(cat1);
  w.exit(a);
  w.t += 1000;
  auto b = w.run(sh, 410, {"sshd-b"});
  w.read(410, 10);
  w.tcp_recv_remote(b, 5552, 3, 4442);
  w.device_read(b, kPts3, 6, 0x19, 5, /*write=*/true);
  auto cat2 = w.run(sh, 411, {"cat", "two"});
  w.device_read(cat2, kPts3, 6);
  w.write_new(411, 21, "notes2");
  w.exit(cat2);
  w.exit(b);
  w.commit();
  auto one = why(*w.db, path("notes1"));
  ASSERT_TRUE(one.found) << one.message;
  auto e1 = edges(one.graph);
  // Version 1 is the device as it was before the record; each session a version after it.
  EXPECT_TRUE(has(e1, "used(cat one, /dev/pts/3@v2)")) << json(e1).dump(1);
  EXPECT_TRUE(has(e1, "generated(/dev/pts/3@v2, sshd-a)")) << json(e1).dump(1);
  EXPECT_NE(one.text.find(":4441"), std::string::npos) << one.text;
  EXPECT_FALSE(has(e1, "used(sshd-a, /etc/ssh/host-key-a)")) << json(e1).dump(1);
  for (const std::string& x : e1) EXPECT_EQ(x.find("sshd-b"), std::string::npos) << x;
  EXPECT_EQ(one.text.find(":4442"), std::string::npos) << one.text;
  auto two = why(*w.db, path("notes2"));
  ASSERT_TRUE(two.found) << two.message;
  auto e2 = edges(two.graph);
  EXPECT_TRUE(has(e2, "used(cat two, /dev/pts/3@v3)")) << json(e2).dump(1);
  EXPECT_TRUE(has(e2, "generated(/dev/pts/3@v3, sshd-b)")) << json(e2).dump(1);
  EXPECT_NE(two.text.find(":4442"), std::string::npos) << two.text;
  EXPECT_FALSE(has(e2, "used(sshd-b, keys-b)")) << json(e2).dump(1);
  EXPECT_EQ(two.text.find("sshd-a"), std::string::npos) << two.text;
  EXPECT_EQ(two.text.find(":4441"), std::string::npos) << two.text;
  // --all shows everything the writers read.
  auto all = why(*w.db, path("notes1"), 0, /*all=*/true);
  EXPECT_TRUE(has(edges(all.graph), "used(sshd-a, /etc/ssh/host-key-a)")) << all.text;
  // Forward: the key the session's writer read is not in what was typed there.
  auto im = impact(*w.db, "/etc/ssh/host-key-a");
  ASSERT_TRUE(im.found) << im.message;
  EXPECT_EQ(im.text.find(path("notes1")), std::string::npos) << im.text;
}

// What a terminal showed (events.h v13: a write of /dev/pts/N, a read of its master) is a
// pipe from the programs that wrote there to the master's holder: `script -c 'cat secret'
// typescript` (or sshd relaying `ssh -t host cat secret`) reaches secret. The holder also
// types into the terminal: what it read of the terminal's output is not what it typed, so
// what a later `cat > notes` read there does not reach secret, backward or forward. Nor does
// a later session on the same pts number, once the first one's holder has exited.
TEST(Devices, WhatATerminalShowedReachesItsMastersReaderButNotItsInput) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "secret"}});
  const uint64_t kPts4 = makedev(136, 4);
  auto script = w.run(sh, 500, {"script", "-c", "cat secret", "typescript"});
  auto cat = w.run(script, 501, {"cat", "secret"});
  w.read(501, 10);
  w.terminal_io(cat, kPts4, 7, /*write=*/true);
  w.exit(cat);
  w.terminal_io(script, kPts4, 7, /*write=*/false);
  w.write_new(500, 20, "typescript");
  w.device_read(script, kPts4, 7, 0x19, 5, /*write=*/true);  // then it types there
  auto typed = w.run(sh, 502, {"cat"});
  w.device_read(typed, kPts4, 7);
  w.write_new(502, 21, "notes");
  w.exit(typed);
  w.exit(script);
  // /dev/pts/4 again, for a later session: what it shows is not the first one's.
  w.t += 1000;
  auto script2 = w.run(sh, 510, {"script", "ts2"});
  w.terminal_io(script2, kPts4, 7, /*write=*/false);
  w.write_new(510, 22, "ts2");
  w.exit(script2);
  w.commit();
  auto later = why(*w.db, path("ts2"));
  ASSERT_TRUE(later.found) << later.message;
  EXPECT_EQ(later.text.find(path("secret")), std::string::npos) << later.text;
  auto r = why(*w.db, path("typescript"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read /dev/pts/4 (output)"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("written by cat secret"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("secret")), std::string::npos) << r.text;
  auto n = why(*w.db, path("notes"));
  ASSERT_TRUE(n.found) << n.message;
  EXPECT_NE(n.text.find("read /dev/pts/4 "), std::string::npos) << n.text;
  EXPECT_EQ(n.text.find(path("secret")), std::string::npos) << n.text;
  EXPECT_EQ(n.text.find("(output)"), std::string::npos) << n.text;
  auto im = impact(*w.db, path("secret"));
  ASSERT_TRUE(im.found) << im.message;
  EXPECT_NE(im.text.find(path("typescript")), std::string::npos) << im.text;
  EXPECT_EQ(im.text.find(path("notes")), std::string::npos) << im.text;
  EXPECT_EQ(im.text.find(path("ts2")), std::string::npos) << im.text;
}

// `ssh -t host 'cat secret' > local.txt`: sshd-session reads what cat showed on the terminal
// and sends it to the client, which writes local.txt. What sshd sends is what it relays
// (the terminal's output, what it received), not its host key ("+ 1 other file it read")
// nor lastlog, and `prov impact` of lastlog (read after it started cat, so not possibly in
// cat's environment) does not reach local.txt; impact of secret does.
TEST(Devices, WhatAMastersHolderSendsIsWhatTheTerminalShowedNotItsKeys) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "secret"}});
  const uint64_t kPts5 = makedev(136, 5);
  auto client = w.run(sh, 600, {"ssh", "-t", "host", "cat secret"});
  auto sshd = w.run({1, 1}, 610, {"sshd-session"});
  w.read_outside(sshd, "/etc/ssh/ssh_host_ed25519_key", 7100);
  auto auth = w.run(sshd, 612, {"sshd-auth"});  // its privilege-separated child, before cat
  w.exit(auth);
  w.tcp_io(client, 6100, 40100, 22, /*send=*/true, BENTO_SOCK_INSTANT);
  w.tcp_io(sshd, 6101, 22, 40100, /*send=*/false, BENTO_SOCK_INSTANT);
  auto cat = w.run(sshd, 611, {"cat", "secret"});
  w.read(611, 10);
  w.terminal_io(cat, kPts5, 8, /*write=*/true);
  w.exit(cat);
  w.read_outside(sshd, "/var/log/lastlog", 7101);  // read after it started cat
  w.terminal_io(sshd, kPts5, 8, /*write=*/false);
  w.tcp_io(sshd, 6101, 22, 40100, /*send=*/true, BENTO_SOCK_INSTANT);
  w.tcp_io(client, 6100, 40100, 22, /*send=*/false, BENTO_SOCK_INSTANT);
  w.write_new(600, 30, "local.txt");
  w.exit(sshd);
  w.exit(client);
  w.commit();
  auto r = why(*w.db, path("local.txt"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read /dev/pts/5 (output)"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("secret")), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("read /etc/ssh/ssh_host_ed25519_key"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("read /var/log/lastlog"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("1 other file it read, not relayed into this file"), std::string::npos)
      << r.text;
  auto log = impact(*w.db, "/var/log/lastlog");
  ASSERT_TRUE(log.found) << log.message;
  EXPECT_EQ(log.text.find(path("local.txt")), std::string::npos) << log.text;
  auto im = impact(*w.db, path("secret"));
  ASSERT_TRUE(im.found) << im.message;
  EXPECT_NE(im.text.find(path("local.txt")), std::string::npos) << im.text;
}

// /dev/urandom read by a program for itself (git's temporary names, a seed) is runtime,
// folded like /usr/: not a source of what it writes. Named on the command line (`head -c
// 32 /dev/urandom > key`) or given on stdin (`tr -dc a-z < /dev/urandom > pw`) it is the
// data, shown as read (on stdin). The device was there before the record: no "first seen".
TEST(Devices, RandomNumbersAreDataOnlyWhereTheProgramWasGivenThem) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  const uint64_t urandom = makedev(1, 9), node_dev = 0x5, node_ino = 9;
  auto git = w.run(sh, 200, {"git", "add", "in"});
  w.read(200, 10);
  w.device_read(git, urandom, node_ino, node_dev, /*fd=*/3);
  w.write_new(200, 20, "obj");
  w.exit(git);
  auto head = w.run(sh, 201, {"head", "-c", "32", "/dev/urandom"});
  w.device_read(head, urandom, node_ino, node_dev, 3);
  w.write_new(201, 21, "key");
  w.exit(head);
  auto tr = w.fork(sh, 202);
  bento_exec_event e = w.exec_event(tr, "/usr/bin/tr", {"tr", "-dc", "a-z"});
  e.stdin_dev = node_dev;  // `< /dev/urandom`: fd 0 at the exec (events.h v8)
  e.stdin_ino = node_ino;
  e.stdin_mode = S_IFCHR | 0666;
  w.send_exec(e);
  w.device_read(tr, urandom, node_ino, node_dev, 0);
  w.write_new(202, 22, "pw");
  w.exit(tr);
  w.commit();

  auto obj = why(*w.db, path("obj"));
  ASSERT_TRUE(obj.found) << obj.message;
  EXPECT_TRUE(has(edges(obj.graph), "used(git add in, in)")) << obj.text;
  EXPECT_FALSE(has(edges(obj.graph), "used(git add in, /dev/urandom)")) << obj.text;
  EXPECT_NE(line_with(obj.text, "runtime read").find("/dev/urandom"), std::string::npos)
      << obj.text;
  auto all = why(*w.db, path("obj"), 0, /*all=*/true);
  EXPECT_TRUE(has(edges(all.graph), "used(git add in, /dev/urandom)")) << all.text;

  auto key = why(*w.db, path("key"));
  ASSERT_TRUE(key.found) << key.message;
  EXPECT_TRUE(has(edges(key.graph), "used(head -c 32 /dev/urandom, /dev/urandom)")) << key.text;
  EXPECT_NE(line_with(key.text, "read /dev/urandom").find("there before the record"),
            std::string::npos)
      << key.text;

  auto pw = why(*w.db, path("pw"));
  ASSERT_TRUE(pw.found) << pw.message;
  EXPECT_TRUE(has(edges(pw.graph), "used(tr -dc a-z, /dev/urandom)")) << pw.text;
  EXPECT_NE(pw.text.find("read on stdin /dev/urandom"), std::string::npos) << pw.text;
}

}  // namespace
