// Rendering fs provenance log records (fs/format/prov_log.h) for people and for tools.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "format/prov_log.h"

namespace prov_cli {

// "O_WRONLY|O_CREAT|O_TRUNC".
std::string open_flags_text(uint32_t flags);
// RFC 3339 UTC with nanoseconds.
std::string wall_time_text(uint64_t realtime_ns);
// One line: "seq=12 2026-11-24T12:03:22.123456789Z create tid=99 uid=0 ino=17:3 ...".
std::string record_text(const bentofs::prov::Record& r);
// Every field; offset = the record's logical offset in the log.
nlohmann::json record_json(const bentofs::prov::Record& r, uint64_t offset);

}  // namespace prov_cli
