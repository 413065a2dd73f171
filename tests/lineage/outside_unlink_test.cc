// An unlink outside the mounts is applied to the file that had the name when it happened
// (query-cli/LINEAGE.md §5): `zip -r a.zip src` creates a.zip, unlinks it, writes a
// temporary file (ext4 hands it the same inode number) and renames it to a.zip. The archive
// that is there afterwards was never deleted, and its temporary name is its previous one.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

TEST(OutsideUnlink, AnUnlinkIsNotAppliedToAFileRenamedToTheNameLater) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  const std::string zip = dir.path() + "/a.zip", tmp = dir.path() + "/zi1WR7QH";
  std::ofstream(zip) << "PK";  // the archive as the collector finds it after the rename
  struct stat st = {};
  ASSERT_EQ(::stat(zip.c_str(), &st), 0);
  auto sh = w.setup({});
  auto z = w.run(sh, 200, {"zip", "-q", "-r", "a.zip", "src"});
  w.write_outside(z, zip, st.st_ino, O_WRONLY | O_CREAT | O_TRUNC, st.st_dev, 111);
  w.unlink_outside(z, zip);
  w.write_outside(z, tmp, st.st_ino, O_RDWR | O_CREAT | O_EXCL, st.st_dev, 222);
  w.read_outside(z, "/srv/src/in", 7001);  // zip touches no mount: kept only by cp's read
  w.rename_outside(z, tmp, zip);
  w.exit(z);
  auto cp = w.run(sh, 300, {"cp", zip, "copy"});
  w.read_outside(cp, zip, st.st_ino, st.st_dev, 222);
  w.write_new(300, 12, "copy");
  w.exit(cp);
  w.commit();
  auto r = why(*w.db, path("copy"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read " + zip + "  (version 2"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("read /srv/src/in"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("[deleted at"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("[no name any more]"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("(as zi1WR7QH; then rename)"), std::string::npos) << r.text;
  auto z2 = why(*w.db, zip);
  ASSERT_TRUE(z2.found) << z2.message;
  EXPECT_EQ(z2.text.find("[deleted at"), std::string::npos) << z2.text;
}

}  // namespace
