#include "gitops/syncer.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "common/thread_name.h"
#include "config/loader.h"

namespace bursar::gitops {
namespace {

class SystemClock : public Clock {
 public:
  TimePoint Now() override { return std::chrono::system_clock::now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline, const std::function<bool()>& wake) override {
    cv.wait_until(lock, deadline, wake);
  }
};

std::string Where(const config::Metadata& meta) {
  return meta.where.file + ":" + std::to_string(meta.where.line) + ":" +
         std::to_string(meta.where.column);
}

// A route's per-token price (input + output), weighted by its targets' split, in picos.
Picos RoutePrice(const config::DesiredState& s, const config::Route& r) {
  __int128 sum = 0;
  for (const auto& t : r.targets) {
    if (const config::Model* m = s.FindModel(t.model)) {
      sum += static_cast<__int128>(t.weight) *
             (m->pricing.input_cost_per_token + m->pricing.output_cost_per_token);
    }
  }
  return static_cast<Picos>(sum / 100);
}

std::string PrometheusLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Clock& RealClock() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock(TimePoint start) : now_(start) {}

TimePoint FakeClock::Now() {
  std::lock_guard<std::mutex> l(mu_);
  return now_;
}

void FakeClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          TimePoint deadline, const std::function<bool()>& wake) {
  while (!wake() && Now() < deadline) cv.wait_for(lock, std::chrono::milliseconds(1));
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  std::lock_guard<std::mutex> l(mu_);
  now_ += std::chrono::duration_cast<TimePoint::duration>(d);
}

int64_t ToUnixMicros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string_view ToString(SyncResult r) {
  switch (r) {
    case SyncResult::kApplied:
      return "applied";
    case SyncResult::kRefused:
      return "refused";
    case SyncResult::kFailed:
      return "failed";
  }
  return "?";
}

std::string RenderSyncMetrics(const SyncStatus& s, TimePoint now) {
  std::ostringstream o;
  o << "# HELP bursar_sync_live_commit_info The Git commit whose configuration is serving.\n"
    << "# TYPE bursar_sync_live_commit_info gauge\n";
  if (!s.live_commit.empty()) {
    o << "bursar_sync_live_commit_info{commit=\"" << PrometheusLabel(s.live_commit)
      << "\",branch=\"" << PrometheusLabel(s.branch) << "\"} 1\n";
  }
  o << "# HELP bursar_sync_last_result Result of the latest sync of a new commit (1 = this one).\n"
    << "# TYPE bursar_sync_last_result gauge\n";
  for (SyncResult r : {SyncResult::kApplied, SyncResult::kRefused, SyncResult::kFailed}) {
    int v = s.last && s.last->result == r ? 1 : 0;
    o << "bursar_sync_last_result{result=\"" << ToString(r) << "\"} " << v << "\n";
  }
  o << "# HELP bursar_sync_seconds_since_success Seconds since the last successful sync.\n"
    << "# TYPE bursar_sync_seconds_since_success gauge\n";
  if (s.has_success) {
    double secs = std::chrono::duration<double>(now - s.last_success).count();
    o << "bursar_sync_seconds_since_success " << std::max(0.0, secs) << "\n";
  }
  o << "# HELP bursar_sync_total Syncs of new commits by result since start.\n"
    << "# TYPE bursar_sync_total counter\n"
    << "bursar_sync_total{result=\"applied\"} " << s.applied << "\n"
    << "bursar_sync_total{result=\"refused\"} " << s.refused << "\n"
    << "bursar_sync_total{result=\"failed\"} " << s.failed << "\n";
  return o.str();
}

std::vector<std::string> DefaultPolicyCheck(const config::DesiredState& candidate,
                                            const config::DesiredState* live,
                                            const CommitInfo& commit) {
  std::vector<std::string> errors;
  for (const config::Budget& b : candidate.budgets) {
    std::set<std::string> models(b.scope.models.begin(), b.scope.models.end());
    for (const std::string& rn : b.scope.routes) {
      if (const config::Route* r = candidate.FindRoute(rn)) {
        for (const auto& t : r->targets) models.insert(t.model);
        models.insert(r->fallbacks.begin(), r->fallbacks.end());
      }
    }
    for (const std::string& mn : models) {
      const config::Model* m = candidate.FindModel(mn);
      if (m != nullptr && m->currency != b.currency) {
        errors.push_back(Where(b.meta) + ": policy: Budget \"" + b.meta.name + "\" is in " +
                         b.currency + " but Model \"" + mn + "\" in its scope prices in " +
                         m->currency + "; the budget could not be enforced");
      }
    }
    for (const config::BudgetThreshold& t : b.thresholds) {
      if (t.action != config::BudgetAction::kDowngrade || t.downgrade_to.empty()) continue;
      const config::Route* to = candidate.FindRoute(t.downgrade_to);
      if (to == nullptr) continue;  // the loader reports dangling references
      Picos to_price = RoutePrice(candidate, *to);
      for (const std::string& rn : b.scope.routes) {
        const config::Route* from = candidate.FindRoute(rn);
        if (from == nullptr || from == to) continue;
        Picos from_price = RoutePrice(candidate, *from);
        if (to_price > from_price) {
          errors.push_back(Where(b.meta) + ": policy: Budget \"" + b.meta.name +
                           "\" downgrades at " + std::to_string(t.percent) + "% to Route \"" +
                           to->meta.name + "\", which costs more per token than Route \"" + rn +
                           "\" (" + FormatScaled(to_price, kPicoDigits) + " > " +
                           FormatScaled(from_price, kPicoDigits) + ")");
        }
      }
    }
  }
  if (live != nullptr && commit.message.find("Bursar-Allow: budget-removal") == std::string::npos) {
    for (const config::Budget& b : live->budgets) {
      if (candidate.FindBudget(b.meta.name) == nullptr) {
        errors.push_back(b.meta.where.file + ":" + std::to_string(b.meta.where.line) + ":" +
                         std::to_string(b.meta.where.column) + ": policy: Budget \"" + b.meta.name +
                         "\" is live but removed by this commit; add the trailer "
                         "\"Bursar-Allow: budget-removal\" to the commit message to allow it");
      }
    }
  }
  return errors;
}

bool IsRemoteSource(std::string_view source) {
  if (source.find("://") != std::string_view::npos) return true;
  // scp-like "user@host:path" (but not a local path that merely contains '@' or ':').
  size_t at = source.find('@');
  size_t colon = source.find(':');
  return at != std::string_view::npos && colon != std::string_view::npos && at < colon &&
         source.find('/') > colon;
}

Syncer::Syncer(SyncerOptions options, Publisher publisher, PolicyCheck policy,
               SyncObserver observer)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : RealClock()),
      publisher_(std::move(publisher)),
      policy_(std::move(policy)),
      observer_(std::move(observer)) {
  if (!options_.branch.empty()) {
    branch_ref_ =
        options_.branch.rfind("refs/", 0) == 0 ? options_.branch : "refs/heads/" + options_.branch;
  }
  status_.branch = branch_ref_;
}

Syncer::~Syncer() { Stop(); }

Status Syncer::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return FailedPreconditionError("syncer already running");
  stop_ = false;
  thread_ = std::thread([this] {
    SetThreadName("bursar-sync");
    Loop();
  });
  return OkStatus();
}

void Syncer::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Syncer::Trigger(std::string why) {
  {
    std::lock_guard<std::mutex> l(mu_);
    trigger_ = true;
    trigger_why_ = std::move(why);
  }
  cv_.notify_all();
}

void Syncer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    TimePoint deadline = clock_.Now() + options_.poll_interval;
    while (!stop_ && !trigger_ && clock_.Now() < deadline) {
      clock_.WaitUntil(cv_, lock, deadline, [this] { return stop_ || trigger_; });
    }
    if (stop_) break;
    std::string why = trigger_ ? trigger_why_ : "poll";
    trigger_ = false;
    lock.unlock();
    (void)SyncOnce(why);  // errors are kept in status_.last_error
    lock.lock();
  }
}

StatusOr<GitRepository*> Syncer::OpenSource() {
  if (IsRemoteSource(options_.source)) {
    if (options_.cache_dir.empty()) {
      return InvalidArgumentError("a cache folder is needed to follow " + options_.source);
    }
    // Clones on first use, fetches afterwards.
    BURSAR_ASSIGN_OR_RETURN(repo_, GitRepository::OpenMirror(options_.source, options_.cache_dir));
  } else if (repo_ == nullptr) {
    BURSAR_ASSIGN_OR_RETURN(repo_, GitRepository::Open(options_.source));
  }
  if (branch_ref_.empty()) {
    auto head = repo_->HeadBranch();
    if (head.ok() && repo_->ResolveCommit(*head).ok()) {
      branch_ref_ = *head;
    } else if (repo_->ResolveCommit("refs/heads/main").ok()) {
      branch_ref_ = "refs/heads/main";  // e.g. a bare remote whose HEAD names an unborn master
    } else if (repo_->ResolveCommit("refs/heads/master").ok()) {
      branch_ref_ = "refs/heads/master";
    } else {
      return head.ok() ? NotFoundError("branch " + *head + " has no commit yet") : head.status();
    }
    std::lock_guard<std::mutex> l(mu_);
    status_.branch = branch_ref_;
  }
  return repo_.get();
}

StatusOr<std::optional<SyncRecord>> Syncer::SyncOnce(const std::string& trigger) {
  std::lock_guard<std::mutex> sl(sync_mu_);
  auto r = SyncLocked(trigger);
  std::lock_guard<std::mutex> l(mu_);
  if (!r.ok()) {
    status_.last_error = r.status().ToString();
  } else {
    status_.last_error.clear();
  }
  return r;
}

StatusOr<std::optional<SyncRecord>> Syncer::SyncLocked(const std::string& trigger) {
  BURSAR_ASSIGN_OR_RETURN(GitRepository * repo, OpenSource());
  BURSAR_ASSIGN_OR_RETURN(std::string head, repo->ResolveCommit(branch_ref_));
  if (head == last_seen_) {
    std::lock_guard<std::mutex> l(mu_);
    if (status_.live_commit == head) status_.last_success = clock_.Now();
    return std::optional<SyncRecord>();
  }
  auto started = std::chrono::steady_clock::now();
  SyncRecord rec;
  rec.commit = head;
  rec.trigger = trigger;
  rec.seen_at_us = ToUnixMicros(clock_.Now());
  rec.result = SyncResult::kRefused;
  CommitInfo info;
  if (auto ci = repo->GetCommit(head); ci.ok()) {
    info = *std::move(ci);
    rec.author = info.author + " <" + info.email + ">";
    rec.message = info.Subject();
    rec.commit_time = info.time;
  } else {
    info.id = head;
  }

  auto files = repo->ReadFiles(head);
  std::shared_ptr<config::DesiredState> state;
  if (!files.ok()) {
    // An oversized blob is the commit's fault (refused); anything else is retried.
    rec.result = files.status().code() == StatusCode::kInvalidArgument ? SyncResult::kRefused
                                                                       : SyncResult::kFailed;
    rec.errors.push_back(files.status().message());
  } else {
    config::LoadResult loaded = config::LoadDesiredState(*files);
    if (!loaded.diagnostics.empty() || loaded.state == nullptr) {
      for (const auto& d : loaded.diagnostics) rec.errors.push_back(d.ToString());
      if (rec.errors.empty()) rec.errors.push_back("the configuration did not load");
    } else {
      state = std::move(loaded.state);
      state->revision = head;
      if (policy_) rec.errors = policy_(*state, live_state_.get(), info);
      if (rec.errors.empty()) {
        Status published = publisher_ ? publisher_(state, info) : OkStatus();
        if (published.ok()) {
          rec.result = SyncResult::kApplied;
        } else {
          rec.result = SyncResult::kFailed;
          rec.errors.push_back("publish: " + published.ToString());
        }
      }
    }
  }
  rec.finished_at_us = ToUnixMicros(clock_.Now());
  rec.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
  if (rec.result != SyncResult::kFailed) last_seen_ = head;  // failed: try again next time
  if (rec.result == SyncResult::kApplied) live_state_ = state;
  // The observer (history) runs before the status changes, so that whoever waits for the status
  // finds the record written.
  if (observer_) observer_(rec);
  {
    std::lock_guard<std::mutex> l(mu_);
    status_.last = rec;
    switch (rec.result) {
      case SyncResult::kApplied:
        ++status_.applied;
        status_.live_commit = head;
        status_.last_success = clock_.Now();
        status_.has_success = true;
        break;
      case SyncResult::kRefused:
        ++status_.refused;
        status_.last_refused = rec;
        break;
      case SyncResult::kFailed:
        ++status_.failed;
        break;
    }
  }
  status_cv_.notify_all();
  return std::optional<SyncRecord>(std::move(rec));
}

SyncStatus Syncer::status() const {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

std::optional<SyncResult> Syncer::WaitForCommit(const std::string& commit,
                                                std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  std::optional<SyncResult> out;
  status_cv_.wait_for(l, timeout, [&] {
    if (status_.live_commit == commit) {
      out = SyncResult::kApplied;
    } else if (status_.last_refused && status_.last_refused->commit == commit) {
      out = SyncResult::kRefused;
    }
    return out.has_value();
  });
  return out;
}

}  // namespace bursar::gitops
