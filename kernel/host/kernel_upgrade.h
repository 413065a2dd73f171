// Live upgrade of a kernel-host mount (bento_core.ko): the BENTO_IOC_UPGRADE ioctl on its
// root directory (kernel/module/bento_ioctl.h). bentoctl and `prov enable/disable` use it
// when the mount is a kernel mount rather than a bentofs (FUSE) one.
#pragma once

#include <cstdint>
#include <string>

namespace bento::host {

// The kernel mount containing path: its mount point and file-system type ("bento",
// "bento_prov"), from /proc/self/mountinfo; false when path is not on one.
bool find_kernel_mount(const std::string& path, std::string* mountpoint, std::string* fstype);

struct KernelUpgradeResult {
  bool ok = false;           // upgraded
  bool rolled_back = false;  // refused, the old module serves on
  int error = 0;             // errno of the refusal or of the ioctl
  int64_t wait_ns = 0, pause_ns = 0;
  std::string from, to, message;
};

// target: the registered file-system type of the new module ("bento", "bento_prov"), or a
// path to its .ko or .so (bento_fs.ko/.so -> "bento", bento_prov.ko/.so -> "bento_prov";
// the kernel module must be loaded). test_refuse: BENTO_UPGRADE_TEST_REFUSE.
KernelUpgradeResult kernel_upgrade(const std::string& mountpoint, const std::string& target,
                                   bool test_refuse = false);

// "bento_prov.ko", "/x/bento_prov.so", "bento_prov" -> "bento_prov"; "bento_fs.ko" ->
// "bento".
std::string kernel_fstype_of(const std::string& target);

}  // namespace bento::host
