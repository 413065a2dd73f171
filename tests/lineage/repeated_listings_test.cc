// How the text answer lists a process met more than once (query-cli/LINEAGE.md §5): again
// with a later bound, only what came in since; as the source of data that only comes back
// to it (a client's receives from the server whose input is being asked about), not walked
// again. The JSON keeps every step either way.
#include <gtest/gtest.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) n++;
  return n;
}

// A job reads a, writes out1, reads b and c, writes out2; `cat out1 out2 > final`. The job
// is listed under out1 with a, then under out2 with only what it had since: b and c, not a
// or its exec chain a second time.
TEST(RepeatedListings, AProcessMetAgainWithALaterBoundListsOnlyWhatCameInSince) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "a"}, {12, "b"}, {13, "c"}});
  auto job = w.run(sh, 200, {"job"});
  w.read(200, 11);
  w.write_new(200, 21, "out1");
  w.read(200, 12);
  w.read(200, 13);
  w.write_new(200, 22, "out2");
  w.exit(job);
  auto cat = w.run(sh, 201, {"cat", "out1", "out2"});
  w.read(201, 21);
  w.read(201, 22);
  w.write_new(201, 23, "final");
  w.exit(cat);
  w.commit();
  auto r = why(*w.db, path("final"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_EQ(count(r.text, "(shown above with what it had until "), 1u) << r.text;
  for (const char* in : {"a", "b", "c"})
    EXPECT_EQ(count(r.text, "opened " + path(in) + " "), 1u) << in << "\n" << r.text;
  EXPECT_EQ(count(r.text, "ran after exec from setup"), 2u) << "once for cat, once for job\n"
                                                            << r.text;
  const size_t since = r.text.find("(shown above with what it had until ");
  ASSERT_NE(since, std::string::npos) << r.text;
  EXPECT_LT(r.text.find("opened " + path("a") + " "), since) << r.text;
  EXPECT_GT(r.text.find("opened " + path("b") + " "), since) << r.text;
  // The JSON is the graph: every read of the job.
  auto e = edges(r.graph);
  for (const char* in : {"a", "b", "c"})
    EXPECT_EQ(e.count(std::string("used(job, ") + in + ")"), 1u) << in;
}

// A script's shell (a script written on the mount) reads rc, runs `true`, `sort in > x`
// and then `cat x > out`: under out who ran it and its program are listed under cat, and
// under sort, whose fork came earlier, "(shown above)", not a second time. A parent whose
// listing differs (what it passes on to that child) is listed again: Causal.WhatThe
// ParentReadIsShownUnderTheCommandItMayHaveReached.
TEST(RepeatedListings, WhoRanAScriptsShellIsSaidOnce) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto login = w.run({1, 1}, 90, {"login"});
  w.write_new(90, 8, "job.sh");
  w.write_new(90, 9, "rc");
  w.write_new(90, 10, "in");
  auto sh = w.run(login, 100, {"bash", path("job.sh")});
  w.read(100, 8);
  w.read(100, 9);  // what it read reaches its commands through argv and environment only
  w.exit(w.run(sh, 299, {"true"}));  // the command rc may have reached
  w.filter(sh, 300, {"sort", "in"}, 10, 11, "x");
  w.filter(sh, 301, {"cat", "x"}, 11, 12, "out");
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_EQ(count(r.text, "started by bash " + path("job.sh") + " "), 2u)
      << "under cat and under sort\n"
      << r.text;
  EXPECT_EQ(count(r.text, "started by login "), 1u) << r.text;
  EXPECT_EQ(count(r.text, "not listed: " + path("rc")), 2u) << r.text;
  EXPECT_EQ(count(r.text, "program " + path("job.sh") + " "), 1u) << r.text;
  const size_t second =
      r.text.find("started by bash " + path("job.sh") + " ", r.text.find("written by sort"));
  ASSERT_NE(second, std::string::npos) << r.text;
  const size_t next_line = r.text.find('\n', second) + 1;
  EXPECT_NE(
      r.text.substr(next_line, r.text.find('\n', next_line) - next_line).find("(shown above)"),
      std::string::npos)
      << r.text;
}

// A client reads req and sends it to a server, which reads cfg and replies; the client
// reads pub, sends again, and the server writes out. Under the client the server's reply
// is the server's own data coming back: said, not walked (cfg is listed once, under the
// server).
TEST(RepeatedListings, AServersOwnReplyComingBackThroughItsClientIsNotWalkedAgain) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "req"}, {12, "cfg"}, {13, "pub"}});
  auto server = w.run(sh, 500, {"server"});
  auto client = w.run(sh, 501, {"client"});
  w.read(501, 11);
  w.tcp_io(client, 6001, 40001, 9000, /*send=*/true, BENTO_SOCK_INSTANT);
  w.tcp_io(server, 7001, 9000, 40001, /*send=*/false, BENTO_SOCK_INSTANT);
  w.read(500, 12);
  w.tcp_io(server, 7001, 9000, 40001, /*send=*/true, BENTO_SOCK_INSTANT);
  w.tcp_io(client, 6001, 40001, 9000, /*send=*/false, BENTO_SOCK_INSTANT);
  w.read(501, 13);
  w.tcp_io(client, 6001, 40001, 9000, /*send=*/true, BENTO_SOCK_INSTANT | BENTO_SOCK_AGAIN);
  w.tcp_io(server, 7001, 9000, 40001, /*send=*/false, BENTO_SOCK_INSTANT | BENTO_SOCK_AGAIN);
  w.write_new(500, 21, "out");
  w.exit(client);
  w.exit(server);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  for (const char* in : {"req", "cfg", "pub"})
    EXPECT_EQ(count(r.text, path(in) + "  ("), 1u) << in << "\n" << r.text;
  const std::string back = line_with(r.text, "received over tcp 127.0.0.1:9000 → 127.0.0.1:40001");
  EXPECT_NE(back.find("its own data, back"), std::string::npos) << r.text;
  EXPECT_TRUE(edges(r.graph).count("used(client, req)")) << r.text;
}

}  // namespace
