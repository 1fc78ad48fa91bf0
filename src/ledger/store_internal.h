// Private to ledger/store*.cc: the rollup levels, the usage columns and the helpers that the
// writing side (store.cc) and the query side (store_query.cc) share.
#pragma once

#include <cstdint>
#include <limits>

#include "ledger/db.h"
#include "ledger/store.h"

namespace bursar::ledger::store_internal {

constexpr int64_t kHourUs = 3'600'000'000;
constexpr int64_t kDayUs = 24 * kHourUs;

// Where aggregates come from: raw records, or a rollup by hour or by (UTC) day.
enum Level { kRaw = 0, kHourly = 1, kDaily = 2 };
struct LevelInfo {
  const char* table;
  const char* time_col;
  int64_t unit;
};
constexpr LevelInfo kLevels[] = {{"spend", "time_us", 1},
                                 {"spend_hourly", "hour_us", kHourUs},
                                 {"spend_daily", "day_us", kDayUs}};

// Usage/total columns shared by spend and spend_hourly, in SpendTotals order (after requests and
// cache_hits).
constexpr const char* kUsageColumns[] = {
    "prompt_tokens",      "cached_tokens",       "completion_tokens",
    "reasoning_tokens",   "image_tokens",        "images",
    "audio_input_tokens", "audio_output_tokens", "audio_millis",
};

// Reads the 13 totals columns starting at `col`.
inline SpendTotals TotalsFromRow(const Row& row, size_t col) {
  SpendTotals t;
  int64_t* fields[] = {
      &t.requests,           &t.cache_hits,          &t.prompt_tokens, &t.cached_tokens,
      &t.completion_tokens,  &t.reasoning_tokens,    &t.image_tokens,  &t.images,
      &t.audio_input_tokens, &t.audio_output_tokens, &t.audio_millis,  &t.cost_micros,
      &t.saved_micros};
  for (int64_t* f : fields) *f = row.Int(col++);
  return t;
}

inline int64_t FloorTo(int64_t t, int64_t unit) {
  int64_t q = t / unit;
  if (t % unit != 0 && t < 0) --q;
  return q * unit;
}

inline int64_t CeilTo(int64_t t, int64_t unit) {
  int64_t f = FloorTo(t, unit);
  if (f == t) return t;
  return f > std::numeric_limits<int64_t>::max() - unit ? std::numeric_limits<int64_t>::max()
                                                        : f + unit;
}

}  // namespace bursar::ledger::store_internal
