// What the host remembers about one live upgrade attempt (DESIGN.md §3).
#pragma once

#include <cstdint>
#include <string>

namespace bento::host {

struct ModuleIdentity {
  std::string name;     // ModuleInfo.name, the fs family
  std::string version;  // ModuleInfo.version
  std::string path;     // the file it was loaded from
};

struct UpgradeRecord {
  int64_t time_realtime_ns = 0;  // when the attempt started
  ModuleIdentity from;
  ModuleIdentity to;  // empty name when the new module could not even be loaded
  bool ok = false;
  // The new instance refused the state and the old one got it back (ok is false).
  bool rolled_back = false;
  // The rollback failed too: the old instance keeps serving but its state may be gone.
  bool state_lost = false;
  int64_t wait_ns = 0;   // waiting for in-flight calls (taking the write lock)
  int64_t pause_ns = 0;  // write lock held: how long new calls were blocked
  std::string error;     // why it failed; empty on success
};

}  // namespace bento::host
