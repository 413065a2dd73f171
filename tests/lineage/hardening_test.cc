// Issue 15 (hardening), in process: a gap record from a full provenance log becomes a gap
// that answers show (text and JSON); `prov status` survives a status row that is empty or
// has null fields; a database with a damaged page is an error (exit 3), never a different
// answer; the database and its -wal/-shm are private (0600), and a user who cannot read
// it is told so plainly.
#include <fstream>

#include "lineage_world.h"
#include "run_command.h"

namespace lineage_test {
namespace {

using bento::test::run;
using bento::test::RunResult;

class HardeningTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(HasFailure()) << "no scratch directory"; }
  std::string prov(const std::string& args) {
    return std::string(PROV_BIN) + " " + args + " --db '" + db_path_ + "'";
  }
  // sh writes a; cat reads a and writes out.
  void small_world(World& w) {
    auto sh = w.run({1, 1}, 100, {"sh"});
    w.write_new(100, 10, "a");
    w.filter(sh, 101, {"cat", "a"}, 10, 11, "out");
    w.commit();
  }

  TempDir tmp_;
  const std::string dir_ = tmp_.path(), db_path_ = dir_ + "/prov.db";
};

TEST_F(HardeningTest, GapRecordIsAGapThatOverlappingAnswersShow) {
  World w(db_path_);
  small_world(w);
  // The log was full for a while: 42 records not written, 17 of them changes.
  const uint64_t from = w.tick(), to = w.tick();
  w.record(RecordType::kGap, 0, 0, "", 0, 0, 0, from, "", to, 42, 17);
  w.commit();
  {
    bento::lineage::Stmt q(w.db->handle(), "SELECT from_ns, to_ns, records, detail FROM gaps");
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.int64(0), static_cast<int64_t>(from));
    EXPECT_EQ(q.int64(1), static_cast<int64_t>(to));
    EXPECT_EQ(q.int64(2), 42);
    EXPECT_NE(q.text(3).find("\"mutating\":17"), std::string::npos) << q.text(3);
    EXPECT_FALSE(q.step()) << "one gap record is one gap";
  }
  // A backward answer may miss what happened in the gap: it says so, in text and JSON.
  auto r = why(*w.db, path("out"), 6);
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("incomplete"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("42 provenance records were not written"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("17 of them changes"), std::string::npos) << r.text;
  ASSERT_TRUE(r.graph.contains("gaps")) << r.graph.dump(1);
  ASSERT_EQ(r.graph["gaps"].size(), 1u) << r.graph.dump(1);
  EXPECT_NE(r.graph["gaps"][0].get<std::string>().find("42"), std::string::npos);
  // The CLI's text and JSON carry it too.
  RunResult text = run(prov("why " + path("out") + " --no-color"));
  EXPECT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("incomplete"), std::string::npos) << text.output;
  RunResult js = run(prov("why " + path("out") + " --json"));
  ASSERT_EQ(js.status, 0) << js.output;
  json j = json::parse(js.output, nullptr, false);
  ASSERT_TRUE(j.is_object()) << js.output;
  EXPECT_EQ(j["gaps"].size(), 1u) << js.output;
  // A forward answer that ended before the gap is complete: no warning.
  auto before = impact(*w.db, path("out"), 6);
  ASSERT_TRUE(before.found) << before.message;
  EXPECT_EQ(before.text.find("incomplete"), std::string::npos) << before.text;
  // `prov status` counts the gap.
  RunResult st = run(prov("status"));
  EXPECT_NE(st.output.find("1 gaps in the lineage (42 records)"), std::string::npos) << st.output;
}

// Regression (issue 15): `prov status` aborted (nlohmann type_error 306/302) when provd's
// status row was `{}` or had a null field.
TEST_F(HardeningTest, StatusSurvivesAnEmptyOrNullStatusRow) {
  {
    World w(db_path_);
    small_world(w);
  }
  for (const char* row :
       {"{}", "null", "not json", "[]",
        R"({"pid":null,"updated_wall_ns":null,"probes":null,"events_per_s":null,)"
        R"("mount_health":null})",
        R"({"pid":"x","probes":{"loaded":null,"events":null},"mount_health":[null,{"path":3}]})"}) {
    {
      std::string err;
      auto db = Database::open(db_path_, Database::Mode::kReadWrite, &err);
      ASSERT_TRUE(db) << err;
      bento::lineage::Stmt q(db->handle(),
                             "INSERT OR REPLACE INTO meta(key, value) VALUES('provd_status', ?)");
      q.bind(1, std::string(row));
      q.run();
    }
    RunResult text = run(prov("status"));
    EXPECT_EQ(text.status, 1) << row << ": " << text.output;  // provd is not running
    EXPECT_NE(text.output.find("provd:"), std::string::npos) << row << ": " << text.output;
    EXPECT_EQ(text.output.find("terminate"), std::string::npos) << row << ": " << text.output;
    RunResult js = run(prov("status --json"));
    EXPECT_EQ(js.status, 1) << row << ": " << js.output;
    EXPECT_TRUE(json::parse(js.output, nullptr, false).is_object()) << row << ": " << js.output;
  }
}

// Regression (issue 15): a database with damaged pages answered `why` with a silently
// different result and exit 0. Now: a clear error and exit 3; `prov check` says what.
TEST_F(HardeningTest, DamagedPageIsAnErrorNotADifferentAnswer) {
  {
    World w(db_path_);
    small_world(w);
    // Enough rows for a multi-page database.
    for (int i = 0; i < 300; i++) w.write_new(100, 1000 + i, "f" + std::to_string(i));
    w.commit();
  }
  RunResult ok = run(prov("why " + path("out")));
  ASSERT_EQ(ok.status, 0) << ok.output;
  EXPECT_EQ(run(prov("check")).status, 0);
  // Overwrite one page of the biggest table (after the writer checkpointed on close): a
  // page the answer may or may not read.
  int64_t root_page = 0;
  {
    std::string err;
    auto db = Database::open(db_path_, Database::Mode::kReadWrite, &err);
    ASSERT_TRUE(db) << err;
    ASSERT_TRUE(db->exec("PRAGMA wal_checkpoint(TRUNCATE);", &err)) << err;
    bento::lineage::Stmt q(db->handle(),
                           "SELECT rootpage FROM sqlite_master WHERE name = 'events'");
    ASSERT_TRUE(q.step());
    root_page = q.int64(0);
  }
  struct stat st {};
  ASSERT_EQ(stat(db_path_.c_str(), &st), 0);
  struct stat wal {};
  EXPECT_TRUE(stat((db_path_ + "-wal").c_str(), &wal) != 0 || wal.st_size == 0)
      << "the WAL was not checkpointed: the damage would hide behind it";
  {
    std::fstream f(db_path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((root_page - 1) * 4096 + 8);
    std::string junk(4000, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  RunResult bad = run(prov("why " + path("out")));
  EXPECT_EQ(bad.status, 3) << bad.output;
  EXPECT_NE(bad.output.find("damaged"), std::string::npos) << bad.output;
  RunResult check = run(prov("check"));
  EXPECT_EQ(check.status, 3) << check.output;
  EXPECT_NE(check.output.find("damaged"), std::string::npos) << check.output;
  RunResult status = run(prov("status"));
  EXPECT_EQ(status.status, 3) << status.output;
}

// Regression (issue 15): the database and its -wal/-shm were 0644 in an existing
// directory (every command line readable by anyone), and a user who could not read it was
// told "no lineage database (is provd running?)".
TEST_F(HardeningTest, DatabaseIsPrivateAndOthersAreToldSo) {
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  {
    World w(db_path_);
    small_world(w);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      struct stat st {};
      ASSERT_EQ(stat((db_path_ + suffix).c_str(), &st), 0) << suffix;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << db_path_ << suffix;
    }
  }
  // One an older provd left world-readable is tightened when opened for writing.
  ASSERT_EQ(chmod(db_path_.c_str(), 0644), 0);
  {
    std::string err;
    auto db = Database::open(db_path_, Database::Mode::kReadWrite, &err);
    ASSERT_TRUE(db) << err;
  }
  struct stat st {};
  ASSERT_EQ(stat(db_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run prov as another user";
  if (run("command -v setpriv").status != 0) GTEST_SKIP() << "setpriv (util-linux) missing";
  const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  if (run(as_nobody + std::string(PROV_BIN) + " --help").output.find("usage") == std::string::npos)
    GTEST_SKIP() << "nobody cannot run " << PROV_BIN << " (a private build directory)";
  for (const char* cmd : {"status", "why /x"}) {
    RunResult r = run(as_nobody + prov(cmd));
    EXPECT_EQ(r.status, 3) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("permission denied"), std::string::npos) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("readable by root only"), std::string::npos) << cmd << ": " << r.output;
  }
  // Not even the directory: the same plain answer.
  ASSERT_EQ(chmod(dir_.c_str(), 0700), 0);
  RunResult r = run(as_nobody + prov("status"));
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("permission denied"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lineage_test
