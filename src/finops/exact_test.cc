#include "finops/exact.h"

#include <gtest/gtest.h>

namespace bursar::finops {
namespace {

Picos128 P(std::string_view s) {
  Picos128 v = 0;
  const char* why = ParsePicos(s, &v);
  EXPECT_EQ(why, nullptr) << s;
  return v;
}

std::string Why(std::string_view s) {
  Picos128 v;
  const char* why = ParsePicos(s, &v);
  return why ? why : "";
}

TEST(Exact, ParsesDecimalsExactlyInPicos) {
  EXPECT_EQ(P("0.00000080000"), 800'000);
  EXPECT_EQ(P("-2.61370000000"), -2'613'700'000'000);
  EXPECT_EQ(P("12"), 12'000'000'000'000);
  EXPECT_EQ(P("+3.25"), 3'250'000'000'000);
  EXPECT_EQ(P("1.5e-07"), 150'000);
  EXPECT_EQ(P("0.000000000001"), 1);
  EXPECT_EQ(P("0.0000000000010000"), 1);  // trailing zeros past 12 digits are fine
  EXPECT_EQ(P(".5"), 500'000'000'000);
  // Beyond int64 picos (9.2 million): still exact in 128 bits.
  EXPECT_EQ(FormatPicos(P("123456789012.123456789012"), 2), "123456789012.123456789012");
}

TEST(Exact, RefusesWhatItCannotHoldExactly) {
  EXPECT_EQ(Why("12,5"), "is not a decimal");
  EXPECT_EQ(Why(""), "is not a decimal");
  EXPECT_EQ(Why("1.2.3"), "is not a decimal");
  EXPECT_EQ(Why("abc"), "is not a decimal");
  EXPECT_EQ(Why("1e"), "is not a decimal");
  EXPECT_EQ(Why("0.0000000000001"), "has more than 12 fraction digits");
  EXPECT_EQ(Why("1e-13"), "has more than 12 fraction digits");
  EXPECT_EQ(Why("99999999999999999999999999999999"), "is out of range");
}

TEST(Exact, FormatsAndSplits) {
  EXPECT_EQ(FormatPicos(1'500'000'000'000, 2), "1.50");
  EXPECT_EQ(FormatPicos(800'000, 2), "0.0000008");
  EXPECT_EQ(FormatPicos(-1, 0), "-0.000000000001");
  EXPECT_EQ(FormatPicos(0, 0), "0");
  int64_t micros, rem;
  ASSERT_TRUE(SplitPicos(-1, &micros, &rem));
  EXPECT_EQ(micros, -1);
  EXPECT_EQ(rem, 999'999);
  EXPECT_EQ(JoinPicos(micros, rem), -1);
  EXPECT_EQ(RoundPicosToMicros(500'000), 1);
  EXPECT_EQ(RoundPicosToMicros(-1'500'000), -2);
  EXPECT_EQ(RoundPicosToMicros(499'999), 0);
}

TEST(Exact, ParsesBothTimestampStyles) {
  int64_t a, b, c, d, e;
  ASSERT_TRUE(ParseTimestamp("2024-09-18 22:00:00", &a));
  ASSERT_TRUE(ParseTimestamp("2024-09-18T22:00:00Z", &b));
  ASSERT_TRUE(ParseTimestamp("2024-09-19T00:00:00+02:00", &c));
  ASSERT_TRUE(ParseTimestamp("2024-09-18T17:00:00-0500", &d));
  ASSERT_TRUE(ParseTimestamp("2024-09-18T22:00:00.250Z", &e));
  EXPECT_EQ(a, 1726696800LL * 1'000'000);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_EQ(a, d);
  EXPECT_EQ(e, a + 250'000);
  int64_t day;
  ASSERT_TRUE(ParseTimestamp("2024-02-29", &day));
  EXPECT_EQ(FormatTimestamp(day), "2024-02-29T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(e), "2024-09-18T22:00:00.250000Z");
  int64_t bad;
  EXPECT_FALSE(ParseTimestamp("2023-02-29", &bad));
  EXPECT_FALSE(ParseTimestamp("2024-13-01", &bad));
  EXPECT_FALSE(ParseTimestamp("18/09/2024", &bad));
  EXPECT_FALSE(ParseTimestamp("2024-09-18 25:00:00", &bad));
  EXPECT_FALSE(ParseTimestamp("2024-09-18T22:00:00Q", &bad));
  EXPECT_EQ(DayOf(-1), -1);
}

}  // namespace
}  // namespace bursar::finops
