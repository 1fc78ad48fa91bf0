#include "finops/focus_export.h"

#include <array>

#include "common/money.h"
#include "finops/csv.h"
#include "finops/exact.h"

namespace bursar::finops {
namespace {

constexpr std::array<std::string_view, 42> kColumns = {
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "ServiceProviderName",
    "RegionId",
    "ResourceId",
    "ServiceCategory",
    "ServiceSubcategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_Commit",
    "x_Requests",
    "x_CacheHits",
    "x_PromptTokens",
    "x_CachedTokens",
    "x_CompletionTokens",
    "x_ImageTokens",
    "x_Images",
    "x_AudioMillis",
};

constexpr int64_t kHourUs = 3'600'000'000;

int64_t MonthStart(int64_t us, int add_months) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(DayOf(us), &y, &m, &d);
  int64_t months = y * 12 + (m - 1) + add_months;
  int64_t ny = months / 12;
  unsigned nm = static_cast<unsigned>(months % 12) + 1;
  return DaysFromCivil(ny, nm, 1) * 86'400'000'000;
}

std::string Amount(int64_t micros) { return FormatPicos(Picos128(micros) * kPicosPerMicro, 0); }

}  // namespace

std::string FocusExportHeader() {
  std::string out;
  for (size_t i = 0; i < kColumns.size(); ++i) {
    if (i) out.push_back(',');
    out.append(kColumns[i]);
  }
  out.push_back('\n');
  return out;
}

StatusOr<int64_t> ExportGatewayFocus(ledger::Db& db, const ExportOptions& options,
                                     const std::function<Status(std::string_view)>& write) {
  BURSAR_RETURN_IF_ERROR(write(FocusExportHeader()));
  int64_t since = options.since_us ? (*options.since_us / kHourUs) * kHourUs -
                                         (*options.since_us % kHourUs < 0 ? kHourUs : 0)
                                   : INT64_MIN;
  int64_t until = INT64_MAX;
  if (options.until_us) {
    until = (*options.until_us / kHourUs) * kHourUs;
    if (until < *options.until_us) until += kHourUs;
  }
  std::string sql =
      "SELECT h.hour_us, h.key_name, h.route, h.model, h.commit_rev, h.currency, h.requests, "
      "h.cache_hits, h.prompt_tokens, h.cached_tokens, h.completion_tokens, h.image_tokens, "
      "h.images, h.audio_millis, h.cost_micros, h.saved_micros, t.tags_json FROM spend_hourly h "
      "LEFT JOIN spend_tagsets t ON t.id = h.tagset_id WHERE h.hour_us >= $1 AND h.hour_us < $2 "
      "ORDER BY h.hour_us, h.route, h.model, h.key_name, h.commit_rev, h.tagset_id, h.currency";
  int64_t rows = 0;
  std::string line;
  Status st = db.Query(sql, {since, until}, [&](const ledger::Row& r) -> Status {
    int64_t hour = r.Int(0);
    std::string key = r.Text(1), route = r.Text(2), model = r.Text(3), commit = r.Text(4),
                currency = r.Text(5), tags = r.Text(16);
    if (tags == "{}") tags.clear();
    int64_t requests = r.Int(6), prompt = r.Int(8), completion = r.Int(10);
    int64_t cost = r.Int(14), saved = r.Int(15);
    std::string tokens = std::to_string(prompt + completion);
    std::string description =
        std::to_string(requests) + " requests to route " + route + " served by model " + model;
    std::string fields[kColumns.size()] = {
        Amount(cost),
        options.provider,
        options.provider,
        currency,
        FormatTimestamp(MonthStart(hour, 1)),
        FormatTimestamp(MonthStart(hour, 0)),
        "Usage",
        "",
        description,
        "Usage-Based",
        FormatTimestamp(hour + kHourUs),
        FormatTimestamp(hour),
        tokens,
        "Tokens",
        Amount(cost),
        Amount(cost),
        options.provider,
        Amount(cost + saved),
        "Standard",
        tokens,
        "Tokens",
        options.provider,
        options.provider,
        "",
        route + "/" + model,
        "AI and Machine Learning",
        "Generative AI",
        route,
        model,
        model,
        key,
        key,
        tags,
        commit,
        std::to_string(requests),
        std::to_string(r.Int(7)),
        std::to_string(prompt),
        std::to_string(r.Int(9)),
        std::to_string(completion),
        std::to_string(r.Int(11)),
        std::to_string(r.Int(12)),
        std::to_string(r.Int(13)),
    };
    line.clear();
    for (size_t i = 0; i < kColumns.size(); ++i) {
      if (i) line.push_back(',');
      AppendCsvField(&line, fields[i]);
    }
    line.push_back('\n');
    ++rows;
    return write(line);
  });
  BURSAR_RETURN_IF_ERROR(st);
  return rows;
}

}  // namespace bursar::finops
