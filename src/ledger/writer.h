// LedgerWriter: how the gateway records spend. Append makes a record durable in the spend log
// (ledger/spend_log.h) and queues it; a background thread moves queued records into the store
// (ledger/store.h) in batches, one transaction per batch. Queued records go in as
// InsertMode::kFresh (plain INSERTs); records that may be stored already (log replay, queued
// records of a segment already replayed, a batch retried after a failure) go in as kMayRepeat,
// which skips them, so nothing is stored twice.
// Segments of the log are deleted once every record in them is in the store.
//
// Open replays whatever an earlier process left in the log (after kill -9, a crash or a store
// outage) into the store before it returns, so a record acknowledged by Append is in the store
// exactly once after a restart.
//
// Thread safety: Append, Flush and stats are safe from any number of threads at once. Close (and
// the destructor, which calls it) must not run concurrently with Append from other threads: stop
// the callers first (the gateway drains its requests, then closes the ledger).
//
// Back-pressure: the queue is bounded (Options::queue_capacity). When it is full because the
// store is slow or down, Append still returns once the record is durable in the log, but does
// not queue it; the writer then catches up from the log segments themselves (rotating first),
// so no record is lost and Append never blocks on the store.
//
// Errors: Append fails (Status from the log, or FailedPrecondition after Close) only when the
// record is NOT durable; the gateway must then fail the request rather than serve it unmetered.
// Store errors never reach Append: the writer retries with backoff and reports the last error in
// stats() and Flush(). A record the store refuses for good (a data error: InvalidArgument or
// AlreadyExists from db.h) is not retried forever: it is written to log_dir/quarantine.log (one
// framed JSON line {"error":..., "record":...}) and counted in stats().quarantined, so one bad
// record can neither block the queue nor stop Open from replaying the log.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "ledger/spend_log.h"
#include "ledger/spend_record.h"
#include "ledger/store.h"

namespace bursar::ledger {

class LedgerWriter {
 public:
  struct Options {
    std::string log_dir;    // where the spend log lives (the server's --data DIR)
    std::string store_url;  // db.h URL; "" = SQLite in log_dir (log_dir/ledger.db)
    size_t queue_capacity = 65536;
    size_t batch_max = 2048;  // records per store transaction
    // How long the writer lets a batch fill before its transaction (Flush and Close skip it).
    // Appenders wake the writer only when it is idle, so a busy gateway pays one wake-up and
    // one transaction per linger period rather than per record.
    std::chrono::milliseconds linger{10};
    int64_t segment_max_bytes = 64 << 20;  // rotate the log past this size
    bool sync = true;                      // fdatasync the log (false only in tests/benches)
  };

  struct Stats {
    int64_t appended = 0;       // Append calls that returned OK
    int64_t stored = 0;         // records newly inserted into the store by this writer
    int64_t replayed = 0;       // records read back from old log segments (incl. duplicates)
    int64_t skipped_lines = 0;  // torn/corrupt log lines skipped during replay
    int64_t overflowed = 0;     // records not queued because the queue was full
    int64_t store_errors = 0;   // failed store transactions (retried)
    int64_t quarantined = 0;    // records the store refused for good (see quarantine.log)
    Status last_error;          // most recent store error, OK if none
  };

  // Opens the log and the store, replays old log segments into the store, starts the thread.
  static StatusOr<std::unique_ptr<LedgerWriter>> Open(const Options& options);
  ~LedgerWriter();  // Close()

  LedgerWriter(const LedgerWriter&) = delete;
  LedgerWriter& operator=(const LedgerWriter&) = delete;

  // Durable in the log on return (see above). Called by request handlers on any thread.
  Status Append(const SpendRecord& record);
  Status Append(SpendRecord&& record);  // the same, without copying the record

  // Waits until every record appended before the call is in the store. Returns the store error
  // if the writer could not store them (they stay in the log for the next try or restart).
  Status Flush();

  // Drains the queue into the store, stops the thread, closes the log. Idempotent.
  Status Close();

  Stats stats() const;

 private:
  explicit LedgerWriter(Options options);
  Status ReplaySegments(const std::vector<uint64_t>& segments);
  void Run();
  Status StoreBatch(std::span<const SpendRecord> batch, InsertMode mode);
  StatusOr<int64_t> InsertOrQuarantine(std::span<const SpendRecord> batch, InsertMode mode);
  Status Quarantine(const SpendRecord& record, const Status& why);
  void MaybeCheckpoint();
  Status CatchUpFromLog();

  // Records waiting for the store and the log segment each is in (parallel vectors, so a batch
  // is a span of records).
  struct Queue {
    std::vector<SpendRecord> records;
    std::vector<uint64_t> segments;
    size_t size() const { return records.size(); }
    bool empty() const { return records.empty(); }
    void clear() {
      records.clear();
      segments.clear();
    }
    void swap(Queue& o) {
      records.swap(o.records);
      segments.swap(o.segments);
    }
  };

  Options options_;
  std::unique_ptr<SpendLog> log_;
  std::unique_ptr<Store> store_;  // used by the writer thread only (and Open before it starts)

  mutable std::mutex mu_;            // guards everything below
  std::condition_variable work_cv_;  // writer waits for records
  std::condition_variable done_cv_;  // Flush waits for progress
  Queue queue_;                      // the writer swaps it out whole
  uint64_t enqueued_seq_ = 0;        // records appended (queued or overflowed) so far
  uint64_t stored_seq_ = 0;          // of those, records known to be in the store
  int64_t overflow_count_ = 0;       // durable records not queued: catch up from the log
  bool stopping_ = false;            // Close: the thread exits once the queue is empty
  bool give_up_ = false;             // Close: stop retrying a failing store
  bool thread_exited_ = false;
  bool writer_idle_ = false;  // the writer waits for work: an Append must wake it
  int flush_waiters_ = 0;     // Flush calls waiting: the writer skips its linger
  bool closed_ = false;
  Status close_status_;
  std::map<uint64_t, int64_t> segment_stored_;  // segment -> records stored from the queue
  std::map<uint64_t, int64_t> segment_total_;   // closed segment -> records it holds
  uint64_t replayed_below_ = 0;                 // segments <= this were replayed whole and deleted
  size_t requeued_maybe_stored_ = 0;  // this many of queue_'s first records: from a failed batch
  Stats stats_;
  std::thread thread_;
};

}  // namespace bursar::ledger
