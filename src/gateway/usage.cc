#include "gateway/usage.h"

#include <simdjson.h>

#include <algorithm>
#include <string>

namespace bursar::gateway {
namespace {

namespace od = simdjson::ondemand;

Status Bad(std::string_view path, std::string_view what) {
  return InvalidArgumentError(std::string(path) + ": " + std::string(what));
}

Status ReadCount(od::value& v, std::string_view path, int64_t* out) {
  od::json_type t{};
  if (v.type().get(t)) return Bad(path, "invalid JSON");
  if (t == od::json_type::null) return OkStatus();
  int64_t n = 0;
  if (v.get_int64().get(n) || n < 0) return Bad(path, "expected a non-negative integer");
  *out = n;
  return OkStatus();
}

// Reads {"cached_tokens":..,"audio_tokens":..,...} into the named outputs.
Status ReadDetails(od::value& v, std::string_view path, std::string_view k1, int64_t* o1,
                   std::string_view k2, int64_t* o2, std::string_view k3, int64_t* o3) {
  od::json_type t{};
  if (v.type().get(t)) return Bad(path, "invalid JSON");
  if (t == od::json_type::null) return OkStatus();
  od::object o;
  if (v.get_object().get(o)) return Bad(path, "expected an object");
  for (auto fr : o) {
    od::field f;
    if (std::move(fr).get(f)) return Bad(path, "invalid JSON");
    std::string_view key;
    if (f.unescaped_key().get(key)) return Bad(path, "invalid JSON");
    od::value fv = f.value();
    int64_t* dst = key == k1 ? o1 : key == k2 ? o2 : (!k3.empty() && key == k3) ? o3 : nullptr;
    if (dst) BURSAR_RETURN_IF_ERROR(ReadCount(fv, std::string(path) + "." + std::string(key), dst));
  }
  return OkStatus();
}

Status ReadUsageObject(od::value& v, Usage* u) {
  od::object o;
  if (v.get_object().get(o)) return Bad("usage", "expected an object");
  for (auto fr : o) {
    od::field f;
    if (std::move(fr).get(f)) return Bad("usage", "invalid JSON");
    std::string_view key;
    if (f.unescaped_key().get(key)) return Bad("usage", "invalid JSON");
    od::value fv = f.value();
    if (key == "prompt_tokens" || key == "input_tokens") {
      BURSAR_RETURN_IF_ERROR(ReadCount(fv, "usage.prompt_tokens", &u->prompt_tokens));
    } else if (key == "completion_tokens" || key == "output_tokens") {
      BURSAR_RETURN_IF_ERROR(ReadCount(fv, "usage.completion_tokens", &u->completion_tokens));
    } else if (key == "prompt_tokens_details" || key == "input_tokens_details") {
      BURSAR_RETURN_IF_ERROR(ReadDetails(fv, "usage.prompt_tokens_details", "cached_tokens",
                                         &u->cached_tokens, "audio_tokens", &u->audio_input_tokens,
                                         "image_tokens", &u->image_tokens));
    } else if (key == "completion_tokens_details" || key == "output_tokens_details") {
      BURSAR_RETURN_IF_ERROR(ReadDetails(fv, "usage.completion_tokens_details", "reasoning_tokens",
                                         &u->reasoning_tokens, "audio_tokens",
                                         &u->audio_output_tokens, "", nullptr));
    }
  }
  return OkStatus();
}

// Finds "usage" in a top-level object. found=false when absent or null.
Status FindUsage(std::string_view json, Usage* u, bool* found) {
  *found = false;
  simdjson::padded_string padded(json);
  thread_local od::parser parser;
  od::document doc;
  if (auto e = parser.iterate(padded).get(doc)) {
    return Bad("body", std::string("invalid JSON (") + simdjson::error_message(e) + ")");
  }
  od::object obj;
  if (doc.get_object().get(obj)) return Bad("body", "expected an object");
  for (auto fr : obj) {
    od::field f;
    if (auto e = std::move(fr).get(f)) {
      return Bad("body", std::string("invalid JSON (") + simdjson::error_message(e) + ")");
    }
    std::string_view key;
    if (f.unescaped_key().get(key)) return Bad("body", "invalid JSON");
    if (key != "usage") continue;
    od::value v = f.value();
    od::json_type t{};
    if (v.type().get(t)) return Bad("usage", "invalid JSON");
    if (t == od::json_type::null) continue;
    *u = Usage{};
    BURSAR_RETURN_IF_ERROR(ReadUsageObject(v, u));
    *found = true;
  }
  return OkStatus();
}

}  // namespace

StatusOr<Usage> ParseUsageFromResponse(std::string_view body) {
  Usage u;
  bool found = false;
  BURSAR_RETURN_IF_ERROR(FindUsage(body, &u, &found));
  if (!found) return NotFoundError("response has no usage");
  return u;
}

StatusOr<std::optional<Usage>> ParseUsageFromChunk(std::string_view chunk_json) {
  Usage u;
  bool found = false;
  BURSAR_RETURN_IF_ERROR(FindUsage(chunk_json, &u, &found));
  if (!found) return std::optional<Usage>();
  return std::optional<Usage>(u);
}

Usage CompleteFromEstimate(const Usage& reported, const Usage& estimated) {
  Usage u = reported;
  u.images = estimated.images;
  u.audio_input_millis = estimated.audio_input_millis;
  int64_t room = std::max<int64_t>(0, u.prompt_tokens - u.cached_tokens);
  room = std::max<int64_t>(0, room - u.image_tokens - u.audio_input_tokens);
  if (u.audio_input_tokens == 0 && estimated.audio_input_tokens > 0) {
    u.audio_input_tokens = std::min(estimated.audio_input_tokens, room);
    room -= u.audio_input_tokens;
  }
  if (u.image_tokens == 0 && estimated.image_tokens > 0) {
    u.image_tokens = std::min(estimated.image_tokens, room);
  }
  return u;
}

std::string UsageToJson(const Usage& u) {
  std::string out = "{";
  auto add = [&out](std::string_view name, int64_t v) {
    if (v == 0) return;
    if (out.size() > 1) out += ',';
    out += '"';
    out += name;
    out += "\":";
    out += std::to_string(v);
  };
  add("prompt", u.prompt_tokens);
  add("cached", u.cached_tokens);
  add("completion", u.completion_tokens);
  add("reasoning", u.reasoning_tokens);
  add("image_tokens", u.image_tokens);
  add("images", u.images);
  add("audio_in", u.audio_input_tokens);
  add("audio_out", u.audio_output_tokens);
  add("audio_ms", u.audio_input_millis);
  out += '}';
  return out;
}

}  // namespace bursar::gateway
