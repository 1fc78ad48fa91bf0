#include "gateway/response_cache.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "common/sha256.h"
#include "gateway/request_parser_internal.h"

namespace bursar::gateway {
namespace {

namespace dom = simdjson::dom;

// The shortest round-trip form of v, or std::to_chars's form given by `format`.
template <typename T, typename... Format>
void AppendNumber(std::string* out, T v, Format... format) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, format...);
  out->append(buf, r.ptr);
}

void Normalize(dom::element v, std::string* out) {
  switch (v.type()) {
    case dom::element_type::OBJECT: {
      const dom::object o = v.get_object().value_unsafe();
      std::vector<std::pair<std::string_view, dom::element>> fields;
      for (dom::key_value_pair f : o) fields.emplace_back(f.key, f.value);
      std::stable_sort(fields.begin(), fields.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      out->push_back('{');
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) out->push_back(',');
        internal::AppendJsonString(out, fields[i].first);
        out->push_back(':');
        Normalize(fields[i].second, out);
      }
      out->push_back('}');
      return;
    }
    case dom::element_type::ARRAY: {
      const dom::array a = v.get_array().value_unsafe();
      out->push_back('[');
      bool first = true;
      for (dom::element item : a) {
        if (!first) out->push_back(',');
        first = false;
        Normalize(item, out);
      }
      out->push_back(']');
      return;
    }
    case dom::element_type::STRING:
      internal::AppendJsonString(out, v.get_string().value_unsafe());
      return;
    case dom::element_type::INT64:
      AppendNumber(out, v.get_int64().value_unsafe());
      return;
    case dom::element_type::UINT64:
      AppendNumber(out, v.get_uint64().value_unsafe());
      return;
    case dom::element_type::DOUBLE: {
      // A normal form must stay as it is when normalized again. -0.0 is 0, as -0 is (its
      // shortest form "-0" would read back as the integer 0); a magnitude of 2^63 or more is
      // written in exponent form (its shortest form can be all digits, which would read back as
      // an integer, or not at all beyond 64 bits).
      const double d = v.get_double().value_unsafe();
      if (d == 0) {
        out->push_back('0');
      } else if (std::abs(d) >= 0x1p63) {
        AppendNumber(out, d, std::chars_format::scientific);
      } else {
        AppendNumber(out, d);
      }
      return;
    }
    case dom::element_type::BOOL:
      out->append(v.get_bool().value_unsafe() ? "true" : "false");
      return;
    case dom::element_type::NULL_VALUE:
      out->append("null");
      return;
  }
}

}  // namespace

StatusOr<std::string> NormalizeJson(std::string_view json) {
  thread_local dom::parser parser;
  thread_local std::string buffer;
  buffer.assign(json);
  buffer.append(simdjson::SIMDJSON_PADDING, '\0');
  dom::element doc;
  if (auto e = parser.parse(reinterpret_cast<const uint8_t*>(buffer.data()), json.size(), false)
                   .get(doc)) {
    return InvalidArgumentError(std::string("body: invalid JSON (") + simdjson::error_message(e) +
                                ")");
  }
  std::string out;
  out.reserve(json.size());
  Normalize(doc, &out);
  return out;
}

StatusOr<std::string> CacheKey(std::string_view route, std::string_view body) {
  BURSAR_ASSIGN_OR_RETURN(std::string normal, NormalizeJson(body));
  Sha256 h;
  h.Update(route);
  h.Update("\n");
  h.Update(normal);
  return h.FinalHex();
}

ResponseCache::ResponseCache(Options options, NowFn now)
    : options_(options), now_(now ? std::move(now) : SystemNow()) {}

ResponseCache::Shard& ResponseCache::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

void ResponseCache::EraseLocked(Shard& s, std::list<Entry>::iterator it) {
  s.bytes -= it->bytes;
  s.index.erase(it->key);
  s.lru.erase(it);
}

std::shared_ptr<const CachedResponse> ResponseCache::Get(const std::string& key) {
  Shard& s = ShardFor(key);
  const SysTime now = now_();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) {
    ++s.misses;
    return nullptr;
  }
  if (now >= it->second->expires) {
    EraseLocked(s, it->second);
    ++s.expirations;
    ++s.misses;
    return nullptr;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  ++s.hits;
  return it->second->value;
}

void ResponseCache::Put(const std::string& key, CachedResponse response, std::chrono::seconds ttl) {
  const int64_t bytes = static_cast<int64_t>(response.body.size() + response.content_type.size() +
                                             response.model.size() + 2 * key.size() + 160);
  const int64_t shard_bytes = std::max<int64_t>(1, options_.max_bytes / kShards);
  const int64_t shard_entries =
      std::max<int64_t>(1, (options_.max_entries + kShards - 1) / kShards);
  if (bytes > shard_bytes || ttl.count() <= 0) return;
  Shard& s = ShardFor(key);
  const SysTime now = now_();
  auto value = std::make_shared<const CachedResponse>(std::move(response));
  std::lock_guard<std::mutex> lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) EraseLocked(s, it->second);
  while (!s.lru.empty() &&
         (s.bytes + bytes > shard_bytes || static_cast<int64_t>(s.lru.size()) >= shard_entries)) {
    auto victim = std::prev(s.lru.end());
    if (now >= victim->expires) {
      ++s.expirations;
    } else {
      ++s.evictions;
    }
    EraseLocked(s, victim);
  }
  s.lru.push_front(Entry{key, std::move(value), bytes, now + ttl});
  s.index.emplace(key, s.lru.begin());
  s.bytes += bytes;
}

CacheStats ResponseCache::Stats() const {
  CacheStats st;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    st.entries += static_cast<int64_t>(s.lru.size());
    st.bytes += s.bytes;
    st.hits += s.hits;
    st.misses += s.misses;
    st.evictions += s.evictions;
    st.expirations += s.expirations;
  }
  return st;
}

}  // namespace bursar::gateway
