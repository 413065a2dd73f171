// bentofs's command line, and the checks that turn bad arguments into one-line errors
// before anything is mounted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bento::host {

struct HostOptions {
  std::string image;
  std::string mountpoint;
  std::string module;  // empty: the default module
  bool foreground = false;
  bool debug = false;
  bool read_only = false;
  bool help = false;
  std::vector<std::string> fuse_options;  // -o options libfuse and the kernel understand
  std::string fs_options;                 // the rest, comma-separated, for the module's init
  uint64_t cache_mb = 64;
  unsigned threads = 10;
  bool uring = false;  // -o uring: FUSE over io_uring where the kernel allows (-o no_uring: off)
};

const char* host_usage();
// False with a one-line reason on a usage error.
bool parse_host_options(int argc, char** argv, HostOptions* out, std::string* error);

// The default module: the first that exists of $BENTO_DEFAULT_MODULE,
// <dir of this binary>/../modules/bento_fs.so, <dir>/../modules/memfs.so. Empty when none
// does; `tried` lists the candidates.
std::string default_module(std::string* tried);

// An image must be an existing, readable (and unless read_only writable) regular file or
// block device; a mountpoint an existing directory. On success *canonical is its real path.
bool check_image(const std::string& path, bool read_only, std::string* canonical,
                 std::string* error);
bool check_mountpoint(const std::string& path, std::string* canonical, std::string* error);

}  // namespace bento::host
