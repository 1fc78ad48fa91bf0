// Routing decisions for one request: which Model serves it (weighted canary split), which to try
// next (fallbacks), whether a failure is retried and after how long, and a circuit breaker per
// upstream Model. Pure decisions; the handler performs the calls.
//
// Weighted pick: bucket = hash(request id) % 100 walks the route's cumulative weights, so a
// request id always lands on the same target (deterministic canary); callers wanting a random
// split pass a random id. The attempt plan is the picked target, then the route's fallbacks in
// order (duplicates dropped).
//
// CircuitBreaker: closed until `failures` consecutive failures, then open for `cooldown`; after
// the cooldown one probe is let through (half-open): its success closes the breaker, its failure
// opens it for another cooldown. Thread-safe and lock-free (atomics); shared by all workers.
// CircuitBreakers keeps one breaker per Model name across configuration snapshots (a mutex guards
// the registry, taken only when a snapshot is built).
#pragma once

#include <atomic>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace bursar::gateway {

// FNV-1a 64 of a request id: the canary bucket.
uint64_t RoutingHash(std::string_view request_id);

// The target Model name for bucket `hash % 100`. REQUIRES: route.targets non-empty.
const std::string& PickTarget(const config::Route& route, uint64_t hash);

// Picked target, then fallbacks (no duplicates); inline for up to four, no allocation.
using AttemptPlan = boost::container::small_vector<std::string_view, 4>;
AttemptPlan PlanAttempts(const config::Route& route, uint64_t hash);

enum class FailureKind {
  kConnect,      // could not connect, or the connection dropped before a response
  kTimeout,      // the Model's timeout elapsed
  kServerError,  // HTTP 5xx (and 429 from the upstream: overloaded)
  kMalformed,    // a 2xx whose body could not be understood
};
std::string_view ToString(FailureKind k);  // "connect", "timeout", "5xx", "malformed"

// Whether `kind` is retried on the same target under `policy` (attempts permitting).
bool Retryable(const config::RetryPolicy& policy, FailureKind kind);

// Delay before retry number `retry` (1 = the first retry): backoff * 2^(retry-1), capped at 30s.
std::chrono::milliseconds Backoff(const config::RetryPolicy& policy, int retry);

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { kClosed, kOpen, kHalfOpen };

  // Whether a call may go out now. In half-open, true for exactly one caller (the probe).
  bool Allow(const config::CircuitBreakerPolicy& policy, Clock::time_point now = Clock::now());
  void RecordSuccess();
  void RecordFailure(const config::CircuitBreakerPolicy& policy,
                     Clock::time_point now = Clock::now());
  State state(const config::CircuitBreakerPolicy& policy,
              Clock::time_point now = Clock::now()) const;

 private:
  std::atomic<int> consecutive_failures_{0};
  std::atomic<int64_t> open_until_ns_{0};  // 0: closed
  std::atomic<bool> probing_{false};
};

class CircuitBreakers {
 public:
  std::shared_ptr<CircuitBreaker> Get(const std::string& model);

 private:
  std::mutex mu_;  // guards breakers_
  std::map<std::string, std::shared_ptr<CircuitBreaker>> breakers_;
};

}  // namespace bursar::gateway
