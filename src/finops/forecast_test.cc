#include "finops/forecast.h"

#include <gtest/gtest.h>

#include "finops/exact.h"
#include "finops/test_db.h"

namespace bursar::finops {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
// 2026-11-02 is a Monday.
const int64_t kMonday = DaysFromCivil(2026, 11, 2);

TEST(Forecast, FlatSpendProjectsLinearlyAndNamesTheDay) {
  ForecastInput in;
  in.history.assign(28, 10.0);
  in.history_first_day = kMonday - 28;
  in.today = kMonday + 9;  // 2026-11-11, nothing spent yet today
  in.today_left = 1.0;
  in.period_end_day = DaysFromCivil(2026, 12, 1);
  in.spent = 100'000'000;  // 10 days x $10
  in.limit = 250'000'000;
  ForecastResult r = ForecastSpend(in);
  EXPECT_EQ(r.projected, 300'000'000);  // 100 + 20 days x 10
  EXPECT_EQ(r.low, r.projected);        // no noise, no interval
  EXPECT_EQ(r.high, r.projected);
  EXPECT_TRUE(r.will_exceed);
  ASSERT_TRUE(r.exceed_day.has_value());
  // 100 + 10 per day passes 250 on the 16th day counted from today (today included).
  EXPECT_EQ(*r.exceed_day, in.today + 15);
  in.limit = 400'000'000;
  r = ForecastSpend(in);
  EXPECT_FALSE(r.will_exceed);
  EXPECT_FALSE(r.exceed_day.has_value());
}

TEST(Forecast, WeeklySeasonalityKeepsWeekendsQuiet) {
  ForecastInput in;
  for (int d = 0; d < 28; ++d) in.history.push_back(d % 7 < 5 ? 10.0 : 0.0);  // Mon..Fri
  in.history_first_day = kMonday - 28;
  in.today = kMonday;
  in.period_end_day = kMonday + 7;  // one week left
  in.limit = 1'000'000'000;
  ForecastResult r = ForecastSpend(in);
  EXPECT_EQ(r.projected, 50'000'000);  // five weekdays, weekends zero (not 7 x mean = 50)
  EXPECT_NEAR(r.weekday_factor[5], 0.0, 1e-9);
  EXPECT_NEAR(r.weekday_factor[0], 1.4, 1e-9);
  in.period_end_day = kMonday + 5;  // up to Saturday: still 50
  EXPECT_EQ(ForecastSpend(in).projected, 50'000'000);
  in.period_end_day = kMonday + 2;
  EXPECT_EQ(ForecastSpend(in).projected, 20'000'000);
}

TEST(Forecast, TrendAndNoiseWidenTheInterval) {
  ForecastInput in;
  for (int d = 0; d < 21; ++d) in.history.push_back(1.0 + d + ((d % 2) ? 0.5 : -0.5));
  in.history_first_day = kMonday - 21;
  in.today = kMonday;
  in.period_end_day = kMonday + 7;
  in.limit = 1'000'000;
  ForecastResult r = ForecastSpend(in);
  EXPECT_NEAR(r.trend_per_day, 1.0, 0.05);
  // The next 7 days continue the trend: about 22 + 23 + ... + 28 = 175.
  EXPECT_NEAR(static_cast<double>(r.projected) / 1e6, 175.0, 3.0);
  EXPECT_LT(r.low, r.projected);
  EXPECT_GT(r.high, r.projected);
  EXPECT_TRUE(r.will_exceed);
  EXPECT_EQ(r.exceed_day, in.today);  // $1 limit: passed on the first day
}

TEST(Forecast, PeriodsFollowTheCalendar) {
  int64_t wed = kMonday + 2;
  EXPECT_EQ(PeriodDays(config::BudgetPeriod::kDay, wed), std::make_pair(wed, wed + 1));
  EXPECT_EQ(PeriodDays(config::BudgetPeriod::kWeek, wed), std::make_pair(kMonday, kMonday + 7));
  EXPECT_EQ(PeriodDays(config::BudgetPeriod::kMonth, DaysFromCivil(2026, 12, 31)),
            std::make_pair(DaysFromCivil(2026, 12, 1), DaysFromCivil(2027, 1, 1)));
}

class ForecastLedgerTest : public ::testing::TestWithParam<testing::Backend> {};

TEST_P(ForecastLedgerTest, ReadsScopedHistoryAndSpentFromTheLedger) {
  auto holder = testing::TestDb::Make(GetParam());
  if (!holder) GTEST_SKIP() << "BURSAR_TEST_PG_URL not set";
  auto store = ledger::Store::Open(holder->url());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  // 20 days of $5/day for team search (and noise from team ads that is out of scope).
  int64_t first = DaysFromCivil(2026, 11, 1);
  std::vector<ledger::SpendRecord> recs;
  for (int d = 0; d < 20; ++d) {
    for (const char* team : {"search", "ads"}) {
      ledger::SpendRecord r;
      r.request_id = std::string(team) + std::to_string(d);
      r.time_us = (first + d) * kDayUs + 3'600'000'000LL;
      r.key_name = team;
      r.tags = {{"team", team}};
      r.route = "chat";
      r.model = "m";
      r.price = "{}";
      r.cost_micros = std::string(team) == "search" ? 5'000'000 : 70'000'000;
      recs.push_back(r);
    }
  }
  ASSERT_TRUE((*store)->InsertBatch(recs).ok());
  config::Budget budget;
  budget.meta.name = "search-monthly";
  budget.scope.tags = {{"team", "search"}};
  budget.period = config::BudgetPeriod::kMonth;
  budget.limit = 140'000'000;
  auto cal = UtcCalendar();
  int64_t now = (first + 19) * kDayUs + 12 * 3'600'000'000LL;  // 2026-11-20 12:00
  auto f = ForecastBudget(**store, budget, *cal, now);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->spent, 100'000'000);  // 20 days incl. today's 01:00 record
  EXPECT_EQ(f->period_start_us, first * kDayUs);
  EXPECT_EQ(FormatTimestamp(f->period_end_us), "2026-12-01T00:00:00Z");
  // Half of today and 10 more days at $5: 100 + 2.5 + 50.
  EXPECT_EQ(f->forecast.projected, 152'500'000);
  EXPECT_TRUE(f->forecast.will_exceed);
  EXPECT_EQ(f->exceed_date, "2026-11-28");  // 102.5 + 5 x 8 = 142.5 > 140
  std::string table = FormatForecastTable({*f});
  EXPECT_NE(table.find("will exceed on 2026-11-28"), std::string::npos) << table;
  std::string json = FormatForecastJson({*f});
  EXPECT_NE(json.find("\"projected\": \"152.50\""), std::string::npos) << json;
}

INSTANTIATE_TEST_SUITE_P(Backends, ForecastLedgerTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace bursar::finops
