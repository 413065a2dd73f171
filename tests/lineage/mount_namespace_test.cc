// Processes in another mount namespace (a systemd service with PrivateTmp=, a container,
// `unshare -m`) see paths the host does not: the answer must name the host's files, not
// the host's files that happen to have the names the process used.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include <memory>
#include <string>

#include "host_facts.h"
#include "lineage_world.h"

namespace {

using namespace lineage_test;
using bento::collector::MountTable;

// This machine's facts, with a fixed mount table: the root on 8:3, a tmpfs on /tmp, a
// container's overlay mounted under /var/lib/docker.
class HostWithMounts : public bento::collector::ProcHostFacts {
 public:
  std::string host_path(uint64_t dev, const std::string& fs_path) override {
    return mounts_.host_path(dev, fs_path);
  }

 private:
  MountTable mounts_ = MountTable::parse(
      "22 1 8:3 / / rw - ext4 /dev/vda rw\n"
      "30 22 0:40 / /tmp rw - tmpfs tmpfs rw\n"
      "41 22 0:52 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw\n");
};

const uint64_t kRootFs = makedev(8, 3), kTmpFs = makedev(0, 40), kOverlay = makedev(0, 52);
const std::string kMerged = "/var/lib/docker/overlay2/abc/merged";

std::unique_ptr<World> world(const TempDir& dir) {
  return std::make_unique<World>(dir.path() + "/prov.db", kMnt, std::make_unique<HostWithMounts>());
}

// A service with PrivateTmp= reads its /tmp/in: the host's
// /tmp/systemd-private-*/tmp/in, not the host's /tmp/in (which another process wrote).
// Its `rm /tmp/in` cannot be placed (its /tmp is its own mount): it is not applied to the
// host's /tmp/in.
TEST(MountNamespace, AServiceWithPrivateTmpReadsItsOwnTmp) {
  TempDir dir;
  auto w = world(dir);
  auto sh = w->setup({});
  auto host_writer = w->run(sh, 150, {"tee", "/tmp/in"});
  w->write_outside(host_writer, "/tmp/in", 7001, O_WRONLY | O_CREAT | O_TRUNC, kTmpFs);
  w->exit(host_writer);
  auto svc = w->fork(sh, 200);
  svc.mnt_ns = 4026532999u;
  w->exec_in_namespace(svc, "/usr/bin/report", {"report"}, kRootFs, "/usr/bin/report", kRootFs,
                       "/");
  w->read_outside(svc, "/systemd-private-x-report.service-y/tmp/in", 7002, kTmpFs);
  w->unlink_outside(svc, "/tmp/in");
  w->write_new(200, 12, "out");
  w->exit(svc);
  auto cat = w->run(sh, 300, {"cat", "/tmp/in"});
  w->read_outside(cat, "/tmp/in", 7001, kTmpFs);
  w->write_new(300, 13, "copy");
  w->exit(cat);
  w->commit();
  auto r = why(*w->db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read /tmp/systemd-private-x-report.service-y/tmp/in"), std::string::npos)
      << r.text;
  EXPECT_EQ(r.text.find("tee"), std::string::npos) << "the host's /tmp/in is another file\n"
                                                   << r.text;
  bool named = false;
  for (const auto& a : r.graph["activities"])
    named = named || (a.value("exe", "") == "/usr/bin/report" && !a.contains("root"));
  EXPECT_TRUE(named) << r.graph["activities"].dump(1);
  auto c = why(*w->db, path("copy"));
  ASSERT_TRUE(c.found) << c.message;
  EXPECT_NE(c.text.find("read /tmp/in"), std::string::npos) << c.text;
  EXPECT_EQ(c.text.find("[deleted at"), std::string::npos) << "its rm was of its own /tmp/in\n"
                                                           << c.text;
}

// A container's process: named by its image's files where the host keeps them, its root
// kept like a chroot's, so its runtime (the image's /usr/lib) folds as the host's would
// and its data does not. A file system the host does not mount (a rootless container's)
// is named by its own path behind "<fs MAJ:MIN>".
TEST(MountNamespace, AContainersProcessIsNamedByItsImagesFiles) {
  TempDir dir;
  auto w = world(dir);
  auto sh = w->setup({});
  auto py = w->fork(sh, 200);
  py.mnt_ns = 4026533001u;
  w->exec_in_namespace(py, "/usr/bin/python3", {"python3", "/app/job.py"}, kOverlay,
                       "/usr/bin/python3.11", kOverlay, "/");
  w->read_outside(py, "/usr/lib/python3.11/os.py", 7001, kOverlay);
  w->read_outside(py, "/app/job.py", 7002, kOverlay);
  w->read_outside(py, "/data/in.csv", 7003, kOverlay);
  w->read_outside(py, "/scratch/key", 7004, makedev(0, 77));
  w->write_new(200, 12, "out");
  w->exit(py);
  w->commit();
  auto r = why(*w->db, path("out"));
  ASSERT_TRUE(r.found) << r.message;
  EXPECT_NE(r.text.find("read " + kMerged + "/data/in.csv"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("read " + kMerged + "/app/job.py"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("read <fs 0:77>/scratch/key"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("read " + kMerged + "/usr/lib"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("folded: " + kMerged + "/usr/ (1)"), std::string::npos) << r.text;
  bool named = false;
  for (const auto& a : r.graph["activities"])
    named = named || (a.value("exe", "") == kMerged + "/usr/bin/python3" &&
                      a.value("program", "") == kMerged + "/usr/bin/python3.11" &&
                      a.value("root", "") == kMerged);
  EXPECT_TRUE(named) << r.graph["activities"].dump(1);
}

}  // namespace
