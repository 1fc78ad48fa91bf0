// OrderedWorker: runs submitted work in submission order on its own thread, with at most 3
// items queued (Submit blocks beyond that), so that a producer overlaps a consumer such as a
// database writer (the FOCUS importer, finops/focus_store.cc). After a failure the remaining
// work is skipped and the first error is kept (Drain returns it). Threads: Submit, Drain and
// failed() from one producer thread; the work runs on the worker's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "common/status.h"

namespace bursar::finops {

class OrderedWorker {
 public:
  OrderedWorker() : thread_([this] { Loop(); }) {}
  ~OrderedWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_.notify_all();
    thread_.join();
  }
  OrderedWorker(const OrderedWorker&) = delete;
  OrderedWorker& operator=(const OrderedWorker&) = delete;

  void Submit(std::function<Status()> fn) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [this] { return queue_.size() < 3; });
    queue_.push_back(std::move(fn));
    work_.notify_all();
  }
  Status Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
    return error_;
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  void Loop() {
    while (true) {
      std::function<Status()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        fn = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        space_.notify_all();
      }
      Status s = failed() ? OkStatus() : fn();
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
      if (!s.ok() && error_.ok()) {
        error_ = s;
        failed_ = true;
      }
      idle_.notify_all();
    }
  }

  std::mutex mu_;  // guards queue_, busy_, stop_, error_
  std::condition_variable work_, space_, idle_;
  std::deque<std::function<Status()>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  Status error_;
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

}  // namespace bursar::finops
