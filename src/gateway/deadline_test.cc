#include "gateway/deadline.h"

#include <gtest/gtest.h>

namespace bursar::gateway {
namespace {

using Clock = OpDeadline::Clock;
using std::chrono::milliseconds;

TEST(OpDeadlineTest, CoarseNowTrailsTheSteadyClockByAtMostATick) {
  for (int i = 0; i < 1000; ++i) {
    const Clock::time_point before = Clock::now();
    const Clock::time_point coarse = OpDeadline::CoarseNow();
    const Clock::time_point after = Clock::now();
    ASSERT_LE(coarse, after);
    ASSERT_GE(coarse, before - milliseconds(50));  // a tick is 1-10 ms
  }
}

TEST(OpDeadlineTest, ExpiresOnceAfterItsTimeout) {
  OpDeadline d;
  EXPECT_FALSE(d.Expire(Clock::now() + std::chrono::hours(1000)));  // unarmed: never
  d.Arm(milliseconds(200));
  const Clock::time_point now = Clock::now();
  EXPECT_FALSE(d.Expire(now));
  EXPECT_TRUE(d.Expire(now + milliseconds(250)));
  EXPECT_TRUE(d.expired);
  EXPECT_FALSE(d.Expire(now + milliseconds(300)));  // once
  d.Arm(milliseconds(200));
  EXPECT_FALSE(d.expired);
  d.Disarm();
  EXPECT_FALSE(d.Expire(now + std::chrono::hours(1)));
}

}  // namespace
}  // namespace bursar::gateway
