#include "time_arg.h"

#include <time.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

#include "lineage_graph.h"
#include "wall_clock.h"

namespace prov_cli {

namespace {

constexpr int64_t kSecond = 1000000000LL;

// Fractional seconds after '.', advancing rest.
int64_t fraction_ns(const char*& rest) {
  int64_t frac = 0;
  if (*rest != '.') return 0;
  int64_t scale = kSecond;
  for (rest++; std::isdigit(static_cast<unsigned char>(*rest)); rest++) {
    scale /= 10;
    frac += (*rest - '0') * scale;
  }
  return frac;
}

// A time of day as the answers print it (`17:01:55.383`, UTC): its latest occurrence that
// is not in the future, so that a time copied from `prov why` works as given.
bool parse_time_of_day(const std::string& s, int64_t* wall_ns) {
  tm t{};
  const char* rest = strptime(s.c_str(), "%H:%M:%S", &t);
  if (rest == nullptr || s.size() < 8 || s[2] != ':') return false;
  const int64_t frac = fraction_ns(rest);
  if (*rest != '\0') return false;
  const int64_t now = bento::clock_ns(CLOCK_REALTIME);
  const int64_t day = 86400 * kSecond, since_midnight = now % day;
  int64_t at =
      now - since_midnight + (t.tm_hour * 3600LL + t.tm_min * 60LL + t.tm_sec) * kSecond + frac;
  if (at > now) at -= day;
  *wall_ns = at;
  return true;
}

// Wall-clock ns of an absolute time; false when it is not one.
bool parse_absolute(const std::string& s, int64_t* wall_ns) {
  tm t{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  bool local = false;
  if (rest == nullptr) {
    rest = strptime(s.c_str(), "%Y-%m-%d %H:%M:%S", &t);
    local = true;
  }
  if (rest == nullptr) return parse_time_of_day(s, wall_ns);
  const int64_t frac = fraction_ns(rest);
  int64_t offset_s = 0;
  if (*rest == 'Z' || *rest == 'z') {
    local = false;
    rest++;
  } else if (*rest == '+' || *rest == '-') {
    int sign = *rest == '-' ? -1 : 1;
    int h = 0, m = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &h, &m) != 2) return false;
    offset_s = sign * (h * 3600 + m * 60);
    local = false;
    rest += 6;
  } else if (!local) {
    local = true;  // "2026-12-01T21:05:00" without a zone: local time, like date(1)
  }
  if (*rest != '\0') return false;
  t.tm_isdst = -1;
  time_t secs = local ? mktime(&t) : timegm(&t) - offset_s;
  if (secs == static_cast<time_t>(-1)) return false;
  *wall_ns = static_cast<int64_t>(secs) * kSecond + frac;
  return true;
}

}  // namespace

bool is_relative_time(const std::string& s) {
  if (s.size() < 3 || s[0] != '-' || std::strchr("smhd", s.back()) == nullptr) return false;
  for (size_t i = 1; i + 1 < s.size(); i++)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

bool parse_time_arg(const std::string& s, int64_t* mono, std::string* error) {
  int64_t wall = 0;
  if (s == "now") {
    wall = bento::clock_ns(CLOCK_REALTIME);
  } else if (is_relative_time(s)) {
    int64_t n = std::strtoll(s.c_str() + 1, nullptr, 10);
    int64_t unit = s.back() == 's' ? 1 : s.back() == 'm' ? 60 : s.back() == 'h' ? 3600 : 86400;
    wall = bento::clock_ns(CLOCK_REALTIME) - n * unit * kSecond;
  } else if (!parse_absolute(s, &wall)) {
    *error = "cannot read the time '" + s +
             "' (use 2026-12-01T21:05:00Z, '2026-12-01 21:05:00', 21:05:00.250 (UTC, as the "
             "answers print it), -10m or now)";
    return false;
  }
  *mono = wall - bento::wall_offset_ns();
  return true;
}

}  // namespace prov_cli
