#include "ledger/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/thread_name.h"

namespace bursar::ledger {
namespace {

constexpr size_t kReplayBatch = 4096;
constexpr size_t kPrefaultBytes = size_t{4} << 20;

}  // namespace

LedgerWriter::LedgerWriter(Options options) : options_(std::move(options)) {}

LedgerWriter::~LedgerWriter() { (void)Close(); }

StatusOr<std::unique_ptr<LedgerWriter>> LedgerWriter::Open(const Options& options) {
  if (options.log_dir.empty()) return InvalidArgumentError("ledger: empty log directory");
  auto w = std::unique_ptr<LedgerWriter>(new LedgerWriter(options));
  if (w->options_.batch_max == 0) w->options_.batch_max = 1;
  if (w->options_.queue_capacity == 0) w->options_.queue_capacity = 1;
  std::string url = options.store_url.empty() ? options.log_dir : options.store_url;
  BURSAR_ASSIGN_OR_RETURN(w->store_, Store::Open(url));
  SpendLog::Options log_options{options.log_dir, options.sync};
  // Room for a segment to pass segment_max_bytes before the writer rotates it.
  log_options.map_bytes = static_cast<size_t>(std::max<int64_t>(
      options.segment_max_bytes + options.segment_max_bytes / 4, int64_t{64} << 10));
  BURSAR_ASSIGN_OR_RETURN(w->log_, SpendLog::Open(log_options));
  BURSAR_RETURN_IF_ERROR(w->ReplaySegments(w->log_->existing_segments()));
  w->thread_ = std::thread([p = w.get()] {
    SetThreadName("bursar-ledger");
    p->Run();
  });
  return w;
}

Status LedgerWriter::ReplaySegments(const std::vector<uint64_t>& segments) {
  for (uint64_t seg : segments) {
    std::vector<SpendRecord> batch;
    int64_t stored = 0;
    auto flush = [&]() -> Status {
      if (batch.empty()) return OkStatus();
      BURSAR_ASSIGN_OR_RETURN(int64_t n, InsertOrQuarantine(batch, InsertMode::kMayRepeat));
      stored += n;
      batch.clear();
      return OkStatus();
    };
    int64_t bad_payloads = 0;
    int64_t contexts = 0;
    SpendLogDecoder decoder;
    BURSAR_ASSIGN_OR_RETURN(
        SpendLog::ReadStats rs,
        SpendLog::ReadSegment(log_->SegmentPath(seg), [&](std::string_view payload) -> Status {
          StatusOr<std::optional<SpendRecord>> r = decoder.Decode(payload);
          if (!r.ok()) {  // CRC-valid but undecodable: written by a buggy build; keep going
            ++bad_payloads;
            return OkStatus();
          }
          if (!r->has_value()) {  // a context line: not a record
            ++contexts;
            return OkStatus();
          }
          batch.push_back(std::move(**r));
          if (batch.size() >= kReplayBatch) return flush();
          return OkStatus();
        }));
    BURSAR_RETURN_IF_ERROR(flush());
    BURSAR_RETURN_IF_ERROR(log_->DeleteSegment(seg));
    std::lock_guard<std::mutex> lock(mu_);
    stats_.replayed += rs.records - contexts;
    stats_.skipped_lines += rs.skipped + bad_payloads;
    stats_.stored += stored;
  }
  return OkStatus();
}

Status LedgerWriter::Append(const SpendRecord& record) { return Append(SpendRecord(record)); }

Status LedgerWriter::Append(SpendRecord&& record) {
  thread_local SpendLogLines lines;  // keeps its buffer from one request to the next
  EncodeSpendLogLines(record, &lines);
  const SpendLog::Context context{lines.context_id, lines.context};
  uint64_t segment = 0;
  BURSAR_RETURN_IF_ERROR(log_->Append(lines.record, &segment, &context));
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.appended;
  ++enqueued_seq_;
  if (stopping_ || queue_.size() >= options_.queue_capacity) {
    // Durable in the log; the writer picks it up from there (see the header).
    ++stats_.overflowed;
    ++overflow_count_;
  } else {
    queue_.records.push_back(std::move(record));
    queue_.segments.push_back(segment);
  }
  // Wake the writer only when it sleeps for work, or when a lingering batch is full.
  if (writer_idle_ || queue_.size() == options_.batch_max || overflow_count_ == 1) {
    work_cv_.notify_one();
  }
  return OkStatus();
}

Status LedgerWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_seq_;
  const int64_t errors = stats_.store_errors;
  ++flush_waiters_;
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] {
    return stored_seq_ >= target || thread_exited_ || stats_.store_errors > errors;
  });
  --flush_waiters_;
  if (stored_seq_ >= target) return OkStatus();
  return stats_.last_error.ok() ? FailedPreconditionError("ledger writer stopped")
                                : stats_.last_error;
}

LedgerWriter::Stats LedgerWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

StatusOr<int64_t> LedgerWriter::InsertOrQuarantine(std::span<const SpendRecord> batch,
                                                   InsertMode mode) {
  StatusOr<int64_t> n = store_->InsertBatch(batch, mode);
  if (n.ok() || (n.status().code() != StatusCode::kInvalidArgument &&
                 n.status().code() != StatusCode::kAlreadyExists)) {
    return n;
  }
  // The store refuses some record for good: store the others one by one, set that one aside.
  int64_t stored = 0;
  for (const SpendRecord& r : batch) {
    StatusOr<int64_t> one = store_->InsertBatch(std::span<const SpendRecord>(&r, 1), mode);
    if (one.ok()) {
      stored += *one;
      continue;
    }
    if (one.status().code() != StatusCode::kInvalidArgument &&
        one.status().code() != StatusCode::kAlreadyExists) {
      return one.status();  // retried later as kMayRepeat: what was stored stays
    }
    BURSAR_RETURN_IF_ERROR(Quarantine(r, one.status()));
  }
  return stored;
}

Status LedgerWriter::Quarantine(const SpendRecord& record, const Status& why) {
  nlohmann::json line;
  line["error"] = why.ToString();
  line["record"] = nlohmann::json::parse(EncodeSpendRecord(record), nullptr, false);
  std::string text =
      SpendLog::Frame(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  std::string path = (std::filesystem::path(options_.log_dir) / "quarantine.log").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return UnavailableError("cannot open " + path + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            (!options_.sync || ::fdatasync(fd) == 0);
  int err = errno;
  ::close(fd);
  if (!ok) return UnavailableError("cannot write " + path + ": " + std::strerror(err));
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.quarantined;
  stats_.last_error = why;
  return OkStatus();
}

Status LedgerWriter::StoreBatch(std::span<const SpendRecord> batch, InsertMode mode) {
  StatusOr<int64_t> n = InsertOrQuarantine(batch, mode);
  std::lock_guard<std::mutex> lock(mu_);
  if (!n.ok()) {
    ++stats_.store_errors;
    stats_.last_error = n.status();
    return n.status();
  }
  stats_.stored += *n;
  return OkStatus();
}

void LedgerWriter::Run() {
  std::chrono::milliseconds backoff(10);
  Queue taken;
  for (;;) {
    int64_t overflow = 0;
    size_t maybe_stored = 0;      // taken's first records, from a failed batch, may be stored
    uint64_t replayed_below = 0;  // taken's records of segments <= this were replayed
    {
      std::unique_lock<std::mutex> lock(mu_);
      writer_idle_ = true;
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || overflow_count_ > 0; });
      writer_idle_ = false;
      if (queue_.empty() && overflow_count_ == 0 && stopping_) break;
      if (options_.linger.count() > 0 && !stopping_ && flush_waiters_ == 0 &&
          overflow_count_ == 0 && queue_.size() < options_.batch_max) {
        work_cv_.wait_for(lock, options_.linger, [&] {
          return stopping_ || flush_waiters_ > 0 || queue_.size() >= options_.batch_max ||
                 overflow_count_ > 0;
        });
      }
      taken.clear();
      taken.swap(queue_);  // O(1) under the lock; appenders go on filling the empty one
      overflow = overflow_count_;
      maybe_stored = requeued_maybe_stored_;
      requeued_maybe_stored_ = 0;
      replayed_below = replayed_below_;
    }
    // Keep the log's pages mapped ahead of the appenders (a few linger periods at any rate
    // seen so far), so that no request waits in a page fault of the log.
    log_->PrefaultAhead(kPrefaultBytes);

    // Store what was taken, batch_max records per transaction.
    size_t done = 0;
    bool failed = false;
    while (done < taken.size()) {
      const size_t n = std::min(taken.size() - done, options_.batch_max);
      const bool may_repeat =
          done < maybe_stored ||
          std::any_of(taken.segments.begin() + done, taken.segments.begin() + done + n,
                      [&](uint64_t seg) { return seg <= replayed_below; });
      if (!StoreBatch(std::span<const SpendRecord>(taken.records).subspan(done, n),
                      may_repeat ? InsertMode::kMayRepeat : InsertMode::kFresh)
               .ok()) {
        // A failed transaction may still have committed (a lost reply from PostgreSQL), and
        // InsertOrQuarantine commits record by record: the retry must not store them twice.
        maybe_stored = std::max(maybe_stored, done + n);
        failed = true;
        break;
      }
      backoff = std::chrono::milliseconds(10);
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = done; i < done + n; ++i) ++segment_stored_[taken.segments[i]];
      stored_seq_ += n;
      done += n;
    }
    if (failed) {
      // Put the rest back in order and retry later; they are safe in the log meanwhile.
      std::unique_lock<std::mutex> lock(mu_);
      queue_.records.insert(queue_.records.begin(),
                            std::make_move_iterator(taken.records.begin() + done),
                            std::make_move_iterator(taken.records.end()));
      queue_.segments.insert(queue_.segments.begin(), taken.segments.begin() + done,
                             taken.segments.end());
      requeued_maybe_stored_ = maybe_stored - done;
      if (stopping_ && give_up_) break;
      done_cv_.notify_all();
      work_cv_.wait_for(lock, backoff, [&] { return stopping_ && give_up_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }

    if (overflow > 0) {
      // Records that did not fit the queue: close the segment they are in and replay every
      // closed segment (idempotent), then forget them.
      Status s = CatchUpFromLog();
      if (!s.ok()) {
        std::unique_lock<std::mutex> lock(mu_);
        ++stats_.store_errors;
        stats_.last_error = s;
        if (stopping_ && give_up_) break;
        done_cv_.notify_all();
        work_cv_.wait_for(lock, backoff, [&] { return stopping_ && give_up_; });
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      overflow_count_ -= overflow;
      stored_seq_ += static_cast<uint64_t>(overflow);
    }

    MaybeCheckpoint();
    std::lock_guard<std::mutex> lock(mu_);
    done_cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  thread_exited_ = true;
  done_cv_.notify_all();
}

Status LedgerWriter::CatchUpFromLog() {
  BURSAR_ASSIGN_OR_RETURN(SpendLog::Closed closed, log_->Rotate());
  std::vector<uint64_t> segments;
  {
    std::lock_guard<std::mutex> lock(mu_);
    segment_total_[closed.segment] = closed.records;
    for (const auto& [seg, total] : segment_total_) segments.push_back(seg);
  }
  BURSAR_RETURN_IF_ERROR(ReplaySegments(segments));
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t seg : segments) {
    segment_total_.erase(seg);
    segment_stored_.erase(seg);
  }
  // Queued records of these segments are stored again later as kMayRepeat no-ops; their counts
  // must not keep the deleted segments alive (MaybeCheckpoint drops them).
  replayed_below_ = std::max(replayed_below_, closed.segment);
  return OkStatus();
}

void LedgerWriter::MaybeCheckpoint() {
  if (log_->current_segment_bytes() >= options_.segment_max_bytes) {
    StatusOr<SpendLog::Closed> closed = log_->Rotate();
    if (closed.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      segment_total_[closed->segment] = closed->records;
    }
  }
  std::vector<uint64_t> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = segment_stored_.begin(); it != segment_stored_.end();) {
      if (it->first <= replayed_below_) {
        it = segment_stored_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [seg, total] : segment_total_) {
      auto it = segment_stored_.find(seg);
      int64_t stored = it == segment_stored_.end() ? 0 : it->second;
      if (stored >= total) done.push_back(seg);
    }
  }
  for (uint64_t seg : done) {
    if (!log_->DeleteSegment(seg).ok()) continue;  // retried at the next checkpoint
    std::lock_guard<std::mutex> lock(mu_);
    segment_total_.erase(seg);
    segment_stored_.erase(seg);
  }
}

Status LedgerWriter::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return close_status_;
    closed_ = true;
  }
  Status flushed = Flush();  // drain while the store works; retry transient errors a little
  for (int i = 0; i < 5 && !flushed.ok(); ++i) flushed = Flush();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    give_up_ = true;  // a store still failing now: leave the rest in the log for the next start
    work_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  if (flushed.ok()) {
    // Everything appended is in the store: the closed segments can go, and the current one too.
    StatusOr<SpendLog::Closed> closed = log_->Rotate();
    if (closed.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      segment_total_[closed->segment] = closed->records;
      for (const auto& [seg, total] : segment_total_) (void)log_->DeleteSegment(seg);
      segment_total_.clear();
    }
  }
  log_->Close();
  std::lock_guard<std::mutex> lock(mu_);
  close_status_ = flushed;
  return flushed;
}

}  // namespace bursar::ledger
