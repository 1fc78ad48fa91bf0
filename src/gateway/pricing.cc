#include "gateway/pricing.h"

#include <algorithm>

namespace bursar::gateway {
namespace {

// Price per million tokens in currency units from pico per token: picos / 1e6.
std::string PerMillion(Picos p) { return FormatScaled(p, 6) + "/M"; }
std::string PerUnit(Picos p, std::string_view unit) {
  return FormatScaled(p, kPicoDigits) + "/" + std::string(unit);
}

}  // namespace

Micros Cost::ComponentMicros(std::string_view name) const {
  for (const auto& c : components) {
    if (c.name == name) return PicosToMicros(c.picos);
  }
  return 0;
}

Cost ComputeCost(const Usage& u, const config::ModelPricing& p, bool describe) {
  Cost cost;
  auto pick = [](Picos specific, Picos fallback) { return specific != 0 ? specific : fallback; };
  // `unit` "" means a per-token price, shown per million tokens.
  auto add = [&cost, describe](std::string_view name, std::string_view label, int64_t units,
                               Picos price, __int128 picos, std::string_view unit) {
    if (units <= 0) return;
    cost.components.push_back({name, units, price, picos});
    cost.total_picos += picos;
    if (!describe) return;
    if (!cost.price_applied.empty()) cost.price_applied += ' ';
    cost.price_applied += label;
    cost.price_applied += '=';
    cost.price_applied += unit.empty() ? PerMillion(price) : PerUnit(price, unit);
  };
  const bool audio_per_second = p.input_cost_per_audio_per_second != 0;
  const int64_t audio_in_tokens = audio_per_second ? 0 : u.audio_input_tokens;
  const int64_t text_in = std::max<int64_t>(
      0, u.prompt_tokens - u.cached_tokens - u.image_tokens - u.audio_input_tokens);
  const int64_t text_out =
      std::max<int64_t>(0, u.completion_tokens - u.reasoning_tokens - u.audio_output_tokens);

  add("input", "in", text_in, p.input_cost_per_token, MulPicos(text_in, p.input_cost_per_token),
      "");
  const Picos cached = pick(p.cache_read_input_token_cost, p.input_cost_per_token);
  add("cached_input", "cached", u.cached_tokens, cached, MulPicos(u.cached_tokens, cached), "");
  const Picos img_tok = pick(p.input_cost_per_image_token, p.input_cost_per_token);
  add("image_tokens", "img_tok", u.image_tokens, img_tok, MulPicos(u.image_tokens, img_tok), "");
  add("images", "img", u.images, p.input_cost_per_image, MulPicos(u.images, p.input_cost_per_image),
      "image");
  if (audio_per_second) {
    // millis x price per second / 1000, rounded half up to a whole pico.
    const __int128 milli_picos = MulPicos(u.audio_input_millis, p.input_cost_per_audio_per_second);
    add("audio_input", "audio_in", u.audio_input_millis, p.input_cost_per_audio_per_second,
        (milli_picos + 500) / 1000, "s");
  } else {
    const Picos a = pick(p.input_cost_per_audio_token, p.input_cost_per_token);
    add("audio_input", "audio_in", audio_in_tokens, a, MulPicos(audio_in_tokens, a), "");
  }
  add("output", "out", text_out, p.output_cost_per_token,
      MulPicos(text_out, p.output_cost_per_token), "");
  const Picos reasoning = pick(p.output_cost_per_reasoning_token, p.output_cost_per_token);
  add("reasoning", "reasoning", u.reasoning_tokens, reasoning,
      MulPicos(u.reasoning_tokens, reasoning), "");
  const Picos audio_out = pick(p.output_cost_per_audio_token, p.output_cost_per_token);
  add("audio_output", "audio_out", u.audio_output_tokens, audio_out,
      MulPicos(u.audio_output_tokens, audio_out), "");
  cost.total = PicosToMicros(cost.total_picos);
  return cost;
}

}  // namespace bursar::gateway
