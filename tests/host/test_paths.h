// Paths of the binaries and modules the host tests use (set by CMake).
#pragma once

#ifndef TEST_MODULE_DIR
#error "TEST_MODULE_DIR must be defined by the build"
#endif

#include <string>

namespace bento::host::test {

inline std::string test_module(const std::string& name) {
  return std::string(TEST_MODULE_DIR) + "/" + name + ".so";
}
inline std::string memfs_so() {
  return MEMFS_SO;
}
inline std::string memfs_refuse_so() {
  return MEMFS_REFUSE_SO;
}

}  // namespace bento::host::test
