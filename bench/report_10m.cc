// report_10m [--records N] [--data DIR] [--keep]
//
// Inserts N synthetic spend records (default 10,000,000) through ledger::Store into an SQLite
// ledger (a temporary folder, or DIR; an existing DIR that already holds N records is reused),
// then times what `bursar report --data DIR --by team` does: open the store, aggregate by the
// team tag, format the table. Also times --by model over a range with partial hours at both ends.
// The data is 30 days of traffic in time order: 50 API keys (each with team/app/env tags), 6
// routes with 2 target models each, a new config commit every 3 days.
// Last line: report_10M_ms=N (the --by team time, best of 3 runs).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "ledger/report.h"
#include "ledger/store.h"

using bursar::ledger::Dimension;
using bursar::ledger::SpendFilter;
using bursar::ledger::SpendRecord;
using bursar::ledger::Store;
using Clock = std::chrono::steady_clock;

namespace {

double MillisSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void Die(const bursar::Status& s, const char* what) {
  std::fprintf(stderr, "report_10m: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = 10'000'000;
  std::string dir;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--records" && i + 1 < argc) {
      n = std::atoll(argv[++i]);
    } else if (a == "--data" && i + 1 < argc) {
      dir = argv[++i];
      keep = true;
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: report_10m [--records N] [--data DIR] [--keep]\n");
      return 2;
    }
  }
  if (dir.empty()) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "bursar-report10m.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 1;
    dir = tmpl;
  }

  const int64_t t0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
  const int64_t span = 30LL * 86'400'000'000;
  const char* teams[] = {"search", "ads", "support", "growth", "risk", "maps", "mail", "docs"};
  const char* routes[] = {"chat", "chat-premium", "vision", "speech", "embed", "summarize"};
  {
    auto store = Store::Open(dir);
    if (!store.ok()) Die(store.status(), "open");
    auto have = (*store)->CountRecords();
    if (!have.ok()) Die(have.status(), "count");
    if (*have >= n) {
      std::printf("reusing %lld records in %s\n", static_cast<long long>(*have), dir.c_str());
    } else {
      std::printf("inserting %lld records into %s/ledger.db ...\n", static_cast<long long>(n),
                  dir.c_str());
      std::fflush(stdout);
      auto start = Clock::now();
      constexpr int64_t kBatch = 50'000;
      std::vector<SpendRecord> batch;
      batch.reserve(kBatch);
      uint64_t rng = 0x9E3779B97F4A7C15ULL;
      auto next = [&rng] {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
      };
      char id[32];
      for (int64_t i = *have; i < n; ++i) {
        SpendRecord r;
        std::snprintf(id, sizeof id, "req-%016llx", static_cast<unsigned long long>(i));
        r.request_id = id;
        r.time_us = t0 + span / n * i;
        int key = static_cast<int>(next() % 50);
        r.key_name = "key-" + std::to_string(key);
        r.tags = {{"team", teams[key % 8]},
                  {"app", "app-" + std::to_string(key % 13)},
                  {"env", key % 5 == 0 ? "dev" : "prod"}};
        int route = static_cast<int>(next() % 6);
        r.route = routes[route];
        r.model = std::string(routes[route]) + (next() % 10 == 0 ? "-canary" : "-stable");
        r.upstream_model = r.model + "-2026-01";
        r.commit = "c" + std::to_string((r.time_us - t0) / (3 * 86'400'000'000LL));
        r.usage.prompt_tokens = static_cast<int64_t>(next() % 4000);
        r.usage.completion_tokens = static_cast<int64_t>(next() % 800);
        r.usage.images = route == 2 ? 1 : 0;
        r.price = R"({"input_cost_per_token":150000,"output_cost_per_token":600000})";
        r.cost_micros =
            (r.usage.prompt_tokens * 150'000 + r.usage.completion_tokens * 600'000) / 1'000'000;
        r.cache_hit = next() % 20 == 0;
        r.latency_us = static_cast<int64_t>(next() % 2'000'000);
        batch.push_back(std::move(r));
        if (static_cast<int64_t>(batch.size()) == kBatch || i + 1 == n) {
          auto ins = (*store)->InsertBatch(batch);
          if (!ins.ok()) Die(ins.status(), "insert");
          batch.clear();
          if ((i + 1) % 1'000'000 == 0) {
            std::printf("  %lld records, %.0f s\n", static_cast<long long>(i) + 1,
                        MillisSince(start) / 1000);
            std::fflush(stdout);
          }
        }
      }
      double ms = MillisSince(start);
      std::printf("insert: %lld records in %.1f s (%.0f records/s)\n",
                  static_cast<long long>(n - *have), ms / 1000, (n - *have) / (ms / 1000));
    }
  }

  auto run = [&](const std::vector<std::string>& by, const SpendFilter& filter, bool print) {
    auto start = Clock::now();
    auto store = Store::Open(dir);
    if (!store.ok()) Die(store.status(), "open");
    std::vector<Dimension> dims;
    bursar::ledger::Report report;
    for (const auto& b : by) {
      dims.push_back(*Dimension::Parse(b));
      report.by.push_back(b);
    }
    auto groups = (*store)->Aggregate(dims, filter);
    if (!groups.ok()) Die(groups.status(), "aggregate");
    report.groups = std::move(groups).value();
    std::string text = bursar::ledger::FormatReportTable(report);
    double ms = MillisSince(start);
    if (print) std::fwrite(text.data(), 1, text.size(), stdout);
    return ms;
  };

  double best_team = 1e18;
  for (int i = 0; i < 3; ++i) best_team = std::min(best_team, run({"team"}, {}, i == 0));
  SpendFilter partial;
  partial.since_us = t0 + 2 * 86'400'000'000LL + 1'234'567'890;
  partial.until_us = t0 + 20 * 86'400'000'000LL + 987'654'321;
  double best_model = 1e18;
  for (int i = 0; i < 3; ++i) best_model = std::min(best_model, run({"model"}, partial, false));
  double best_key_route = 1e18;
  for (int i = 0; i < 3; ++i) {
    best_key_route = std::min(best_key_route, run({"key", "route"}, {}, false));
  }
  std::printf("report --by team (all %lld records): %.0f ms\n", static_cast<long long>(n),
              best_team);
  std::printf("report --by model --since/--until with partial hours: %.0f ms\n", best_model);
  std::printf("report --by key,route: %.0f ms\n", best_key_route);
  if (!keep) std::filesystem::remove_all(dir);
  std::printf("report_10M_ms=%.0f\n", best_team);
  return 0;
}
