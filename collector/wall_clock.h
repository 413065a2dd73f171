// Clock readings shared by the collector and prov. The database keeps CLOCK_MONOTONIC ns
// (the probes' and the fs log's clock); wall time is that plus wall_offset_ns().
#pragma once

#include <time.h>

#include <cstdint>

namespace bento {

// `clock` now, in ns.
inline int64_t clock_ns(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

// CLOCK_REALTIME - CLOCK_MONOTONIC now: turns the database's monotonic times into wall time.
inline int64_t wall_offset_ns() {
  const int64_t real = clock_ns(CLOCK_REALTIME);
  return real - clock_ns(CLOCK_MONOTONIC);
}

}  // namespace bento
