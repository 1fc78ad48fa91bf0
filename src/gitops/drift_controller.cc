#include "gitops/drift_controller.h"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/thread_name.h"
#include "config/loader.h"
#include "gitops/git_writer.h"

namespace bursar::gitops {
namespace {

constexpr char kOverrideColumns[] =
    "id, kind, target, weights, limit_micros, reason, actor, created_at_us, base_commit, state, "
    "closed_at_us, commit_id, note, fields";

OverrideKind KindFromString(const std::string& s) {
  if (s == "routeWeights") return OverrideKind::kRouteWeights;
  if (s == "budgetLimit") return OverrideKind::kBudgetLimit;
  return OverrideKind::kBlockKey;
}

OverrideState StateFromString(const std::string& s) {
  if (s == "healed") return OverrideState::kHealed;
  if (s == "committed") return OverrideState::kCommitted;
  if (s == "reverted") return OverrideState::kReverted;
  if (s == "dropped") return OverrideState::kDropped;
  return OverrideState::kActive;
}

std::string FieldsJson(const std::vector<DriftEntry>& entries, int64_t id) {
  nlohmann::json arr = nlohmann::json::array();
  for (const DriftEntry& e : entries) {
    if (e.override_id != id) continue;
    for (const FieldChange& f : e.fields) {
      arr.push_back({{"resource", e.resource},
                     {"file", e.file},
                     {"path", f.path},
                     {"git", f.before.value_or("")},
                     {"live", f.after.value_or("")}});
    }
  }
  return arr.dump();
}

}  // namespace

StatusOr<DriftPolicy> DriftPolicy::Parse(std::string_view text) {
  DriftPolicy p;
  if (text == "keep") {
    p.mode = Mode::kKeep;
    return p;
  }
  std::string_view value;
  if (text.rfind("heal-after=", 0) == 0) {
    p.mode = Mode::kHeal;
    value = text.substr(11);
  } else if (text.rfind("commit-after=", 0) == 0) {
    p.mode = Mode::kCommit;
    value = text.substr(13);
  } else {
    return InvalidArgumentError("drift policy \"" + std::string(text) +
                                "\": expected heal-after=DURATION, commit-after=DURATION or keep");
  }
  if (value.empty()) return InvalidArgumentError("drift policy needs a duration such as 10m");
  int64_t mult = 1;
  char unit = value.back();
  if (unit == 's' || unit == 'm' || unit == 'h') {
    mult = unit == 's' ? 1 : unit == 'm' ? 60 : 3600;
    value.remove_suffix(1);
  }
  int64_t n = 0;
  if (value.empty()) return InvalidArgumentError("drift policy: bad duration");
  for (char c : value) {
    if (c < '0' || c > '9' || n > 100000000) {
      return InvalidArgumentError("drift policy: bad duration \"" + std::string(value) + "\"");
    }
    n = n * 10 + (c - '0');
  }
  p.after = std::chrono::seconds(n * mult);
  return p;
}

std::string DriftPolicy::ToString() const {
  if (mode == Mode::kKeep) return "keep";
  return std::string(mode == Mode::kHeal ? "heal-after=" : "commit-after=") +
         std::to_string(after.count()) + "s";
}

const std::vector<ledger::Migration>& DriftMigrations() {
  static const std::vector<ledger::Migration> kMigrations = {
      {1, "create drift_overrides",
       "CREATE TABLE drift_overrides ("
       " id BIGINT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, weights TEXT NOT NULL,"
       " limit_micros BIGINT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL,"
       " created_at_us BIGINT NOT NULL, base_commit TEXT NOT NULL, state TEXT NOT NULL,"
       " closed_at_us BIGINT NOT NULL, commit_id TEXT NOT NULL, note TEXT NOT NULL,"
       " fields TEXT NOT NULL);"
       "CREATE INDEX drift_overrides_state ON drift_overrides (state);",
       ""},
  };
  return kMigrations;
}

StatusOr<std::unique_ptr<OverrideStore>> OverrideStore::Open(const std::string& url) {
  BURSAR_ASSIGN_OR_RETURN(std::unique_ptr<ledger::Db> db, ledger::OpenDatabase(url));
  return Create(std::move(db));
}

StatusOr<std::unique_ptr<OverrideStore>> OverrideStore::Create(std::unique_ptr<ledger::Db> db) {
  BURSAR_RETURN_IF_ERROR(ledger::ApplyMigrations(*db, "drift", DriftMigrations()).status());
  return std::unique_ptr<OverrideStore>(new OverrideStore(std::move(db)));
}

StatusOr<int64_t> OverrideStore::Save(const Override& o, const std::string& fields_json) {
  nlohmann::json w = nlohmann::json::object();
  for (const auto& t : o.weights) w[t.model] = t.weight;
  std::lock_guard<std::mutex> l(mu_);
  int64_t id = o.id;
  if (id == 0) {
    BURSAR_ASSIGN_OR_RETURN(auto rows,
                            db_->QueryAll("SELECT COALESCE(MAX(id), 0) FROM drift_overrides"));
    id = rows.empty() ? 1 : rows[0].Int(0) + 1;
  }
  BURSAR_RETURN_IF_ERROR(
      db_->Execute(std::string("INSERT INTO drift_overrides (") + kOverrideColumns +
                       ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
                       "ON CONFLICT (id) DO UPDATE SET state = excluded.state, closed_at_us = "
                       "excluded.closed_at_us, commit_id = excluded.commit_id, note = "
                       "excluded.note, fields = excluded.fields",
                   {id, std::string(ToString(o.kind)), o.target, w.dump(), o.limit, o.reason,
                    o.actor, o.created_at_us, o.base_commit, std::string(ToString(o.state)),
                    o.closed_at_us, o.commit, o.note, fields_json})
          .status());
  return id;
}

StatusOr<std::vector<Override>> OverrideStore::List(bool active_only, size_t limit) {
  std::vector<Override> out;
  std::lock_guard<std::mutex> l(mu_);
  std::string sql = std::string("SELECT ") + kOverrideColumns + " FROM drift_overrides" +
                    (active_only ? " WHERE state = 'active'" : "") + " ORDER BY id DESC LIMIT $1";
  Status s = db_->Query(sql, {static_cast<int64_t>(limit)}, [&](const ledger::Row& r) {
    Override o;
    o.id = r.Int(0);
    o.kind = KindFromString(r.Text(1));
    o.target = r.Text(2);
    nlohmann::json w = nlohmann::json::parse(r.Text(3), nullptr, false);
    if (w.is_object()) {
      for (const auto& [model, weight] : w.items()) {
        if (weight.is_number_integer()) o.weights.push_back({model, weight.get<int>()});
      }
    }
    o.limit = r.Int(4);
    o.reason = r.Text(5);
    o.actor = r.Text(6);
    o.created_at_us = r.Int(7);
    o.base_commit = r.Text(8);
    o.state = StateFromString(r.Text(9));
    o.closed_at_us = r.Int(10);
    o.commit = r.Text(11);
    o.note = r.Text(12);
    out.push_back(std::move(o));
    return OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::string> OverrideStore::Fields(int64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  BURSAR_ASSIGN_OR_RETURN(auto rows,
                          db_->QueryAll("SELECT fields FROM drift_overrides WHERE id = $1", {id}));
  return rows.empty() ? std::string("[]") : rows[0].Text(0);
}

DriftController::DriftController(DriftControllerOptions options, Publisher downstream,
                                 OverrideStore* store)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : RealClock()),
      downstream_(std::move(downstream)),
      store_(store) {}

DriftController::~DriftController() { Stop(); }

Status DriftController::LoadPersisted() {
  if (store_ == nullptr) return OkStatus();
  BURSAR_ASSIGN_OR_RETURN(auto all, store_->List(/*active_only=*/false, 1000));
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    next_id_ = std::max(next_id_, it->id + 1);
    if (it->state == OverrideState::kActive) overrides_.push_back(*it);
  }
  return OkStatus();
}

std::vector<Override> DriftController::ActiveLocked() const {
  std::vector<Override> out;
  for (const Override& o : overrides_) {
    if (o.state == OverrideState::kActive) out.push_back(o);
  }
  return out;
}

void DriftController::Persist(const Override& o) {
  if (store_ == nullptr) return;
  std::string fields = "[]";
  if (git_ != nullptr && o.state == OverrideState::kActive) {
    fields = FieldsJson(DriftOf(*git_, ActiveLocked()), o.id);
  }
  (void)store_->Save(o, fields);  // best effort: the live state does not depend on it
}

void DriftController::CloseLocked(Override& o, OverrideState state, std::string note) {
  o.state = state;
  o.closed_at_us = ToUnixMicros(clock_.Now());
  o.note = std::move(note);
  switch (state) {
    case OverrideState::kHealed:
      ++healed_;
      break;
    case OverrideState::kCommitted:
      ++committed_;
      break;
    case OverrideState::kReverted:
      ++reverted_;
      break;
    case OverrideState::kDropped:
      ++dropped_;
      break;
    case OverrideState::kActive:
      break;
  }
  Persist(o);
}

Status DriftController::PublishLocked() {
  if (git_ == nullptr) return FailedPreconditionError("no Git state yet");
  BURSAR_ASSIGN_OR_RETURN(auto live, ApplyOverrides(*git_, ActiveLocked()));
  live->revision = git_->revision;
  return downstream_ ? downstream_(live, git_commit_) : OkStatus();
}

Status DriftController::OnGitState(std::shared_ptr<const config::DesiredState> git,
                                   const CommitInfo& commit) {
  std::lock_guard<std::mutex> l(mu_);
  git_ = std::move(git);
  git_commit_ = commit;
  for (Override& o : overrides_) {
    if (o.state != OverrideState::kActive) continue;
    if (o.note.rfind("commit failed", 0) == 0) o.note.clear();  // a new commit: try again
    Status applies = CheckOverride(*git_, o);
    if (IsNoOp(*git_, o)) {
      if (!o.commit.empty()) {
        CloseLocked(o, OverrideState::kCommitted, "Git agrees since " + commit.id);
      } else {
        CloseLocked(o, OverrideState::kDropped, "Git agrees since " + commit.id);
      }
    } else if (!applies.ok()) {
      CloseLocked(o, OverrideState::kDropped,
                  "no longer applies at " + commit.id + ": " + applies.message());
    }
  }
  Status s = PublishLocked();
  for (const Override& o : overrides_) {
    if (o.state == OverrideState::kActive) Persist(o);
  }
  return s;
}

StatusOr<Override> DriftController::Add(Override o) {
  std::lock_guard<std::mutex> l(mu_);
  if (git_ == nullptr) return FailedPreconditionError("no configuration is live yet");
  // Must apply on top of the overrides already active.
  std::vector<Override> active = ActiveLocked();
  BURSAR_ASSIGN_OR_RETURN(auto current, ApplyOverrides(*git_, active));
  BURSAR_RETURN_IF_ERROR(CheckOverride(*git_, o));
  BURSAR_RETURN_IF_ERROR(CheckOverride(*current, o));
  o.id = next_id_++;
  o.created_at_us = ToUnixMicros(clock_.Now());
  o.base_commit = git_->revision;
  o.state = OverrideState::kActive;
  o.closed_at_us = 0;
  o.commit.clear();
  o.note.clear();
  overrides_.push_back(o);
  Status s = PublishLocked();
  if (!s.ok()) {
    overrides_.pop_back();
    return s;
  }
  ++added_;
  Persist(o);
  return o;
}

Status DriftController::Revert(int64_t id, const std::string& actor) {
  std::lock_guard<std::mutex> l(mu_);
  for (Override& o : overrides_) {
    if (o.id != id) continue;
    if (o.state != OverrideState::kActive) {
      return FailedPreconditionError("override #" + std::to_string(id) + " is already " +
                                     std::string(ToString(o.state)));
    }
    CloseLocked(o, OverrideState::kReverted, "reverted by " + (actor.empty() ? "admin" : actor));
    return PublishLocked();
  }
  return NotFoundError("no override #" + std::to_string(id));
}

StatusOr<std::string> DriftController::CommitOverride(const Override& o,
                                                      const config::DesiredState& /*git*/,
                                                      const std::string& /*base_commit*/) {
  std::unique_ptr<GitRepository> repo;
  if (IsRemoteSource(options_.source)) {
    BURSAR_ASSIGN_OR_RETURN(
        repo, GitRepository::OpenMirror(options_.source, options_.cache_dir + ".drift"));
  } else {
    BURSAR_ASSIGN_OR_RETURN(repo, GitRepository::Open(options_.source));
  }
  std::string branch = options_.branch;
  if (branch.empty()) {
    BURSAR_ASSIGN_OR_RETURN(branch, repo->HeadBranch());
  }
  if (branch.rfind("refs/", 0) != 0) branch = "refs/heads/" + branch;
  // Edit the branch tip (it may be ahead of the live commit, e.g. with a refused commit).
  BURSAR_ASSIGN_OR_RETURN(std::string tip, repo->ResolveCommit(branch));
  BURSAR_ASSIGN_OR_RETURN(auto files, repo->ReadFiles(tip));
  config::LoadResult tip_state = config::LoadDesiredState(files);
  if (tip_state.state == nullptr || !tip_state.diagnostics.empty()) {
    return FailedPreconditionError("the branch tip " + tip.substr(0, 12) +
                                   " does not validate; fix it before the override can be "
                                   "committed");
  }
  BURSAR_ASSIGN_OR_RETURN(auto edits, OverrideEdits(files, *tip_state.state, o));
  // Validate the result before writing it: bursar never commits what it would refuse.
  std::vector<config::SourceFile> after = files;
  for (const FileEdit& e : edits) {
    auto it =
        std::find_if(after.begin(), after.end(), [&](const auto& f) { return f.path == e.path; });
    if (!e.content) {
      if (it != after.end()) after.erase(it);
    } else if (it != after.end()) {
      it->content = *e.content;
    }
  }
  config::LoadResult check = config::LoadDesiredState(after);
  if (!check.diagnostics.empty() || check.state == nullptr) {
    return FailedPreconditionError(
        "writing the override would not validate: " +
        (check.diagnostics.empty() ? std::string("no state") : check.diagnostics[0].ToString()));
  }
  CommitRequest req;
  req.branch = branch;
  req.expected_parent = tip;
  req.edits = std::move(edits);
  req.message = OverrideCommitMessage(o);
  BURSAR_ASSIGN_OR_RETURN(CommitResult written, WriteCommit(*repo, req));
  if (HasRemote(*repo, options_.push_remote)) {
    BURSAR_RETURN_IF_ERROR(PushBranch(*repo, options_.push_remote, written.branch));
  }
  return written.commit;
}

StatusOr<int> DriftController::Tick() {
  std::lock_guard<std::mutex> tick(tick_mu_);
  if (options_.policy.mode == DriftPolicy::Mode::kKeep) return 0;
  TimePoint now = clock_.Now();
  int64_t due_before = ToUnixMicros(now - options_.policy.after);
  std::vector<Override> due;
  std::shared_ptr<const config::DesiredState> git;
  {
    std::lock_guard<std::mutex> l(mu_);
    git = git_;
    for (Override& o : overrides_) {
      if (o.state != OverrideState::kActive || o.created_at_us > due_before) continue;
      if (options_.policy.mode == DriftPolicy::Mode::kHeal) {
        CloseLocked(o, OverrideState::kHealed,
                    "healed after " + std::to_string(options_.policy.after.count()) +
                        "s: Git's state restored");
        due.push_back(o);
      } else if (o.commit.empty() && o.note.rfind("commit failed", 0) != 0) {
        due.push_back(o);
      }
    }
    if (options_.policy.mode == DriftPolicy::Mode::kHeal) {
      if (!due.empty()) BURSAR_RETURN_IF_ERROR(PublishLocked());
      return static_cast<int>(due.size());
    }
  }
  int done = 0;
  for (const Override& o : due) {
    auto commit = CommitOverride(o, *git, o.base_commit);
    std::function<void(const std::string&)> on_commit;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (Override& mine : overrides_) {
        if (mine.id != o.id) continue;
        if (commit.ok() && mine.state == OverrideState::kDropped) {
          // The syncer applied our commit before we got here: Git agrees because of it.
          mine.state = OverrideState::kCommitted;
          mine.commit = *commit;
          mine.note = "written to Git as " + *commit;
          --dropped_;
          ++committed_;
          Persist(mine);
          continue;
        }
        if (mine.state != OverrideState::kActive) continue;
        if (commit.ok()) {
          mine.commit = *commit;
          mine.note = "written to Git as " + *commit + "; closes when that commit is live";
        } else {
          mine.note = "commit failed: " + commit.status().ToString();
        }
        Persist(mine);
      }
      on_commit = on_commit_;
    }
    if (commit.ok()) {
      ++done;
      if (on_commit) on_commit(*commit);
    }
  }
  return done;
}

Status DriftController::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return FailedPreconditionError("drift controller already running");
  stop_ = false;
  thread_ = std::thread([this] {
    SetThreadName("bursar-drift");
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      TimePoint deadline = clock_.Now() + std::chrono::seconds(1);
      clock_.WaitUntil(cv_, lock, deadline, [this] { return stop_; });
      if (stop_) break;
      lock.unlock();
      (void)Tick();
      lock.lock();
    }
  });
  return OkStatus();
}

void DriftController::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DriftController::set_on_commit(std::function<void(const std::string&)> fn) {
  std::lock_guard<std::mutex> l(mu_);
  on_commit_ = std::move(fn);
}

std::vector<Override> DriftController::Overrides() const {
  std::lock_guard<std::mutex> l(mu_);
  return std::vector<Override>(overrides_.rbegin(), overrides_.rend());
}

std::vector<DriftEntry> DriftController::Drift() const {
  std::lock_guard<std::mutex> l(mu_);
  if (git_ == nullptr) return {};
  return DriftOf(*git_, ActiveLocked());
}

std::string DriftController::live_commit() const {
  std::lock_guard<std::mutex> l(mu_);
  return git_ ? git_->revision : "";
}

std::string DriftController::RenderMetrics() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Override> active = ActiveLocked();
  size_t resources = git_ ? DriftOf(*git_, active).size() : 0;
  std::ostringstream o;
  o << "# HELP bursar_drift_active_overrides Emergency overrides applied on top of Git.\n"
    << "# TYPE bursar_drift_active_overrides gauge\n"
    << "bursar_drift_active_overrides " << active.size() << "\n"
    << "# HELP bursar_drift_resources Resources whose live state differs from Git.\n"
    << "# TYPE bursar_drift_resources gauge\n"
    << "bursar_drift_resources " << resources << "\n"
    << "# HELP bursar_drift_actions_total Overrides by what happened to them since start.\n"
    << "# TYPE bursar_drift_actions_total counter\n"
    << "bursar_drift_actions_total{action=\"added\"} " << added_ << "\n"
    << "bursar_drift_actions_total{action=\"healed\"} " << healed_ << "\n"
    << "bursar_drift_actions_total{action=\"committed\"} " << committed_ << "\n"
    << "bursar_drift_actions_total{action=\"reverted\"} " << reverted_ << "\n"
    << "bursar_drift_actions_total{action=\"dropped\"} " << dropped_ << "\n";
  return o.str();
}

}  // namespace bursar::gitops
