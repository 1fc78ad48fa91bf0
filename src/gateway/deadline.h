// The deadline of one I/O operation in progress, for timeouts enforced by a periodic sweep
// instead of a timer armed and cancelled per operation (the server's sessions and the upstream
// client's connections both work this way). The operation arms it before it starts and disarms
// it when it ends; a sweep that finds it expired cancels the operation's socket, which then
// completes with operation_aborted, and `expired` tells the operation that it timed out.
// Outside an operation the deadline is "never", so a sweep only ever cancels one in progress.
// Not thread-safe: the owner and the sweep run on the same io_context thread.
#pragma once

#include <chrono>

namespace bursar::gateway {

struct OpDeadline {
  using Clock = std::chrono::steady_clock;

  Clock::time_point at = Clock::time_point::max();
  bool expired = false;  // the sweep cancelled the operation armed last

  void Arm(Clock::time_point when) {
    at = when;
    expired = false;
  }
  void Arm(std::chrono::milliseconds timeout) { Arm(Clock::now() + timeout); }
  void Disarm() { at = Clock::time_point::max(); }
  // For the sweep: true once when the deadline has passed at `now` (cancel the operation).
  bool Expire(Clock::time_point now) {
    if (expired || at > now) return false;
    expired = true;
    return true;
  }
};

}  // namespace bursar::gateway
