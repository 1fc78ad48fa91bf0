#include <openssl/crypto.h>

#include <chrono>
#include <optional>
#include <random>

#include "common/json_text.h"
#include "gateway/handler_internal.h"
#include "ledger/writer.h"

namespace bursar::gateway {
namespace {

std::string_view PathOf(std::string_view target) {
  size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

// The inference endpoint a path names, if any.
std::optional<RequestKind> InferenceKindOf(std::string_view path) {
  if (path == "/v1/chat/completions" || path == "/chat/completions") {
    return RequestKind::kChatCompletions;
  }
  if (path == "/v1/embeddings" || path == "/embeddings") return RequestKind::kEmbeddings;
  return std::nullopt;
}

}  // namespace

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() <= kBearer.size()) return {};
  for (size_t i = 0; i < kBearer.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kBearer[i]) return {};
  }
  std::string_view token = authorization.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

std::unique_ptr<RequestHandler> MakeGatewayHandler(GatewayServices& services, asio::io_context& ioc,
                                                   int worker_index) {
  return std::make_unique<GatewayHandler>(services, ioc, worker_index);
}

GatewayHandler::GatewayHandler(GatewayServices& services, asio::io_context& ioc, int worker_index)
    : services_(services),
      ioc_(ioc),
      worker_(worker_index),
      upstream_(ioc, services.tls),
      metrics_(services.metrics->AddShard()),
      snapshots_(*services.snapshots) {
  std::random_device rd;
  id_prefix_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

std::string GatewayHandler::NewRequestId() {
  // 64 random bits per worker and process, then a counter: unique without coordination.
  const uint64_t n = ++id_counter_;
  if (n >> 40) {  // past 10 hex digits (after 2^40 requests): wider, never repeating
    char buf[48];
    int len = std::snprintf(buf, sizeof buf, "req_%016llx%02x%010llx",
                            static_cast<unsigned long long>(id_prefix_), worker_ & 0xff,
                            static_cast<unsigned long long>(n));
    return std::string(buf, static_cast<size_t>(len));
  }
  // "req_" + 16 + 2 + 10 lowercase hex digits, as the format above.
  std::string id(32, '\0');
  auto hex = [&id](size_t at, uint64_t v, int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i, v >>= 4) id[at + static_cast<size_t>(i)] = kHex[v & 0xf];
  };
  id[0] = 'r', id[1] = 'e', id[2] = 'q', id[3] = '_';
  hex(4, id_prefix_, 16);
  hex(20, static_cast<uint64_t>(worker_) & 0xff, 2);
  hex(22, n, 10);
  return id;
}

ResponseFields GatewayHandler::BaseHeaders(const Exchange& x) const {
  ResponseFields h;
  if (!x.request_id.empty()) h.emplace_back("x-request-id", x.request_id);
  if (x.snap) {
    h.emplace_back("x-bursar-commit",
                   x.snap->commit.empty() ? std::string_view("none") : x.snap->commit);
  }
  if (!x.downgraded_from.empty()) h.emplace_back("x-bursar-downgraded-from", x.downgraded_from);
  return h;
}

void GatewayHandler::Finish(Exchange& x, std::string_view model, int status) {
  auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - x.start)
                     .count();
  metrics_.RecordRequest(x.route ? std::string_view(x.route->meta.name) : std::string_view(), model,
                         status, latency);
}

Awaitable<void> GatewayHandler::SendError(ResponseWriter& out, Exchange* x, int status,
                                          std::string_view message, std::string_view type,
                                          std::string_view code, HeaderList headers) {
  ResponseFields fields;
  if (x) {
    fields = BaseHeaders(*x);
    Finish(*x, x->primary ? std::string_view(x->primary->model->meta.name) : "", status);
  }
  for (const auto& [name, value] : headers) fields.emplace_back(name, value);
  std::string body = ErrorJson(message, type, code);
  co_await out.Send(status, fields, "application/json", body);
}

// Not a coroutine: an inference request goes straight to HandleInference's (one coroutine frame
// fewer per request), anything else to HandleOther's. Both take only references, to what the
// server keeps alive until the returned awaitable, run when it is co_awaited, completes.
Awaitable<void> GatewayHandler::Handle(HttpRequest& req, ResponseWriter& out) {
  if (req.method == "POST") {
    if (std::optional<RequestKind> kind = InferenceKindOf(PathOf(req.target))) {
      return HandleInference(*kind, req, out);
    }
  }
  return HandleOther(req, out);
}

Awaitable<void> GatewayHandler::HandleOther(HttpRequest& req, ResponseWriter& out) {
  std::string_view path = PathOf(req.target);
  bool get = req.method == "GET";
  if (InferenceKindOf(path)) {  // not a POST: Handle sent those to HandleInference
    co_await SendError(out, nullptr, 405, "use POST", "invalid_request_error",
                       "method_not_allowed");
  } else if ((path == "/v1/models" || path == "/models") && get) {
    co_await HandleModels(req, out);
  } else if (path == "/metrics" && get) {
    co_await HandleMetrics(out);
  } else if (path == "/healthz" && get) {
    co_await out.Send(200, {}, "text/plain", "ok\n");
  } else if (path == "/readyz" && get) {
    bool ready = services_.ready.load(std::memory_order_acquire) && snapshots_.Get() != nullptr;
    co_await out.Send(ready ? 200 : 503, {}, "text/plain", ready ? "ready\n" : "not ready\n");
  } else if (int status = 0; services_.extra_routes) {
    std::string content_type, body;
    if (services_.extra_routes(req, &status, &content_type, &body)) {
      co_await out.Send(status, {}, content_type, body);
    } else if (path.substr(0, 7) == "/admin/") {
      co_await HandleAdmin(req, out);
    } else {
      co_await SendError(out, nullptr, 404, "unknown path " + std::string(path),
                         "invalid_request_error", "not_found");
    }
  } else if (path.substr(0, 7) == "/admin/") {
    co_await HandleAdmin(req, out);
  } else {
    co_await SendError(out, nullptr, 404, "unknown path " + std::string(path),
                       "invalid_request_error", "not_found");
  }
}

Awaitable<void> GatewayHandler::HandleModels(HttpRequest& req, ResponseWriter& out) {
  Exchange x;
  x.start = std::chrono::steady_clock::now();
  x.request_id = NewRequestId();
  x.snap = snapshots_.Get();
  if (!x.snap) {
    co_await SendError(out, &x, 503, "gateway is not ready", "server_error", "not_ready");
    co_return;
  }
  x.key = key_memo_.Authenticate(x.snap, BearerToken(req.authorization));
  if (!x.key) {
    co_await SendError(out, &x, 401, "Incorrect API key provided.", "invalid_request_error",
                       "invalid_api_key");
    co_return;
  }
  ResponseFields fields = BaseHeaders(x);
  std::string body = x.snap->ModelsJson(*x.key);
  co_await out.Send(200, fields, "application/json", body);
}

Awaitable<void> GatewayHandler::HandleMetrics(ResponseWriter& out) {
  MetricsGauges g;
  if (auto snap = snapshots_.Get()) g.commit = snap->commit;
  if (services_.budgets) g.budgets = services_.budgets->Snapshot();
  if (services_.cache) g.cache = services_.cache->Stats();
  if (services_.in_flight) g.in_flight = services_.in_flight();
  if (services_.ledger) {
    auto st = services_.ledger->stats();
    g.ledger_appended = st.appended;
    g.ledger_stored = st.stored;
  }
  g.ready = services_.ready.load(std::memory_order_acquire);
  // Built before co_await: GCC 12 mishandles temporaries of a conditional inside co_await.
  std::string body = services_.metrics->Render(g);
  if (services_.extra_metrics) body += services_.extra_metrics();
  co_await out.Send(200, {}, "text/plain; version=0.0.4; charset=utf-8", body);
}

Awaitable<void> GatewayHandler::HandleAdmin(HttpRequest& req, ResponseWriter& out) {
  if (services_.admin_token.empty()) {
    co_await SendError(out, nullptr, 403, "admin endpoints are disabled (no admin token set)",
                       "permission_error", "admin_disabled");
    co_return;
  }
  std::string_view token = BearerToken(req.authorization);
  if (token.size() != services_.admin_token.size() ||
      CRYPTO_memcmp(token.data(), services_.admin_token.data(), token.size()) != 0) {
    co_await SendError(out, nullptr, 401, "admin token required", "invalid_request_error",
                       "invalid_admin_token");
    co_return;
  }
  std::string_view path = PathOf(req.target);
  if (path == "/admin/budgets" && req.method == "GET") {
    std::string body = R"({"object":"list","data":[)";
    if (services_.budgets) {
      bool first = true;
      for (const auto& b : services_.budgets->Snapshot()) {
        if (!first) body += ',';
        first = false;
        body += R"({"name":")";
        AppendJsonEscaped(&body, b.name);
        body += R"(","limit_micros":)" + std::to_string(b.limit) + R"(,"spent_micros":)" +
                std::to_string(b.spent) + R"(,"reserved_micros":)" + std::to_string(b.reserved) +
                R"(,"alerts_fired":)" + std::to_string(b.alerts_fired) + R"(,"downgrades":)" +
                std::to_string(b.downgrades) + R"(,"blocks":)" + std::to_string(b.blocks) + "}";
      }
    }
    body += "]}";
    co_await out.Send(200, {}, "application/json", body);
  } else if (path == "/admin/config" && req.method == "GET") {
    auto snap = snapshots_.Get();
    std::string body = R"({"commit":")";
    if (snap) AppendJsonEscaped(&body, snap->commit);
    body += R"(","routes":)" + std::to_string(snap ? snap->routes.size() : 0) + R"(,"models":)" +
            std::to_string(snap ? snap->models.size() : 0) + R"(,"api_keys":)" +
            std::to_string(snap ? snap->keys_by_digest.size() : 0) + "}";
    co_await out.Send(200, {}, "application/json", body);
  } else {
    co_await SendError(out, nullptr, 404, "unknown admin path " + std::string(path),
                       "invalid_request_error", "not_found");
  }
}

}  // namespace bursar::gateway
