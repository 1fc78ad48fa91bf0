#include "gateway/router.h"

#include <algorithm>

namespace bursar::gateway {

uint64_t RoutingHash(std::string_view id) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // Final avalanche so that ids differing in the last character spread over all buckets.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

const std::string& PickTarget(const config::Route& route, uint64_t hash) {
  int total = 0;
  for (const auto& t : route.targets) total += std::max(0, t.weight);
  if (total <= 0) return route.targets.front().model;
  int bucket = static_cast<int>(hash % static_cast<uint64_t>(total));
  for (const auto& t : route.targets) {
    int w = std::max(0, t.weight);
    if (bucket < w) return t.model;
    bucket -= w;
  }
  return route.targets.back().model;
}

AttemptPlan PlanAttempts(const config::Route& route, uint64_t hash) {
  AttemptPlan plan;
  plan.reserve(1 + route.fallbacks.size());
  if (!route.targets.empty()) plan.emplace_back(PickTarget(route, hash));
  for (const auto& f : route.fallbacks) {
    if (std::find(plan.begin(), plan.end(), std::string_view(f)) == plan.end()) {
      plan.emplace_back(f);
    }
  }
  return plan;
}

std::string_view ToString(FailureKind k) {
  switch (k) {
    case FailureKind::kConnect:
      return "connect";
    case FailureKind::kTimeout:
      return "timeout";
    case FailureKind::kServerError:
      return "5xx";
    case FailureKind::kMalformed:
      return "malformed";
  }
  return "unknown";
}

bool Retryable(const config::RetryPolicy& policy, FailureKind kind) {
  switch (kind) {
    case FailureKind::kConnect:
      return policy.on_connect_error;
    case FailureKind::kTimeout:
      return policy.on_timeout;
    case FailureKind::kServerError:
      return policy.on_5xx;
    case FailureKind::kMalformed:
      return false;
  }
  return false;
}

std::chrono::milliseconds Backoff(const config::RetryPolicy& policy, int retry) {
  int64_t ms = std::max<int64_t>(0, policy.backoff.count());
  for (int i = 1; i < retry && ms < 30000; ++i) ms *= 2;
  return std::chrono::milliseconds(std::min<int64_t>(ms, 30000));
}

namespace {
int64_t Ns(CircuitBreaker::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

bool CircuitBreaker::Allow(const config::CircuitBreakerPolicy& policy, Clock::time_point now) {
  int64_t until = open_until_ns_.load(std::memory_order_acquire);
  if (until == 0) return true;
  if (Ns(now) < until) return false;
  bool expected = false;
  return probing_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
}

void CircuitBreaker::RecordSuccess() {
  consecutive_failures_.store(0, std::memory_order_relaxed);
  if (open_until_ns_.load(std::memory_order_relaxed) != 0) {
    open_until_ns_.store(0, std::memory_order_release);
  }
  if (probing_.load(std::memory_order_relaxed)) probing_.store(false, std::memory_order_release);
}

void CircuitBreaker::RecordFailure(const config::CircuitBreakerPolicy& policy,
                                   Clock::time_point now) {
  int failures = consecutive_failures_.fetch_add(1, std::memory_order_acq_rel) + 1;
  bool was_probe = probing_.load(std::memory_order_acquire);
  if (policy.failures > 0 && (failures >= policy.failures || was_probe)) {
    open_until_ns_.store(Ns(now + policy.cooldown), std::memory_order_release);
    probing_.store(false, std::memory_order_release);
  }
}

CircuitBreaker::State CircuitBreaker::state(const config::CircuitBreakerPolicy& policy,
                                            Clock::time_point now) const {
  int64_t until = open_until_ns_.load(std::memory_order_acquire);
  if (until == 0) return State::kClosed;
  return Ns(now) < until ? State::kOpen : State::kHalfOpen;
}

std::shared_ptr<CircuitBreaker> CircuitBreakers::Get(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& b = breakers_[model];
  if (!b) b = std::make_shared<CircuitBreaker>();
  return b;
}

}  // namespace bursar::gateway
