#include "gateway/usage.h"

#include <simdjson.h>

#include <algorithm>
#include <string>

namespace bursar::gateway {
namespace {

namespace dom = simdjson::dom;

Status Bad(std::string_view path, std::string_view what) {
  return InvalidArgumentError(std::string(path) + ": " + std::string(what));
}

Status ReadCount(dom::element v, std::string_view path, int64_t* out) {
  if (v.is_null()) return OkStatus();
  int64_t n = 0;
  if (v.get_int64().get(n) || n < 0) return Bad(path, "expected a non-negative integer");
  *out = n;
  return OkStatus();
}

struct Detail {
  std::string_view key;
  int64_t* out;
};

// Reads {"cached_tokens":..,"audio_tokens":..,...} into the outputs named in `details`.
Status ReadDetails(dom::element v, std::string_view path, std::initializer_list<Detail> details) {
  if (v.is_null()) return OkStatus();
  dom::object o;
  if (v.get_object().get(o)) return Bad(path, "expected an object");
  for (dom::key_value_pair f : o) {
    for (const Detail& d : details) {
      if (f.key == d.key) {
        BURSAR_RETURN_IF_ERROR(
            ReadCount(f.value, std::string(path) + "." + std::string(f.key), d.out));
      }
    }
  }
  return OkStatus();
}

Status ReadUsageObject(dom::element v, Usage* u) {
  dom::object o;
  if (v.get_object().get(o)) return Bad("usage", "expected an object");
  for (dom::key_value_pair f : o) {
    const std::string_view key = f.key;
    if (key == "prompt_tokens" || key == "input_tokens") {
      BURSAR_RETURN_IF_ERROR(ReadCount(f.value, "usage.prompt_tokens", &u->prompt_tokens));
    } else if (key == "completion_tokens" || key == "output_tokens") {
      BURSAR_RETURN_IF_ERROR(ReadCount(f.value, "usage.completion_tokens", &u->completion_tokens));
    } else if (key == "prompt_tokens_details" || key == "input_tokens_details") {
      BURSAR_RETURN_IF_ERROR(ReadDetails(f.value, "usage.prompt_tokens_details",
                                         {{"cached_tokens", &u->cached_tokens},
                                          {"audio_tokens", &u->audio_input_tokens},
                                          {"image_tokens", &u->image_tokens}}));
    } else if (key == "completion_tokens_details" || key == "output_tokens_details") {
      BURSAR_RETURN_IF_ERROR(ReadDetails(
          f.value, "usage.completion_tokens_details",
          {{"reasoning_tokens", &u->reasoning_tokens}, {"audio_tokens", &u->audio_output_tokens}}));
    }
  }
  return OkStatus();
}

// Finds "usage" in a top-level object. found=false when absent or null. Uses simdjson's DOM
// (validating, runtime-dispatched SIMD kernel).
Status FindUsage(std::string_view json, Usage* u, bool* found) {
  *found = false;
  thread_local dom::parser parser;
  thread_local std::string buffer;
  buffer.assign(json);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  dom::element doc;
  if (auto e = parser.parse(reinterpret_cast<const uint8_t*>(buffer.data()), json.size(), false)
                   .get(doc)) {
    return Bad("body", std::string("invalid JSON (") + simdjson::error_message(e) + ")");
  }
  dom::object obj;
  if (doc.get_object().get(obj)) return Bad("body", "expected an object");
  for (dom::key_value_pair f : obj) {
    if (f.key != "usage" || f.value.is_null()) continue;
    *u = Usage{};
    BURSAR_RETURN_IF_ERROR(ReadUsageObject(f.value, u));
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
  // Fast path: most chunks of a stream carry no usage and are not parsed at all.
  if (chunk_json.find("\"usage\"") == std::string_view::npos) return std::optional<Usage>();
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
