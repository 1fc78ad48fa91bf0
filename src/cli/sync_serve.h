// `bursar serve`'s GitOps part: the flags of the control loop and its wiring into the server
// (gitops/syncer_service.h does the work). Used only by serve_cmd.cc.
//
// Flow: Begin() creates the service and syncs the branch once (the server must not start without
// a valid configuration); Hook() adds the control endpoints and metrics to the ServeOptions;
// Attach() sends later publishes to the started server and starts the sync and drift threads;
// Stop() joins them (before the server stops).
// Threads: Begin/Hook/Attach/Stop on serve's controlling thread; the hooks run on HTTP workers.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "common/status.h"
#include "gitops/syncer_service.h"
#include "server/gateway_server.h"

namespace CLI {
class App;
}

namespace bursar::cli {

struct SyncServeFlags {
  std::string branch;                 // "" = the branch HEAD names
  std::string sync_interval = "30s";  // poll interval
  std::string webhook_secret_env;     // POST /hooks/git off without it
  std::string drift_policy = "heal-after=10m";
  std::string cache_dir;  // mirrors of URLs ("" = DATA/git-cache)
};

void AddSyncServeFlags(CLI::App& sub, SyncServeFlags* flags);

// True when `repo` should be followed live (a Git repository or a URL) rather than read once
// (a plain directory).
bool FollowsGit(const std::string& repo);

class SyncServe {
 public:
  // InvalidArgument for bad flags, FailedPrecondition when no commit can be served (with the
  // errors), the Git source's errors otherwise.
  static StatusOr<std::unique_ptr<SyncServe>> Begin(const SyncServeFlags& flags,
                                                    const std::string& repo,
                                                    const std::string& data_dir,
                                                    const std::string& store_url,
                                                    const std::string& admin_token);
  ~SyncServe();
  config::DesiredStatePtr first_state() const { return first_; }
  std::string live_commit() const;
  void Hook(server::ServeOptions* options);
  Status Attach(server::GatewayServer* server);
  void Stop();

 private:
  SyncServe() = default;
  std::unique_ptr<gitops::GitOpsService> service_;
  std::atomic<server::GatewayServer*> server_{nullptr};
  config::DesiredStatePtr first_;
};

}  // namespace bursar::cli
