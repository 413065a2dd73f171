// A file renamed while a writer holds it (log rotation: `mv app.log app.log.1`, the daemon
// writes on into app.log.1) keeps one version, made under its first name. When it is
// removed later (`gzip app.log.1`), the answer names the name it had then: not only
// app.log, which is the new log's name now.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "lineage_world.h"

namespace {

using namespace lineage_test;

TEST(RenamedNames, ARemovedVersionSaysTheNameItHadWhenRemoved) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  w.setup({});
  auto d = w.run({1, 1}, 200, {"daemon"});
  const uint64_t fh = 500;
  w.record(RecordType::kCreate, 200, 40, "app.log", fh, O_WRONLY | O_CREAT);
  w.record(RecordType::kWrite, 200, 40, "", fh, O_WRONLY);
  auto mv = w.run({1, 1}, 300, {"mv", "app.log", "app.log.1"});
  w.record(RecordType::kRename, 300, 40, "app.log", 0, 0, S_IFREG | 0644, 1, "app.log.1", 1);
  w.exit(mv);
  w.release(40, fh, O_WRONLY, w.tick());
  w.write_new(200, 42, "app.log");  // the new log after the rotation
  w.exit(d);
  auto gz = w.run({1, 1}, 400, {"gzip", "app.log.1"});
  w.read(400, 40);
  w.write_new(400, 41, "app.log.1.gz");
  w.record(RecordType::kUnlink, 400, 40, "app.log.1", 0, 0, S_IFREG | 0644, 1, "", 1,
           fsprov::kAuxDied);
  w.exit(gz);
  w.commit();
  auto r = why(*w.db, path("app.log.1.gz"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("[named " + path("app.log.1") + " when deleted]"), std::string::npos)
      << r.text;
  bool said = false;
  for (const auto& e : r.graph["entities"])
    said = said || e["status"].value("name_when_removed", "") == path("app.log.1");
  EXPECT_TRUE(said) << r.graph.dump(1);
}

// A payload dropped before the record: its loader renames it, reads it and removes it. Its
// first recorded call only renamed it: it held what it held before, so it is no scratch
// file of the loader's (those fold): the answer lists it, first seen, with its old name.
TEST(RenamedNames, AFileFromBeforeTheRecordRenamedByItsReaderIsNotItsScratchFile) {
  TempDir dir;
  World w(dir.path() + "/prov.db");
  w.setup({});
  auto py = w.run({1, 1}, 200, {"python3", "loader.py"});
  w.record(RecordType::kRename, 200, 60, "payload.bin", 0, 0, S_IFREG | 0644, 1, ".stage", 1);
  w.read(200, 60);
  w.record(RecordType::kUnlink, 200, 60, ".stage", 0, 0, S_IFREG | 0644, 1, "", 1,
           fsprov::kAuxDied);
  w.write_new(200, 61, "out");
  w.exit(py);
  w.commit();
  auto r = why(*w.db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_EQ(r.text.find("files it wrote itself"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path(".stage")), std::string::npos) << r.text;
  EXPECT_NE(r.text.find(path("payload.bin") + "  (version 1, first seen"), std::string::npos)
      << r.text;
}

}  // namespace
