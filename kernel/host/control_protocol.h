// The control protocol: one JSON object per line in, one per line out.
//
//   {"cmd":"status"}                          -> {"ok":true, "module":{...}, "image":..., ...}
//   {"cmd":"upgrade","module":"/abs/fs.so"}   -> {"ok":true,"pause_us":..,"wait_us":..,
//                                                 "from":{...},"to":{...}}
//   anything else                             -> {"ok":false,"error":"..."}
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "connection.h"

namespace bento::host {

constexpr size_t kMaxControlLine = 64 * 1024;

// Answers one request line (without its newline). Never throws.
std::string handle_control_line(Connection& conn, std::string_view line);

std::string control_error(std::string_view message);
nlohmann::json status_to_json(const ConnectionStatus& st);
nlohmann::json upgrade_to_json(const UpgradeRecord& rec);

}  // namespace bento::host
