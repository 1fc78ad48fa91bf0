// Prometheus metrics of the gateway, in the text exposition format (version 0.0.4).
//
// Each worker records into its own MetricsShard; a shard's mutex is taken by its worker for a
// few nanoseconds per request and by a scrape while it copies the shard, so there is no lock
// shared between workers on the hot path. Render() merges the shards and adds the gauges the
// caller passes (budgets, cache, live commit).
//
// Names: bursar_requests_total{route,model,status}, bursar_request_duration_seconds{route}
// (histogram), bursar_tokens_total{route,model,modality},
// bursar_cost_micros_total{key,route,model}, bursar_cache_hits_total{route},
// bursar_cache_saved_micros_total{route}, bursar_upstream_errors_total{model,kind},
// bursar_budget_*{budget}, bursar_config_info{commit}. Threads: MetricsShard methods from its
// worker; Metrics::AddShard before serving; Render from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/money.h"
#include "gateway/budget.h"
#include "gateway/response_cache.h"
#include "gateway/usage.h"

namespace bursar::gateway {

inline constexpr std::array<double, 16> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

struct Histogram {
  std::array<int64_t, kLatencyBuckets.size()> buckets{};  // non-cumulative
  int64_t count = 0;
  int64_t sum_us = 0;
  void Observe(int64_t micros);
  void Merge(const Histogram& o);
};

class MetricsShard {
 public:
  void RecordRequest(std::string_view route, std::string_view model, int status,
                     int64_t latency_us);
  void RecordUsage(std::string_view route, std::string_view model, const Usage& usage);
  void RecordCost(std::string_view key, std::string_view route, std::string_view model,
                  Micros cost);
  void RecordCacheHit(std::string_view route, Micros saved);
  void RecordUpstreamError(std::string_view model, std::string_view kind);
  void RecordRateLimited(std::string_view key, std::string_view limit);
  void RecordLedgerError();

  // Rendered label set -> value. Transparent comparison: a request looks its series up by a
  // string_view into a reused buffer and allocates only for a new series.
  using Counters = std::map<std::string, int64_t, std::less<>>;
  struct Data {
    Counters requests;                                      // by route, model, status
    std::map<std::string, Histogram, std::less<>> latency;  // by route
    Counters tokens;
    Counters cost;
    Counters cache_hits;
    Counters cache_saved;
    Counters upstream_errors;
    Counters rate_limited;
    int64_t ledger_errors = 0;
  };
  Data Copy() const;

 private:
  // The series a record call hit last, by the label values it rendered them from. Requests come
  // in runs with the same labels, and comparing a few short strings costs far less than
  // rendering the labels and looking them up; std::map never moves a value, so the pointers stay
  // valid (series are never removed).
  template <size_t N, typename T>
  struct LastSeries {
    std::array<std::string, N> values;
    int code = 0;
    bool set = false;
    T slots{};  // this call's series (pointers into data_)
    bool Matches(const std::array<std::string_view, N>& v, int c) const {
      if (!set || c != code) return false;
      for (size_t i = 0; i < N; ++i) {
        if (values[i] != v[i]) return false;
      }
      return true;
    }
    void Remember(const std::array<std::string_view, N>& v, int c) {
      for (size_t i = 0; i < N; ++i) values[i].assign(v[i]);
      code = c;
      set = true;
      slots = T{};
    }
  };
  static constexpr size_t kModalities = 7;

  mutable std::mutex mu_;  // guards data_ (its worker vs. a scrape)
  Data data_;
  std::string scratch_;  // label buffer, used by this shard's worker only
  // Used by this shard's worker only, under mu_ like data_.
  LastSeries<2, std::pair<Histogram*, int64_t*>> last_request_;  // route, model; status as code
  LastSeries<2, std::array<int64_t*, kModalities>> last_usage_;  // route, model
  LastSeries<3, int64_t*> last_cost_;                            // key, route, model
};

struct MetricsGauges {
  std::string commit;
  std::vector<BudgetStatus> budgets;
  CacheStats cache;
  int64_t in_flight = 0;
  int64_t ledger_appended = 0;
  int64_t ledger_stored = 0;
  bool ready = false;
};

class Metrics {
 public:
  // Adds a shard (owned here) for a worker. Call before serving.
  MetricsShard& AddShard();
  std::string Render(const MetricsGauges& gauges) const;

 private:
  mutable std::mutex mu_;  // guards shards_ (the vector; taken only by AddShard and Render)
  std::vector<std::unique_ptr<MetricsShard>> shards_;
};

// Escapes a Prometheus label value (\\, \", \n).
std::string PromEscape(std::string_view v);

}  // namespace bursar::gateway
