// focus_rollup: BilledCost and row counts of imported FOCUS rows per (import, day, currency and a
// few common dimensions), filled by the importer in the import's transaction, so that reports
// grouped or filtered only by those dimensions read a few thousand rows instead of every row.
//
// Table (component "focus", migration 2; SQLite and PostgreSQL):
//   focus_rollup (import_id, day, billing_currency, service_name, service_category,
//                 provider_name, charge_category, region_id, billed_cost, billed_cost_pico,
//                 line_items)
//   day = charge_period_start / 86400000000 (SQL integer division, as reports bucket rows);
//   dimension columns hold focus_dict ids, 0 when the row had none; billed_cost + pico are sums
//   (the pico part is not normalised), exact like focus_rows.
// Exactness: a report may use the rollup only when RollupCanAnswer says so (every name is a
// rollup column or a constant, and the time range falls on whole days); otherwise it reads rows.
// Threads: a RollupBuilder is used by one thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "finops/exact.h"
#include "ledger/db.h"

namespace bursar::finops {

constexpr int64_t kRollupDayUs = 86'400'000'000;

// The dimension columns of focus_rollup (stored SQL names, as in focus_rows), in order.
const std::vector<std::string>& RollupColumns();

// The migration that creates focus_rollup and fills it from the rows already imported.
ledger::Migration RollupMigration(int version);

// True when a range [since, until) selects exactly the rows of whole days as the rollup stores
// them: each bound is unset or a positive multiple of kRollupDayUs.
bool RollupCoversRange(const std::optional<int64_t>& since_us,
                       const std::optional<int64_t>& until_us);

// Accumulates one import's rollup and writes it.
class RollupBuilder {
 public:
  static constexpr size_t kDims = 6;  // RollupColumns().size()
  // `dims`: per RollupColumns() entry, the dictionary id of the row's value (0 when none).
  void Add(int64_t charge_period_start, const std::array<int64_t, kDims>& dims,
           Picos128 billed_cost);
  // Writes the accumulated rows for `import_id` (REQUIRES: inside the import's transaction).
  // InvalidArgument when a group's sum does not fit the stored columns.
  Status Write(ledger::Db& db, int64_t import_id) const;

 private:
  using Key = std::array<int64_t, kDims + 1>;  // day, then the dimension ids
  struct KeyHash {
    size_t operator()(const Key& k) const {
      uint64_t h = 0;
      for (int64_t v : k) h = (h ^ static_cast<uint64_t>(v)) * 0x9E3779B97F4A7C15ull;
      return static_cast<size_t>(h ^ (h >> 29));
    }
  };
  struct Sum {
    Picos128 cost = 0;
    int64_t rows = 0;
  };
  std::unordered_map<Key, Sum, KeyHash> groups_;
};

}  // namespace bursar::finops
