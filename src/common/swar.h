// SWAR ("SIMD within a register") byte tests: 8 bytes loaded into a uint64_t (little-endian, so
// the first byte is the lowest), one flag per byte in its high bit. A mask's lowest set bit is
// exact (it finds the first flagged byte; a borrow only runs upwards, so bytes above it may be
// flagged falsely), and a mask is nonzero exactly when some byte is flagged.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bursar::swar {

static_assert(std::endian::native == std::endian::little);

inline constexpr uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr uint64_t kHigh = 0x8080808080808080ULL;

inline uint64_t Load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Bytes equal to c.
constexpr uint64_t EqualMask(uint64_t w, uint8_t c) {
  const uint64_t x = w ^ (kOnes * c);
  return (x - kOnes) & ~x & kHigh;
}

// Bytes below n (REQUIRES: n <= 0x80).
constexpr uint64_t BelowMask(uint64_t w, uint8_t n) { return (w - kOnes * n) & ~w & kHigh; }

// Bytes of 0x80 and above (not ASCII).
constexpr uint64_t HighMask(uint64_t w) { return w & kHigh; }

// The index (0-7) of the first flagged byte. REQUIRES: mask != 0.
inline size_t FirstFlagged(uint64_t mask) {
  return static_cast<size_t>(std::countr_zero(mask)) / 8;
}

}  // namespace bursar::swar
