// bentoctl/prov's client side of the kernel host's live upgrade (kernel/host/kernel_upgrade.h):
// how a module name becomes the fs type the ioctl asks for, and that a directory which is
// not a kernel Bento mount is neither detected as one nor upgraded. The upgrade itself runs
// under QEMU (tests/kernel/run.sh upgrade).
#include "kernel_upgrade.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace {

using bento::host::find_kernel_mount;
using bento::host::kernel_fstype_of;
using bento::host::kernel_upgrade;

TEST(KernelUpgrade, ModuleNamesMapToTheirFsType) {
  EXPECT_EQ(kernel_fstype_of("bento_prov"), "bento_prov");
  EXPECT_EQ(kernel_fstype_of("bento"), "bento");
  EXPECT_EQ(kernel_fstype_of("/lib/modules/bento_prov.ko"), "bento_prov");
  EXPECT_EQ(kernel_fstype_of("bento_fs.ko"), "bento");
  EXPECT_EQ(kernel_fstype_of("build/fs/bento_fs.so"), "bento");
  EXPECT_EQ(kernel_fstype_of("./bento_prov.so"), "bento_prov");
}

TEST(KernelUpgrade, OtherFileSystemsAreNotKernelMounts) {
  std::string mp, type;
  EXPECT_FALSE(find_kernel_mount("/", &mp, &type));
  EXPECT_FALSE(find_kernel_mount("/proc", &mp, &type));
  EXPECT_FALSE(find_kernel_mount("/no/such/path", &mp, &type));
}

TEST(KernelUpgrade, TheIoctlIsRefusedElsewhere) {
  auto r = kernel_upgrade("/proc", "bento_prov");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, ENOTTY);
  EXPECT_FALSE(r.message.empty());
  auto bad = kernel_upgrade("/proc", std::string(40, 'x'));
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.error, EINVAL);
}

}  // namespace
