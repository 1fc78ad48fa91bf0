// The gateway's request handler: the OpenAI-compatible endpoints and the control endpoints.
//
//   POST /v1/chat/completions   (stream:true passes server-sent events through as they arrive)
//   POST /v1/embeddings
//   GET  /v1/models             the routes the key may use, OpenAI list shape
//   GET  /metrics, /healthz, /readyz
//   /admin/...                  Authorization: Bearer <admin token>; 403 when no token is set
//
// Per inference request: authenticate (SHA-256 of the bearer key, constant-time compare), check
// the key's routes, parse, estimate, rate-limit, admit against budgets (allow / alert /
// downgrade / block), answer from the response cache when the route enables it, call the upstream
// through the router (weighted pick, retries with backoff, fallbacks, circuit breakers), bill the
// usage the upstream reports, settle or release the reservation, and append the spend record to
// the ledger BEFORE the response completes (for streams: before the terminating data: [DONE]).
// Errors use OpenAI's error JSON: 400, 401, 404, 413, 429, 502, 504 (and 500/503 for the ledger
// or readiness).
//
// Threads: one handler per worker (MakeGatewayHandler is the server's HandlerFactory); the
// GatewayServices it points to are shared by all workers and must outlive the server.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "gateway/budget.h"
#include "gateway/http_server.h"
#include "gateway/metrics.h"
#include "gateway/rate_limiter.h"
#include "gateway/response_cache.h"
#include "gateway/snapshot.h"

namespace bursar::ledger {
class LedgerWriter;
}

namespace bursar::gateway {

struct GatewayServices {
  SnapshotHolder* snapshots = nullptr;
  BudgetTracker* budgets = nullptr;  // null: no budgets configured
  RateLimiter* rate_limiter = nullptr;
  ResponseCache* cache = nullptr;
  ledger::LedgerWriter* ledger = nullptr;
  Metrics* metrics = nullptr;
  std::shared_ptr<asio::ssl::context> tls;  // for https upstreams (may be null)
  std::string admin_token;                  // "" = admin endpoints disabled (403)
  std::atomic<bool> ready{false};           // config loaded and ledger replayed
  std::function<int()> in_flight;           // requests in flight (for metrics); may be empty
  // The GitOps endpoints and the lines they append to /metrics (cli/sync_serve.h); may be empty.
  ExtraRoutes extra_routes;
  std::function<std::string()> extra_metrics;
};

std::unique_ptr<RequestHandler> MakeGatewayHandler(GatewayServices& services, asio::io_context& ioc,
                                                   int worker_index);

}  // namespace bursar::gateway
