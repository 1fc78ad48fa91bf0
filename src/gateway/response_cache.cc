#include "gateway/response_cache.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

namespace bursar::gateway {
namespace {

namespace od = simdjson::ondemand;

// True when the whole document was consumed (document::at_end is not public in 3.0).
bool AtEnd(od::document& doc) { return doc.current_location().error() == simdjson::OUT_OF_BOUNDS; }

void AppendString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Status Bad(simdjson::error_code e) {
  return InvalidArgumentError(std::string("body: invalid JSON (") + simdjson::error_message(e) +
                              ")");
}

Status Normalize(od::value v, std::string* out) {
  od::json_type t{};
  if (auto e = v.type().get(t)) return Bad(e);
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return Bad(e);
      std::vector<std::pair<std::string, std::string>> fields;
      for (auto fr : o) {
        od::field f;
        if (auto e = std::move(fr).get(f)) return Bad(e);
        std::string_view key;
        if (auto e = f.unescaped_key().get(key)) return Bad(e);
        std::pair<std::string, std::string> kv{std::string(key), {}};
        BURSAR_RETURN_IF_ERROR(Normalize(f.value(), &kv.second));
        fields.push_back(std::move(kv));
      }
      std::stable_sort(fields.begin(), fields.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      out->push_back('{');
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) out->push_back(',');
        AppendString(out, fields[i].first);
        out->push_back(':');
        out->append(fields[i].second);
      }
      out->push_back('}');
      return OkStatus();
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return Bad(e);
      out->push_back('[');
      bool first = true;
      for (auto er : a) {
        od::value item;
        if (auto e = er.get(item)) return Bad(e);
        if (!first) out->push_back(',');
        first = false;
        BURSAR_RETURN_IF_ERROR(Normalize(item, out));
      }
      out->push_back(']');
      return OkStatus();
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return Bad(e);
      AppendString(out, s);
      return OkStatus();
    }
    case od::json_type::number: {
      std::string_view tok;
      tok = v.raw_json_token();
      double d;
      if (auto e = v.get_double().get(d)) return Bad(e);  // validates the number
      out->append(TrimRight(tok));
      return OkStatus();
    }
    case od::json_type::boolean: {
      bool b;
      if (auto e = v.get_bool().get(b)) return Bad(e);
      out->append(b ? "true" : "false");
      return OkStatus();
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null)) return Bad(e);
      if (!is_null) return Bad(simdjson::N_ATOM_ERROR);
      out->append("null");
      return OkStatus();
    }
  }
  return InvalidArgumentError("body: invalid JSON");
}

std::string Sha256Hex(std::string_view a, std::string_view b) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  EVP_DigestUpdate(ctx, "\n", 1);
  EVP_DigestUpdate(ctx, b.data(), b.size());
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

}  // namespace

StatusOr<std::string> NormalizeJson(std::string_view json) {
  simdjson::padded_string padded(json);
  thread_local od::parser parser;
  od::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return Bad(e);
  std::string out;
  out.reserve(json.size());
  od::json_type t{};
  if (auto e = doc.type().get(t)) return Bad(e);
  if (t == od::json_type::object || t == od::json_type::array) {
    od::value v;
    if (auto e = doc.get_value().get(v)) return Bad(e);
    BURSAR_RETURN_IF_ERROR(Normalize(v, &out));
  } else {
    // Scalar documents: keep the token.
    std::string_view tok;
    if (auto e = doc.raw_json_token().get(tok)) return Bad(e);
    out.append(TrimRight(tok));
  }
  if (!AtEnd(doc)) return InvalidArgumentError("body: unexpected content after the JSON value");
  return out;
}

StatusOr<std::string> CacheKey(std::string_view route, std::string_view body) {
  BURSAR_ASSIGN_OR_RETURN(std::string normal, NormalizeJson(body));
  return Sha256Hex(route, normal);
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
