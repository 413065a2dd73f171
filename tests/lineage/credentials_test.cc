// Who did it (query-cli/LINEAGE.md §5): a process that changes its credentials (setuid,
// setgid) is one entry in the text, but what each image did is said with its own user: a
// root process that reads a root-only file and then drops to nobody before it writes must
// not read as "nobody read the secret".
#include <gtest/gtest.h>
#include <pwd.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

TEST(Credentials, AReadBeforeASetuidIsSaidToBeTheEarlierUsers) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "rootsecret"}});
  auto py = w.run(sh, 200, {"python3", "-"});
  w.read(200, 10);
  w.cred(py, 0, 65534);  // setgid first, as a daemon drops privileges
  w.cred(py, 65534, 65534);
  w.write_new(200, 11, "dropped");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, path("dropped"));
  ASSERT_TRUE(r.found) << r.message;
  // The entry is the writer's image: nobody; the read is root's, and the text says so.
  EXPECT_NE(r.text.find("(pid 200, nobody"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("(as root) " + path("rootsecret")), std::string::npos) << r.text;
  // The images before are not exec'd programs: the uid changes are named.
  EXPECT_EQ(r.text.find("ran after exec from python3"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("python3 [as root until setuid at "), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("python3 [as root until setgid at "), std::string::npos) << r.text;
  // A process that never changed its credentials reads as before.
  auto s = why(*w.db, path("rootsecret"));
  EXPECT_EQ(s.text.find("(as "), std::string::npos) << s.text;
}

// A setuid-root program run by a user (its effective uid root): "by whom" names both, the
// user who ran it and the privilege it wrote with.
TEST(Credentials, AnEffectiveUserOtherThanTheRealOneIsShown) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "in"}});
  auto cp = w.run(sh, 200, {"suidcp", "in", "out"});
  w.cred(cp, 1000, 1000, /*euid=*/0);
  w.read(200, 10);
  w.write_new(200, 11, "out");
  w.exit(cp);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  const passwd* pw = getpwuid(1000);  // prov names users as this machine does
  const std::string user = pw != nullptr ? pw->pw_name : "1000";
  EXPECT_NE(r.text.find("(pid 200, " + user + " as root, "), std::string::npos) << r.text;
  bool said = false;
  for (const auto& a : r.graph["activities"])
    said = said || (a.value("uid", -1) == 1000 && a.value("euid", -1) == 0 &&
                    a.value("effective_user", "") == "root");
  EXPECT_TRUE(said) << r.graph.dump(1);
  // Where they are the same, nothing more is said.
  EXPECT_EQ(r.text.find("root as root"), std::string::npos) << r.text;
}

// Who logged in: alice's login shell (audit login uid 1000, session 7) runs `sudo -i`, whose
// root shell runs tar. Everything it ran is root's, but the login uid, which sudo keeps,
// names alice; a process nobody logged in for (a daemon: unset) names no one.
TEST(Credentials, TheUserWhoLoggedInIsNamedBehindARootShell) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{10, "key.txt"}});
  World::Proc login = w.fork(sh, 150);
  login.login_uid = 1000;  // pam_loginuid, before the login execs the user's shell
  login.session_id = 7;
  w.exec(login, {"bash", "--login"});
  auto sudo = w.run(login, 151, {"sudo", "-i"});
  w.filter(sudo, 152, {"tar", "cf", path("out"), path("key.txt")}, 10, 11, "out");
  w.filter(sh, 160, {"cron"}, 10, 12, "daemon.out");
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  const passwd* pw = getpwuid(1000);  // prov names users as this machine does
  const std::string alice = pw != nullptr ? pw->pw_name : "1000";
  EXPECT_NE(r.text.find("(pid 152, root, login " + alice + ", "), std::string::npos) << r.text;
  bool said = false;
  for (const auto& a : r.graph["activities"])
    said = said || (a.value("pid", 0) == 152 && a.value("login_uid", -1) == 1000 &&
                    a.value("login_user", "") == alice && a.value("session", -1) == 7);
  EXPECT_TRUE(said) << r.graph.dump(1);
  auto d = why(*w.db, path("daemon.out"));
  ASSERT_TRUE(d.found) << d.message;
  EXPECT_EQ(d.text.find(", login "), std::string::npos) << d.text;
  for (const auto& a : d.graph["activities"]) EXPECT_FALSE(a.contains("login_uid")) << a.dump(1);
}

}  // namespace
