// Per-key rate limits: requests per minute and tokens per minute (config::RateLimits).
//
// Each limit is a GCRA token bucket holding one minute of allowance (burst = the per-minute
// limit), refilled continuously. Admit charges one request and the estimated tokens together:
// if either bucket lacks room nothing is charged. A token charge larger than the whole
// per-minute limit is admitted only when the bucket is full (and then leaves it in debt), so a
// large request is delayed, never refused forever. After the response, Correct charges (or
// refunds) the difference between actual and estimated tokens.
//
// Threads: thread-safe. Locks: the per-key state lives in kShards shards, each a std::mutex and
// a map; a call takes one shard's mutex. Keys are never evicted (they are configured keys).
// Clock: the NowFn seam (timezone.h).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/model.h"
#include "gateway/timezone.h"

namespace bursar::gateway {

struct RateDecision {
  bool allowed = true;
  std::string_view limit;                    // when denied: "requests" or "tokens"
  std::chrono::milliseconds retry_after{0};  // when denied: wait at least this long
  int64_t remaining_requests = -1;           // after this call; -1 when unlimited
  int64_t remaining_tokens = -1;             // after this call; -1 when unlimited
};

class RateLimiter {
 public:
  static constexpr size_t kShards = 16;
  explicit RateLimiter(NowFn now = SystemNow());

  // Charges 1 request and `estimated_tokens` (>= 0) to `key` under `limits`.
  RateDecision Admit(std::string_view key, const config::RateLimits& limits,
                     int64_t estimated_tokens);

  // Charges actual - estimated tokens (negative refunds) to an admitted request.
  void Correct(std::string_view key, const config::RateLimits& limits, int64_t estimated_tokens,
               int64_t actual_tokens);

 private:
  struct KeyState {
    int64_t request_tat_ns = 0;  // theoretical arrival time (ns since epoch), requests bucket
    int64_t token_tat_ns = 0;    // same, tokens bucket
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, KeyState> keys;  // guarded by mu
  };
  Shard& ShardFor(std::string_view key);

  NowFn now_;
  std::array<Shard, kShards> shards_;
};

}  // namespace bursar::gateway
