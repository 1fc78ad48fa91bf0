#include "gateway/rate_limiter.h"

#include <algorithm>
#include <functional>

namespace bursar::gateway {
namespace {

constexpr int64_t kWindowNs = 60'000'000'000;  // one minute of allowance

// Nanoseconds of allowance that `units` use under a per-minute `limit`.
int64_t Cost(int64_t units, int64_t limit) {
  return static_cast<int64_t>(static_cast<__int128>(units) * kWindowNs / limit);
}

struct Check {
  bool allowed = true;
  int64_t new_tat = 0;
  int64_t wait_ns = 0;
  int64_t remaining = -1;
};

// GCRA: a bucket of one minute; `tat` is when it would be full again.
Check Evaluate(int64_t tat, int64_t now, int64_t units, int64_t limit, bool allow_debt) {
  Check c;
  if (limit <= 0) return c;
  const int64_t start = std::max(tat, now);
  c.new_tat = start + Cost(units, limit);
  const int64_t used = c.new_tat - now;
  if (used > kWindowNs && !(allow_debt && tat <= now)) {
    c.allowed = false;
    const int64_t over = units > limit ? start - now : used - kWindowNs;
    c.wait_ns = std::max<int64_t>(over, 1'000'000);
    c.remaining = static_cast<int64_t>(
        static_cast<__int128>(std::max<int64_t>(0, kWindowNs - (start - now))) * limit / kWindowNs);
    return c;
  }
  c.remaining = static_cast<int64_t>(static_cast<__int128>(std::max<int64_t>(0, kWindowNs - used)) *
                                     limit / kWindowNs);
  return c;
}

int64_t NowNs(const NowFn& now) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(now().time_since_epoch()).count();
}

}  // namespace

RateLimiter::RateLimiter(NowFn now) : now_(now ? std::move(now) : SystemNow()) {}

RateLimiter::Shard& RateLimiter::ShardFor(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

RateDecision RateLimiter::Admit(std::string_view key, const config::RateLimits& limits,
                                int64_t estimated_tokens) {
  RateDecision d;
  if (limits.requests_per_minute <= 0 && limits.tokens_per_minute <= 0) return d;
  estimated_tokens = std::max<int64_t>(0, estimated_tokens);
  const int64_t now = NowNs(now_);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.keys.find(std::string(key));
  if (it == shard.keys.end()) it = shard.keys.emplace(std::string(key), KeyState{}).first;
  KeyState& st = it->second;
  const Check req = Evaluate(st.request_tat_ns, now, 1, limits.requests_per_minute, false);
  const Check tok =
      Evaluate(st.token_tat_ns, now, estimated_tokens, limits.tokens_per_minute, true);
  d.remaining_requests = req.remaining;
  d.remaining_tokens = tok.remaining;
  if (!req.allowed || !tok.allowed) {
    d.allowed = false;
    d.limit = !req.allowed ? "requests" : "tokens";
    const int64_t wait = std::max(req.allowed ? 0 : req.wait_ns, tok.allowed ? 0 : tok.wait_ns);
    d.retry_after = std::chrono::milliseconds((wait + 999'999) / 1'000'000);
    return d;
  }
  if (limits.requests_per_minute > 0) st.request_tat_ns = req.new_tat;
  if (limits.tokens_per_minute > 0 && estimated_tokens > 0) st.token_tat_ns = tok.new_tat;
  return d;
}

void RateLimiter::Correct(std::string_view key, const config::RateLimits& limits,
                          int64_t estimated_tokens, int64_t actual_tokens) {
  if (limits.tokens_per_minute <= 0 || estimated_tokens == actual_tokens) return;
  const int64_t now = NowNs(now_);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.keys.find(std::string(key));
  if (it == shard.keys.end()) return;
  KeyState& st = it->second;
  const int64_t delta = actual_tokens - estimated_tokens;
  if (delta > 0) {
    st.token_tat_ns = std::max(st.token_tat_ns, now) + Cost(delta, limits.tokens_per_minute);
  } else {
    st.token_tat_ns -= Cost(-delta, limits.tokens_per_minute);
  }
}

}  // namespace bursar::gateway
