// `prov why PATH` finds the file by the names the record saw it opened by. A file the
// record knows under another name (a hard link, a bind mount's other path, a rename it
// could not place) is found by its identity on disk; a path where another file now lies
// is answered with a warning, never silently as if it were the same file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

TEST(PathLookup, AFileKnownByAnotherNameIsFoundByItsIdentity) {
  TempDir dir;
  const std::string data = dir.path() + "/data.csv", alias = dir.path() + "/alias.csv";
  std::ofstream(data) << "a,b\n";
  ASSERT_EQ(link(data.c_str(), alias.c_str()), 0);
  prov_cli::DiskFile d;
  ASSERT_TRUE(prov_cli::disk_file(data, &d));
  if (d.gen == 0)
    GTEST_SKIP() << "\n*** SKIPPING: the file system of " << dir.path()
                 << " keeps neither an inode generation nor a birth time ***";
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({});
  auto cp = w.run(sh, 200, {"cp", "/secret", data});
  w.read_outside(cp, "/secret", 7001);
  w.write_outside(cp, data, d.ino, O_WRONLY | O_CREAT | O_TRUNC, d.dev, d.gen);
  w.exit(cp);
  auto cat = w.run(sh, 300, {"cat", data});
  w.read_outside(cat, data, d.ino, d.dev, d.gen);
  w.write_new(300, 12, "report");
  w.exit(cat);
  w.commit();
  auto r = why(*w.db, alias);
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("the record does not know this name: found by its inode"),
            std::string::npos)
      << r.text;
  EXPECT_NE(r.text.find("read /secret"), std::string::npos) << r.text;
  EXPECT_EQ(r.graph.value("note", ""), "the record does not know this name: found by its inode");
  // The name is the record's, and the file there is that file: no note.
  auto same = why(*w.db, data);
  ASSERT_TRUE(same.found) << same.message;
  EXPECT_EQ(same.text.find("inode"), std::string::npos) << same.text;
  EXPECT_FALSE(same.graph.contains("note"));
  // Replaced behind the record's back (a new inode moved over it): still answered, as the
  // recorded file's lineage, with a warning.
  const std::string fresh = dir.path() + "/fresh";
  std::ofstream(fresh) << "x\n";
  ASSERT_EQ(std::rename(fresh.c_str(), data.c_str()), 0);
  auto replaced = why(*w.db, data);
  ASSERT_TRUE(replaced.found) << replaced.message;
  EXPECT_NE(replaced.text.find("warning: the file now at this path is another one"),
            std::string::npos)
      << replaced.text;
  // A path the record never saw, with a file it never saw: nothing.
  const std::string other = dir.path() + "/other";
  std::ofstream(other) << "y\n";
  EXPECT_FALSE(why(*w.db, other).found);
}

}  // namespace
