#include "gateway/pricing.h"

#include <gtest/gtest.h>

namespace bursar::gateway {
namespace {

config::ModelPricing Gpt4o() {
  config::ModelPricing p;
  p.input_cost_per_token = 2'500'000;         // $2.50 / M
  p.cache_read_input_token_cost = 1'250'000;  // $1.25 / M
  p.output_cost_per_token = 10'000'000;       // $10 / M
  return p;
}

TEST(PricingTest, CachedTokensAreNotBilledTwice) {
  Usage u;
  u.prompt_tokens = 1000;
  u.cached_tokens = 200;
  u.completion_tokens = 500;
  u.reasoning_tokens = 100;
  const Cost c = ComputeCost(u, Gpt4o());
  // 800 x 2.5e6 + 200 x 1.25e6 + 400 x 1e7 + 100 x 1e7 = 7.25e9 pico = 7250 micros.
  EXPECT_EQ(c.total, 7250);
  EXPECT_EQ(static_cast<int64_t>(c.total_picos), 7'250'000'000);
  EXPECT_EQ(c.ComponentMicros("input"), 2000);
  EXPECT_EQ(c.ComponentMicros("cached_input"), 250);
  EXPECT_EQ(c.ComponentMicros("output"), 4000);
  EXPECT_EQ(c.ComponentMicros("reasoning"), 1000);
  EXPECT_EQ(c.ComponentMicros("images"), 0);
  ASSERT_EQ(c.components.size(), 4u);
  EXPECT_EQ(c.components[0].units, 800);
  EXPECT_EQ(c.price_applied, "in=2.5/M cached=1.25/M out=10/M reasoning=10/M");
}

TEST(PricingTest, ReasoningAndImageAndAudioTokenPrices) {
  config::ModelPricing p = Gpt4o();
  p.output_cost_per_reasoning_token = 20'000'000;
  p.input_cost_per_image_token = 5'000'000;
  p.input_cost_per_audio_token = 40'000'000;
  p.output_cost_per_audio_token = 80'000'000;
  Usage u;
  u.prompt_tokens = 1000;  // 600 text + 255 image + 145 audio
  u.image_tokens = 255;
  u.audio_input_tokens = 145;
  u.completion_tokens = 100;  // 60 text + 30 reasoning + 10 audio
  u.reasoning_tokens = 30;
  u.audio_output_tokens = 10;
  const Cost c = ComputeCost(u, p);
  // 600*2.5e6=1.5e9; 255*5e6=1.275e9; 145*4e7=5.8e9; 60*1e7=6e8; 30*2e7=6e8; 10*8e7=8e8
  EXPECT_EQ(static_cast<int64_t>(c.total_picos), 10'575'000'000);
  EXPECT_EQ(c.total, 10575);
  EXPECT_EQ(c.price_applied,
            "in=2.5/M img_tok=5/M audio_in=40/M out=10/M reasoning=20/M audio_out=80/M");
}

TEST(PricingTest, FlatImagesAndAudioPerSecond) {
  config::ModelPricing p;
  p.input_cost_per_token = 1'000'000;
  p.input_cost_per_image = 10'000'000'000;          // $0.01 per image
  p.input_cost_per_audio_per_second = 100'000'000;  // $0.0001 per second
  Usage u;
  u.prompt_tokens = 120;
  u.audio_input_tokens = 20;  // priced by time, so not billed as tokens
  u.images = 3;
  u.audio_input_millis = 1500;
  const Cost c = ComputeCost(u, p);
  // text 100 x 1e6 = 1e8; images 3e10; audio 1.5 s x 1e8 = 1.5e8 -> 3.025e10 pico
  EXPECT_EQ(c.total, 30250);
  EXPECT_EQ(c.ComponentMicros("audio_input"), 150);
  EXPECT_EQ(c.price_applied, "in=1/M img=0.01/image audio_in=0.0001/s");
}

TEST(PricingTest, WithoutDescriptionSameNumbers) {
  Usage u;
  u.prompt_tokens = 1000;
  u.cached_tokens = 200;
  u.completion_tokens = 500;
  const Cost described = ComputeCost(u, Gpt4o());
  const Cost bare = ComputeCost(u, Gpt4o(), /*describe=*/false);
  EXPECT_EQ(bare.total, described.total);
  EXPECT_EQ(bare.components.size(), described.components.size());
  EXPECT_EQ(bare.price_applied, "");
  EXPECT_EQ(described.price_applied, "in=2.5/M cached=1.25/M out=10/M");
}

TEST(PricingTest, RoundsOnceHalfAwayFromZero) {
  config::ModelPricing p;
  p.input_cost_per_token = 2'500'000;
  Usage u;
  u.prompt_tokens = 1;  // 2.5 micros
  EXPECT_EQ(ComputeCost(u, p).total, 3);
  u.prompt_tokens = 3;  // 7.5 micros
  EXPECT_EQ(ComputeCost(u, p).total, 8);
  u.prompt_tokens = 0;
  const Cost zero = ComputeCost(u, p);
  EXPECT_EQ(zero.total, 0);
  EXPECT_TRUE(zero.components.empty());
  EXPECT_EQ(zero.price_applied, "");
}

TEST(PricingTest, CachePriceZeroMeansInputPriceAndSubsetsClamp) {
  config::ModelPricing p;
  p.input_cost_per_token = 1'000'000;
  Usage u;
  u.prompt_tokens = 10;
  u.cached_tokens = 30;  // more than the prompt: text input clamps to 0
  const Cost c = ComputeCost(u, p);
  EXPECT_EQ(c.ComponentMicros("input"), 0);
  EXPECT_EQ(c.total, 30);
}

}  // namespace
}  // namespace bursar::gateway
