// Exact decimals and timestamps for billing data (FOCUS import/export, reports).
//
// Costs are held as pico-units (1e-12 of the currency) in 128-bit integers: FOCUS exports carry
// up to 11 fraction digits (the FinOps Foundation sample) and sums of millions of rows must not
// overflow. A decimal with a non-zero digit past the 12th fraction digit is refused rather than
// rounded, so nothing is ever lost silently. In SQL a pico amount is stored as two BIGINTs: the
// floor in micro-units and the remainder in pico-units (0..999999), so SUM() is exact on SQLite
// and PostgreSQL alike (see SplitPicos).
//
// Timestamps are unix microseconds, UTC. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bursar::finops {

using Picos128 = __int128;

inline constexpr int64_t kPicosPerMicro = 1'000'000;

// Parses "12", "-0.5", "+3.25", "1.5e-07", "0.00000080000" exactly into pico-units. Returns
// nullptr on success, else a short reason ("is not a decimal", "has more than 12 fraction
// digits", "is out of range").
const char* ParsePicos(std::string_view text, Picos128* out);

// Validates a decimal without converting it (quantities and unit prices, kept as text).
bool IsDecimal(std::string_view text);

// Plain decimal text of a pico amount, trailing zeros trimmed but at least `min_fraction`
// fraction digits: FormatPicos(1'500'000'000'000, 2) == "1.50".
std::string FormatPicos(Picos128 picos, int min_fraction = 2);

// floor(picos / 1e6) and the remainder in [0, 1e6). Returns false when the micros do not fit
// int64.
bool SplitPicos(Picos128 picos, int64_t* micros_floor, int64_t* pico_rem);
inline Picos128 JoinPicos(Picos128 micros_sum, Picos128 pico_rem_sum) {
  return micros_sum * kPicosPerMicro + pico_rem_sum;
}
// Rounds to micros, half away from zero.
int64_t RoundPicosToMicros(Picos128 picos);

// Parses "2024-09-18 22:00:00", "2024-09-18T22:00:00Z", "2024-09-18T22:00:00.5+02:00",
// "2024-09-18T22:00:00-0500", "2024-09-18" (no zone = UTC). Returns false when invalid.
bool ParseTimestamp(std::string_view text, int64_t* unix_micros);
// RFC 3339 UTC: "2024-09-18T22:00:00Z" (fraction only when non-zero).
std::string FormatTimestamp(int64_t unix_micros);
// Days since 1970-01-01 of a civil date and back (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);
// floor division of a unix-micros time to its UTC day number.
inline int64_t DayOf(int64_t unix_micros) {
  int64_t d = unix_micros / 86'400'000'000;
  return (unix_micros % 86'400'000'000 < 0) ? d - 1 : d;
}

}  // namespace bursar::finops
