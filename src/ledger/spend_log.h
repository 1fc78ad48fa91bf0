// The append-only spend log: the durability point of the ledger. A spend record is written here
// (and fdatasync'd when Options::sync) before the gateway completes the response it describes; the
// store (SQLite or PostgreSQL) is filled from it in the background and, after a crash, by replaying
// it.
//
// On disk: DIR/spend-<seq>.log segments (seq: 20 decimal digits, increasing). Each record is one
// line "<crc32 8 lowercase hex> <payload>\n", where the CRC (zlib crc32) covers the payload bytes
// and the payload has no newline. A line without its newline or whose CRC does not match (a write
// torn by kill -9 or power loss) is skipped by ReadSegment and counted in `skipped`.
// A line is a record, or a context line that later record lines of its segment refer to
// (Append's `context`; the payloads' formats are in spend_record.h). A context line is complete
// before any record that refers to it is acknowledged, so kill -9 cannot separate them; a context
// line damaged on the medium makes its records unreadable (replay counts them as skipped).
//
// With sync (group commit): concurrent Append calls are batched; one caller (the leader) writes
// every pending line with one write() and one fdatasync() while the others wait, so N threads
// cost about one fsync per batch, not per record.
//
// Without sync (the gateway's default: records must survive kill -9, not power loss): the
// segment is preallocated (fallocate, so a full disk fails the open, not a later write) and
// mapped MAP_SHARED. An Append reserves its line's bytes with one atomic add and copies the line
// into the mapping: no system call and no lock. The page cache owns those bytes as soon as the
// copy is done, so they survive the process being killed. Lines past the mapping (a writer that
// rotates late) go out with pwrite at their reserved offset. Rotate/Close wait for appends in
// flight, then trim the file to the bytes reserved. After a crash a segment may end in unused
// preallocated space, and an append killed mid-copy leaves its bytes partly NUL: records never
// contain NUL, so ReadSegment skips NUL runs and starts a record after the last NUL of a line.
//
// Thread safety: Append, Rotate, current_segment and Close may be called from any thread.
// Errors: an I/O error fails the batch that hit it and every later Append (the log is then
// broken, Status Internal/Unavailable with errno text); the caller must not acknowledge a record
// whose Append failed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bursar::ledger {

class SpendLog {
 public:
  struct Options {
    std::string dir;   // created if missing
    bool sync = true;  // fdatasync each batch; false: the mapped segments above
    // Without sync: bytes preallocated and mapped per segment (appends beyond use pwrite).
    size_t map_bytes = 80 << 20;
  };

  // Opens DIR and starts a new segment numbered after the highest existing one; it never appends
  // to an existing segment (those are for replay). Holds an exclusive flock on DIR/spend.lock
  // while open: a second process on the same DIR gets FailedPrecondition.
  static StatusOr<std::unique_ptr<SpendLog>> Open(const Options& options);
  ~SpendLog();  // Close()

  SpendLog(const SpendLog&) = delete;
  SpendLog& operator=(const SpendLog&) = delete;

  // A line that record payloads refer to (spend_record.h's context line), identified by a
  // number unique within the process.
  struct Context {
    uint64_t id = 0;
    std::string_view payload;
  };

  // Appends one payload (REQUIRES: no '\n' or NUL, in the context's payload too) and returns
  // once it is durable. `segment` (optional) receives the sequence number of the segment the line
  // went to. With `context`, the context's line goes just before the payload, in the same segment
  // and the same reservation, unless this thread has written that context to that segment
  // already (each thread remembers its last kSpendLogContextsPerThread contexts, spend_record.h,
  // and where): so a record line always finds its context earlier in its own segment. A context
  // line is not a record: Closed::records and the Close of an empty segment do not count it.
  Status Append(std::string_view payload, uint64_t* segment = nullptr,
                const Context* context = nullptr);

  // Closes the current segment and starts the next one; returns the closed segment's number and
  // how many records it holds (all of them durable). Appends never block on a rotation for long.
  struct Closed {
    uint64_t segment = 0;
    int64_t records = 0;
  };
  StatusOr<Closed> Rotate();

  // Mapped mode: faults in the current segment's pages up to `bytes` past the last append
  // (MADV_POPULATE_WRITE), so that appends in the request path find their pages mapped instead
  // of taking a page fault that can wait for the page's I/O. For the ledger writer's thread;
  // a no-op in sync mode or where the kernel lacks it (before Linux 5.14).
  void PrefaultAhead(size_t bytes);

  uint64_t current_segment() const;
  // Bytes written to the current segment so far.
  int64_t current_segment_bytes() const;

  // Segments in DIR older than the one this SpendLog opened (left by an earlier process), oldest
  // first.
  const std::vector<uint64_t>& existing_segments() const { return existing_; }

  // Deletes a segment file (after its records are safely in the store). Not the current one.
  Status DeleteSegment(uint64_t segment);

  // Flushes and closes the current segment (deleting it if it holds no record); later Appends
  // fail with FailedPrecondition.
  void Close();

  const std::string& dir() const { return options_.dir; }
  std::string SegmentPath(uint64_t segment) const;

  struct ReadStats {
    int64_t records = 0;  // good lines delivered
    int64_t skipped = 0;  // torn or corrupt lines
  };
  // Reads the good lines of a segment file in order and passes each payload to `on_record`;
  // a non-OK Status from on_record stops and is returned.
  static StatusOr<ReadStats> ReadSegment(
      const std::string& path, const std::function<Status(std::string_view payload)>& on_record);

  // The same over a segment's bytes already in memory (what ReadSegment uses; fuzzed).
  static StatusOr<ReadStats> ParseSegment(
      std::string_view data, const std::function<Status(std::string_view payload)>& on_record);

  // "<crc> <payload>\n" for a payload (exposed for tests that write torn logs).
  static std::string Frame(std::string_view payload);

 private:
  struct Mapped;  // the current segment without sync
  explicit SpendLog(Options options);
  Status AppendMapped(std::string_view payload, uint64_t* segment, const Context* context);
  // Whether `context` must be written before a line going to `segment` (this thread's memo).
  bool NeedsContext(const Context* context, uint64_t segment) const;
  void WroteContext(const Context* context, uint64_t segment) const;
  StatusOr<std::unique_ptr<Mapped>> MapSegment(uint64_t segment);
  // Takes a mapping out of service (if current), waits for its appends, trims the file to the
  // bytes reserved and closes it. Returns its record count. REQUIRES: mu_ held.
  int64_t RetireMappedLocked(std::unique_ptr<Mapped> m);
  Status OpenSegmentLocked(uint64_t segment);
  void FinishBatchLocked(const Status& s, int64_t bytes, int64_t count, uint64_t last);
  Status FlushPendingLocked(std::unique_lock<std::mutex>& lock);
  uint64_t SegmentOfTicketLocked(uint64_t ticket) const;

  Options options_;
  const uint64_t instance_;  // unique within the process, for the threads' context memos
  std::vector<uint64_t> existing_;
  int lock_fd_ = -1;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  int fd_ = -1;
  uint64_t segment_ = 0;
  std::string segment_path_;  // SegmentPath(segment_), kept for the append path
  int64_t segment_bytes_ = 0;
  int64_t segment_records_ = 0;  // records made durable in the current segment
  std::string pending_;          // framed lines waiting for the next batch
  int64_t pending_count_ = 0;
  uint64_t next_ticket_ = 0;     // tickets handed to appenders (1-based)
  uint64_t durable_ticket_ = 0;  // every ticket <= this is durable (or failed)
  bool flushing_ = false;        // a leader is writing a batch
  bool closed_ = false;
  Status error_;                                 // sticky I/O error
  uint64_t failed_from_ = 0;                     // tickets >= this failed
  std::map<uint64_t, uint64_t> segment_starts_;  // first ticket -> segment it went to

  // Without sync: the current segment's mapping; appends take it without the lock. Replaced
  // under mu_ (the old one is retired once its appenders left).
  std::unique_ptr<Mapped> mapped_owner_;  // guarded by mu_
  bool prefault_unsupported_ = false;     // guarded by mu_
  std::atomic<Mapped*> mapped_{nullptr};
  std::atomic<bool> broken_{false};  // error_ is set (checked without the lock)
};

}  // namespace bursar::ledger
