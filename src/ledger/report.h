// Spend reports: the grouping, time parsing and formatting behind `bursar report`, kept apart
// from the CLI so other sources (FOCUS cloud bills, finops/) can reuse them.
//
// A Report is a list of SpendGroup rows (ledger/store.h) with the names of the grouping columns.
// Formatting is exact: amounts are printed from integer micros (common/money.h), never through a
// float. Table output: one row per group, sorted as given, then a TOTAL row per currency. JSON:
//   {"by":["team"],"since":"...","until":"...",
//    "groups":[{"team":"search","currency":"USD","requests":3,"cost":"1.50","cost_micros":1500000,
//               "saved":"0.00","saved_micros":0,"prompt_tokens":...,...}],
//    "totals":[{"currency":"USD","requests":...,"cost":"...","cost_micros":...}]}
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ledger/store.h"

namespace bursar::ledger {

// Parses RFC 3339 ("2026-01-31T12:00:00Z", "...T12:00:00.5+02:00", "2026-01-31 12:00:00Z") or a
// date "2026-01-31" (00:00 UTC) into unix micros. InvalidArgument with the text otherwise.
StatusOr<int64_t> ParseTimestamp(std::string_view text);

// "2026-01-31T12:00:00Z" (fraction digits only when non-zero).
std::string FormatTimestamp(int64_t unix_micros);

struct Report {
  std::vector<std::string> by;  // grouping column names, e.g. {"team"} or {"team", "route"}
  std::optional<int64_t> since_us;
  std::optional<int64_t> until_us;
  std::vector<SpendGroup> groups;
};

// Sums of the groups, one per currency, sorted by currency.
std::vector<SpendGroup> ReportTotals(const std::vector<SpendGroup>& groups);

std::string FormatReportTable(const Report& report);
std::string FormatReportJson(const Report& report);

}  // namespace bursar::ledger
