#include "ledger/spend_record.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "common/swar.h"

namespace bursar::ledger {
namespace {

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

bool IsCleanText(std::string_view s) {
  // Fast path, 8 bytes at a time: plain ASCII without NUL (what the gateway writes) is clean.
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    const uint64_t w = swar::Load8(s.data() + i);
    if ((swar::HighMask(w) | swar::EqualMask(w, 0)) != 0) break;  // a byte >= 0x80, or a NUL
  }
  for (; i < s.size();) {
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

bool SpendRecordIsClean(const SpendRecord& r, const SpendRecord& clean) {
  const bool same_config = r.key_name == clean.key_name && r.route == clean.route &&
                           r.model == clean.model && r.upstream_model == clean.upstream_model &&
                           r.commit == clean.commit && r.price == clean.price &&
                           r.currency == clean.currency &&
                           r.downgraded_from == clean.downgraded_from && r.tags == clean.tags;
  return same_config ? IsCleanText(r.request_id) : SpendRecordIsClean(r);
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

namespace {

// The spend log line is written for every request: built by hand (no JSON DOM), keys in a fixed
// order (the configuration's fields together, see ConfigFields); DecodeSpendRecord (nlohmann)
// reads it back in any order.
void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

void AppendField(std::string* out, std::string_view key, std::string_view value) {
  out->append(key);
  AppendJsonString(out, value);
}

void AppendField(std::string* out, std::string_view key, int64_t value) {
  out->append(key);
  AppendInt(out, value);
}

}  // namespace

namespace {

// The fields a record takes from the gateway's configuration (key, tags, route, model, upstream
// model, commit, price, currency) repeat from one request to the next: each thread keeps the last
// ones it encoded with their JSON and reuses the JSON while they repeat (comparing them costs a
// tenth of escaping them again). Each new set of fields gets a process-unique context number for
// the spend log's compact lines (SpendLogLines).
struct ConfigFields {
  bool valid = false;
  std::string key_name, route, model, upstream_model, commit, price, currency;
  std::map<std::string, std::string> tags;
  std::string json;     // ,"key":...,"currency":"..."
  uint64_t id = 0;      // context number
  std::string ref;      // ,"ctx":N
  std::string context;  // {"ctx":N,"key":...,"currency":"..."}

  bool Matches(const SpendRecord& r) const {
    return valid && key_name == r.key_name && route == r.route && model == r.model &&
           upstream_model == r.upstream_model && commit == r.commit && price == r.price &&
           currency == r.currency && tags == r.tags;
  }
  void Encode(const SpendRecord& r) {
    key_name = r.key_name, route = r.route, model = r.model, upstream_model = r.upstream_model;
    commit = r.commit, price = r.price, currency = r.currency, tags = r.tags;
    json.clear();
    AppendField(&json, ",\"key\":", r.key_name);
    json.append(",\"tags\":{");
    bool first = true;
    for (const auto& [k, v] : r.tags) {
      if (!first) json.push_back(',');
      first = false;
      AppendJsonString(&json, k);
      json.push_back(':');
      AppendJsonString(&json, v);
    }
    json.push_back('}');
    AppendField(&json, ",\"route\":", r.route);
    AppendField(&json, ",\"model\":", r.model);
    AppendField(&json, ",\"upstream_model\":", r.upstream_model);
    AppendField(&json, ",\"commit\":", r.commit);
    AppendField(&json, ",\"price\":", r.price);
    AppendField(&json, ",\"currency\":", r.currency);
    static std::atomic<uint64_t> next_id{0};
    id = next_id.fetch_add(1, std::memory_order_relaxed) + 1;
    ref.clear();
    AppendField(&ref, ",\"ctx\":", static_cast<int64_t>(id));
    context.assign("{");
    context.append(ref, 1);
    context.append(json);
    context.push_back('}');
    valid = true;
  }
};

// This thread's last kSpendLogContextsPerThread sets of configuration fields (a worker serves
// many keys, interleaved): the one matching `r`'s, or the least recently used one re-encoded.
const ConfigFields& ConfigOf(const SpendRecord& r) {
  struct Cache {
    std::array<ConfigFields, kSpendLogContextsPerThread> entries;
    std::array<uint64_t, kSpendLogContextsPerThread> used{};  // tick of the last use
    uint64_t tick = 0;
    size_t last = 0;  // the entry used last, tried first
  };
  thread_local Cache cache;
  const uint64_t tick = ++cache.tick;
  if (cache.entries[cache.last].Matches(r)) {
    cache.used[cache.last] = tick;
    return cache.entries[cache.last];
  }
  size_t at = 0;
  while (at < cache.entries.size() && !cache.entries[at].Matches(r)) ++at;
  if (at == cache.entries.size()) {  // a miss: replace the least recently used
    at = static_cast<size_t>(std::min_element(cache.used.begin(), cache.used.end()) -
                             cache.used.begin());
    cache.entries[at].Encode(r);
  }
  cache.last = at;
  cache.used[at] = tick;
  return cache.entries[at];
}

// A record's line with `config` (the configuration's fields, or a reference to them) after its
// time.
void AppendRecordLine(const SpendRecord& r, std::string_view config, std::string* out) {
  out->reserve(256 + config.size() + r.request_id.size());
  AppendField(out, "{\"request_id\":", r.request_id);
  AppendField(out, ",\"time_us\":", r.time_us);
  out->append(config);
  // The numbers, written into one stack buffer and appended once (at most 14 x (key + 20 digits)).
  // A field at its default (0, false, "") is left out: the decoder reads a missing field as its
  // default, and the line is about a third shorter (fewer pages of the spend log per request).
  char nums[768];
  char* p = nums;
  auto put = [&p](std::string_view key, int64_t v) {
    std::memcpy(p, key.data(), key.size());
    p = std::to_chars(p + key.size(), p + key.size() + 20, v).ptr;  // an int64 has <= 20 chars
  };
  auto put_nonzero = [&put](std::string_view key, int64_t v) {
    if (v != 0) put(key, v);
  };
  const Usage& u = r.usage;
  constexpr std::string_view kUsage = ",\"usage\":{";
  std::memcpy(p, kUsage.data(), kUsage.size());
  p += kUsage.size();
  char* const first = p;  // the first usage field has no leading comma
  put_nonzero(",\"prompt_tokens\":", u.prompt_tokens);
  put_nonzero(",\"cached_tokens\":", u.cached_tokens);
  put_nonzero(",\"completion_tokens\":", u.completion_tokens);
  put_nonzero(",\"reasoning_tokens\":", u.reasoning_tokens);
  put_nonzero(",\"image_tokens\":", u.image_tokens);
  put_nonzero(",\"images\":", u.images);
  put_nonzero(",\"audio_input_tokens\":", u.audio_input_tokens);
  put_nonzero(",\"audio_output_tokens\":", u.audio_output_tokens);
  put_nonzero(",\"audio_millis\":", u.audio_millis);
  if (p != first) {
    std::memmove(first, first + 1, static_cast<size_t>(p - first - 1));
    --p;
  }
  *p++ = '}';
  put(",\"cost_micros\":", r.cost_micros);
  put_nonzero(",\"saved_micros\":", r.saved_micros);
  put(",\"latency_us\":", r.latency_us);
  put(",\"status\":", static_cast<int64_t>(r.status));
  out->append(nums, p);
  if (r.cache_hit) out->append(",\"cache_hit\":true");
  if (!r.downgraded_from.empty()) AppendField(out, ",\"downgraded_from\":", r.downgraded_from);
  out->push_back('}');
}

}  // namespace

std::string EncodeSpendRecord(const SpendRecord& r) {
  std::string out;
  AppendRecordLine(r, ConfigOf(r).json, &out);
  return out;
}

void EncodeSpendLogLines(const SpendRecord& r, SpendLogLines* out) {
  const ConfigFields& config = ConfigOf(r);
  out->context_id = config.id;
  out->context = config.context;
  out->record.clear();
  AppendRecordLine(r, config.ref, &out->record);
}

namespace {

Status DecodeFields(const nlohmann::json& j, SpendRecord* out) {
  SpendRecord& r = *out;
  BURSAR_RETURN_IF_ERROR(Field(j, "request_id", &r.request_id));
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
  return OkStatus();
}

StatusOr<nlohmann::json> ParseObject(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("spend record: not a JSON object");
  }
  return j;
}

}  // namespace

StatusOr<SpendRecord> DecodeSpendRecord(std::string_view text) {
  BURSAR_ASSIGN_OR_RETURN(nlohmann::json j, ParseObject(text));
  SpendRecord r;
  BURSAR_RETURN_IF_ERROR(DecodeFields(j, &r));
  if (r.request_id.empty()) return InvalidArgumentError("spend record: missing request_id");
  return r;
}

StatusOr<std::optional<SpendRecord>> SpendLogDecoder::Decode(std::string_view payload) {
  BURSAR_ASSIGN_OR_RETURN(nlohmann::json j, ParseObject(payload));
  SpendRecord r;
  BURSAR_RETURN_IF_ERROR(DecodeFields(j, &r));
  auto ctx = j.find("ctx");
  if (ctx == j.end() || ctx->is_null()) {
    if (r.request_id.empty()) return InvalidArgumentError("spend record: missing request_id");
    return std::optional<SpendRecord>(std::move(r));
  }
  if (!ctx->is_number_unsigned()) {
    return InvalidArgumentError("spend log: ctx must be a non-negative integer");
  }
  const uint64_t id = ctx->get<uint64_t>();
  if (r.request_id.empty()) {  // a context line
    contexts_.insert_or_assign(id, std::move(r));
    return std::optional<SpendRecord>();
  }
  auto it = contexts_.find(id);
  if (it == contexts_.end()) {
    return InvalidArgumentError("spend log: record " + r.request_id + " refers to context " +
                                std::to_string(id) + ", which is not before it in its segment");
  }
  const SpendRecord& c = it->second;
  r.key_name = c.key_name;
  r.tags = c.tags;
  r.route = c.route;
  r.model = c.model;
  r.upstream_model = c.upstream_model;
  r.commit = c.commit;
  r.price = c.price;
  r.currency = c.currency;
  return std::optional<SpendRecord>(std::move(r));
}

}  // namespace bursar::ledger
