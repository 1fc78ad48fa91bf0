#include "gateway/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace bursar::gateway {
namespace {

struct FakeClock {
  std::atomic<int64_t> ms{1'800'000'000'000};
  NowFn Fn() {
    return [this] { return SysTime(std::chrono::milliseconds(ms.load())); };
  }
};

TEST(RateLimiterTest, RequestsPerMinute) {
  FakeClock clock;
  RateLimiter rl(clock.Fn());
  config::RateLimits limits{60, 0};
  for (int i = 0; i < 60; ++i) {
    RateDecision d = rl.Admit("k", limits, 0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining_requests, 59 - i);
    EXPECT_EQ(d.remaining_tokens, -1);
  }
  RateDecision denied = rl.Admit("k", limits, 0);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.limit, "requests");
  EXPECT_EQ(denied.retry_after, std::chrono::milliseconds(1000));
  EXPECT_TRUE(rl.Admit("other-key", limits, 0).allowed);  // keys are independent
  clock.ms += 999;
  EXPECT_FALSE(rl.Admit("k", limits, 0).allowed);
  clock.ms += 1;
  EXPECT_TRUE(rl.Admit("k", limits, 0).allowed);
  EXPECT_FALSE(rl.Admit("k", limits, 0).allowed);
  clock.ms += 60'000;  // a full minute refills the bucket, no more
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(rl.Admit("k", limits, 0).allowed);
  EXPECT_FALSE(rl.Admit("k", limits, 0).allowed);
}

TEST(RateLimiterTest, TokensPerMinuteChargedWithEstimateAndCorrected) {
  FakeClock clock;
  RateLimiter rl(clock.Fn());
  config::RateLimits limits{0, 1000};
  RateDecision a = rl.Admit("k", limits, 600);
  ASSERT_TRUE(a.allowed);
  EXPECT_EQ(a.remaining_tokens, 400);
  RateDecision b = rl.Admit("k", limits, 600);
  EXPECT_FALSE(b.allowed);
  EXPECT_EQ(b.limit, "tokens");
  EXPECT_EQ(b.retry_after, std::chrono::milliseconds(12'000));  // 200 tokens at 1000/min
  rl.Correct("k", limits, 600, 100);                            // the answer used 100: refund 500
  RateDecision c = rl.Admit("k", limits, 600);
  ASSERT_TRUE(c.allowed);
  EXPECT_EQ(c.remaining_tokens, 300);
  rl.Correct("k", limits, 600, 900);  // used more than estimated: charge 300 more
  EXPECT_FALSE(rl.Admit("k", limits, 1).allowed);
}

TEST(RateLimiterTest, OversizedRequestWaitsForAFullBucket) {
  FakeClock clock;
  RateLimiter rl(clock.Fn());
  config::RateLimits limits{0, 1000};
  EXPECT_TRUE(rl.Admit("k", limits, 5000).allowed);  // full bucket: admitted into debt
  RateDecision d = rl.Admit("k", limits, 10);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, std::chrono::milliseconds(240'000 + 600));
  clock.ms += 300'000;  // five minutes repay the debt
  EXPECT_TRUE(rl.Admit("k", limits, 10).allowed);
}

TEST(RateLimiterTest, BothLimitsChargedTogetherOrNotAtAll) {
  FakeClock clock;
  RateLimiter rl(clock.Fn());
  config::RateLimits limits{2, 100};
  EXPECT_TRUE(rl.Admit("k", limits, 90).allowed);
  EXPECT_FALSE(rl.Admit("k", limits, 90).allowed);  // tokens deny: request not charged
  EXPECT_TRUE(rl.Admit("k", limits, 10).allowed);   // second request still available
  RateDecision d = rl.Admit("k", limits, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, "requests");
  EXPECT_TRUE(rl.Admit("k", config::RateLimits{0, 0}, 1'000'000).allowed);  // unlimited
}

TEST(RateLimiterTest, ConcurrentAdmitsNeverExceedTheLimit) {
  FakeClock clock;
  RateLimiter rl(clock.Fn());
  config::RateLimits limits{100, 0};
  std::atomic<int> allowed{0};
  std::vector<std::thread> pool;
  pool.reserve(8);
  for (int t = 0; t < 8; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < 50; ++i) allowed += rl.Admit("shared", limits, 0).allowed;
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(allowed.load(), 100);
}

}  // namespace
}  // namespace bursar::gateway
