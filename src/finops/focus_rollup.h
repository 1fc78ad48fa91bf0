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
#include <map>
#include <optional>
#include <string>
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
  // The group of a combination of dimension values (per RollupColumns() entry, the dictionary
  // id of the row's value, 0 when none). Rows of one tuple share it: look it up once per tuple.
  int64_t Group(const std::array<int64_t, kDims>& dims);
  // Adds a row of `group` (from Group) charged from `charge_period_start`.
  void Add(int64_t group, int64_t charge_period_start, Picos128 billed_cost);
  // Writes the accumulated rows for `import_id` (REQUIRES: inside the import's transaction).
  // InvalidArgument when a group's sum does not fit the stored columns.
  Status Write(ledger::Db& db, int64_t import_id) const;

 private:
  struct Sum {
    int64_t group = 0;
    int64_t day = 0;
    Picos128 cost = 0;
    int64_t rows = 0;
  };
  std::map<std::array<int64_t, kDims>, int64_t> group_ids_;
  std::vector<std::array<int64_t, kDims>> groups_;
  // (group, day) -> index into sums_ + 1, open addressing; 0 = empty.
  std::vector<uint32_t> slots_ = std::vector<uint32_t>(1024, 0);
  std::vector<Sum> sums_;
  int64_t last_group_ = -1, last_day_ = 0;
  size_t last_sum_ = 0;
};

}  // namespace bursar::finops
