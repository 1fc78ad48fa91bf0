#include "server/gateway_server.h"

#include <thread>

#include "config/loader.h"
#include "gateway/handler.h"
#include "gateway/http_server.h"
#include "gitops/git_source.h"
#include "ledger/store.h"
#include "ledger/writer.h"

namespace bursar::server {

StatusOr<config::DesiredStatePtr> LoadRepositoryHead(const std::string& path) {
  std::vector<config::SourceFile> files;
  std::string revision;
  if (gitops::IsGitRepository(path)) {
    BURSAR_ASSIGN_OR_RETURN(auto repo, gitops::GitRepository::Open(path));
    BURSAR_ASSIGN_OR_RETURN(revision, repo->ResolveCommit("HEAD"));
    BURSAR_ASSIGN_OR_RETURN(files, repo->ReadFiles(revision));
  } else {
    BURSAR_ASSIGN_OR_RETURN(files, config::ReadDirectory(path));
  }
  config::LoadResult loaded = config::LoadDesiredState(files);
  if (!loaded.diagnostics.empty() || !loaded.state) {
    std::string message = "configuration at " + path + " does not validate:";
    for (const auto& d : loaded.diagnostics) message += "\n  " + d.ToString();
    return InvalidArgumentError(message);
  }
  loaded.state->revision = revision;
  return config::DesiredStatePtr(std::move(loaded.state));
}

Status ParseListen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return InvalidArgumentError("--listen wants HOST:PORT");
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  std::string p = listen.substr(colon + 1);
  int value = -1;
  try {
    size_t used = 0;
    value = std::stoi(p, &used);
    if (used != p.size()) value = -1;
  } catch (...) {
    value = -1;
  }
  if (value < 0 || value > 65535) return InvalidArgumentError("bad port in --listen: " + p);
  *host = h;
  *port = static_cast<uint16_t>(value);
  return OkStatus();
}

struct GatewayServer::Impl {
  ServeOptions options;
  std::mutex publish_mu;  // serialises Publish
  gateway::CircuitBreakers breakers;
  gateway::SnapshotHolder snapshots;
  gateway::Metrics metrics;
  std::unique_ptr<ledger::LedgerWriter> ledger;
  std::mutex seed_mu;  // guards seed_store (budget seeding runs on the publishing thread)
  std::unique_ptr<ledger::Store> seed_store;
  std::unique_ptr<gateway::BudgetTracker> budgets;
  std::unique_ptr<gateway::RateLimiter> rate_limiter;
  std::unique_ptr<gateway::ResponseCache> cache;
  gateway::GatewayServices services;
  std::unique_ptr<gateway::HttpServer> http;
  bool stopped = false;

  Micros Seed(const config::Budget& b, gateway::SysSeconds start, gateway::SysSeconds end) {
    ledger::SpendFilter f;
    f.since_us =
        std::chrono::duration_cast<std::chrono::microseconds>(start.time_since_epoch()).count();
    f.until_us =
        std::chrono::duration_cast<std::chrono::microseconds>(end.time_since_epoch()).count();
    f.tags = b.scope.tags;
    f.keys = b.scope.keys;
    f.routes = b.scope.routes;
    f.models = b.scope.models;
    f.currency = b.currency;
    std::lock_guard<std::mutex> lock(seed_mu);
    if (!seed_store) return 0;
    auto sum = seed_store->SumCost(f);
    return sum.ok() ? *sum : 0;
  }
};

GatewayServer::GatewayServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GatewayServer::~GatewayServer() { (void)Stop(std::chrono::milliseconds(0)); }
uint16_t GatewayServer::port() const { return impl_->http ? impl_->http->port() : 0; }

StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    const ServeOptions& options, const config::DesiredStatePtr& state) {
  auto impl = std::make_unique<Impl>();
  Impl* p = impl.get();
  p->options = options;
  if (options.data_dir.empty()) return InvalidArgumentError("--data is required");

  ledger::LedgerWriter::Options lo;
  lo.log_dir = options.data_dir;
  lo.store_url = options.store_url;
  lo.sync = options.fsync;
  BURSAR_ASSIGN_OR_RETURN(p->ledger, ledger::LedgerWriter::Open(lo));
  BURSAR_ASSIGN_OR_RETURN(
      p->seed_store,
      ledger::Store::Open(options.store_url.empty() ? options.data_dir : options.store_url));

  BURSAR_ASSIGN_OR_RETURN(p->budgets, gateway::BudgetTracker::Create(
                                          state->budgets, gateway::SystemNow(),
                                          [p](const config::Budget& b, gateway::SysSeconds s,
                                              gateway::SysSeconds e) { return p->Seed(b, s, e); }));
  p->rate_limiter = std::make_unique<gateway::RateLimiter>();
  int64_t max_entries = 0;
  for (const auto& r : state->routes) {
    if (r.cache.enabled) max_entries += r.cache.max_entries;
  }
  gateway::ResponseCache::Options co;
  co.max_entries = max_entries > 0 ? max_entries : 10000;
  co.max_bytes = options.cache_max_bytes;
  p->cache = std::make_unique<gateway::ResponseCache>(co);

  BURSAR_ASSIGN_OR_RETURN(gateway::SnapshotPtr snap, gateway::BuildSnapshot(state, p->breakers));
  p->snapshots.Publish(snap);

  auto tls = gateway::MakeClientTlsContext();
  if (tls.ok()) p->services.tls = *tls;  // https upstreams fail per request without it
  p->services.snapshots = &p->snapshots;
  p->services.budgets = p->budgets.get();
  p->services.rate_limiter = p->rate_limiter.get();
  p->services.cache = p->cache.get();
  p->services.ledger = p->ledger.get();
  p->services.metrics = &p->metrics;
  p->services.admin_token = options.admin_token;
  p->services.extra_routes = options.extra_routes;
  p->services.extra_metrics = options.extra_metrics;
  p->services.in_flight = [p] { return p->http ? p->http->InFlight() : 0; };

  gateway::ServerOptions so;
  so.host = options.host;
  so.port = options.port;
  so.workers = options.workers > 0
                   ? options.workers
                   : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  so.max_body_bytes = options.max_body_bytes;
  BURSAR_ASSIGN_OR_RETURN(
      p->http, gateway::HttpServer::Start(so, [p](gateway::asio::io_context& ioc, int index) {
        return gateway::MakeGatewayHandler(p->services, ioc, index);
      }));
  p->services.ready.store(true, std::memory_order_release);
  return std::unique_ptr<GatewayServer>(new GatewayServer(std::move(impl)));
}

Status GatewayServer::Publish(const config::DesiredStatePtr& state) {
  std::lock_guard<std::mutex> lock(impl_->publish_mu);
  BURSAR_ASSIGN_OR_RETURN(gateway::SnapshotPtr snap,
                          gateway::BuildSnapshot(state, impl_->breakers));
  (void)impl_->ledger->Flush();  // so new budgets seed from every record so far
  BURSAR_RETURN_IF_ERROR(impl_->budgets->Reconfigure(state->budgets));
  impl_->snapshots.Publish(std::move(snap));
  return OkStatus();
}

Status GatewayServer::Stop(std::chrono::milliseconds drain) {
  if (impl_->stopped) return OkStatus();
  impl_->stopped = true;
  impl_->services.ready.store(false, std::memory_order_release);
  if (impl_->http) impl_->http->Shutdown(drain);
  Status st;
  if (impl_->ledger) st = impl_->ledger->Close();
  return st;
}

}  // namespace bursar::server
