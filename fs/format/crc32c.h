// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init ~0, final xor ~0): the
// checksum of the superblock, the journal superblock and journal commit records.
// The table is computed at compile time (no global constructor).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace bentofs {

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
inline constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

// Continues a running CRC: crc32c_update(crc32c_update(~0u, a), b) ... then ~ at the end.
inline uint32_t crc32c_update(uint32_t crc, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) crc = kCrc32cTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}
inline uint32_t crc32c(const uint8_t* p, size_t n) {
  return ~crc32c_update(~0u, p, n);
}

}  // namespace bentofs
