#include "gitops/syncer_service.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace bursar::gitops {
namespace {

ControlResponse Json(int status, const nlohmann::json& j) {
  return {status, "application/json",
          j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

ControlResponse Error(int status, std::string_view code, const std::string& message) {
  return Json(status, {{"error", {{"message", message}, {"code", code}}}});
}

int HttpStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

ControlResponse FromStatus(const Status& s) {
  return Error(HttpStatus(s), StatusCodeName(s.code()), s.message());
}

std::string_view PathOf(std::string_view target) {
  size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

// The value of `key` in the query string, "" when absent.
std::string_view QueryParam(std::string_view target, std::string_view key) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

nlohmann::json RecordJson(const SyncRecord& r) {
  return nlohmann::json::parse(FormatHistoryJson({r}))[0];
}

}  // namespace

StatusOr<std::unique_ptr<GitOpsService>> GitOpsService::Create(GitOpsServiceOptions options,
                                                               Publisher publish) {
  std::unique_ptr<GitOpsService> s(new GitOpsService());
  s->options_ = std::move(options);
  if (!s->options_.data.empty()) {
    BURSAR_ASSIGN_OR_RETURN(s->history_, SyncHistory::Open(s->options_.data));
    BURSAR_ASSIGN_OR_RETURN(s->store_, OverrideStore::Open(s->options_.data));
  }
  DriftControllerOptions d;
  d.policy = s->options_.drift;
  d.clock = s->options_.sync.clock;
  d.source = s->options_.sync.source;
  d.branch = s->options_.sync.branch;
  d.cache_dir = s->options_.sync.cache_dir;
  s->drift_ = std::make_unique<DriftController>(d, std::move(publish), s->store_.get());
  BURSAR_RETURN_IF_ERROR(s->drift_->LoadPersisted());
  DriftController* drift = s->drift_.get();
  SyncHistory* history = s->history_.get();
  s->syncer_ = std::make_unique<Syncer>(
      s->options_.sync,
      [drift](std::shared_ptr<const config::DesiredState> state, const CommitInfo& commit) {
        return drift->OnGitState(std::move(state), commit);
      },
      DefaultPolicyCheck,
      [history](const SyncRecord& r) {
        if (history != nullptr) (void)history->Record(r);  // history is best effort
      });
  Syncer* syncer = s->syncer_.get();
  s->drift_->set_on_commit([syncer](const std::string&) { syncer->Trigger("drift"); });
  return s;
}

GitOpsService::~GitOpsService() { Stop(); }

StatusOr<SyncRecord> GitOpsService::InitialSync() {
  BURSAR_ASSIGN_OR_RETURN(std::optional<SyncRecord> rec, syncer_->SyncOnce("start"));
  SyncStatus st = syncer_->status();
  if (st.live_commit.empty()) {
    std::string why = "no valid commit to serve";
    if (rec) {
      why = "commit " + rec->commit.substr(0, 12) + " " + std::string(ToString(rec->result));
      for (const std::string& e : rec->errors) why += "\n  " + e;
    }
    return FailedPreconditionError(why);
  }
  if (!rec) return FailedPreconditionError("nothing synced");
  return *rec;
}

Status GitOpsService::Start() {
  BURSAR_RETURN_IF_ERROR(syncer_->Start());
  return drift_->Start();
}

void GitOpsService::Stop() {
  if (syncer_) syncer_->Stop();
  if (drift_) drift_->Stop();
}

bool GitOpsService::Serves(std::string_view target) {
  std::string_view path = PathOf(target);
  return path == "/hooks/git" || path == "/api/sync-status" || path == "/api/sync-history" ||
         path == "/api/drift" || path == "/admin/drift" || path == "/admin/overrides" ||
         path.rfind("/admin/overrides/", 0) == 0;
}

ControlResponse GitOpsService::Handle(const ControlRequest& req) {
  std::string_view path = PathOf(req.target);
  if (path == "/hooks/git") return HandleWebhook(req);
  bool admin = path.rfind("/admin/", 0) == 0;
  if (options_.admin_token.empty()) {
    if (admin) {
      return Error(403, "admin_disabled",
                   "admin endpoints are disabled: start serve with --admin-token-env");
    }
  } else {
    std::string_view auth = req.authorization;
    constexpr std::string_view kBearer = "Bearer ";
    std::string_view token =
        auth.rfind(kBearer, 0) == 0 ? auth.substr(kBearer.size()) : std::string_view();
    if (!ConstantTimeEquals(token, options_.admin_token)) {
      return Error(401, "invalid_admin_token", "admin token required (Authorization: Bearer)");
    }
  }
  if (path == "/api/sync-status" && req.method == "GET") {
    SyncStatus st = syncer_->status();
    nlohmann::json j;
    j["branch"] = st.branch;
    j["liveCommit"] = st.live_commit;
    j["lastSync"] = st.last ? RecordJson(*st.last) : nlohmann::json(nullptr);
    j["lastRefused"] = st.last_refused ? RecordJson(*st.last_refused) : nlohmann::json(nullptr);
    j["lastError"] = st.last_error;
    j["counts"] = {{"applied", st.applied}, {"refused", st.refused}, {"failed", st.failed}};
    j["driftPolicy"] = options_.drift.ToString();
    return Json(200, j);
  }
  if (path == "/api/sync-history" && req.method == "GET") {
    if (history_ == nullptr) return Error(404, "no_history", "no ledger: sync history is off");
    size_t limit = 100;
    std::string_view l = QueryParam(req.target, "limit");
    if (!l.empty()) {
      auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
      if (ec != std::errc() || p != l.data() + l.size() || limit == 0 || limit > 10000) {
        return Error(400, "bad_limit", "limit must be 1..10000");
      }
    }
    auto rows = history_->List(limit);
    if (!rows.ok()) return FromStatus(rows.status());
    return {200, "application/json", FormatHistoryJson(*rows)};
  }
  if ((path == "/api/drift" || path == "/admin/drift") && req.method == "GET") {
    return {200, "application/json",
            FormatDriftJson(drift_->live_commit(), drift_->Drift(), drift_->Overrides())};
  }
  if (admin) return HandleAdmin(req, path);
  return Error(405, "method_not_allowed",
               std::string(req.method) + " is not allowed on " + std::string(path));
}

ControlResponse GitOpsService::HandleWebhook(const ControlRequest& req) {
  if (options_.webhook_secret.empty()) {
    return Error(404, "webhook_disabled",
                 "no webhook secret configured: start serve with --webhook-secret-env");
  }
  if (req.method != "POST") return Error(405, "method_not_allowed", "POST only");
  // The followed branch as the syncer resolved it ("" branch option: HEAD's branch).
  std::string branch = options_.sync.branch;
  if (branch.empty()) branch = syncer_->status().branch;
  if (branch.empty()) branch = "main";
  WebhookVerifier verifier(options_.webhook_secret, branch);
  auto ev = verifier.Verify(req.headers, req.body);
  if (!ev.ok()) return FromStatus(ev.status());
  nlohmann::json j = {{"flavor", std::string(ToString(ev->flavor))},
                      {"event", ev->event},
                      {"ref", ev->ref},
                      {"after", ev->after},
                      {"triggered", ev->trigger}};
  if (!ev->trigger) {
    j["reason"] = ev->reason;
    return Json(200, j);
  }
  syncer_->Trigger("webhook");
  return Json(202, j);
}

ControlResponse GitOpsService::HandleAdmin(const ControlRequest& req, std::string_view path) {
  if (path == "/admin/overrides" && req.method == "GET") {
    nlohmann::json arr = nlohmann::json::array();
    for (const Override& o : drift_->Overrides())
      arr.push_back(nlohmann::json::parse(OverrideToJson(o)));
    return Json(200, arr);
  }
  if (path == "/admin/overrides" && req.method == "POST") {
    auto o = ParseOverrideJson(req.body);
    if (!o.ok()) return FromStatus(o.status());
    if (o->actor.empty()) o->actor = "admin";
    auto added = drift_->Add(*std::move(o));
    if (!added.ok()) return FromStatus(added.status());
    return {201, "application/json", OverrideToJson(*added) + "\n"};
  }
  if (path.rfind("/admin/overrides/", 0) == 0 && req.method == "DELETE") {
    std::string_view id_text = path.substr(std::string_view("/admin/overrides/").size());
    int64_t id = 0;
    auto [p, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (ec != std::errc() || p != id_text.data() + id_text.size()) {
      return Error(400, "bad_id", "override id must be a number");
    }
    Status s = drift_->Revert(id, "admin");
    if (!s.ok()) return FromStatus(s);
    return Json(200, {{"reverted", id}});
  }
  return Error(405, "method_not_allowed",
               std::string(req.method) + " is not allowed on " + std::string(path));
}

std::string GitOpsService::Metrics() const {
  Clock& clock = options_.sync.clock != nullptr ? *options_.sync.clock : RealClock();
  return RenderSyncMetrics(syncer_->status(), clock.Now()) + drift_->RenderMetrics();
}

}  // namespace bursar::gitops
