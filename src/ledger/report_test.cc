#include "ledger/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace bursar::ledger {
namespace {

TEST(ReportTimeTest, ParsesDatesAndRfc3339) {
  EXPECT_EQ(*ParseTimestamp("1970-01-01"), 0);
  EXPECT_EQ(*ParseTimestamp("2026-01-01"), 1'767'225'600'000'000);
  EXPECT_EQ(*ParseTimestamp("2026-01-01T00:00:00Z"), 1'767'225'600'000'000);
  EXPECT_EQ(*ParseTimestamp("2026-01-01T01:00:00+01:00"), 1'767'225'600'000'000);
  EXPECT_EQ(*ParseTimestamp("2025-12-31T23:30:00-00:30"), 1'767'225'600'000'000);
  EXPECT_EQ(*ParseTimestamp("2026-01-01 00:00:00.25z"), 1'767'225'600'250'000);
  EXPECT_EQ(*ParseTimestamp("2026-01-01T00:00:00.1234567Z"), 1'767'225'600'123'456);
  EXPECT_EQ(*ParseTimestamp("2024-02-29"), 1'709'164'800'000'000);
  for (const char* bad : {"", "2026-1-01", "2026-02-30", "2025-02-29", "2026-13-01",
                          "2026-01-01T24:00:00Z", "2026-01-01T00:00Z", "2026-01-01T00:00:00.Z",
                          "2026-01-01T00:00:00+0100", "yesterday", "2026-01-01x"}) {
    EXPECT_EQ(ParseTimestamp(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ReportTimeTest, FormatsRoundTrip) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(1'767'225'600'250'000), "2026-01-01T00:00:00.25Z");
  EXPECT_EQ(FormatTimestamp(-1'000'000), "1969-12-31T23:59:59Z");
  for (int64_t t : {int64_t{1'709'164'800'000'000}, int64_t{951'782'400'123'456}}) {
    EXPECT_EQ(*ParseTimestamp(FormatTimestamp(t)), t);
  }
}

Report SampleReport() {
  Report r;
  r.by = {"team"};
  SpendGroup a{{"search"}, "USD", {}};
  a.totals.requests = 3;
  a.totals.cost_micros = 1'500'001;
  a.totals.prompt_tokens = 300;
  SpendGroup b{{""}, "USD", {}};
  b.totals.requests = 1;
  b.totals.cost_micros = 2;
  b.totals.saved_micros = 10;
  SpendGroup c{{"ads"}, "EUR", {}};
  c.totals.requests = 2;
  c.totals.cost_micros = 999'999'999'999;
  r.groups = {c, a, b};
  return r;
}

TEST(ReportFormatTest, TableIsExactWithTotalsPerCurrency) {
  std::string t = FormatReportTable(SampleReport());
  EXPECT_NE(t.find("team"), std::string::npos);
  EXPECT_NE(t.find("999999.999999"), std::string::npos) << t;
  EXPECT_NE(t.find("1.500001"), std::string::npos) << t;
  EXPECT_NE(t.find("(none)"), std::string::npos) << t;
  EXPECT_NE(t.find("1.500003"), std::string::npos) << "USD total\n" << t;
  EXPECT_NE(t.find("TOTAL"), std::string::npos);
  EXPECT_EQ(FormatReportTable(Report{{"key"}, {}, {}, {}}).find("(no spend in range)") !=
                std::string::npos,
            true);
}

TEST(ReportFormatTest, JsonCarriesMicrosAndDecimalStrings) {
  Report r = SampleReport();
  r.since_us = 0;
  auto j = nlohmann::json::parse(FormatReportJson(r));
  EXPECT_EQ(j["by"][0], "team");
  EXPECT_EQ(j["since"], "1970-01-01T00:00:00Z");
  EXPECT_TRUE(j["until"].is_null());
  ASSERT_EQ(j["groups"].size(), 3u);
  EXPECT_EQ(j["groups"][0]["team"], "ads");
  EXPECT_EQ(j["groups"][0]["cost"], "999999.999999");
  EXPECT_EQ(j["groups"][1]["cost_micros"], 1'500'001);
  EXPECT_EQ(j["groups"][2]["team"], "");
  ASSERT_EQ(j["totals"].size(), 2u);
  EXPECT_EQ(j["totals"][0]["currency"], "EUR");
  EXPECT_EQ(j["totals"][1]["cost_micros"], 1'500'003);
  EXPECT_EQ(j["totals"][1]["cost"], "1.500003");
  EXPECT_EQ(j["totals"][1]["requests"], 4);
}

}  // namespace
}  // namespace bursar::ledger
