// The live-sync loop: follows one branch of a desired-state repository and hands every new,
// valid commit to a Publisher.
//
// The source is a local repository (a work tree or a bare repository, read through libgit2
// without a checkout) or a URL, mirrored into a cache folder and fetched on every sync
// (gitops/git_source.h). A sync resolves the branch; when it names a commit not yet seen, the
// commit's *.yaml files are loaded and validated (config::LoadDesiredState), then checked by the
// PolicyCheck; only a commit that passes both is handed to the Publisher (which builds and swaps
// the serving snapshot). A commit that fails is never published: the last good one keeps
// serving, and the failure (commit, errors as "file:line:column: message") is kept in status()
// and passed to the Observer (sync history). A refused commit is not retried; the next commit
// on the branch is. Fetch or read failures (kFailed) are retried on the next poll.
//
// Threads: Start() runs the loop on one thread of its own, which polls every `poll_interval` and
// syncs at once after Trigger() (the webhook). Publisher, PolicyCheck and Observer run on the
// syncing thread, one sync at a time. SyncOnce(), Trigger(), status() and WaitFor*() may be
// called from any thread; SyncOnce() is serialised with the loop. Stop() (and the destructor)
// wakes the loop, lets a sync in progress finish, and joins; REQUIRES: not called from the
// Publisher/Observer. Time comes from a Clock (the real one by default; FakeClock in tests).
// Errors: SyncOnce returns the record of what happened; it returns a Status only for a problem
// of the source itself (NotFound repository or branch, Unavailable fetch).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "gitops/git_source.h"

namespace bursar::gitops {

using TimePoint = std::chrono::system_clock::time_point;

// The time seam of the syncer and the drift controller.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;
  // Waits on `cv` (with `lock` held, as std::condition_variable does) until `wake()` is true or
  // Now() reaches `deadline`. Spurious returns are allowed; callers loop.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline, const std::function<bool()>& wake) = 0;
};

// The system clock. Shared, thread-safe.
Clock& RealClock();

// A clock that moves only when told (tests). Thread-safe. WaitUntil re-checks every millisecond
// of real time, so a waiter sees Advance() promptly.
class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1700000000)));
  TimePoint Now() override;
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline, const std::function<bool()>& wake) override;
  void Advance(std::chrono::nanoseconds d);

 private:
  std::mutex mu_;
  TimePoint now_;
};

int64_t ToUnixMicros(TimePoint t);

enum class SyncResult {
  kApplied,  // validated, checked and published
  kRefused,  // did not validate or failed a policy: never published
  kFailed,   // could not be read or the publisher failed: retried on the next sync
};
std::string_view ToString(SyncResult r);

// One sync of one commit.
struct SyncRecord {
  std::string commit;          // 40 hex
  std::string author;          // "Name <email>"
  std::string message;         // the commit message's first line
  int64_t commit_time = 0;     // author time, unix seconds
  std::string trigger;         // "start" | "poll" | "webhook" | "manual"
  int64_t seen_at_us = 0;      // when the sync saw the commit (unix micros, by the Clock)
  int64_t finished_at_us = 0;  // when it was applied or refused
  int64_t duration_us = 0;     // wall time of load + validate + check + publish (steady clock)
  SyncResult result = SyncResult::kApplied;
  std::vector<std::string> errors;  // "file:line:column: message", empty when applied
};

// What the serving side needs to know; a copy taken under the syncer's lock.
struct SyncStatus {
  std::string branch;              // "refs/heads/main"
  std::string live_commit;         // "" until the first commit is applied
  std::optional<SyncRecord> last;  // the latest sync of a new commit, whatever its result
  std::optional<SyncRecord> last_refused;
  TimePoint last_success{};  // when the live commit was applied, or last confirmed unchanged
  bool has_success = false;
  int64_t applied = 0, refused = 0, failed = 0;  // counts since start
  std::string last_error;  // the last source error (fetch failure), "" after a good sync
};

// Prometheus text lines for /metrics: bursar_sync_live_commit_info{commit}, bursar_sync_last_
// result{result}, bursar_sync_seconds_since_success, bursar_sync_total{result}.
std::string RenderSyncMetrics(const SyncStatus& status, TimePoint now);

// Returns the policy violations of `candidate` ("file:line:column: message"), empty to pass.
// `live` is the state serving now (nullptr before the first sync).
using PolicyCheck = std::function<std::vector<std::string>(const config::DesiredState& candidate,
                                                           const config::DesiredState* live,
                                                           const CommitInfo& commit)>;

// The built-in budget policy:
//  - every Budget that can be evaluated has one currency: the Models its scope reaches (through
//    scope.models and scope.routes' targets and fallbacks) price in the budget's currency;
//  - a downgrade threshold's route costs no more per token (input + output, weighted by the
//    targets' split) than each route in the budget's scope;
//  - a Budget live now is not removed unless the commit message carries the trailer
//    "Bursar-Allow: budget-removal" (a guard is not dropped by accident).
std::vector<std::string> DefaultPolicyCheck(const config::DesiredState& candidate,
                                            const config::DesiredState* live,
                                            const CommitInfo& commit);

// Hands a validated state (revision = commit id) to the serving side. A non-OK Status records
// the sync as kFailed and keeps the previous live commit.
using Publisher =
    std::function<Status(std::shared_ptr<const config::DesiredState>, const CommitInfo& commit)>;
// Told about every SyncRecord (applied, refused, failed), after the Publisher and before
// status() shows the record.
using SyncObserver = std::function<void(const SyncRecord&)>;

struct SyncerOptions {
  std::string source;     // local repository path, or URL (file://, https://, ssh://, git@host:)
  std::string branch;     // "main" or "refs/heads/main"; "" = the branch HEAD names (or main,
                          // then master, when HEAD names a branch without commits)
  std::string cache_dir;  // where a URL is mirrored (required for URLs)
  std::chrono::milliseconds poll_interval{30000};
  Clock* clock = nullptr;  // nullptr = RealClock(); not owned
};

// True when `source` is a URL rather than a local path.
bool IsRemoteSource(std::string_view source);

class Syncer {
 public:
  Syncer(SyncerOptions options, Publisher publisher, PolicyCheck policy = DefaultPolicyCheck,
         SyncObserver observer = nullptr);
  ~Syncer();
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  // Starts the loop thread (it polls; it does not sync at once: call SyncOnce("start") first
  // when the server must not start without a configuration). FailedPrecondition if running.
  Status Start();
  // Wakes and joins the loop. Idempotent.
  void Stop();
  // Asks the loop to sync now (coalesced: several triggers before it runs give one sync).
  void Trigger(std::string why = "webhook");

  // Syncs once on the calling thread. Returns the record of a new commit, or nullopt when the
  // branch still names the commit last seen.
  StatusOr<std::optional<SyncRecord>> SyncOnce(const std::string& trigger = "manual");

  SyncStatus status() const;

  // Blocks until the live commit is `commit` or a sync of it was refused, or `timeout` (real
  // time) passes. Returns the result, or nullopt on timeout. For tests and the benchmark.
  std::optional<SyncResult> WaitForCommit(const std::string& commit,
                                          std::chrono::milliseconds timeout);

 private:
  void Loop();
  StatusOr<std::optional<SyncRecord>> SyncLocked(const std::string& trigger);
  StatusOr<GitRepository*> OpenSource();

  const SyncerOptions options_;
  Clock& clock_;
  const Publisher publisher_;
  const PolicyCheck policy_;
  const SyncObserver observer_;

  std::mutex sync_mu_;  // serialises syncs; guards repo_, branch_ref_
  std::unique_ptr<GitRepository> repo_;
  std::string branch_ref_;
  std::string last_seen_;  // the commit the branch named at the last sync
  std::shared_ptr<const config::DesiredState> live_state_;

  mutable std::mutex mu_;              // guards status_, trigger_, stop_, trigger_why_
  std::condition_variable cv_;         // wakes the loop
  std::condition_variable status_cv_;  // wakes WaitForCommit
  SyncStatus status_;
  bool trigger_ = false;
  std::string trigger_why_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace bursar::gitops
