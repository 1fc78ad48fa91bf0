// Token usage of one request, by modality, as reported by an OpenAI-compatible upstream.
//
// Parses the "usage" object of a chat-completions / embeddings response body, or of the final
// chunk of a stream (sent when stream_options.include_usage is true). Shape (OpenAI):
//   {"prompt_tokens":N,"completion_tokens":N,"total_tokens":N,
//    "prompt_tokens_details":{"cached_tokens":N,"audio_tokens":N,"image_tokens":N},
//    "completion_tokens_details":{"reasoning_tokens":N,"audio_tokens":N}}
// Missing or null fields count 0. Unknown fields are ignored.
//
// Subsets: cached_tokens, image_tokens and audio_input_tokens are parts of prompt_tokens;
// reasoning_tokens and audio_output_tokens are parts of completion_tokens (as OpenAI reports).
//
// Threads: pure functions. Errors: InvalidArgument on malformed JSON or wrong types (naming the
// path, e.g. "usage.prompt_tokens: expected a non-negative integer"); NotFound when a full
// response has no "usage".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bursar::gateway {

struct Usage {
  int64_t prompt_tokens = 0;        // all input tokens, including the subsets below
  int64_t cached_tokens = 0;        // of prompt_tokens: read from the provider's prompt cache
  int64_t completion_tokens = 0;    // all output tokens, including the subsets below
  int64_t reasoning_tokens = 0;     // of completion_tokens
  int64_t image_tokens = 0;         // of prompt_tokens: image input tokens
  int64_t images = 0;               // number of input images (priced per image under kFlat)
  int64_t audio_input_tokens = 0;   // of prompt_tokens
  int64_t audio_output_tokens = 0;  // of completion_tokens
  int64_t audio_input_millis = 0;   // duration of input audio (priced per second when set)

  friend bool operator==(const Usage&, const Usage&) = default;
};

// From a whole (non-streaming) response body.
StatusOr<Usage> ParseUsageFromResponse(std::string_view body);

// From one stream chunk's JSON (the payload after "data: "). nullopt when the chunk carries no
// usage (absent or null), which is every chunk but the last with include_usage. A chunk whose
// text does not contain "usage" is not parsed (nor validated): the call is a substring search.
StatusOr<std::optional<Usage>> ParseUsageFromChunk(std::string_view chunk_json);

// The upstream's counts, completed with what it did not report from the pre-call estimate:
// images, audio_input_millis, and image_tokens / audio_input_tokens when the upstream gave 0
// (clamped so the subsets never exceed prompt_tokens - cached_tokens).
Usage CompleteFromEstimate(const Usage& reported, const Usage& estimated);

// Compact JSON for the ledger: {"prompt":N,"cached":N,"completion":N,"reasoning":N,
// "image_tokens":N,"images":N,"audio_in":N,"audio_out":N,"audio_ms":N} (zero fields omitted).
std::string UsageToJson(const Usage& u);

}  // namespace bursar::gateway
