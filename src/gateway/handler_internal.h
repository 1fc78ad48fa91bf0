// Internal to handler.cc and proxy.cc: the per-worker handler class. See handler.h.
#pragma once

#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/estimate.h"
#include "gateway/handler.h"
#include "gateway/request_parser.h"
#include "gateway/upstream_client.h"
#include "ledger/spend_record.h"

namespace bursar::gateway {

// State of one inference request as it moves through the flow.
struct Exchange {
  std::chrono::steady_clock::time_point start;
  int64_t time_us = 0;  // arrival, unix micros
  std::string request_id;
  uint64_t routing_hash = 0;  // RoutingHash(request_id): picks the target of a weighted route
  SnapshotPtr snap;
  const config::ApiKey* key = nullptr;
  RequestKind kind = RequestKind::kChatCompletions;
  ParsedRequest parsed;
  const config::Route* route = nullptr;  // the route served (after a downgrade)
  std::string downgraded_from;
  const ModelEntry* primary = nullptr;  // the picked target (estimate, budget scope)
  Estimate estimate;
  std::optional<Reservation> reservation;
  bool rate_charged = false;
};

// A response's header fields: views into the Exchange, its snapshot and the sender's locals, held
// on the stack (the most a response sends is 7), passed to ResponseWriter as they are.
struct ResponseFields : boost::container::small_vector<HeaderField, 8> {
  operator HeaderFields() const { return {data(), size()}; }  // NOLINT(google-explicit-constructor)
};

class GatewayHandler final : public RequestHandler {
 public:
  GatewayHandler(GatewayServices& services, asio::io_context& ioc, int worker_index);
  Awaitable<void> Handle(HttpRequest& req, ResponseWriter& out) override;

 private:
  // handler.cc
  // Every request but an inference one (see Handle).
  Awaitable<void> HandleOther(HttpRequest& req, ResponseWriter& out);
  Awaitable<void> SendError(ResponseWriter& out, Exchange* x, int status, std::string_view message,
                            std::string_view type, std::string_view code, HeaderList headers = {});
  Awaitable<void> HandleModels(HttpRequest& req, ResponseWriter& out);
  Awaitable<void> HandleAdmin(HttpRequest& req, ResponseWriter& out);
  Awaitable<void> HandleMetrics(ResponseWriter& out);
  std::string NewRequestId();
  // x-request-id, x-bursar-commit and x-bursar-downgraded-from, as views into x.
  ResponseFields BaseHeaders(const Exchange& x) const;
  void Finish(Exchange& x, std::string_view model, int status);

  // proxy.cc
  Awaitable<void> HandleInference(RequestKind kind, HttpRequest& req, ResponseWriter& out);
  // Why a request is not admitted: the error response for the caller to send.
  struct Refusal {
    int status;
    std::string message;
    std::string_view type, code;
    HeaderList headers;
  };
  // Route, target, estimate, rate limit and budget reservation for x; a refusal when one of them
  // turns the request away (x's reservations released).
  std::optional<Refusal> Admit(Exchange& x);
  Awaitable<bool> TryCache(Exchange& x, const std::string& cache_key, ResponseWriter& out);
  Awaitable<void> Proxy(Exchange& x, HttpRequest& req, const std::string& cache_key,
                        ResponseWriter& out);
  Awaitable<void> RelayStream(Exchange& x, const ModelEntry& model, UpstreamResponse& response,
                              ResponseWriter& out);
  // Bills, settles and appends the spend record. False when the ledger refused it.
  bool Record(Exchange& x, const ModelEntry* model, const Usage& usage, Micros cost, int status,
              bool cache_hit, Micros saved);
  void ReleaseAll(Exchange& x);

  GatewayServices& services_;
  asio::io_context& ioc_;
  int worker_;
  UpstreamClient upstream_;
  MetricsShard& metrics_;
  SnapshotHolder::Reader snapshots_;
  KeyMemo key_memo_;
  uint64_t id_prefix_ = 0;
  uint64_t id_counter_ = 0;
};

// The token of "Bearer <token>" (scheme case-insensitive); "" when absent or another scheme.
std::string_view BearerToken(std::string_view authorization);

ledger::Usage ToLedgerUsage(const Usage& u);

}  // namespace bursar::gateway
