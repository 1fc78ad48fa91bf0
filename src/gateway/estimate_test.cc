#include "gateway/estimate.h"

#include <gtest/gtest.h>

namespace bursar::gateway {
namespace {

config::Model VisionModel() {
  config::Model m;
  m.meta.name = "gpt-4o";
  m.image_tokens = config::ImageTokenScheme::kOpenAITiles;
  m.pricing.input_cost_per_token = 2'500'000;
  m.pricing.output_cost_per_token = 10'000'000;
  return m;
}

TEST(EstimateTest, TextImagesAndOutput) {
  ParsedRequest r;
  r.message_count = 2;
  r.text_chars = 38;  // ceil(38 / 4) = 10
  r.max_tokens = 100;
  ImageInput known;
  known.inline_data = true;
  known.info = ImageInfo{ImageFormat::kPng, 1024, 1024};  // 765
  ImageInput unknown;
  unknown.url = "https://example.com/a.jpg";  // max under OpenAI high: 1445
  r.images = {known, unknown};
  const Estimate e = EstimateRequest(r, VisionModel(), {});
  // 10 text + 2 x 4 + 3 overhead + 765 + 1445 = 2231
  EXPECT_EQ(e.usage.prompt_tokens, 2231);
  EXPECT_EQ(e.usage.image_tokens, 2210);
  EXPECT_EQ(e.usage.images, 2);
  EXPECT_EQ(e.usage.completion_tokens, 100);
  EXPECT_EQ(e.total_tokens, 2331);
  // 2231 x 2.5e6 + 100 x 1e7 = 5.5775e9 + 1e9 pico = 6577.5 -> 6578 micros
  EXPECT_EQ(e.cost.total, 6578);
}

TEST(EstimateTest, ImagePolicyAndDefaultsAndN) {
  ParsedRequest r;
  r.message_count = 1;
  r.text_chars = 1;
  r.n = 3;
  ImageInput img;
  img.info = ImageInfo{ImageFormat::kJpeg, 2048, 4096};
  r.images = {img};
  config::ImagePolicy cap;
  cap.max_long_edge = 512;
  EstimateOptions o;
  o.default_max_output_tokens = 256;
  const Estimate e = EstimateRequest(r, VisionModel(), cap, o);
  EXPECT_EQ(e.usage.image_tokens, 255);
  EXPECT_EQ(e.usage.prompt_tokens, 1 + 4 + 3 + 255);
  EXPECT_EQ(e.usage.completion_tokens, 768);
}

TEST(EstimateTest, AudioTokensOrSeconds) {
  ParsedRequest r;
  AudioInput a;
  a.format = "wav";
  a.duration_ms = 2050;
  r.audio = {a};
  r.max_tokens = 0;
  config::Model m = VisionModel();
  Estimate tokens = EstimateRequest(r, m, {});
  EXPECT_EQ(tokens.usage.audio_input_tokens, 21);  // ceil(20.5)
  EXPECT_EQ(tokens.usage.audio_input_millis, 2050);
  EXPECT_EQ(tokens.usage.prompt_tokens, 3 + 21);
  m.pricing.input_cost_per_audio_per_second = 100'000'000;
  Estimate seconds = EstimateRequest(r, m, {});
  EXPECT_EQ(seconds.usage.audio_input_tokens, 0);
  EXPECT_EQ(seconds.usage.prompt_tokens, 3);
  // 3 x 2.5e6 + 2.05 s x 1e8 = 7.5e6 + 2.05e8 = 2.125e8 pico -> 213 micros (212.5 rounds up)
  EXPECT_EQ(seconds.cost.total, 213);
}

TEST(EstimateTest, Embeddings) {
  ParsedRequest r;
  r.kind = RequestKind::kEmbeddings;
  r.text_chars = 9;
  r.input_token_ids = 5;
  config::Model m;
  m.pricing.input_cost_per_token = 20'000;
  const Estimate e = EstimateRequest(r, m, {});
  EXPECT_EQ(e.usage.prompt_tokens, 3 + 5);
  EXPECT_EQ(e.usage.completion_tokens, 0);
  EXPECT_EQ(e.total_tokens, 8);
}

}  // namespace
}  // namespace bursar::gateway
