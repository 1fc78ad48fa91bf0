#include "gateway/timezone.h"

#include <gtest/gtest.h>

namespace bursar::gateway {
namespace {

using std::chrono::seconds;

SysSeconds At(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}} + hours{h} + minutes{min};
}

std::shared_ptr<const TimeZone> Zone(std::string_view name) {
  auto tz = LoadTimeZone(name);
  EXPECT_TRUE(tz.ok()) << tz.status().ToString();
  return tz.ok() ? *tz : TimeZone::Utc();
}

TEST(TimeZoneTest, OffsetsFromTheTransitionTable) {
  auto berlin = Zone("Europe/Berlin");
  EXPECT_EQ(berlin->OffsetAt(At(2026, 1, 15, 12)), seconds{3600});
  EXPECT_EQ(berlin->OffsetAt(At(2026, 7, 1)), seconds{7200});
  EXPECT_EQ(berlin->OffsetAt(At(2026, 3, 29, 0, 59)), seconds{3600});
  EXPECT_EQ(berlin->OffsetAt(At(2026, 3, 29, 1, 0)), seconds{7200});
  EXPECT_EQ(Zone("UTC")->OffsetAt(At(2026, 7, 1)), seconds{0});
  EXPECT_EQ(Zone("Asia/Kolkata")->OffsetAt(At(2026, 7, 1)), seconds{19800});
}

TEST(TimeZoneTest, FooterRuleAfterTheLastTransition) {
  auto berlin = Zone("Europe/Berlin");
  EXPECT_EQ(berlin->OffsetAt(At(2040, 1, 1)), seconds{3600});
  EXPECT_EQ(berlin->OffsetAt(At(2040, 7, 1)), seconds{7200});
  auto sydney = Zone("Australia/Sydney");
  EXPECT_EQ(sydney->OffsetAt(At(2040, 1, 1)), seconds{39600});
  EXPECT_EQ(sydney->OffsetAt(At(2040, 7, 1)), seconds{36000});
  auto ny = Zone("America/New_York");
  EXPECT_EQ(ny->OffsetAt(At(2045, 12, 1)), seconds{-18000});
  EXPECT_EQ(ny->OffsetAt(At(2045, 6, 1)), seconds{-14400});
}

TEST(TimeZoneTest, ZonesWithoutDstInTheFooter) {
  EXPECT_EQ(Zone("Etc/GMT+5")->OffsetAt(At(2026, 7, 1)), seconds{-18000});
  EXPECT_EQ(Zone("Etc/GMT+5")->OffsetAt(At(2050, 7, 1)), seconds{-18000});
  // Brazil dropped DST in 2019: -03 all year, before and after the table ends.
  EXPECT_EQ(Zone("America/Sao_Paulo")->OffsetAt(At(2026, 1, 15)), seconds{-10800});
  EXPECT_EQ(Zone("America/Sao_Paulo")->OffsetAt(At(2045, 1, 15)), seconds{-10800});
  EXPECT_EQ(Zone("America/Sao_Paulo")->OffsetAt(At(2018, 1, 15)), seconds{-7200});
}

TEST(TimeZoneTest, LocalToUtcInGapsAndOverlaps) {
  using namespace std::chrono;
  auto berlin = Zone("Europe/Berlin");
  auto local = [](SysSeconds s) { return local_seconds{s.time_since_epoch()}; };
  EXPECT_EQ(berlin->LocalToUtc(local(At(2026, 1, 10, 12))), At(2026, 1, 10, 11));
  // 02:30 does not exist on 2026-03-29: the instant 02:30 CET = 01:30Z (03:30 CEST).
  EXPECT_EQ(berlin->LocalToUtc(local(At(2026, 3, 29, 2, 30))), At(2026, 3, 29, 1, 30));
  // 02:30 happens twice on 2026-10-25: the earlier one (CEST) = 00:30Z.
  EXPECT_EQ(berlin->LocalToUtc(local(At(2026, 10, 25, 2, 30))), At(2026, 10, 25, 0, 30));
}

TEST(TimeZoneTest, Periods) {
  auto berlin = Zone("Europe/Berlin");
  // The day of the spring-forward switch is 23 hours long.
  EXPECT_EQ(PeriodContaining(config::BudgetPeriod::kDay, *berlin, At(2026, 3, 29, 12)),
            (Period{At(2026, 3, 28, 23), At(2026, 3, 29, 22)}));
  EXPECT_EQ(PeriodContaining(config::BudgetPeriod::kWeek, *TimeZone::Utc(), At(2026, 11, 27, 10)),
            (Period{At(2026, 11, 23), At(2026, 11, 30)}));
  // 2026-11-01T03:30Z is still October 31 in New York (EDT).
  auto ny = Zone("America/New_York");
  EXPECT_EQ(PeriodContaining(config::BudgetPeriod::kMonth, *ny, At(2026, 11, 1, 3, 30)),
            (Period{At(2026, 10, 1, 4), At(2026, 11, 1, 4)}));
  EXPECT_EQ(PeriodContaining(config::BudgetPeriod::kMonth, *ny, At(2026, 11, 1, 4, 0)),
            (Period{At(2026, 11, 1, 4), At(2026, 12, 1, 5)}));
  EXPECT_EQ(PeriodContaining(config::BudgetPeriod::kMonth, *TimeZone::Utc(), At(2026, 12, 31, 23)),
            (Period{At(2026, 12, 1), At(2027, 1, 1)}));
}

TEST(TimeZoneTest, Errors) {
  EXPECT_EQ(LoadTimeZone("Mars/Olympus").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(LoadTimeZone("../etc/passwd").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadTimeZone("/etc/passwd").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TimeZone::Parse("x", "TZif2").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FormatUtc(At(2026, 11, 27, 9, 5)), "2026-11-27T09:05:00Z");
}

}  // namespace
}  // namespace bursar::gateway
