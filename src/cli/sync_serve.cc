#include "cli/sync_serve.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "gitops/git_source.h"
#include "gitops/syncer.h"

namespace bursar::cli {
namespace {

StatusOr<std::chrono::milliseconds> ParseInterval(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) {
    return InvalidArgumentError("--sync-interval \"" + text + "\": expected e.g. 500ms, 30s, 5m");
  }
  int64_t n = std::stoll(text.substr(0, digits));
  std::string unit = text.substr(digits);
  int64_t ms = unit == "ms"                  ? n
               : unit == "s" || unit.empty() ? n * 1000
               : unit == "m"                 ? n * 60000
               : unit == "h"                 ? n * 3600000
                                             : -1;
  if (ms <= 0) {
    return InvalidArgumentError("--sync-interval \"" + text + "\": expected e.g. 500ms, 30s, 5m");
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

void AddSyncServeFlags(CLI::App& sub, SyncServeFlags* f) {
  sub.add_option("--branch", f->branch, "Branch to follow (default: the branch HEAD names)");
  sub.add_option("--sync-interval", f->sync_interval,
                 "How often to poll the repository for new commits (500ms, 30s, 5m)")
      ->capture_default_str();
  sub.add_option("--webhook-secret-env", f->webhook_secret_env,
                 "Environment variable holding the push webhook secret (POST /hooks/git off "
                 "without it)");
  sub.add_option("--drift-policy", f->drift_policy,
                 "What happens to emergency overrides: heal-after=DURATION, "
                 "commit-after=DURATION or keep")
      ->capture_default_str();
  sub.add_option("--sync-cache", f->cache_dir,
                 "Where a --repo URL is mirrored (default: DATA/git-cache)");
}

bool FollowsGit(const std::string& repo) {
  return gitops::IsRemoteSource(repo) || gitops::IsGitRepository(repo);
}

StatusOr<std::unique_ptr<SyncServe>> SyncServe::Begin(const SyncServeFlags& flags,
                                                      const std::string& repo,
                                                      const std::string& data_dir,
                                                      const std::string& store_url,
                                                      const std::string& admin_token) {
  gitops::GitOpsServiceOptions o;
  o.sync.source = repo;
  o.sync.branch = flags.branch;
  o.sync.cache_dir = flags.cache_dir.empty()
                         ? (std::filesystem::path(data_dir) / "git-cache").string()
                         : flags.cache_dir;
  BURSAR_ASSIGN_OR_RETURN(o.sync.poll_interval, ParseInterval(flags.sync_interval));
  BURSAR_ASSIGN_OR_RETURN(o.drift, gitops::DriftPolicy::Parse(flags.drift_policy));
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  o.data = store_url.empty() ? data_dir : store_url;
  if (!flags.webhook_secret_env.empty()) {
    const char* secret = std::getenv(flags.webhook_secret_env.c_str());
    if (secret == nullptr || *secret == '\0') {
      return InvalidArgumentError("environment variable " + flags.webhook_secret_env +
                                  " (--webhook-secret-env) is empty");
    }
    o.webhook_secret = secret;
  }
  o.admin_token = admin_token;
  std::unique_ptr<SyncServe> s(new SyncServe());
  SyncServe* self = s.get();
  BURSAR_ASSIGN_OR_RETURN(
      s->service_,
      gitops::GitOpsService::Create(
          o, [self](config::DesiredStatePtr state, const gitops::CommitInfo& commit) -> Status {
            if (server::GatewayServer* srv = self->server_.load(std::memory_order_acquire)) {
              Status published = srv->Publish(state);
              if (published.ok()) {
                std::printf("bursar: live commit %s\n", commit.id.c_str());
                std::fflush(stdout);
              }
              return published;
            }
            self->first_ = std::move(state);  // before the server starts: its first state
            return OkStatus();
          }));
  BURSAR_RETURN_IF_ERROR(s->service_->InitialSync().status());
  if (s->first_ == nullptr) return FailedPreconditionError("the first sync published nothing");
  return s;
}

SyncServe::~SyncServe() { Stop(); }

std::string SyncServe::live_commit() const { return service_->syncer().status().live_commit; }

void SyncServe::Hook(server::ServeOptions* options) {
  gitops::GitOpsService* service = service_.get();
  options->extra_routes = [service](const gateway::HttpRequest& req, int* status,
                                    std::string* content_type, std::string* body) {
    if (!gitops::GitOpsService::Serves(req.target)) return false;
    gitops::ControlRequest c;
    c.method = req.method;
    c.target = req.target;
    c.authorization = req.authorization;
    c.headers = req.headers;
    c.body = req.body;
    gitops::ControlResponse r = service->Handle(c);
    *status = r.status;
    *content_type = std::move(r.content_type);
    *body = std::move(r.body);
    return true;
  };
  options->extra_metrics = [service] { return service->Metrics(); };
}

Status SyncServe::Attach(server::GatewayServer* server) {
  server_.store(server, std::memory_order_release);
  return service_->Start();
}

void SyncServe::Stop() {
  if (service_) service_->Stop();
  server_.store(nullptr, std::memory_order_release);
}

}  // namespace bursar::cli
