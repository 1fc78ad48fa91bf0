// The GitOps control loop as one component for `bursar serve`: the Syncer (follow a branch),
// the DriftController (emergency overrides and the drift policy), the sync history and override
// store in the ledger, the webhook verifier, and the HTTP endpoints that expose them. The server
// calls Handle() for the paths Serves() claims and appends Metrics() to /metrics; it never sees
// the parts.
//
// Endpoints (JSON bodies; errors {"error":{"message","code"}}):
//   POST   /hooks/git              push webhook (GitHub, GitLab, generic; webhook.h): 202 when it
//                                  triggers a sync, 200 when ignored, 401 bad signature,
//                                  413 too large, 404 when no webhook secret is configured
//   GET    /api/sync-status        live commit, branch, last sync, last refusal, counts
//   GET    /api/sync-history       ?limit=N, newest first (sync_history.h JSON)
//   GET    /api/drift              live vs Git, field by field, and the overrides
//   GET    /admin/drift            the same
//   GET    /admin/overrides        every override this run, newest first
//   POST   /admin/overrides        add one (drift.h ParseOverrideJson): 201 with the override
//   DELETE /admin/overrides/{id}   revert one: 200
// /api/* and /admin/* need "Authorization: Bearer <admin token>" when an admin token is set;
// without one, /admin/* answers 403 and /api/* is open (read-only).
//
// Threads: Handle() and Metrics() may be called from any number of threads at once. Create, then
// InitialSync (the first configuration, before serving), then Start; Stop joins the loop
// threads. The Publisher (the server's snapshot swap) is called from the syncer's thread, the
// drift thread and Handle() callers, one at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "gitops/drift_controller.h"
#include "gitops/sync_history.h"
#include "gitops/syncer.h"
#include "gitops/webhook.h"

namespace bursar::gitops {

struct GitOpsServiceOptions {
  SyncerOptions sync;          // source, branch, cache_dir, poll_interval, clock
  DriftPolicy drift;           // default heal-after=10m
  std::string data;            // ledger URL or data folder for history and overrides ("" = memory)
  std::string webhook_secret;  // "" = POST /hooks/git disabled
  std::string admin_token;     // "" = /admin/* disabled, /api/* open
};

struct ControlRequest {
  std::string_view method;
  std::string_view target;         // path and query
  std::string_view authorization;  // the Authorization header ("" when absent)
  WebhookHeaders headers;          // all headers (the webhook needs its X-* headers)
  std::string_view body;
};

struct ControlResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class GitOpsService {
 public:
  // Opens the ledger tables (when `data` is set) and builds the parts. Does not touch Git yet.
  static StatusOr<std::unique_ptr<GitOpsService>> Create(GitOpsServiceOptions options,
                                                         Publisher publish);
  ~GitOpsService();

  // Syncs the branch once on the calling thread. FailedPrecondition when no commit could be
  // applied (the tip does not validate and nothing was live), with the errors.
  StatusOr<SyncRecord> InitialSync();
  Status Start();
  void Stop();

  static bool Serves(std::string_view path);
  ControlResponse Handle(const ControlRequest& request);
  std::string Metrics() const;

  Syncer& syncer() { return *syncer_; }
  DriftController& drift() { return *drift_; }

 private:
  GitOpsService() = default;
  ControlResponse HandleWebhook(const ControlRequest& request);
  ControlResponse HandleAdmin(const ControlRequest& request, std::string_view path);

  GitOpsServiceOptions options_;
  std::unique_ptr<SyncHistory> history_;
  std::unique_ptr<OverrideStore> store_;
  std::unique_ptr<DriftController> drift_;
  std::unique_ptr<Syncer> syncer_;
};

}  // namespace bursar::gitops
