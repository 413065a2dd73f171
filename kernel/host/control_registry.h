// Where a mount's control socket lives, and the registry that lists them.
//
// Each bentofs mount serves a root-only Unix socket in the run directory (/run/bento, or
// $BENTO_RUN_DIR; mode 0700, owned by root). The socket's name is derived from the
// canonical mountpoint (m-<FNV-1a 64 hex>.sock: fixed length, so any path fits in
// sun_path), and registry.json maps mountpoints to sockets for `bentoctl list`.
#pragma once

#include <string>
#include <vector>

namespace bento::host {

struct RegistryEntry {
  std::string mountpoint;  // canonical
  std::string socket;
  std::string image;
  std::string module;
  long pid = 0;
};

// $BENTO_RUN_DIR when set, else /run/bento.
std::string run_dir();
// Creates `dir` (and parents) if needed and makes sure it is a directory with mode 0700
// owned by us. False with a reason otherwise.
bool ensure_run_dir(const std::string& dir, std::string* error);
// The socket path for a canonical mountpoint.
std::string socket_path_for(const std::string& dir, const std::string& mountpoint);
// The daemon's log file for a canonical mountpoint (stderr after it detaches).
std::string log_path_for(const std::string& dir, const std::string& mountpoint);
// Absolute and lexically normal, without a trailing slash; touches no file system (a
// hung mount must not hang bentoctl).
std::string normalize_path(const std::string& path);

// The control socket of the mount at `arg`: by the path as given (made absolute, never
// touching the mount, which may be busy), then by its real path. False: no bento mount.
bool find_mount_socket(const std::string& arg, std::string* mountpoint, std::string* socket);

// Registry updates take an exclusive flock on registry.lock and rewrite the file
// atomically; an entry for the same mountpoint is replaced.
bool registry_add(const std::string& dir, const RegistryEntry& e, std::string* error);
void registry_remove(const std::string& dir, const std::string& mountpoint);
std::vector<RegistryEntry> registry_list(const std::string& dir);

}  // namespace bento::host
