// Pre-call estimate of a request's usage and cost, used to reserve budget and rate-limit
// tokens before the upstream answers.
//
//   text input   ceil(text_chars / 4) + per_message_overhead x messages + per_request_overhead
//   images       tokens from the decoded header (data: URLs) via image_tokens.h under the
//                model's scheme and the route's ImagePolicy; https URLs (size unknown) count
//                MaxImageTokens of the scheme; images = number of images
//   audio        duration from the WAV/MP3 header; audio_input_tokens = ceil(ms / 100)
//                (OpenAI bills ~10 audio tokens a second) when the model prices audio tokens
//   output       (max_tokens if given else options.default_max_output_tokens) x n
//   embeddings   ceil(text_chars / 4) + token ids given directly; no output
// prompt_tokens includes image and audio tokens, as an upstream would report it.
//
// Threads: pure functions. No errors.
#pragma once

#include <cstdint>

#include "config/model.h"
#include "gateway/pricing.h"
#include "gateway/request_parser.h"
#include "gateway/usage.h"

namespace bursar::gateway {

struct EstimateOptions {
  int64_t default_max_output_tokens = 1024;
  int64_t per_message_overhead_tokens = 4;
  int64_t per_request_overhead_tokens = 3;
  int64_t audio_tokens_per_second = 10;
};

struct Estimate {
  Usage usage;
  Cost cost;
  int64_t total_tokens = 0;  // prompt + completion: what a TPM limit is charged
};

Estimate EstimateRequest(const ParsedRequest& request, const config::Model& model,
                         const config::ImagePolicy& image_policy,
                         const EstimateOptions& options = {});

}  // namespace bursar::gateway
