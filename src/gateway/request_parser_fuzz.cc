// libFuzzer target: request bodies (chat, embeddings), the body rewrite, JSON normalisation and
// usage parsing, from untrusted bytes. Checks invariants, not just the absence of crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/request_parser.h"
#include "gateway/response_cache.h"
#include "gateway/usage.h"

using namespace bursar::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto chat = ParseChatRequest(body);
  if (chat.ok()) {
    // A valid request stays valid after the rewrite, with only model and usage changed.
    auto rewritten = RewriteRequestBody(body, "up\"stream", true);
    if (!rewritten.ok()) std::abort();
    // The scanner-only path for validated bodies gives the same bytes.
    auto fast = RewriteRequestBody(body, "up\"stream", true, /*validated=*/true);
    if (!fast.ok() || *fast != *rewritten) std::abort();
    auto fast_plain = RewriteRequestBody(body, "m", false, /*validated=*/true);
    auto slow_plain = RewriteRequestBody(body, "m", false);
    if (fast_plain.ok() != slow_plain.ok() || (fast_plain.ok() && *fast_plain != *slow_plain)) {
      std::abort();
    }
    auto again = ParseChatRequest(*rewritten);
    if (!again.ok() || again->model != "up\"stream" || !again->include_usage ||
        again->text_chars != chat->text_chars || again->images.size() != chat->images.size() ||
        again->message_count != chat->message_count || again->stream != chat->stream) {
      std::abort();
    }
  }
  (void)ParseEmbeddingsRequest(body);
  (void)RewriteRequestBody(body, "m", false);
  auto normal = NormalizeJson(body);
  if (normal.ok()) {
    auto twice = NormalizeJson(*normal);
    if (!twice.ok() || *twice != *normal) std::abort();
  }
  (void)ParseUsageFromResponse(body);
  (void)ParseUsageFromChunk(body);
  return 0;
}
