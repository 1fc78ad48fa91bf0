// Exact-match response cache for routes with cache.enabled.
//
// The key is SHA-256 (hex) of the route name and the normalised request body: the JSON is
// re-serialised with object keys sorted and no whitespace (so key order and spacing do not
// matter; array order, numbers and strings do). The value is the upstream's response body with
// the usage and cost it had, so a hit can record the cost it saved.
//
// Bounded by entries and by bytes (body + key + overhead) overall; each entry has its own TTL;
// eviction is least-recently-used within a shard. Expired entries are dropped when touched or
// evicted.
//
// Threads: thread-safe. Locks: kShards shards, each a std::mutex guarding its map and LRU list;
// a call takes one shard's mutex. Get returns a shared_ptr, so a hit never copies the body and
// stays valid after eviction. Clock: the NowFn seam (timezone.h).
// Errors: CacheKey gives InvalidArgument when the body is not valid JSON.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/money.h"
#include "common/status.h"
#include "gateway/timezone.h"
#include "gateway/usage.h"

namespace bursar::gateway {

// Key order- and whitespace-insensitive JSON text (sorted keys, no spacing, strings re-escaped
// minimally, numbers in their shortest round-trip form: 1.50 and 1.5 are the same, -0.0 is 0,
// magnitudes of 2^63 and more in exponent form). Normalizing a normal form gives it back.
StatusOr<std::string> NormalizeJson(std::string_view json);

// Lowercase hex SHA-256 of route + '\n' + NormalizeJson(body).
StatusOr<std::string> CacheKey(std::string_view route, std::string_view body);

struct CachedResponse {
  std::string body;          // response body as the upstream sent it (non-streaming)
  std::string content_type;  // e.g. "application/json"
  std::string model;         // the Model that produced it
  Usage usage;               // what it used
  Micros cost = 0;           // what it cost; a hit saves this
};

struct CacheStats {
  int64_t entries = 0;
  int64_t bytes = 0;
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t evictions = 0;  // by size or count
  int64_t expirations = 0;
};

class ResponseCache {
 public:
  static constexpr size_t kShards = 16;
  struct Options {
    int64_t max_entries = 10000;
    int64_t max_bytes = 256 << 20;
  };
  explicit ResponseCache(Options options, NowFn now = SystemNow());

  // The cached response, or null on a miss or when expired.
  std::shared_ptr<const CachedResponse> Get(const std::string& key);

  // Stores (or replaces) `key` for `ttl`. An entry larger than a shard's byte share is not
  // stored.
  void Put(const std::string& key, CachedResponse response, std::chrono::seconds ttl);

  CacheStats Stats() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const CachedResponse> value;
    int64_t bytes = 0;
    SysTime expires;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // front = most recently used
    std::unordered_map<std::string, std::list<Entry>::iterator> index;
    int64_t bytes = 0;
    int64_t hits = 0, misses = 0, evictions = 0, expirations = 0;
  };
  Shard& ShardFor(const std::string& key);
  void EraseLocked(Shard& s, std::list<Entry>::iterator it);

  Options options_;
  NowFn now_;
  std::array<Shard, kShards> shards_;
};

}  // namespace bursar::gateway
