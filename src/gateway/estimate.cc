#include "gateway/estimate.h"

#include <algorithm>

#include "gateway/image_tokens.h"

namespace bursar::gateway {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

Estimate EstimateRequest(const ParsedRequest& r, const config::Model& model,
                         const config::ImagePolicy& image_policy, const EstimateOptions& o) {
  Estimate est;
  Usage& u = est.usage;
  const int64_t text_tokens = CeilDiv(r.text_chars, 4);
  if (r.kind == RequestKind::kEmbeddings) {
    u.prompt_tokens = text_tokens + r.input_token_ids;
  } else {
    int64_t prompt = text_tokens + o.per_message_overhead_tokens * r.message_count +
                     o.per_request_overhead_tokens;
    for (const ImageInput& img : r.images) {
      ++u.images;
      int64_t tokens = 0;
      if (img.info) {
        tokens = ImageTokens(model.image_tokens, img.info->width, img.info->height, img.detail,
                             image_policy.max_long_edge);
      } else {
        tokens = MaxImageTokens(model.image_tokens, img.detail, image_policy.max_long_edge);
      }
      u.image_tokens += tokens;
    }
    prompt += u.image_tokens;
    const bool audio_tokens = model.pricing.input_cost_per_audio_per_second == 0;
    for (const AudioInput& a : r.audio) {
      const int64_t ms = a.duration_ms.value_or(0);
      u.audio_input_millis += ms;
      if (audio_tokens) u.audio_input_tokens += CeilDiv(ms * o.audio_tokens_per_second, 1000);
    }
    prompt += u.audio_input_tokens;
    u.prompt_tokens = prompt;
    const int64_t per_choice = r.max_tokens.value_or(o.default_max_output_tokens);
    u.completion_tokens = per_choice * std::max<int64_t>(1, r.n);
  }
  est.cost = ComputeCost(u, model.pricing, /*describe=*/false);
  est.total_tokens = u.prompt_tokens + u.completion_tokens;
  return est;
}

}  // namespace bursar::gateway
