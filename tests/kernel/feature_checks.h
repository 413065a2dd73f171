// Guest checks of the fs features on a kernel mount (feature_checks.cc): the exit status
// is the number of failed checks.
#pragma once

#include <string>

// chattr, ACLs, SEEK_DATA/HOLE + FIEMAP + fallocate modes, O_TMPFILE, shared mappings,
// file handles under MNT/features.
int feature_checks(const std::string& mnt);
// Run after a remount: what feature_checks left must have survived; then cleans up.
int feature_checks_after_remount(const std::string& mnt);
