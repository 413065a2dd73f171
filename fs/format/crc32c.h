// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init ~0, final xor ~0): the
// checksum of the superblock, the journal superblock and journal commit records.
// The table is computed at compile time (no global constructor).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

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
// Slicing-by-8 (8 KiB of tables): eight bytes per step instead of one. The journal
// checksums every block it logs; byte at a time it was a fifth of a metadata-heavy
// workload's CPU. Plain C++: the fallback where the CPU has no CRC32 instruction.
constexpr std::array<std::array<uint32_t, 256>, 8> make_crc32c_slices() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  t[0] = make_crc32c_table();
  for (int k = 1; k < 8; k++)
    for (uint32_t i = 0; i < 256; i++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
}
inline constexpr std::array<std::array<uint32_t, 256>, 8> kCrc32cSlices = make_crc32c_slices();

// Continues a running CRC in portable C++: crc32c_update_sw(crc32c_update_sw(~0u, a), b) ...
// then ~ at the end.
inline uint32_t crc32c_update_sw(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = kCrc32cSlices;
  for (; n >= 8; p += 8, n -= 8) {
    uint32_t lo = crc ^ (static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24);
    uint32_t hi = static_cast<uint32_t>(p[4]) | static_cast<uint32_t>(p[5]) << 8 |
                  static_cast<uint32_t>(p[6]) << 16 | static_cast<uint32_t>(p[7]) << 24;
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
  }
  for (; n > 0; p++, n--) crc = t[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// The CPU's CRC32 instruction (SSE4.2), eight bytes per instruction: slicing-by-8 still cost
// 8% of the fileserver mix's CPU (journal staging checksums every logged block). It works on
// general-purpose registers, so target("crc32") needs no SIMD state, in a kernel module too.
__attribute__((target("crc32"))) inline uint32_t crc32c_update_hw(uint32_t crc, const uint8_t* p,
                                                                  size_t n) {
  uint64_t c = crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);  // unaligned load
    c = __builtin_ia32_crc32di(c, v);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; p++, n--) c32 = __builtin_ia32_crc32qi(c32, *p);
  return c32;
}

// Whether the CPU has it (CPUID.1:ECX.SSE4_2), asked once: CPUID traps to the hypervisor
// in a VM. 0 = not asked yet, 1 = no, 2 = yes; constant-initialised (no global constructor).
inline std::atomic<int> g_crc32c_hw{0};
inline bool crc32c_hw_available() {
  int v = g_crc32c_hw.load(std::memory_order_relaxed);
  if (v == 0) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    v = (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2)) ? 2 : 1;
    g_crc32c_hw.store(v, std::memory_order_relaxed);
  }
  return v == 2;
}
#else
inline uint32_t crc32c_update_hw(uint32_t crc, const uint8_t* p, size_t n) {
  return crc32c_update_sw(crc, p, n);
}
inline bool crc32c_hw_available() {
  return false;
}
#endif

// Continues a running CRC: crc32c_update(crc32c_update(~0u, a), b) ... then ~ at the end.
inline uint32_t crc32c_update(uint32_t crc, const uint8_t* p, size_t n) {
  return crc32c_hw_available() ? crc32c_update_hw(crc, p, n) : crc32c_update_sw(crc, p, n);
}
inline uint32_t crc32c(const uint8_t* p, size_t n) {
  return ~crc32c_update(~0u, p, n);
}

}  // namespace bentofs
