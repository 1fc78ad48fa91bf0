// The drift controller: sits between the syncer and the serving side. It keeps the Git state of
// the live commit and the emergency overrides made through the admin API, publishes Git plus
// the active overrides as the live state, and enforces the drift policy:
//   heal-after=DURATION    an override older than DURATION is removed: Git's state is restored
//   commit-after=DURATION  an override older than DURATION is written to the repository as a
//                          commit of its own (author bursar, trailer Bursar-Drift-Override: ID)
//                          and pushed when the repository has a remote; once the syncer applies
//                          that commit Git agrees and the override is closed. A write that
//                          fails (it would not validate, the branch moved) is noted on the
//                          override and tried again after the next Git commit
//   keep                   overrides stay until reverted through the API or Git agrees
// A new Git commit closes the overrides it already agrees with (kDropped) and those that no
// longer apply to it (their target is gone). Overrides are persisted in the ledger (component
// "drift", table drift_overrides) so a restart keeps them and `bursar drift --data` reads them.
//
// Threads: all methods may be called from any thread (one mutex). OnGitState is the syncer's
// Publisher; the downstream Publisher is called under the controller's lock, one publish at a
// time, and must not call back into the controller. Start() runs Tick() about once a second on a
// thread of its own (times by the Clock seam); Stop() joins it. Errors: Add/Revert return
// InvalidArgument/NotFound for an override that does not apply, FailedPrecondition before the
// first Git state; store errors are Unavailable/Internal from ledger/db.h.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gitops/drift.h"
#include "gitops/syncer.h"
#include "ledger/db.h"

namespace bursar::gitops {

struct DriftPolicy {
  enum class Mode { kHeal, kCommit, kKeep };
  Mode mode = Mode::kHeal;
  std::chrono::seconds after{600};
  // "heal-after=10m", "commit-after=0s", "keep" (durations: 30s, 10m, 2h, or plain seconds).
  static StatusOr<DriftPolicy> Parse(std::string_view text);
  std::string ToString() const;
};

const std::vector<ledger::Migration>& DriftMigrations();

// Persisted overrides (ledger table drift_overrides). Thread-safe (one mutex over the Db).
class OverrideStore {
 public:
  static StatusOr<std::unique_ptr<OverrideStore>> Open(const std::string& url);
  static StatusOr<std::unique_ptr<OverrideStore>> Create(std::unique_ptr<ledger::Db> db);
  // Inserts (id 0: assigns a new id and returns it) or updates an override and its drift fields
  // (JSON array of {"path","git","live"}).
  StatusOr<int64_t> Save(const Override& o, const std::string& fields_json);
  // Most recent first; `active_only` limits to kActive.
  StatusOr<std::vector<Override>> List(bool active_only, size_t limit = 100);
  // The drift fields JSON of an override ("[]" when none).
  StatusOr<std::string> Fields(int64_t id);

 private:
  explicit OverrideStore(std::unique_ptr<ledger::Db> db) : db_(std::move(db)) {}
  std::mutex mu_;
  std::unique_ptr<ledger::Db> db_;
};

struct DriftControllerOptions {
  DriftPolicy policy;
  Clock* clock = nullptr;  // nullptr = RealClock(); not owned
  // Where commit-after writes: the syncer's source (local path or URL + cache) and branch.
  std::string source;
  std::string branch;
  std::string cache_dir;
  std::string push_remote = "origin";
};

class DriftController {
 public:
  // `store` may be null (overrides are then kept in memory only); not owned, must outlive this.
  DriftController(DriftControllerOptions options, Publisher downstream,
                  OverrideStore* store = nullptr);
  ~DriftController();
  DriftController(const DriftController&) = delete;
  DriftController& operator=(const DriftController&) = delete;

  // Loads the active overrides from the store (call once before the first OnGitState).
  Status LoadPersisted();

  // The syncer's Publisher: a new Git state.
  Status OnGitState(std::shared_ptr<const config::DesiredState> git, const CommitInfo& commit);

  // Applies an override now (id, created_at, base_commit are set here); returns it.
  StatusOr<Override> Add(Override o);
  // Removes an active override (kReverted) and republishes.
  Status Revert(int64_t id, const std::string& actor);

  // Enforces the policy once; returns how many overrides it healed or committed.
  StatusOr<int> Tick();
  Status Start();
  void Stop();
  // Called (on the ticking thread, without the lock) after a drift commit is written, e.g. to
  // trigger the syncer.
  void set_on_commit(std::function<void(const std::string& commit)> fn);

  std::vector<Override> Overrides() const;  // all known this run, newest first
  std::vector<DriftEntry> Drift() const;    // live vs Git now
  std::string live_commit() const;
  const DriftPolicy& policy() const { return options_.policy; }
  // bursar_drift_active_overrides, bursar_drift_resources, bursar_drift_actions_total{action}.
  std::string RenderMetrics() const;

 private:
  Status PublishLocked();
  void CloseLocked(Override& o, OverrideState state, std::string note);
  void Persist(const Override& o);
  StatusOr<std::string> CommitOverride(const Override& o, const config::DesiredState& git,
                                       const std::string& base_commit);
  std::vector<Override> ActiveLocked() const;

  const DriftControllerOptions options_;
  Clock& clock_;
  const Publisher downstream_;
  OverrideStore* const store_;

  mutable std::mutex mu_;  // guards everything below
  std::shared_ptr<const config::DesiredState> git_;
  CommitInfo git_commit_;
  std::vector<Override> overrides_;  // oldest first; active and closed
  int64_t next_id_ = 1;
  int64_t healed_ = 0, committed_ = 0, reverted_ = 0, dropped_ = 0, added_ = 0;
  std::function<void(const std::string&)> on_commit_;

  std::mutex tick_mu_;  // one Tick at a time
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace bursar::gitops
