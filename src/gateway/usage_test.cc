#include "gateway/usage.h"

#include <gtest/gtest.h>

namespace bursar::gateway {
namespace {

TEST(UsageTest, FromFullResponseWithDetails) {
  auto u = ParseUsageFromResponse(R"({"id":"chatcmpl-1","object":"chat.completion",
    "choices":[{"index":0,"message":{"role":"assistant","content":"usage: not this"}}],
    "usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,
      "prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":50},
      "completion_tokens_details":{"reasoning_tokens":120,"audio_tokens":7,
        "accepted_prediction_tokens":0}}})");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  Usage want;
  want.prompt_tokens = 1200;
  want.cached_tokens = 1024;
  want.audio_input_tokens = 50;
  want.completion_tokens = 300;
  want.reasoning_tokens = 120;
  want.audio_output_tokens = 7;
  EXPECT_EQ(*u, want);
  EXPECT_EQ(
      UsageToJson(*u),
      R"({"prompt":1200,"cached":1024,"completion":300,"reasoning":120,"audio_in":50,"audio_out":7})");
}

TEST(UsageTest, NullDetailsAndMissingUsage) {
  auto u = ParseUsageFromResponse(
      R"({"usage":{"prompt_tokens":5,"completion_tokens":null,"prompt_tokens_details":null}})");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->prompt_tokens, 5);
  EXPECT_EQ(u->completion_tokens, 0);
  EXPECT_EQ(ParseUsageFromResponse(R"({"choices":[]})").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ParseUsageFromResponse(R"({"usage":null})").status().code(), StatusCode::kNotFound);
}

TEST(UsageTest, StreamChunks) {
  auto mid = ParseUsageFromChunk(
      R"({"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null})");
  ASSERT_TRUE(mid.ok());
  EXPECT_FALSE(mid->has_value());
  auto none = ParseUsageFromChunk(R"({"id":"c","choices":[]})");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto last = ParseUsageFromChunk(
      R"({"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}})");
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->prompt_tokens, 9);
  EXPECT_EQ((*last)->completion_tokens, 12);
}

TEST(UsageTest, WrongTypesNameThePath) {
  EXPECT_EQ(ParseUsageFromResponse(R"({"usage":{"prompt_tokens":"9"}})").status().message(),
            "usage.prompt_tokens: expected a non-negative integer");
  EXPECT_EQ(ParseUsageFromResponse(R"({"usage":{"prompt_tokens":-1}})").status().message(),
            "usage.prompt_tokens: expected a non-negative integer");
  EXPECT_EQ(
      ParseUsageFromResponse(R"({"usage":{"completion_tokens_details":{"reasoning_tokens":1.5}}})")
          .status()
          .message(),
      "usage.completion_tokens_details.reasoning_tokens: expected a non-negative integer");
  EXPECT_EQ(ParseUsageFromResponse(R"({"usage":[]})").status().message(),
            "usage: expected an object");
  EXPECT_EQ(ParseUsageFromChunk(R"({"usage":{"prompt_tokens":1})").status().code(),
            StatusCode::kInvalidArgument);
  auto skipped = ParseUsageFromChunk("not json, no usage");  // not parsed: no "usage" in it
  ASSERT_TRUE(skipped.ok());
  EXPECT_FALSE(skipped->has_value());
}

TEST(UsageTest, CompleteFromEstimateFillsUnreportedModalities) {
  Usage reported;
  reported.prompt_tokens = 1000;
  reported.cached_tokens = 100;
  reported.completion_tokens = 50;
  Usage estimated;
  estimated.images = 2;
  estimated.image_tokens = 510;
  estimated.audio_input_millis = 1500;
  estimated.audio_input_tokens = 15;
  Usage u = CompleteFromEstimate(reported, estimated);
  EXPECT_EQ(u.prompt_tokens, 1000);
  EXPECT_EQ(u.images, 2);
  EXPECT_EQ(u.image_tokens, 510);
  EXPECT_EQ(u.audio_input_tokens, 15);
  EXPECT_EQ(u.audio_input_millis, 1500);
  // Never more image tokens than the uncached prompt holds.
  reported.prompt_tokens = 300;
  u = CompleteFromEstimate(reported, estimated);
  EXPECT_EQ(u.audio_input_tokens, 15);
  EXPECT_EQ(u.image_tokens, 185);
}

}  // namespace
}  // namespace bursar::gateway
