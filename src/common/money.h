// Exact money. Never a binary float.
//
// Amounts (costs, budget limits, spend) are int64 micro-units of a currency (1e-6): $1.50 is
// 1'500'000. Unit prices (per token, per image, per second) are far below a micro-unit, so they
// are int64 pico-units (1e-12): $0.15 per million tokens is 150'000 pico per token.
// A cost is computed in pico-units (in 128 bits) and rounded half away from zero to micros once.
//
// Thread safety: all functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bursar {

using Micros = int64_t;  // 1e-6 currency units
using Picos = int64_t;   // 1e-12 currency units

inline constexpr int kMicroDigits = 6;
inline constexpr int kPicoDigits = 12;

// Parses a decimal text ("12", "-0.5", "1.5e-07", "2E3", "+3.25") exactly into an integer scaled
// by 10^scale_digits. Errors (InvalidArgument) on syntax errors, on digits that do not fit the
// scale exactly (more precision than 10^-scale_digits), and on overflow of int64.
StatusOr<int64_t> ParseScaledDecimal(std::string_view text, int scale_digits);

// Like ParseScaledDecimal but rounds half away from zero when the text has more precision.
StatusOr<int64_t> ParseScaledDecimalRounded(std::string_view text, int scale_digits);

// Formats an integer scaled by 10^scale_digits as a plain decimal, trimming trailing zeros but
// keeping at least `min_fraction` fraction digits: FormatScaled(1500000, 6, 2) == "1.50".
std::string FormatScaled(int64_t value, int scale_digits, int min_fraction = 0);

inline std::string FormatMicros(Micros m, int min_fraction = 2) {
  return FormatScaled(m, kMicroDigits, min_fraction);
}

// Rounds a pico amount (128-bit to survive count * price) to micros, half away from zero.
Micros PicosToMicros(__int128 picos);

// units * price_per_unit, exact, in pico-units.
inline __int128 MulPicos(int64_t units, Picos price_per_unit) {
  return static_cast<__int128>(units) * price_per_unit;
}

}  // namespace bursar
