#include "common/money.h"

#include <gtest/gtest.h>

#include <limits>

namespace bursar {
namespace {

TEST(Money, ParsesPlainAndExponentDecimalsExactly) {
  EXPECT_EQ(*ParseScaledDecimal("1.5e-07", kPicoDigits), 150'000);
  EXPECT_EQ(*ParseScaledDecimal("0.00000015", kPicoDigits), 150'000);
  EXPECT_EQ(*ParseScaledDecimal("12", kMicroDigits), 12'000'000);
  EXPECT_EQ(*ParseScaledDecimal("-0.5", kMicroDigits), -500'000);
  EXPECT_EQ(*ParseScaledDecimal("+3.25", kMicroDigits), 3'250'000);
  EXPECT_EQ(*ParseScaledDecimal("2E3", 0), 2000);
  EXPECT_EQ(*ParseScaledDecimal("0.10000", kMicroDigits), 100'000);
}

TEST(Money, RejectsExcessPrecisionAndGarbage) {
  EXPECT_FALSE(ParseScaledDecimal("0.0000001", kMicroDigits).ok());
  EXPECT_FALSE(ParseScaledDecimal("abc", kMicroDigits).ok());
  EXPECT_FALSE(ParseScaledDecimal("1.2.3", kMicroDigits).ok());
  EXPECT_FALSE(ParseScaledDecimal("", kMicroDigits).ok());
  EXPECT_FALSE(ParseScaledDecimal("1e", kMicroDigits).ok());
  EXPECT_FALSE(ParseScaledDecimal("99999999999999999999", kMicroDigits).ok());
}

TEST(Money, RoundsHalfAwayFromZeroWhenAsked) {
  EXPECT_EQ(*ParseScaledDecimalRounded("0.0000005", kMicroDigits), 1);
  EXPECT_EQ(*ParseScaledDecimalRounded("0.0000004", kMicroDigits), 0);
  EXPECT_EQ(*ParseScaledDecimalRounded("-0.0000015", kMicroDigits), -2);
  EXPECT_EQ(*ParseScaledDecimalRounded("0.00001605990", kMicroDigits), 16);
}

TEST(Money, FormatsAndConverts) {
  EXPECT_EQ(FormatMicros(1'500'000), "1.50");
  EXPECT_EQ(FormatMicros(-25), "-0.000025");
  EXPECT_EQ(FormatScaled(150'000, kPicoDigits), "0.00000015");
  EXPECT_EQ(PicosToMicros(MulPicos(1, 150'000)), 0);  // 0.15 micro rounds to 0
  EXPECT_EQ(PicosToMicros(MulPicos(1000, 150'000)), 150);
  EXPECT_EQ(PicosToMicros(MulPicos(1'000'000, 150'000)), 150'000);
  EXPECT_EQ(PicosToMicros(-1'500'000), -2);
}

// Half away from zero, on both sides of the 64-bit fast path's limit.
TEST(Money, PicosToMicrosRoundsTheSameAboveAndBelowSixtyFourBits) {
  EXPECT_EQ(PicosToMicros(499'999), 0);
  EXPECT_EQ(PicosToMicros(500'000), 1);
  EXPECT_EQ(PicosToMicros(-500'000), -1);
  EXPECT_EQ(PicosToMicros(-1'499'999), -1);
  constexpr __int128 kMax = std::numeric_limits<int64_t>::max();
  for (__int128 mag :
       {kMax - 500'001, kMax - 500'000, kMax - 499'999, kMax, kMax + 1, kMax * 1000}) {
    const __int128 want = (mag + 500'000) / 1'000'000;  // the reference, in 128 bits
    EXPECT_EQ(PicosToMicros(mag), static_cast<int64_t>(want));
    EXPECT_EQ(PicosToMicros(-mag), static_cast<int64_t>(-want));
  }
}

}  // namespace
}  // namespace bursar
