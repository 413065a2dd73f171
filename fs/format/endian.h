// Explicit little-endian on-disk integers. Every multi-byte field of the Bento-fs format
// is one of these, so the format is the same on any host; on a big-endian host get/set
// swap bytes. They are 1-byte aligned so structs match the documented offsets exactly.
#pragma once

#include <cstdint>

namespace bentofs {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr bool kHostBigEndian = true;
#else
constexpr bool kHostBigEndian = false;
#endif

struct Le16 {
  uint8_t b[2];
  constexpr uint16_t get() const { return static_cast<uint16_t>(b[0] | (b[1] << 8)); }
  constexpr void set(uint16_t v) {
    b[0] = static_cast<uint8_t>(v);
    b[1] = static_cast<uint8_t>(v >> 8);
  }
};

struct Le32 {
  uint8_t b[4];
  constexpr uint32_t get() const {
    return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
           static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
  }
  constexpr void set(uint32_t v) {
    for (int i = 0; i < 4; i++) b[i] = static_cast<uint8_t>(v >> (8 * i));
  }
};

struct Le64 {
  uint8_t b[8];
  constexpr uint64_t get() const {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
  }
  constexpr void set(uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = static_cast<uint8_t>(v >> (8 * i));
  }
};

static_assert(sizeof(Le16) == 2 && sizeof(Le32) == 4 && sizeof(Le64) == 8);
static_assert(alignof(Le64) == 1);

// Reads/writes a little-endian integer at an arbitrary byte offset (bitmaps, tables).
inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
inline void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
inline void store_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace bentofs
