#include "gateway/metrics.h"

#include <fmt/format.h>

#include <charconv>

namespace bursar::gateway {

namespace {

void AppendPromEscaped(std::string* out, std::string_view v) {
  if (v.find_first_of("\\\"\n") == std::string_view::npos) {  // the usual label value
    out->append(v);
    return;
  }
  for (char c : v) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

// Appends `name="value"` (value escaped), with a leading comma unless `out` is empty.
void AppendLabel(std::string* out, std::string_view name, std::string_view value) {
  if (!out->empty()) out->push_back(',');
  out->append(name).append("=\"");
  AppendPromEscaped(out, value);
  out->push_back('"');
}

template <typename Map>
auto& Slot(Map& m, std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(std::string(key), typename Map::mapped_type{}).first;
  return it->second;
}

template <typename Map>
void AddTo(Map& m, std::string_view key, int64_t v) {
  Slot(m, key) += v;
}

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void Series(std::string& out, std::string_view name, const MetricsShard::Counters& m) {
  for (const auto& [labels, v] : m) {
    fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, v);
  }
}

std::string Seconds(int64_t micros) { return FormatScaled(micros, 6, 1); }

}  // namespace

std::string PromEscape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  AppendPromEscaped(&out, v);
  return out;
}

void Histogram::Observe(int64_t micros) {
  size_t i = 0;
  while (i < kLatencyBuckets.size() && static_cast<double>(micros) > kLatencyBuckets[i] * 1e6) ++i;
  if (i < kLatencyBuckets.size()) ++buckets[i];
  ++count;
  sum_us += micros;
}

void Histogram::Merge(const Histogram& o) {
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
  count += o.count;
  sum_us += o.sum_us;
}

void MetricsShard::RecordRequest(std::string_view route, std::string_view model, int status,
                                 int64_t latency_us) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::array<std::string_view, 2> labels{route, model};
  if (!last_request_.Matches(labels, status)) {
    last_request_.Remember(labels, status);
    std::string& l = scratch_;
    l.clear();
    AppendLabel(&l, "route", route);
    last_request_.slots.first = &Slot(data_.latency, l);
    AppendLabel(&l, "model", model);
    char code[16];
    auto [end, ec] = std::to_chars(code, code + sizeof code, status);
    AppendLabel(&l, "status", std::string_view(code, static_cast<size_t>(end - code)));
    last_request_.slots.second = &Slot(data_.requests, l);
  }
  last_request_.slots.first->Observe(latency_us);
  *last_request_.slots.second += 1;
}

void MetricsShard::RecordUsage(std::string_view route, std::string_view model, const Usage& u) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::array<std::string_view, 2> labels{route, model};
  if (!last_usage_.Matches(labels, 0)) last_usage_.Remember(labels, 0);
  static constexpr std::array<std::string_view, kModalities> kModality = {
      "text_input",  "cached_input",     "image_input", "audio_input",
      "text_output", "reasoning_output", "audio_output"};
  auto add = [&](size_t m, int64_t n) {
    if (n <= 0) return;
    int64_t*& slot = last_usage_.slots[m];
    if (slot == nullptr) {  // first time this modality comes with these labels
      std::string& l = scratch_;
      l.clear();
      AppendLabel(&l, "route", route);
      AppendLabel(&l, "model", model);
      AppendLabel(&l, "modality", kModality[m]);
      slot = &Slot(data_.tokens, l);
    }
    *slot += n;
  };
  int64_t text_in = u.prompt_tokens - u.cached_tokens - u.image_tokens - u.audio_input_tokens;
  add(0, text_in < 0 ? 0 : text_in);
  add(1, u.cached_tokens);
  add(2, u.image_tokens);
  add(3, u.audio_input_tokens);
  int64_t text_out = u.completion_tokens - u.reasoning_tokens - u.audio_output_tokens;
  add(4, text_out < 0 ? 0 : text_out);
  add(5, u.reasoning_tokens);
  add(6, u.audio_output_tokens);
}

void MetricsShard::RecordCost(std::string_view key, std::string_view route, std::string_view model,
                              Micros cost) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::array<std::string_view, 3> labels{key, route, model};
  if (!last_cost_.Matches(labels, 0)) {
    last_cost_.Remember(labels, 0);
    std::string& l = scratch_;
    l.clear();
    AppendLabel(&l, "key", key);
    AppendLabel(&l, "route", route);
    AppendLabel(&l, "model", model);
    last_cost_.slots = &Slot(data_.cost, l);
  }
  *last_cost_.slots += cost;
}

void MetricsShard::RecordCacheHit(std::string_view route, Micros saved) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string& l = scratch_;
  l.clear();
  AppendLabel(&l, "route", route);
  AddTo(data_.cache_hits, l, 1);
  AddTo(data_.cache_saved, l, saved);
}

void MetricsShard::RecordUpstreamError(std::string_view model, std::string_view kind) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string& l = scratch_;
  l.clear();
  AppendLabel(&l, "model", model);
  AppendLabel(&l, "kind", kind);
  AddTo(data_.upstream_errors, l, 1);
}

void MetricsShard::RecordRateLimited(std::string_view key, std::string_view limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string& l = scratch_;
  l.clear();
  AppendLabel(&l, "key", key);
  AppendLabel(&l, "limit", limit);
  AddTo(data_.rate_limited, l, 1);
}

void MetricsShard::RecordLedgerError() {
  std::lock_guard<std::mutex> lock(mu_);
  ++data_.ledger_errors;
}

MetricsShard::Data MetricsShard::Copy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return data_;
}

MetricsShard& Metrics::AddShard() {
  std::lock_guard<std::mutex> lock(mu_);
  shards_.push_back(std::make_unique<MetricsShard>());
  return *shards_.back();
}

std::string Metrics::Render(const MetricsGauges& g) const {
  MetricsShard::Data all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& shard : shards_) {
      MetricsShard::Data d = shard->Copy();
      for (auto& [k, v] : d.requests) AddTo(all.requests, k, v);
      for (auto& [k, v] : d.latency) Slot(all.latency, k).Merge(v);
      for (auto& [k, v] : d.tokens) AddTo(all.tokens, k, v);
      for (auto& [k, v] : d.cost) AddTo(all.cost, k, v);
      for (auto& [k, v] : d.cache_hits) AddTo(all.cache_hits, k, v);
      for (auto& [k, v] : d.cache_saved) AddTo(all.cache_saved, k, v);
      for (auto& [k, v] : d.upstream_errors) AddTo(all.upstream_errors, k, v);
      for (auto& [k, v] : d.rate_limited) AddTo(all.rate_limited, k, v);
      all.ledger_errors += d.ledger_errors;
    }
  }
  std::string out;
  out.reserve(8192);
  auto it = std::back_inserter(out);

  Header(out, "bursar_requests_total", "counter", "Requests answered, by route, model and status.");
  Series(out, "bursar_requests_total", all.requests);

  Header(out, "bursar_request_duration_seconds", "histogram",
         "Time from request arrival to the last byte of the response.");
  for (const auto& [labels, h] : all.latency) {
    int64_t cumulative = 0;
    for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      fmt::format_to(it, "bursar_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                     kLatencyBuckets[i], cumulative);
    }
    fmt::format_to(it, "bursar_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels,
                   h.count);
    fmt::format_to(it, "bursar_request_duration_seconds_sum{{{}}} {}\n", labels, Seconds(h.sum_us));
    fmt::format_to(it, "bursar_request_duration_seconds_count{{{}}} {}\n", labels, h.count);
  }

  Header(out, "bursar_tokens_total", "counter", "Tokens billed, by route, model and modality.");
  Series(out, "bursar_tokens_total", all.tokens);

  Header(out, "bursar_cost_micros_total", "counter",
         "Spend in micro-units of the currency, by API key, route and model.");
  Series(out, "bursar_cost_micros_total", all.cost);

  Header(out, "bursar_cache_hits_total", "counter", "Requests answered from the response cache.");
  Series(out, "bursar_cache_hits_total", all.cache_hits);
  Header(out, "bursar_cache_saved_micros_total", "counter",
         "Cost the response cache saved, in micro-units.");
  Series(out, "bursar_cache_saved_micros_total", all.cache_saved);

  Header(out, "bursar_upstream_errors_total", "counter",
         "Failed upstream attempts, by model and kind (connect, timeout, 5xx, malformed).");
  Series(out, "bursar_upstream_errors_total", all.upstream_errors);

  Header(out, "bursar_rate_limited_total", "counter", "Requests refused by a rate limit.");
  Series(out, "bursar_rate_limited_total", all.rate_limited);

  Header(out, "bursar_ledger_errors_total", "counter",
         "Spend records that could not be made durable (those requests failed).");
  fmt::format_to(it, "bursar_ledger_errors_total {}\n", all.ledger_errors);
  Header(out, "bursar_ledger_appended_total", "counter", "Spend records appended to the log.");
  fmt::format_to(it, "bursar_ledger_appended_total {}\n", g.ledger_appended);
  Header(out, "bursar_ledger_stored_total", "counter", "Spend records stored in the database.");
  fmt::format_to(it, "bursar_ledger_stored_total {}\n", g.ledger_stored);

  Header(out, "bursar_budget_limit_micros", "gauge", "Budget limit this period, micro-units.");
  for (const auto& b : g.budgets) {
    fmt::format_to(it, "bursar_budget_limit_micros{{budget=\"{}\"}} {}\n", PromEscape(b.name),
                   b.limit);
  }
  Header(out, "bursar_budget_spent_micros", "gauge", "Budget spend this period, micro-units.");
  for (const auto& b : g.budgets) {
    fmt::format_to(it, "bursar_budget_spent_micros{{budget=\"{}\"}} {}\n", PromEscape(b.name),
                   b.spent);
  }
  Header(out, "bursar_budget_reserved_micros", "gauge",
         "Budget reserved by requests in flight, micro-units.");
  for (const auto& b : g.budgets) {
    fmt::format_to(it, "bursar_budget_reserved_micros{{budget=\"{}\"}} {}\n", PromEscape(b.name),
                   b.reserved);
  }
  Header(out, "bursar_budget_utilization_ratio", "gauge", "Spent / limit this period.");
  for (const auto& b : g.budgets) {
    double ratio = b.limit > 0 ? static_cast<double>(b.spent) / static_cast<double>(b.limit) : 0;
    fmt::format_to(it, "bursar_budget_utilization_ratio{{budget=\"{}\"}} {}\n", PromEscape(b.name),
                   ratio);
  }
  Header(out, "bursar_budget_alerts_total", "counter", "Budget alert thresholds crossed.");
  for (const auto& b : g.budgets) {
    fmt::format_to(it, "bursar_budget_alerts_total{{budget=\"{}\"}} {}\n", PromEscape(b.name),
                   b.alerts_fired);
  }
  Header(out, "bursar_budget_downgrades_total", "counter", "Requests downgraded by a budget.");
  for (const auto& b : g.budgets) {
    fmt::format_to(it, "bursar_budget_downgrades_total{{budget=\"{}\"}} {}\n", PromEscape(b.name),
                   b.downgrades);
  }
  Header(out, "bursar_budget_blocks_total", "counter", "Requests blocked by a budget.");
  for (const auto& b : g.budgets) {
    fmt::format_to(it, "bursar_budget_blocks_total{{budget=\"{}\"}} {}\n", PromEscape(b.name),
                   b.blocks);
  }

  Header(out, "bursar_cache_entries", "gauge", "Entries in the response cache.");
  fmt::format_to(it, "bursar_cache_entries {}\n", g.cache.entries);
  Header(out, "bursar_cache_bytes", "gauge", "Bytes held by the response cache.");
  fmt::format_to(it, "bursar_cache_bytes {}\n", g.cache.bytes);

  Header(out, "bursar_in_flight_requests", "gauge", "Requests being handled.");
  fmt::format_to(it, "bursar_in_flight_requests {}\n", g.in_flight);
  Header(out, "bursar_ready", "gauge",
         "1 once the configuration is loaded and the ledger replayed.");
  fmt::format_to(it, "bursar_ready {}\n", g.ready ? 1 : 0);
  Header(out, "bursar_config_info", "gauge", "The Git commit of the live configuration.");
  fmt::format_to(it, "bursar_config_info{{commit=\"{}\"}} 1\n", PromEscape(g.commit));
  return out;
}

}  // namespace bursar::gateway
