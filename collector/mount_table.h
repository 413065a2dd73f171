// The host's mount table (/proc/self/mountinfo), asked one thing: where the host sees a
// path given in fs form (from the root of a file system, as the probes send the paths of
// a task in another mount namespace: bpf/include/bento_bpf/events.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bento::collector {

class MountTable {
 public:
  // mountinfo's text (proc(5)): "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - TYPE ...".
  static MountTable parse(std::string_view mountinfo);

  // The host path of fs_path on the file system dev (stat-encoded): under the mount of that
  // file system whose root is the longest prefix of fs_path (a bind mount of a
  // subdirectory shows only that part); "" when the host mounts no part holding it.
  std::string host_path(uint64_t dev, std::string_view fs_path) const;

  size_t size() const { return mounts_.size(); }

 private:
  struct Mount {
    uint64_t dev;
    std::string root;        // the file system's directory shown there
    std::string mountpoint;  // where
  };
  std::vector<Mount> mounts_;
};

}  // namespace bento::collector
