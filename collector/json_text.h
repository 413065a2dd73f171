// JSON as text, shared by the collector (argv columns, provd's status) and prov (its
// output, edge keys): bytes that are not UTF-8 (a process's argv or a file name may hold
// any) become U+FFFD instead of throwing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace bento {

// Compact by default; indent >= 0 pretty-prints with that many spaces a level.
inline std::string to_json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bento
