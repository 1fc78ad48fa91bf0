// Gateway spend as FOCUS 1.2 rows, so bursar's metering drops into any FOCUS tool.
//
// One row per hour of the ledger's hourly rollup (ledger/store.h: spend_hourly) and per
// (route, model, API key, commit, tag set, currency):
//   ChargeCategory Usage, ChargeFrequency Usage-Based, ServiceCategory "AI and Machine Learning",
//   ServiceSubcategory "Generative AI", ServiceName = route, SkuId = SkuPriceId = model,
//   SubAccountId/Name = API key name, Tags = the key's tags as JSON, BilledCost = EffectiveCost =
//   ContractedCost = the metered cost, ListCost = cost + what the cache saved, ConsumedQuantity =
//   PricingQuantity = tokens (input + output) with unit "Tokens", ChargePeriodStart/End = the
//   hour, BillingPeriodStart/End = its UTC month, ProviderName = ServiceProviderName =
//   InvoiceIssuerName = options.provider, and x_ columns: x_Commit, x_Requests, x_CacheHits,
//   x_PromptTokens, x_CachedTokens, x_CompletionTokens, x_ImageTokens, x_Images, x_AudioMillis.
// Amounts are exact decimals printed from integer micros. --since/--until select whole hours
// (since rounded down, until rounded up to the hour).
//
// Threads: uses the caller's Db from the caller's thread. Errors: the database's.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "ledger/db.h"

namespace bursar::finops {

struct ExportOptions {
  std::optional<int64_t> since_us;
  std::optional<int64_t> until_us;
  std::string provider = "bursar";
};

// The header line of an export (with its newline).
std::string FocusExportHeader();

// Writes the header and every row through `write` (called with chunks of CSV text). REQUIRES:
// the ledger's tables exist (ledger::Store::Open applies them). Returns the number of rows.
StatusOr<int64_t> ExportGatewayFocus(ledger::Db& db, const ExportOptions& options,
                                     const std::function<Status(std::string_view)>& write);

}  // namespace bursar::finops
