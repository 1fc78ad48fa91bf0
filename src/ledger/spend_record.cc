#include "ledger/spend_record.h"

#include <nlohmann/json.hpp>

namespace bursar::ledger {
namespace {

using nlohmann::ordered_json;

// Reads an optional field of the given JSON type into `out`; a present field of the wrong type
// is an error.
template <typename T>
Status Field(const nlohmann::json& j, const char* name, T* out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return OkStatus();
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return InvalidArgumentError(std::string(name) + " must be a string");
    *out = it->get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return InvalidArgumentError(std::string(name) + " must be a boolean");
    *out = it->get<bool>();
  } else {
    if (!it->is_number_integer()) {
      return InvalidArgumentError(std::string(name) + " must be an integer");
    }
    *out = it->get<T>();
  }
  return OkStatus();
}

// Length of the valid UTF-8 sequence at s[i], 0 if invalid (overlong, surrogate, > U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&s](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
  for (size_t k = 1; k < len; ++k) cp = cp << 6 | (b(i + k) & 0x3f);
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return len;
}

bool IsCleanText(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = s[i] == '\0' ? 0 : Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool SanitizeText(std::string* text) {
  const std::string& s = *text;
  if (IsCleanText(s)) return false;
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\0') {
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  *text = std::move(out);
  return true;
}

}  // namespace

bool SpendRecordIsClean(const SpendRecord& r) {
  for (const std::string* s : {&r.request_id, &r.key_name, &r.route, &r.model, &r.upstream_model,
                               &r.commit, &r.price, &r.currency, &r.downgraded_from}) {
    if (!IsCleanText(*s)) return false;
  }
  for (const auto& [k, v] : r.tags) {
    if (!IsCleanText(k) || !IsCleanText(v)) return false;
  }
  return true;
}

bool SanitizeSpendRecord(SpendRecord* r) {
  bool changed = false;
  for (std::string* s : {&r->request_id, &r->key_name, &r->route, &r->model, &r->upstream_model,
                         &r->commit, &r->price, &r->currency, &r->downgraded_from}) {
    changed |= SanitizeText(s);
  }
  bool tags_dirty = false;
  for (const auto& [k, v] : r->tags) tags_dirty |= !IsCleanText(k) || !IsCleanText(v);
  if (tags_dirty) {
    std::map<std::string, std::string> clean;
    for (const auto& [key, value] : r->tags) {
      std::string k = key, v = value;
      SanitizeText(&k);
      SanitizeText(&v);
      clean[k] = v;
    }
    r->tags = std::move(clean);
    changed = true;
  }
  return changed;
}

std::string CanonicalTagsJson(const std::map<std::string, std::string>& tags) {
  nlohmann::json j = nlohmann::json::object();  // std::map: keys sorted
  for (const auto& [k, v] : tags) j[k] = v;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string EncodeSpendRecord(const SpendRecord& r) {
  ordered_json j;
  j["request_id"] = r.request_id;
  j["time_us"] = r.time_us;
  j["key"] = r.key_name;
  ordered_json tags = ordered_json::object();
  for (const auto& [k, v] : r.tags) tags[k] = v;
  j["tags"] = std::move(tags);
  j["route"] = r.route;
  j["model"] = r.model;
  j["upstream_model"] = r.upstream_model;
  j["commit"] = r.commit;
  ordered_json u;
  u["prompt_tokens"] = r.usage.prompt_tokens;
  u["cached_tokens"] = r.usage.cached_tokens;
  u["completion_tokens"] = r.usage.completion_tokens;
  u["reasoning_tokens"] = r.usage.reasoning_tokens;
  u["image_tokens"] = r.usage.image_tokens;
  u["images"] = r.usage.images;
  u["audio_input_tokens"] = r.usage.audio_input_tokens;
  u["audio_output_tokens"] = r.usage.audio_output_tokens;
  u["audio_millis"] = r.usage.audio_millis;
  j["usage"] = std::move(u);
  j["price"] = r.price;
  j["cost_micros"] = r.cost_micros;
  j["saved_micros"] = r.saved_micros;
  j["currency"] = r.currency;
  j["latency_us"] = r.latency_us;
  j["status"] = r.status;
  j["cache_hit"] = r.cache_hit;
  j["downgraded_from"] = r.downgraded_from;
  // Invalid UTF-8 from a client (a tag, a request id) must not make the record unwritable.
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

StatusOr<SpendRecord> DecodeSpendRecord(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("spend record: not a JSON object");
  }
  SpendRecord r;
  BURSAR_RETURN_IF_ERROR(Field(j, "request_id", &r.request_id));
  if (r.request_id.empty()) return InvalidArgumentError("spend record: missing request_id");
  BURSAR_RETURN_IF_ERROR(Field(j, "time_us", &r.time_us));
  BURSAR_RETURN_IF_ERROR(Field(j, "key", &r.key_name));
  if (auto it = j.find("tags"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgumentError("spend record: tags must be an object");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return InvalidArgumentError("spend record: tag values must be strings");
      r.tags[k] = v.get<std::string>();
    }
  }
  BURSAR_RETURN_IF_ERROR(Field(j, "route", &r.route));
  BURSAR_RETURN_IF_ERROR(Field(j, "model", &r.model));
  BURSAR_RETURN_IF_ERROR(Field(j, "upstream_model", &r.upstream_model));
  BURSAR_RETURN_IF_ERROR(Field(j, "commit", &r.commit));
  if (auto it = j.find("usage"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgumentError("spend record: usage must be an object");
    const nlohmann::json& u = *it;
    Usage& us = r.usage;
    BURSAR_RETURN_IF_ERROR(Field(u, "prompt_tokens", &us.prompt_tokens));
    BURSAR_RETURN_IF_ERROR(Field(u, "cached_tokens", &us.cached_tokens));
    BURSAR_RETURN_IF_ERROR(Field(u, "completion_tokens", &us.completion_tokens));
    BURSAR_RETURN_IF_ERROR(Field(u, "reasoning_tokens", &us.reasoning_tokens));
    BURSAR_RETURN_IF_ERROR(Field(u, "image_tokens", &us.image_tokens));
    BURSAR_RETURN_IF_ERROR(Field(u, "images", &us.images));
    BURSAR_RETURN_IF_ERROR(Field(u, "audio_input_tokens", &us.audio_input_tokens));
    BURSAR_RETURN_IF_ERROR(Field(u, "audio_output_tokens", &us.audio_output_tokens));
    BURSAR_RETURN_IF_ERROR(Field(u, "audio_millis", &us.audio_millis));
  }
  BURSAR_RETURN_IF_ERROR(Field(j, "price", &r.price));
  BURSAR_RETURN_IF_ERROR(Field(j, "cost_micros", &r.cost_micros));
  BURSAR_RETURN_IF_ERROR(Field(j, "saved_micros", &r.saved_micros));
  BURSAR_RETURN_IF_ERROR(Field(j, "currency", &r.currency));
  BURSAR_RETURN_IF_ERROR(Field(j, "latency_us", &r.latency_us));
  BURSAR_RETURN_IF_ERROR(Field(j, "status", &r.status));
  BURSAR_RETURN_IF_ERROR(Field(j, "cache_hit", &r.cache_hit));
  BURSAR_RETURN_IF_ERROR(Field(j, "downgraded_from", &r.downgraded_from));
  return r;
}

}  // namespace bursar::ledger
