// Parsing of OpenAI-compatible request bodies (chat completions, embeddings) for routing and
// metering, with simdjson's DOM API (validating, runtime-dispatched SIMD kernel; the on-demand
// API would run the fallback kernel in a portable build and skips unread parts unvalidated).
//
// ParseChatRequest / ParseEmbeddingsRequest read what metering needs into a ParsedRequest that
// owns its data (it does not point into `body`): text size, images (data: URLs are decoded once
// to read their header; only the dimensions and byte count are kept), audio (decoded once to
// measure its duration). The body is copied once into a padded per-thread buffer (simdjson
// needs SIMDJSON_PADDING readable bytes after the end).
//
// RewriteRequestBody replaces the top-level "model" value with the upstream model id and, when
// asked, makes sure "stream_options":{"include_usage":true} is present; every other byte of
// the body is kept as it was.
//
// Threads: pure functions, callable from any thread (each thread reuses its own parser).
// Errors: InvalidArgument naming the JSON path, e.g.
//   "messages[2].content[1].image_url.url: expected a string",
//   "body: invalid JSON (TAPE_ERROR ...)", "model: required field is missing";
// ResourceExhausted when a limit below is exceeded (body size, messages, parts, image or audio
// bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/image_header.h"
#include "gateway/image_tokens.h"

namespace bursar::gateway {

inline constexpr size_t kMaxRequestBodyBytes = 32u << 20;  // 32 MiB
inline constexpr size_t kMaxMessages = 4096;
inline constexpr size_t kMaxPartsPerMessage = 512;
inline constexpr size_t kMaxImagesPerRequest = 128;
inline constexpr size_t kMaxImageBytes = 20u << 20;  // decoded bytes of one data: image
inline constexpr size_t kMaxAudioBytes = 25u << 20;  // decoded bytes of one input_audio
inline constexpr size_t kMaxEmbeddingInputs = 2048;

enum class RequestKind { kChatCompletions, kEmbeddings };

struct ImageInput {
  std::string url;           // the https URL; empty for data: URLs (not kept)
  bool inline_data = false;  // true for a data: URL
  std::string media_type;    // data: URLs only, e.g. "image/png"
  size_t data_bytes = 0;     // decoded bytes (data: URLs only)
  ImageDetail detail = ImageDetail::kAuto;
  std::optional<ImageInfo> info;  // decoded header (always set for data: URLs)
};

struct AudioInput {
  std::string format;                  // input_audio.format as sent: "wav", "mp3", ...
  size_t data_bytes = 0;               // decoded bytes
  std::optional<int64_t> duration_ms;  // set when the format is understood (wav, mp3)
};

struct ParsedRequest {
  RequestKind kind = RequestKind::kChatCompletions;
  std::string model;                  // "model": the route name the client asked for
  bool stream = false;                // "stream"
  bool include_usage = false;         // "stream_options.include_usage" as the client sent it
  std::optional<int64_t> max_tokens;  // "max_completion_tokens", else "max_tokens"
  int64_t n = 1;                      // "n" (choices), >= 1
  std::string user;                   // "user"

  // Chat: messages and their text. Text counts include string contents, text parts, and
  // other string fields metered as text (name, tool call arguments, tools definitions).
  int64_t message_count = 0;
  int64_t text_bytes = 0;  // UTF-8 bytes of text
  int64_t text_chars = 0;  // Unicode code points of text
  std::vector<ImageInput> images;
  std::vector<AudioInput> audio;

  // Embeddings: "input" as a string, an array of strings, an array of token ids, or an array
  // of token-id arrays. String inputs add to text_bytes/text_chars.
  int64_t input_count = 0;      // number of inputs
  int64_t input_token_ids = 0;  // token ids given directly
};

StatusOr<ParsedRequest> ParseChatRequest(std::string_view body);
StatusOr<ParsedRequest> ParseEmbeddingsRequest(std::string_view body);
StatusOr<ParsedRequest> ParseRequest(RequestKind kind, std::string_view body);

// Returns `body` with the top-level "model" value replaced by the JSON string `upstream_model`
// and, when `ensure_include_usage`, with "stream_options":{"include_usage":true} (added, or
// include_usage set to true inside an existing stream_options object). Other bytes unchanged.
// Errors: InvalidArgument when body is not a JSON object or stream_options is not an object.
// `validated`: the caller already parsed `body` as a JSON object (ParseRequest succeeded on these
// bytes), so the spans can be found without parsing it again (unless a key is escaped).
StatusOr<std::string> RewriteRequestBody(std::string_view body, std::string_view upstream_model,
                                         bool ensure_include_usage, bool validated = false);

}  // namespace bursar::gateway
