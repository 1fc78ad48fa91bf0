// spend_insert [--records N] [--batch B]
//
// The ledger writer's cost per gateway spend record: N records (default 500,000) shaped like
// bench/gateway's traffic (one key and route, the same tags and commit, request ids as the
// gateway makes them) are built in memory first, then stored through ledger::Store::InsertBatch
// (InsertMode::kFresh, as the writer stores its queue) in batches of B (default 512: about 10 ms
// of traffic at 50k requests/s, the writer's linger) into a fresh SQLite ledger. Prints the wall
// and CPU time per record. Last line: spend_insert_us_per_record=N (CPU time, user + system)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "ledger/store.h"

using bursar::ledger::SpendRecord;
using bursar::ledger::Store;

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = 500'000;
  size_t batch = 512;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--records" && i + 1 < argc) {
      n = std::atoll(argv[++i]);
    } else if (a == "--batch" && i + 1 < argc) {
      batch = static_cast<size_t>(std::atoll(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: spend_insert [--records N] [--batch B]\n");
      return 2;
    }
  }
  if (n <= 0 || batch == 0) return 2;
  std::string tmpl = (std::filesystem::temp_directory_path() / "bursar-insert.XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return 1;
  const std::string dir = tmpl;

  std::vector<SpendRecord> records(static_cast<size_t>(n));
  const int64_t t0 = 1'790'000'000'000'000;
  for (int64_t i = 0; i < n; ++i) {
    SpendRecord& r = records[static_cast<size_t>(i)];
    char id[40];
    std::snprintf(id, sizeof id, "req_%016llx%02x%010llx", 0x3a5f09c2e47b18d6ULL,
                  static_cast<unsigned>(i % 2), static_cast<unsigned long long>(i / 2) + 1);
    r.request_id = id;
    r.time_us = t0 + i * 20;  // 50k requests/s
    r.key_name = "bench";
    r.tags = {{"team", "bench"}};
    r.route = "chat";
    r.model = "bench-model";
    r.upstream_model = "bench-upstream";
    r.commit = "9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f6a7b8c9d0e";
    r.price = R"({"input_cost_per_token":"1.5e-07","output_cost_per_token":"6e-07"})";
    r.currency = "USD";
    r.usage.prompt_tokens = 19;
    r.usage.completion_tokens = 9;
    r.cost_micros = 8;
    r.latency_us = 120 + i % 50;
    r.status = 200;
  }

  auto store = Store::Open(dir);
  if (!store.ok()) {
    std::fprintf(stderr, "spend_insert: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const double cpu0 = CpuSeconds();
  const auto wall0 = std::chrono::steady_clock::now();
  for (size_t start = 0; start < records.size(); start += batch) {
    size_t len = std::min(batch, records.size() - start);
    auto ins = (*store)->InsertBatch(std::span<const SpendRecord>(records.data() + start, len),
                                     bursar::ledger::InsertMode::kFresh);
    if (!ins.ok() || *ins != static_cast<int64_t>(len)) {
      std::fprintf(stderr, "spend_insert: insert failed: %s\n",
                   ins.ok() ? "short count" : ins.status().ToString().c_str());
      return 1;
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double cpu = CpuSeconds() - cpu0;
  store->reset();
  std::filesystem::remove_all(dir);
  std::printf("%lld records in batches of %zu: %.2f s wall, %.2f s CPU (%.0f records/s)\n",
              static_cast<long long>(n), batch, wall, cpu, static_cast<double>(n) / wall);
  std::printf("spend_insert_us_per_record=%.2f\n", cpu * 1e6 / static_cast<double>(n));
  return 0;
}
