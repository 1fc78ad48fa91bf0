// `bursar serve`: wires the gateway's parts into one process.
//
// GatewayServer::Start loads nothing itself; it takes a validated DesiredState (see
// LoadRepositoryHead), opens the spend ledger under the data folder (replaying whatever an earlier
// process left in the log), seeds the budget counters from the ledger, builds the first
// configuration Snapshot, and starts the HTTP workers. Publish() swaps in a new configuration
// (live re-sync from Git calls it): requests in flight keep the snapshot they started with;
// budgets keep their spend when their name, period, zone and scope are unchanged.
// Stop() stops accepting, drains in-flight requests up to a deadline, then flushes and closes the
// ledger.
//
// Threads: Start/Stop from one controlling thread; Publish from any thread (serialised by a
// mutex); the HTTP workers are the server's own threads.
// Errors: Start - Unavailable (cannot listen), the ledger's errors (cannot open or replay),
// InvalidArgument (bad listen address, unusable configuration).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "config/model.h"
#include "gateway/http_types.h"

namespace bursar::server {

struct ServeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;     // 0: any free port
  std::string data_dir;     // spend log + SQLite ledger
  std::string store_url;    // "" = SQLite under data_dir; or postgres://...
  int workers = 0;          // 0: one per CPU
  std::string admin_token;  // "" = admin endpoints disabled
  bool fsync = false;       // fdatasync the spend log per batch (power-loss durability)
  size_t max_body_bytes = 32 << 20;
  int64_t cache_max_bytes = 256 << 20;
  gateway::ExtraRoutes extra_routes;           // the GitOps endpoints (serve_cmd wires them)
  std::function<std::string()> extra_metrics;  // appended to /metrics
};

// Reads the configuration at a Git repository's HEAD (revision = the commit id), or of a plain
// directory (revision ""). InvalidArgument with every diagnostic when it does not validate.
StatusOr<config::DesiredStatePtr> LoadRepositoryHead(const std::string& path);

// Parses "HOST:PORT" ("[::1]:8080", "0.0.0.0:0").
Status ParseListen(const std::string& listen, std::string* host, uint16_t* port);

class GatewayServer {
 public:
  static StatusOr<std::unique_ptr<GatewayServer>> Start(const ServeOptions& options,
                                                        const config::DesiredStatePtr& state);
  ~GatewayServer();  // Stop(0) if running

  uint16_t port() const;
  // Validates the lookup tables and swaps the new configuration in.
  Status Publish(const config::DesiredStatePtr& state);
  // Drains for at most `drain`, then flushes and closes the ledger. Idempotent.
  Status Stop(std::chrono::milliseconds drain);

  struct Impl;

 private:
  explicit GatewayServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bursar::server
