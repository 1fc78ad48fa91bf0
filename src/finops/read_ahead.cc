#include "finops/read_ahead.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bursar::finops {
namespace {

class ReadAhead final : public ByteSource {
 public:
  ReadAhead(std::unique_ptr<ByteSource> source, std::function<void(std::string_view)> observer,
            size_t chunk_bytes, size_t max_chunks)
      : source_(std::move(source)),
        observer_(std::move(observer)),
        chunk_bytes_(std::max<size_t>(chunk_bytes, 1)),
        max_chunks_(std::max<size_t>(max_chunks, 1)),
        thread_([this] { Loop(); }) {}

  ~ReadAhead() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    thread_.join();
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      if (pos_ == current_.size()) {
        if (done > 0) break;  // hand out what we have rather than wait
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return !queue_.empty() || finished_; });
        if (queue_.empty()) {
          if (!error_.ok()) return error_;
          return size_t{0};
        }
        free_.push_back(std::move(current_));
        current_ = std::move(queue_.front());
        queue_.pop_front();
        pos_ = 0;
        space_.notify_all();
        continue;
      }
      size_t k = std::min(n - done, current_.size() - pos_);
      std::memcpy(buf + done, current_.data() + pos_, k);
      pos_ += k;
      done += k;
    }
    return done;
  }

 private:
  void Loop() {
    while (true) {
      std::string chunk;
      {
        std::unique_lock<std::mutex> lock(mu_);
        space_.wait(lock, [this] { return stop_ || queue_.size() < max_chunks_; });
        if (stop_) return;
        if (!free_.empty()) {
          chunk = std::move(free_.back());
          free_.pop_back();
        }
      }
      chunk.resize(chunk_bytes_);
      size_t len = 0;
      Status error;
      bool eof = false;
      while (len < chunk.size()) {
        auto got = source_->Read(chunk.data() + len, chunk.size() - len);
        if (!got.ok()) {
          error = got.status();
          break;
        }
        if (*got == 0) {
          eof = true;
          break;
        }
        len += *got;
      }
      chunk.resize(len);
      if (len > 0 && observer_) observer_(chunk);
      std::lock_guard<std::mutex> lock(mu_);
      if (len > 0) queue_.push_back(std::move(chunk));
      if (!error.ok() || eof) {
        error_ = error;
        finished_ = true;
      }
      ready_.notify_all();
      if (finished_) return;
    }
  }

  std::unique_ptr<ByteSource> source_;  // used by the read-ahead thread only
  std::function<void(std::string_view)> observer_;
  const size_t chunk_bytes_;
  const size_t max_chunks_;
  std::string current_;  // consumer's chunk
  size_t pos_ = 0;       // consumer's offset in current_
  std::mutex mu_;        // guards queue_, free_, finished_, error_, stop_
  std::condition_variable ready_, space_;
  std::deque<std::string> queue_;
  std::vector<std::string> free_;
  bool finished_ = false;
  Status error_;
  bool stop_ = false;
  std::thread thread_;  // last: started after the members above exist
};

}  // namespace

std::unique_ptr<ByteSource> ReadAheadSource(std::unique_ptr<ByteSource> source,
                                            std::function<void(std::string_view)> observer,
                                            size_t chunk_bytes, size_t max_chunks) {
  return std::make_unique<ReadAhead>(std::move(source), std::move(observer), chunk_bytes,
                                     max_chunks);
}

}  // namespace bursar::finops
