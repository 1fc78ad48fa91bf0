// Exact cost of a Usage under a Model's prices (config::ModelPricing, pico-units per unit).
//
// Components (units x unit price, in pico-units, summed in 128 bits, rounded once to micros
// half away from zero):
//   input         prompt - cached - image_tokens - audio_input_tokens  x input_cost_per_token
//   cached_input  cached_tokens  x cache_read_input_token_cost (0: as input)
//   image_tokens  image_tokens   x input_cost_per_image_token (0: as input)
//   images        images         x input_cost_per_image
//   audio_input   audio_input_millis x input_cost_per_audio_per_second / 1000 when that price
//                 is set (audio tokens then are not billed again); else
//                 audio_input_tokens x input_cost_per_audio_token (0: as input)
//   output        completion - reasoning - audio_output_tokens  x output_cost_per_token
//   reasoning     reasoning_tokens x output_cost_per_reasoning_token (0: as output)
//   audio_output  audio_output_tokens x output_cost_per_audio_token (0: as output)
// Negative remainders (a subset larger than its total) are clamped to 0.
//
// Threads: pure functions. No errors.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/money.h"
#include "config/model.h"
#include "gateway/usage.h"

namespace bursar::gateway {

struct CostComponent {
  std::string_view name;  // "input", "cached_input", "image_tokens", "images", "audio_input",
                          // "output", "reasoning", "audio_output"
  int64_t units = 0;      // tokens, images, or milliseconds (audio_input per second)
  Picos unit_price = 0;   // per token / image / second
  __int128 picos = 0;     // exact cost of this component
};

struct Cost {
  Micros total = 0;          // PicosToMicros(sum of components' picos)
  __int128 total_picos = 0;  // exact
  // Only those with units > 0, in the order above; inline (no allocation) for up to 8.
  boost::container::small_vector<CostComponent, 8> components;
  // Compact description of the prices applied, e.g.
  // "in=2.5/M cached=1.25/M out=10/M img=0.01/image audio_in=0.0001/s" (currency units; /M is
  // per million tokens). Only components with units > 0 appear.
  std::string price_applied;

  Micros ComponentMicros(std::string_view name) const;  // rounded; 0 when absent
};

// `describe` = false leaves price_applied empty (saves its allocations, e.g. for estimates).
Cost ComputeCost(const Usage& usage, const config::ModelPricing& pricing, bool describe = true);

}  // namespace bursar::gateway
