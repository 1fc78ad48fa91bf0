// The deadline of one I/O operation in progress, for timeouts enforced by a periodic sweep
// instead of a timer armed and cancelled per operation (the server's sessions and the upstream
// client's connections both work this way). The operation arms it before it starts and disarms
// it when it ends; a sweep that finds it expired cancels the operation's socket, which then
// completes with operation_aborted, and `expired` tells the operation that it timed out.
// Outside an operation the deadline is "never", so a sweep only ever cancels one in progress.
// Not thread-safe: the owner and the sweep run on the same io_context thread.
//
// Deadlines are armed from CoarseNow(): the monotonic clock at its tick (a few milliseconds),
// which costs a quarter of a precise read, and the timeouts it arms are hundreds of milliseconds
// and more. It is never ahead of Clock::now(), so a deadline is at most one tick early.
#pragma once

#include <time.h>

#include <chrono>

namespace bursar::gateway {

struct OpDeadline {
  using Clock = std::chrono::steady_clock;

  // CLOCK_MONOTONIC_COARSE, the clock steady_clock reads (CLOCK_MONOTONIC) at its last tick.
  static Clock::time_point CoarseNow() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return Clock::time_point(std::chrono::seconds(ts.tv_sec) +
                             std::chrono::nanoseconds(ts.tv_nsec));
  }

  Clock::time_point at = Clock::time_point::max();
  bool expired = false;  // the sweep cancelled the operation armed last

  void Arm(Clock::time_point when) {
    at = when;
    expired = false;
  }
  void Arm(std::chrono::milliseconds timeout) { Arm(CoarseNow() + timeout); }
  void Disarm() { at = Clock::time_point::max(); }
  // For the sweep: true once when the deadline has passed at `now` (cancel the operation).
  bool Expire(Clock::time_point now) {
    if (expired || at > now) return false;
    expired = true;
    return true;
  }
};

}  // namespace bursar::gateway
