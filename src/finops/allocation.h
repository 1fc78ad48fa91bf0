// Allocation: cost grouped by any tag or column over both sources of the ledger, the gateway's
// metered spend (ledger/store.h) and imported cloud bills (FOCUS rows, finops/focus_store.h),
// with time buckets, equality filters, showback of shared costs and unit economics.
//
// Names (--by, --where, --shared) resolve per source:
//   gateway: key, route, model, commit; FOCUS names map as the FOCUS export writes them
//            (ServiceName -> route, SkuId/SkuPriceId -> model, SubAccountId/Name -> key,
//            ProviderName -> "bursar", ServiceCategory -> "AI and Machine Learning",
//            ChargeCategory -> "Usage", BillingCurrency -> the currency); other FOCUS columns
//            are empty; any other name is a tag of the API key.
//   focus:   any FOCUS column (case-insensitive, 1.0 or 1.2 spelling); route -> ServiceName,
//            model -> SkuId, key -> SubAccountId, commit -> empty; any other name is a tag
//            (keys trimmed at import).
//   both:    "source" is "gateway" or "focus".
// Amounts are exact: FOCUS costs are summed in pico-units (BilledCost), gateway costs in micros;
// printed without rounding. Shared costs (rows whose --shared KEY equals VALUE) are taken out and
// redistributed over the other groups of the same period and currency, evenly or in proportion
// to their cost, to the last pico (largest remainder), so totals never change.
// Unit economics (gateway rows): cost per 1,000 requests, per 1M tokens, per image, rounded once
// to micros.
//
// Threads: uses the caller's Db from the caller's thread. Errors: InvalidArgument for a bad
// option; the database's otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "finops/exact.h"
#include "ledger/store.h"

namespace bursar::finops {

enum class Source { kGateway, kFocus, kAll };
enum class Every { kNone, kDay, kWeek, kMonth };
enum class Split { kEven, kProportional };

StatusOr<Source> ParseSource(std::string_view s);  // gateway | focus | all
StatusOr<Every> ParseEvery(std::string_view s);    // "" | day | week | month
StatusOr<Split> ParseSplit(std::string_view s);    // even | proportional
// "KEY=VALUE" -> pair. InvalidArgument without '=' or with an empty key.
StatusOr<std::pair<std::string, std::string>> ParseKeyValue(std::string_view s);

struct AllocationQuery {
  Source source = Source::kGateway;
  std::vector<std::string> by;
  Every every = Every::kNone;
  std::optional<int64_t> since_us;  // inclusive (FOCUS: ChargePeriodStart)
  std::optional<int64_t> until_us;  // exclusive
  std::vector<std::pair<std::string, std::string>> where;
  std::optional<std::pair<std::string, std::string>> shared;
  Split split = Split::kEven;
};

struct AllocationRow {
  std::string period;             // "" (no --every), "2024-09-18", week's Monday, or "2024-09"
  std::vector<std::string> keys;  // values of `by`, in order
  std::string currency;
  Picos128 cost = 0;       // own cost + shared received
  Picos128 shared = 0;     // received from shared rows
  int64_t requests = 0;    // gateway requests
  int64_t tokens = 0;      // gateway input + output tokens
  int64_t images = 0;      // gateway input images
  int64_t line_items = 0;  // FOCUS rows
};

struct AllocationReport {
  AllocationQuery query;
  std::vector<AllocationRow> rows;    // sorted by period, cost descending, keys
  std::vector<AllocationRow> totals;  // one per currency (keys empty)
};

// Runs the query over `store` (gateway spend) and store.db() (FOCUS rows; the focus tables are
// created when missing).
StatusOr<AllocationReport> RunAllocation(ledger::Store& store, const AllocationQuery& query);

std::string FormatAllocationTable(const AllocationReport& report);
std::string FormatAllocationJson(const AllocationReport& report);
// Header line: [period,] the --by names, [currency when several], cost; one row per group.
std::string FormatAllocationCsv(const AllocationReport& report);

// Unit economics helpers (exact integer math, rounded once to micros): cost * per / count.
std::optional<int64_t> CostPer(Picos128 cost, int64_t per, int64_t count);

}  // namespace bursar::finops

namespace bursar::finops {

// `bursar report` with the allocation options, as text: opens the ledger at `data` (a folder,
// sqlite:FILE or a postgres:// URL), parses the options, runs and formats (table|json|csv).
struct AllocationCommand {
  std::string data;
  std::string source = "gateway";
  std::vector<std::string> by;
  std::string every;
  std::string since, until;        // dates or RFC 3339
  std::vector<std::string> where;  // KEY=VALUE
  std::string shared;              // KEY=VALUE or ""
  std::string split = "even";
  std::string output = "table";
};
StatusOr<std::string> RunAllocationCommand(const AllocationCommand& cmd);

}  // namespace bursar::finops
