// The inference flow of the gateway handler: admission (rate limits, budgets), the response
// cache, the upstream call through the router, billing and the spend record. See handler.h.
#include <algorithm>
#include <ctime>

#include "gateway/handler_internal.h"
#include "gateway/pricing.h"
#include "gateway/usage.h"
#include "ledger/writer.h"

namespace bursar::gateway {
namespace {

int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string IsoTime(SysSeconds t) {
  std::time_t secs = static_cast<std::time_t>(t.time_since_epoch().count());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// End of the next server-sent event at or after `pos`: index of its blank-line separator, with
// the separator's length in `sep`. npos when no complete event is buffered.
size_t FindEventEnd(const std::string& s, size_t pos, size_t* sep) {
  for (size_t i = pos; i + 1 < s.size(); ++i) {
    if (s[i] != '\n') continue;
    if (s[i + 1] == '\n') {
      *sep = 2;
      return i;
    }
    if (s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n') {
      *sep = 3;
      return i;
    }
  }
  return std::string::npos;
}

// The payload of an event's first "data:" line.
std::string_view EventData(std::string_view event) {
  size_t at = 0;
  while (at < event.size()) {
    size_t eol = event.find('\n', at);
    std::string_view line = event.substr(at, eol == std::string_view::npos ? eol : eol - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 5) == "data:") {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      return line;
    }
    if (eol == std::string_view::npos) break;
    at = eol + 1;
  }
  return {};
}

// (A helper, not a ?: in the co_await expression: GCC 12 destroys a conditional's std::string
// temporary twice inside coroutines.)
std::string_view ContentTypeOr(const std::string& content_type) {
  return content_type.empty() ? std::string_view("application/json") : content_type;
}

}  // namespace

ledger::Usage ToLedgerUsage(const Usage& u) {
  ledger::Usage l;
  l.prompt_tokens = u.prompt_tokens;
  l.cached_tokens = u.cached_tokens;
  l.completion_tokens = u.completion_tokens;
  l.reasoning_tokens = u.reasoning_tokens;
  l.image_tokens = u.image_tokens;
  l.images = u.images;
  l.audio_input_tokens = u.audio_input_tokens;
  l.audio_output_tokens = u.audio_output_tokens;
  l.audio_millis = u.audio_input_millis;
  return l;
}

void GatewayHandler::ReleaseAll(Exchange& x) {
  if (x.reservation) {
    services_.budgets->Release(std::move(*x.reservation));
    x.reservation.reset();
  }
  if (x.rate_charged) {
    services_.rate_limiter->Correct(x.key->meta.name, x.key->rate_limits, x.estimate.total_tokens,
                                    0);
    x.rate_charged = false;
  }
}

bool GatewayHandler::Record(Exchange& x, const ModelEntry* model, const Usage& usage, Micros cost,
                            int status, bool cache_hit, Micros saved) {
  if (x.reservation) {
    services_.budgets->Settle(std::move(*x.reservation), cost);
    x.reservation.reset();
  }
  if (x.rate_charged) {
    services_.rate_limiter->Correct(x.key->meta.name, x.key->rate_limits, x.estimate.total_tokens,
                                    usage.prompt_tokens + usage.completion_tokens);
    x.rate_charged = false;
  }
  ledger::SpendRecord r;
  r.request_id = x.request_id;
  r.time_us = x.time_us;
  r.key_name = x.key ? x.key->meta.name : "";
  if (x.key) r.tags = x.key->tags;
  r.route = x.route ? x.route->meta.name : "";
  if (model) {
    r.model = model->model->meta.name;
    r.upstream_model = model->model->upstream_model;
    r.price = model->price_json;
    r.currency = model->model->currency;
  }
  r.commit = x.snap ? x.snap->commit : "";
  r.usage = ToLedgerUsage(usage);
  r.cost_micros = cost;
  r.saved_micros = saved;
  r.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - x.start)
                     .count();
  r.status = status;
  r.cache_hit = cache_hit;
  r.downgraded_from = x.downgraded_from;
  std::string_view model_name = model ? std::string_view(model->model->meta.name) : "";
  std::string_view route_name = x.route ? std::string_view(x.route->meta.name) : "";
  std::string_view key_name = x.key ? std::string_view(x.key->meta.name) : "";
  Status st = services_.ledger->Append(std::move(r));
  if (!st.ok()) {
    metrics_.RecordLedgerError();
    return false;
  }
  metrics_.RecordUsage(route_name, model_name, usage);
  if (cost != 0) metrics_.RecordCost(key_name, route_name, model_name, cost);
  return true;
}

Awaitable<void> GatewayHandler::HandleInference(RequestKind kind, HttpRequest& req,
                                                ResponseWriter& out) {
  Exchange x;
  x.start = std::chrono::steady_clock::now();
  x.time_us = NowUnixMicros();
  x.request_id = NewRequestId();
  x.routing_hash = RoutingHash(x.request_id);
  x.kind = kind;
  x.snap = snapshots_.Get();
  if (!x.snap || !services_.ready.load(std::memory_order_acquire)) {
    co_await SendError(out, &x, 503, "gateway is not ready", "server_error", "not_ready");
    co_return;
  }
  x.key = key_memo_.Authenticate(x.snap, BearerToken(req.authorization));
  if (!x.key) {
    co_await SendError(out, &x, 401,
                       "Incorrect API key provided. Send Authorization: Bearer <key>.",
                       "invalid_request_error", "invalid_api_key");
    co_return;
  }
  auto parsed = ParseRequest(kind, req.body);
  if (!parsed.ok()) {
    bool too_large = parsed.status().code() == StatusCode::kResourceExhausted;
    co_await SendError(out, &x, too_large ? 413 : 400, parsed.status().message(),
                       "invalid_request_error", too_large ? "request_too_large" : "invalid_body");
    co_return;
  }
  x.parsed = std::move(parsed).value();
  if (std::optional<Refusal> refusal = Admit(x)) {
    co_await SendError(out, &x, refusal->status, refusal->message, refusal->type, refusal->code,
                       std::move(refusal->headers));
    co_return;
  }

  std::string cache_key;
  if (x.route->cache.enabled && !x.parsed.stream && services_.cache) {
    auto k = CacheKey(x.route->meta.name, req.body);
    if (k.ok()) cache_key = std::move(k).value();
    if (!cache_key.empty() && co_await TryCache(x, cache_key, out)) co_return;
  }
  co_await Proxy(x, req, cache_key, out);
}

std::optional<GatewayHandler::Refusal> GatewayHandler::Admit(Exchange& x) {
  x.route = x.snap->FindRoute(x.parsed.model);
  bool allowed =
      x.route && (x.key->routes.empty() || std::find(x.key->routes.begin(), x.key->routes.end(),
                                                     x.parsed.model) != x.key->routes.end());
  if (!allowed) {
    x.route = nullptr;
    return Refusal{
        404,
        "The model `" + x.parsed.model + "` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
        {}};
  }
  auto pick = [&]() {
    x.primary = x.snap->FindModel(PickTarget(*x.route, x.routing_hash));
    if (x.primary) x.estimate = EstimateRequest(x.parsed, *x.primary->model, x.route->images);
    return x.primary != nullptr;
  };
  if (x.route->targets.empty() || !pick()) {
    return Refusal{500, "route has no usable target", "server_error", "bad_route", {}};
  }
  const config::RateLimits& limits = x.key->rate_limits;
  if (services_.rate_limiter && (limits.requests_per_minute > 0 || limits.tokens_per_minute > 0)) {
    RateDecision d =
        services_.rate_limiter->Admit(x.key->meta.name, limits, x.estimate.total_tokens);
    if (!d.allowed) {
      metrics_.RecordRateLimited(x.key->meta.name, d.limit);
      auto secs = (d.retry_after.count() + 999) / 1000;
      HeaderList extra;
      extra.emplace_back("retry-after", std::to_string(secs < 1 ? 1 : secs));
      return Refusal{429,
                     "Rate limit reached for " + std::string(d.limit) + " per minute on key " +
                         x.key->meta.name + ". Retry after " + std::to_string(secs) + "s.",
                     "requests", "rate_limit_exceeded", std::move(extra)};
    }
    x.rate_charged = true;
  }
  if (services_.budgets) {
    BudgetRequest br;
    br.key_name = x.key->meta.name;
    br.key_tags = &x.key->tags;
    br.route = x.route->meta.name;
    br.model = x.primary->model->meta.name;
    AdmitDecision d = services_.budgets->Admit(br, x.estimate.cost.total);
    if (d.outcome == AdmitOutcome::kDowngrade) {
      const config::Route* to = x.snap->FindRoute(d.downgrade_to);
      if (to && !to->targets.empty()) {
        x.downgraded_from = x.route->meta.name;
        x.route = to;
        if (pick()) {
          br.route = x.route->meta.name;
          br.model = x.primary->model->meta.name;
          br.downgraded = true;
          d = services_.budgets->Admit(br, x.estimate.cost.total);
        }
      }
    }
    if (d.outcome == AdmitOutcome::kBlock || d.outcome == AdmitOutcome::kDowngrade) {
      ReleaseAll(x);
      auto now =
          std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
      auto wait = (d.resets_at - now).count();
      std::string message = "Budget " + d.budget + " is exhausted";
      if (!d.message.empty()) message = d.message;
      message += "; it resets at " + IsoTime(d.resets_at) + ".";
      HeaderList extra;
      extra.emplace_back("x-bursar-budget", d.budget);
      extra.emplace_back("retry-after", std::to_string(wait > 0 ? wait : 1));
      return Refusal{429, std::move(message), "insufficient_quota", "budget_exceeded",
                     std::move(extra)};
    }
    x.reservation.emplace(std::move(d.reservation));
  }
  return std::nullopt;
}

Awaitable<bool> GatewayHandler::TryCache(Exchange& x, const std::string& cache_key,
                                         ResponseWriter& out) {
  auto hit = services_.cache->Get(cache_key);
  if (!hit) co_return false;
  const ModelEntry* model = x.snap->FindModel(hit->model);
  if (!model) model = x.primary;
  if (!Record(x, model, hit->usage, 0, 200, true, hit->cost)) {
    co_await SendError(out, &x, 500, "the spend ledger is unavailable; request not served",
                       "server_error", "ledger_unavailable");
    co_return true;
  }
  metrics_.RecordCacheHit(x.route->meta.name, hit->cost);
  const std::string saved = std::to_string(hit->cost);
  ResponseFields h = BaseHeaders(x);
  h.emplace_back("x-bursar-cost-micros", "0");
  h.emplace_back("x-bursar-cache", "hit");
  h.emplace_back("x-bursar-saved-micros", saved);
  co_await out.Send(200, h, ContentTypeOr(hit->content_type), hit->body);
  Finish(x, model->model->meta.name, 200);
  co_return true;
}

Awaitable<void> GatewayHandler::Proxy(Exchange& x, HttpRequest& req, const std::string& cache_key,
                                      ResponseWriter& out) {
  bool stream = x.parsed.stream && x.kind == RequestKind::kChatCompletions;
  std::string_view path =
      x.kind == RequestKind::kChatCompletions ? "/chat/completions" : "/embeddings";
  AttemptPlan plan = PlanAttempts(*x.route, x.routing_hash);
  Status last_error = UnavailableError("no upstream available for route " + x.route->meta.name);
  const ModelEntry* last_model = x.primary;
  const config::RetryPolicy& retry = x.route->retry;
  const config::CircuitBreakerPolicy& breaker_policy = x.route->circuit_breaker;

  for (std::string_view name : plan) {
    const ModelEntry* m = x.snap->FindModel(name);
    if (!m) continue;
    auto body = RewriteRequestBody(req.body, m->model->upstream_model, stream,
                                   /*validated=*/true);  // ParseRequest read these bytes
    if (!body.ok()) {
      ReleaseAll(x);
      co_await SendError(out, &x, 400, body.status().message(), "invalid_request_error",
                         "invalid_body");
      co_return;
    }
    int attempts = std::max(1, retry.attempts);
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      if (!m->breaker->Allow(breaker_policy)) {
        last_error = UnavailableError("circuit breaker open for model " + m->model->meta.name);
        metrics_.RecordUpstreamError(m->model->meta.name, "circuit_open");
        break;
      }
      last_model = m;
      if (attempt > 1) {
        SteadyTimer timer(ioc_, Backoff(retry, attempt - 1));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      UpstreamRequest ur;
      ur.target = &m->target;
      ur.path = path;
      ur.body = *body;
      ur.api_key = m->api_key;
      ur.request_id = x.request_id;
      ur.timeout = m->model->timeout;
      auto sent = co_await upstream_.Send(ur, stream);
      FailureKind kind = FailureKind::kConnect;
      if (!sent.ok()) {
        last_error = sent.status();
        kind = last_error.code() == StatusCode::kDeadlineExceeded ? FailureKind::kTimeout
                                                                  : FailureKind::kConnect;
      } else {
        UpstreamResponse& r = **sent;
        int code = r.status();
        if (code >= 200 && code < 300) {
          if (stream) {
            co_await RelayStream(x, *m, r, out);
            co_return;
          }
          std::string answer;
          Status read;  // OK when the whole answer came with the head
          if (!r.TakeWhole(answer)) read = co_await r.ReadAll(answer);
          if (read.ok()) {
            auto usage = ParseUsageFromResponse(answer);
            if (!usage.ok()) {
              m->breaker->RecordFailure(breaker_policy);
              metrics_.RecordUpstreamError(m->model->meta.name, "malformed");
              ReleaseAll(x);
              Record(x, m, Usage{}, 0, 502, false, 0);
              co_await SendError(out, &x, 502,
                                 "upstream model " + m->model->meta.name +
                                     " returned a malformed response: " + usage.status().message(),
                                 "upstream_error", "upstream_malformed");
              co_return;
            }
            m->breaker->RecordSuccess();
            Usage billed = CompleteFromEstimate(*usage, x.estimate.usage);
            Cost cost = ComputeCost(billed, m->model->pricing, /*describe=*/false);
            if (!Record(x, m, billed, cost.total, 200, false, 0)) {
              co_await SendError(out, &x, 500,
                                 "the spend ledger is unavailable; request not served",
                                 "server_error", "ledger_unavailable");
              co_return;
            }
            const std::string cost_text = std::to_string(cost.total);
            ResponseFields h = BaseHeaders(x);
            h.emplace_back("x-bursar-cost-micros", cost_text);
            h.emplace_back("x-bursar-model", m->model->meta.name);
            if (!cache_key.empty()) {
              h.emplace_back("x-bursar-cache", "miss");
              services_.cache->Put(
                  cache_key,
                  CachedResponse{answer, r.content_type(), m->model->meta.name, billed, cost.total},
                  x.route->cache.ttl);
            }
            co_await out.Send(200, h, ContentTypeOr(r.content_type()), answer);
            Finish(x, m->model->meta.name, 200);
            co_return;
          }
          last_error = read;
          kind = read.code() == StatusCode::kDeadlineExceeded ? FailureKind::kTimeout
                                                              : FailureKind::kConnect;
        } else {
          std::string answer;
          Status read = co_await r.ReadAll(answer, 1 << 20);
          if (code >= 500 || code == 429) {
            kind = FailureKind::kServerError;
            last_error = UnavailableError("upstream model " + m->model->meta.name +
                                          " answered HTTP " + std::to_string(code));
          } else {
            // The upstream refused the request itself (4xx): pass its answer on, bill nothing.
            ReleaseAll(x);
            if (!Record(x, m, Usage{}, 0, code, false, 0)) {
              co_await SendError(out, &x, 500,
                                 "the spend ledger is unavailable; request not served",
                                 "server_error", "ledger_unavailable");
              co_return;
            }
            ResponseFields h = BaseHeaders(x);
            h.emplace_back("x-bursar-cost-micros", "0");
            co_await out.Send(code, h, ContentTypeOr(r.content_type()), answer);
            Finish(x, m->model->meta.name, code);
            co_return;
          }
        }
      }
      metrics_.RecordUpstreamError(m->model->meta.name, ToString(kind));
      m->breaker->RecordFailure(breaker_policy);
      if (!Retryable(retry, kind)) break;
    }
  }
  ReleaseAll(x);
  bool timeout = last_error.code() == StatusCode::kDeadlineExceeded;
  int status = timeout ? 504 : 502;
  x.primary = last_model;
  if (!Record(x, last_model, Usage{}, 0, status, false, 0)) {
    co_await SendError(out, &x, 500, "the spend ledger is unavailable; request not served",
                       "server_error", "ledger_unavailable");
    co_return;
  }
  co_await SendError(out, &x, status, last_error.message(), "upstream_error",
                     timeout ? "upstream_timeout" : "upstream_unavailable");
}

Awaitable<void> GatewayHandler::RelayStream(Exchange& x, const ModelEntry& m, UpstreamResponse& r,
                                            ResponseWriter& out) {
  ResponseFields h = BaseHeaders(x);
  h.emplace_back("cache-control", "no-cache");
  h.emplace_back("x-bursar-model", m.model->meta.name);
  bool client_ok = co_await out.BeginChunked(200, h, "text/event-stream");
  std::string piece, pending, forward;
  std::optional<Usage> reported;
  bool saw_done = false;
  Status upstream_error;
  while (client_ok && !saw_done) {
    auto more = co_await r.ReadSome(piece);
    if (!more.ok()) {
      upstream_error = more.status();
      break;
    }
    if (!*more) break;
    pending += piece;
    forward.clear();
    size_t pos = 0, sep = 0;
    for (;;) {
      size_t end = FindEventEnd(pending, pos, &sep);
      if (end == std::string::npos) break;
      std::string_view event(pending.data() + pos, end - pos + sep);
      pos = end + sep;
      std::string_view data = EventData(event);
      if (data == "[DONE]") {
        saw_done = true;
        break;
      }
      bool drop = false;
      if (data.find("\"usage\"") != std::string_view::npos) {
        auto u = ParseUsageFromChunk(data);
        if (u.ok() && u->has_value()) {
          reported = **u;
          // bursar asked for the usage chunk; a client that did not gets no extra chunk.
          drop = !x.parsed.include_usage && data.find("\"choices\":[]") != std::string_view::npos;
        }
      }
      if (!drop) forward.append(event);
    }
    pending.erase(0, pos);
    if (!forward.empty()) client_ok = co_await out.WriteChunk(forward);
  }
  if (saw_done) pending.clear();

  int status = 200;
  Usage billed;
  if (reported) {
    billed = CompleteFromEstimate(*reported, x.estimate.usage);
    m.breaker->RecordSuccess();
  } else {
    // No usage reported (the stream broke or the upstream omits it): bill the estimated input.
    billed = x.estimate.usage;
    billed.completion_tokens = 0;
    billed.reasoning_tokens = 0;
    billed.audio_output_tokens = 0;
  }
  if (!upstream_error.ok()) {
    status = upstream_error.code() == StatusCode::kDeadlineExceeded ? 504 : 502;
    metrics_.RecordUpstreamError(m.model->meta.name, status == 504 ? "timeout" : "connect");
    m.breaker->RecordFailure(x.route->circuit_breaker);
  } else if (!client_ok) {
    status = 499;  // client closed the connection
  }
  Cost cost = ComputeCost(billed, m.model->pricing, /*describe=*/false);
  bool recorded = Record(x, &m, billed, cost.total, status, false, 0);
  if (client_ok) {
    std::string tail = std::move(pending);
    if (!recorded) {
      tail += "data: " +
              ErrorJson("the spend ledger is unavailable", "server_error", "ledger_unavailable") +
              "\n\n";
    } else {
      tail += ": bursar-cost-micros=" + std::to_string(cost.total) + "\n\n";
      if (!upstream_error.ok()) {
        tail += "data: " +
                ErrorJson("upstream stream failed: " + upstream_error.message(), "upstream_error",
                          status == 504 ? "upstream_timeout" : "upstream_unavailable") +
                "\n\n";
      } else if (saw_done) {
        tail += "data: [DONE]\n\n";
      }
    }
    if (co_await out.WriteChunk(tail)) co_await out.EndChunked();
  }
  Finish(x, m.model->meta.name, status);
  // Let a keep-alive upstream connection go back to the pool.
  for (int i = 0; i < 4 && saw_done && !r.done(); ++i) {
    auto more = co_await r.ReadSome(piece);
    if (!more.ok() || !*more) break;
  }
}

}  // namespace bursar::gateway
