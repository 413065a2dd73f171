// Splitting slash-separated relative paths, for tests that model a tree of names.
#pragma once

#include <string>

namespace path_parts {

// "a/b/c" -> "a/b" and "c"; a name without '/' has the parent "".
inline std::string parent_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "" : p.substr(0, s);
}
inline std::string name_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace path_parts
