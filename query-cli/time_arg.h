// Time arguments of `prov window` and `prov export --since/--until`, turned into the
// database's clock (CLOCK_MONOTONIC ns, via the current realtime - monotonic offset).
#pragma once

#include <cstdint>
#include <string>

namespace prov_cli {

// "2026-12-01T21:05:00Z", "...T22:05:00.5+01:00", "2026-12-01 21:05:00" (local time),
// "-90s" / "-10m" / "-2h" / "-1d" (ago), "now". False + *error when unreadable.
bool parse_time_arg(const std::string& text, int64_t* monotonic_ns, std::string* error);
// "-10m" and the like: told apart from options on the command line.
bool is_relative_time(const std::string& text);

}  // namespace prov_cli
