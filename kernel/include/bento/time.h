// Clocks from the kernel-services shim.
#pragma once

#include <bento/services.h>

#include <cstdint>

namespace bento {

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;

  static Timespec from_ns(int64_t ns) {
    int64_t s = ns / 1000000000;
    int64_t r = ns % 1000000000;
    if (r < 0) {
      r += 1000000000;
      s -= 1;
    }
    return {s, static_cast<uint32_t>(r)};
  }
  int64_t to_ns() const { return sec * 1000000000 + nsec; }
  friend bool operator==(const Timespec&, const Timespec&) = default;
};

inline Timespec now_realtime() {
  return Timespec::from_ns(bento_ks_time_realtime_ns());
}
inline int64_t now_monotonic_ns() {
  return bento_ks_time_monotonic_ns();
}

}  // namespace bento
