#include "gateway/image_tokens.h"

#include <gtest/gtest.h>

namespace bursar::gateway {
namespace {

using config::ImageTokenScheme;

TEST(ImageTokensTest, OpenAIWorkedExamplesFromTheDocs) {
  // "A 1024 x 1024 square image in detail: high mode costs 765 tokens."
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kOpenAITiles, 1024, 1024, ImageDetail::kHigh), 765);
  // "A 2048 x 4096 image in detail: high mode costs 1105 tokens."
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kOpenAITiles, 2048, 4096, ImageDetail::kHigh), 1105);
  // "A 4096 x 8192 image in detail: low most costs 85 tokens."
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kOpenAITiles, 4096, 8192, ImageDetail::kLow), 85);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kOpenAITiles, 512, 512, ImageDetail::kAuto), 255);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kOpenAITiles, 513, 512, ImageDetail::kAuto), 425);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kOpenAITiles, 2048, 768, ImageDetail::kHigh), 1445);
  EXPECT_EQ(MaxImageTokens(ImageTokenScheme::kOpenAITiles, ImageDetail::kHigh), 1445);
  EXPECT_EQ(MaxImageTokens(ImageTokenScheme::kOpenAITiles, ImageDetail::kLow), 85);
}

TEST(ImageTokensTest, RoutePolicyCapsTheLongEdgeFirst) {
  EXPECT_EQ(FitLongEdge(2048, 4096, 512), (Size{256, 512}));
  EXPECT_EQ(FitLongEdge(100, 50, 512), (Size{100, 50}));
  EXPECT_EQ(FitLongEdge(5000, 1, 100), (Size{100, 1}));
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kOpenAITiles, 2048, 4096, ImageDetail::kHigh, 512), 255);
  EXPECT_EQ(MaxImageTokens(ImageTokenScheme::kOpenAITiles, ImageDetail::kHigh, 512), 255);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kAnthropic, 2000, 1000, ImageDetail::kAuto, 1000),
            667);  // 1000x500 / 750 = 666.7
}

TEST(ImageTokensTest, AnthropicAreaOver750WithDownscaling) {
  // Docs: 200x200 ~= 54 tokens, 1000x1000 ~= 1334 tokens.
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kAnthropic, 200, 200, ImageDetail::kAuto), 54);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kAnthropic, 1000, 1000, ImageDetail::kAuto), 1334);
  // 1092x1092 (1.19 MP) is scaled to 1072x1072 (1,149,184 px): 1532.2 -> 1533.
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kAnthropic, 1092, 1092, ImageDetail::kAuto), 1533);
  // 3000x1500 -> 1568x784 (long edge) -> 1516x758 (area): 1532.2 -> 1533.
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kAnthropic, 3000, 1500, ImageDetail::kAuto), 1533);
  EXPECT_LE(MaxImageTokens(ImageTokenScheme::kAnthropic, ImageDetail::kAuto), 1534);
  EXPECT_GE(MaxImageTokens(ImageTokenScheme::kAnthropic, ImageDetail::kAuto), 1530);
}

TEST(ImageTokensTest, GeminiTiles) {
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kGemini, 384, 384, ImageDetail::kAuto), 258);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kGemini, 385, 100, ImageDetail::kAuto), 258);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kGemini, 1024, 1024, ImageDetail::kAuto), 1032);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kGemini, 1536, 769, ImageDetail::kAuto), 1032);
  EXPECT_EQ(MaxImageTokens(ImageTokenScheme::kGemini, ImageDetail::kAuto), 9 * 258);
}

TEST(ImageTokensTest, FlatAndNoneAndBadSizesAreZero) {
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kFlat, 1000, 1000, ImageDetail::kAuto), 0);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kNone, 1000, 1000, ImageDetail::kAuto), 0);
  EXPECT_EQ(ImageTokens(ImageTokenScheme::kOpenAITiles, 0, 10, ImageDetail::kAuto), 0);
  EXPECT_EQ(ToString(ImageDetail::kLow), "low");
}

}  // namespace
}  // namespace bursar::gateway
