// Extended attributes as a data channel (fs/format/prov_log.h record format 3): a value set
// on a file is data its setter put in (a new version, "extended attribute set by"), a
// user.* value read back is an input of the reader ("read an extended attribute of"), a
// removal is a change that puts nothing in.
#include <gtest/gtest.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

// A stash hides secret in carrier's user.note; a later process reads it back into out.
TEST(ExtendedAttributes, AValueSetOnOneFileAndReadBackIsASource) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "secret"}, {12, "carrier"}, {13, "decoy"}});
  auto stash = w.run(sh, 200, {"stash"});
  w.read(200, 11);
  w.record(RecordType::kSetxattr, 200, 12, "user.note", 0, 0, S_IFREG | 0644, 1, "", 1, 6);
  w.exit(stash);
  auto fetch = w.run(sh, 201, {"fetch"});
  w.record(RecordType::kGetxattr, 201, 12, "user.note", 0, 0, S_IFREG | 0644, 1, "", 1, 6);
  w.write_new(201, 21, "out");
  w.exit(fetch);
  auto clean = w.run(sh, 202, {"setfattr", "-x", "user.note", "carrier"});
  w.read(202, 13);
  w.record(RecordType::kSetxattr, 202, 12, "user.note", 0, bentofs::prov::kXattrRemoved);
  w.exit(clean);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read an extended attribute of " + path("carrier")), std::string::npos)
      << r.text;
  EXPECT_NE(r.text.find("extended attribute set by stash"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("secret")), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find(path("decoy")), std::string::npos) << r.text;
  // The removal made a version of its own that holds nothing of its remover's reads.
  auto c = why(*w.db, path("carrier"));
  ASSERT_TRUE(c.found) << c.message;
  EXPECT_NE(c.text.find("extended attribute removed by setfattr"), std::string::npos) << c.text;
  EXPECT_EQ(c.text.find(path("decoy")), std::string::npos) << c.text;
  EXPECT_NE(c.text.find(path("secret")), std::string::npos) << "the previous version\n" << c.text;
}

// A program that wrote out, read secret and then stored it in out's attribute: one
// version (its writing goes on until the set), and secret is in it.
TEST(ExtendedAttributes, AnAttributeItsWriterSetsLaterIsMoreOfItsWriting) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  auto sh = w.setup({{11, "pub"}, {12, "secret"}});
  auto p = w.run(sh, 200, {"tagger"});
  w.read(200, 11);
  w.write_new(200, 21, "out");
  w.read(200, 12);
  w.record(RecordType::kSetxattr, 200, 21, "user.tag", 0, 0, S_IFREG | 0644, 1, "", 1, 6);
  w.exit(p);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("(version 1"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("previous version"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("pub")), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("secret")), std::string::npos) << r.text;
}

}  // namespace
