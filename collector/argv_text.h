// argv as the database keeps it: a JSON array of strings, from NUL-separated bytes
// (exec events, /proc/PID/cmdline). Bytes that are not UTF-8 become U+FFFD.
#pragma once

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "json_text.h"

namespace bento::collector {

inline std::string argv_json(const char* args, size_t len) {
  nlohmann::json a = nlohmann::json::array();
  for (size_t at = 0; at < len;) {
    size_t n = strnlen(args + at, len - at);
    a.push_back(std::string(args + at, n));
    at += n + 1;
  }
  return to_json_text(a);
}

}  // namespace bento::collector
