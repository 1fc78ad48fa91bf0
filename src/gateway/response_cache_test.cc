#include "gateway/response_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace bursar::gateway {
namespace {

struct FakeClock {
  std::atomic<int64_t> s{1'800'000'000};
  NowFn Fn() {
    return [this] { return SysTime(std::chrono::seconds(s.load())); };
  }
};

CachedResponse Response(std::string body, Micros cost = 1234) {
  CachedResponse r;
  r.body = std::move(body);
  r.content_type = "application/json";
  r.model = "gpt-4o";
  r.usage.prompt_tokens = 10;
  r.cost = cost;
  return r;
}

// Keys that land in the same shard as `first`.
std::vector<std::string> SameShardKeys(int n) {
  std::vector<std::string> keys;
  const size_t shard = std::hash<std::string>{}("k0") % ResponseCache::kShards;
  for (int i = 0; keys.size() < static_cast<size_t>(n); ++i) {
    std::string k = "k" + std::to_string(i);
    if (std::hash<std::string>{}(k) % ResponseCache::kShards == shard) keys.push_back(k);
  }
  return keys;
}

TEST(NormalizeJsonTest, KeyOrderAndWhitespaceInsensitive) {
  auto a = NormalizeJson(R"( { "b" : 1, "a" : [ 1, {"d":2, "c":"x\"y"} ], "e":null, "f":true } )");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, R"({"a":[1,{"c":"x\"y","d":2}],"b":1,"e":null,"f":true})");
  auto esc = NormalizeJson(R"({"k":"\u0041\n"})");
  ASSERT_TRUE(esc.ok());
  EXPECT_EQ(*esc, "{\"k\":\"A\\n\"}");
  EXPECT_EQ(*NormalizeJson(R"({"k":"\u0041\u000a"})"), *esc);  // one form per string
  EXPECT_EQ(*NormalizeJson("[1.50, 2e3, -0, 18446744073709551615]"),
            "[1.5,2000,0,18446744073709551615]");
  // Negative zero, as an integer or not, is 0, and a normal form normalizes to itself (fuzzer).
  EXPECT_EQ(*NormalizeJson(R"({"mo":[[1,2,-0.0,-0e5,0.0,-0]]})"), R"({"mo":[[1,2,0,0,0,0]]})");
  for (const char* json : {R"([-0.0])", R"([1.0,-2.50,1e300,-1e-300,1234567890123456789.0])",
                           R"([10000000000000002000.0,1.8446744073709552e19,-3e25])",
                           R"([0.944674407770992e19,-0.944674407770992e19,-119])"}) {
    auto once = NormalizeJson(json);
    ASSERT_TRUE(once.ok()) << json;
    EXPECT_EQ(*NormalizeJson(*once), *once) << json;
  }
  EXPECT_EQ(*NormalizeJson("[1.8446744073709552e19, 9223372036854775808.0]"),
            "[1.8446744073709552e+19,9.223372036854776e+18]");
  EXPECT_FALSE(NormalizeJson("{\"a\":").ok());
  EXPECT_FALSE(NormalizeJson("{\"a\":1} x").ok());
}

TEST(CacheKeyTest, SameForEquivalentBodiesDifferentPerRoute) {
  auto k1 = CacheKey("chat", R"({"model":"chat","messages":[{"role":"user","content":"hi"}]})");
  auto k2 =
      CacheKey("chat", R"({ "messages" : [ {"content":"hi","role":"user"} ], "model":"chat" })");
  auto k3 = CacheKey("chat2", R"({"model":"chat","messages":[{"role":"user","content":"hi"}]})");
  auto k4 = CacheKey("chat", R"({"model":"chat","messages":[{"role":"user","content":"hi!"}]})");
  ASSERT_TRUE(k1.ok() && k2.ok() && k3.ok() && k4.ok());
  EXPECT_EQ(k1->size(), 64u);
  EXPECT_EQ(*k1, *k2);
  EXPECT_NE(*k1, *k3);
  EXPECT_NE(*k1, *k4);
}

TEST(ResponseCacheTest, HitMissAndTtl) {
  FakeClock clock;
  ResponseCache cache({100, 1 << 20}, clock.Fn());
  EXPECT_EQ(cache.Get("a"), nullptr);
  cache.Put("a", Response("{\"x\":1}"), std::chrono::seconds(10));
  auto hit = cache.Get("a");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->body, "{\"x\":1}");
  EXPECT_EQ(hit->cost, 1234);
  EXPECT_EQ(hit->usage.prompt_tokens, 10);
  clock.s += 9;
  EXPECT_NE(cache.Get("a"), nullptr);
  clock.s += 1;
  EXPECT_EQ(cache.Get("a"), nullptr);  // expired at exactly the TTL
  CacheStats st = cache.Stats();
  EXPECT_EQ(st.hits, 2);
  EXPECT_EQ(st.misses, 2);
  EXPECT_EQ(st.expirations, 1);
  EXPECT_EQ(st.entries, 0);
  EXPECT_EQ(st.bytes, 0);
  EXPECT_EQ(hit->body, "{\"x\":1}");  // a held hit outlives its entry
}

TEST(ResponseCacheTest, LruEvictionByEntries) {
  FakeClock clock;
  // 32 entries over 16 shards: 2 a shard.
  ResponseCache cache({32, 1 << 20}, clock.Fn());
  auto keys = SameShardKeys(3);
  cache.Put(keys[0], Response("0"), std::chrono::seconds(60));
  cache.Put(keys[1], Response("1"), std::chrono::seconds(60));
  ASSERT_NE(cache.Get(keys[0]), nullptr);  // keys[1] is now least recently used
  cache.Put(keys[2], Response("2"), std::chrono::seconds(60));
  EXPECT_NE(cache.Get(keys[0]), nullptr);
  EXPECT_EQ(cache.Get(keys[1]), nullptr);
  EXPECT_NE(cache.Get(keys[2]), nullptr);
  EXPECT_EQ(cache.Stats().evictions, 1);
}

TEST(ResponseCacheTest, BoundedByBytes) {
  FakeClock clock;
  // 16000 bytes over 16 shards: 1000 a shard. Each entry below is ~800 bytes.
  ResponseCache cache({1000, 16000}, clock.Fn());
  auto keys = SameShardKeys(2);
  cache.Put(keys[0], Response(std::string(600, 'a')), std::chrono::seconds(60));
  cache.Put(keys[1], Response(std::string(600, 'b')), std::chrono::seconds(60));
  EXPECT_EQ(cache.Get(keys[0]), nullptr);
  EXPECT_NE(cache.Get(keys[1]), nullptr);
  cache.Put("huge", Response(std::string(5000, 'c')), std::chrono::seconds(60));
  EXPECT_EQ(cache.Get("huge"), nullptr);  // larger than a shard's share: not stored
  EXPECT_LE(cache.Stats().bytes, 16000);
  // Replacing a key does not double count.
  cache.Put(keys[1], Response(std::string(600, 'd')), std::chrono::seconds(60));
  EXPECT_EQ(cache.Get(keys[1])->body[0], 'd');
  EXPECT_EQ(cache.Stats().entries, 1);
}

TEST(ResponseCacheTest, ConcurrentUse) {
  FakeClock clock;
  ResponseCache cache({64, 1 << 20}, clock.Fn());
  std::vector<std::thread> pool;
  std::atomic<int> hits{0};
  pool.reserve(8);
  for (int t = 0; t < 8; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string key = "k" + std::to_string((i * 7 + t) % 100);
        if (auto r = cache.Get(key)) {
          hits += r->body == key;
        } else {
          cache.Put(key, Response(key), std::chrono::seconds(60));
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  CacheStats st = cache.Stats();
  EXPECT_LE(st.entries, 64);
  EXPECT_EQ(st.hits, hits.load());
  EXPECT_EQ(st.hits + st.misses, 8 * 500);
}

}  // namespace
}  // namespace bursar::gateway
