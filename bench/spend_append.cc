// spend_append [--threads T] [--records N]
//
// The gateway workers' cost of making a spend record durable without sync (the mapped spend log
// the gateway uses): T threads (default 2, the bench machine's cores) each append N records
// (default 2,000,000 in all) of a gateway-sized payload (about 450 bytes) to one SpendLog, as the
// workers do concurrently, into one segment faulted in beforehand (as the ledger writer keeps the
// pages ahead of the appends). Prints wall and CPU time per record. Last line:
// spend_append_ns_per_record=N
// (CPU time of the appending threads, user + system, per record)
#include <sys/resource.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ledger/spend_log.h"

using bursar::ledger::SpendLog;

namespace {

double ThreadCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  int64_t n = 2'000'000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--records" && i + 1 < argc) {
      n = std::atoll(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: spend_append [--threads T] [--records N]\n");
      return 2;
    }
  }
  if (threads <= 0 || n <= 0) return 2;
  std::string tmpl = (std::filesystem::temp_directory_path() / "bursar-append.XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return 1;
  const std::string dir = tmpl;
  const size_t map_bytes = static_cast<size_t>(n) * 460 + (size_t{1} << 20);
  auto log = SpendLog::Open({dir, /*sync=*/false, map_bytes});
  if (!log.ok()) {
    std::fprintf(stderr, "spend_append: %s\n", log.status().ToString().c_str());
    return 1;
  }
  // A gateway record's JSON line is about 450 bytes.
  std::string payload =
      R"({"request_id":"req_3a5f09c2e47b18d6010000000001","time_us":1790000000000000,)"
      R"("key":"bench","tags":{"team":"bench"},"route":"chat","model":"bench-model",)"
      R"("upstream_model":"bench-upstream","commit":"a57093cbbe0a103bed6b3777a7132f56256ea39a",)"
      R"("usage":{"prompt_tokens":19,"completion_tokens":9},"price":{"input_cost_per_token":)"
      R"(150000,"output_cost_per_token":600000},"cost_micros":8,"latency_us":412})";
  payload.resize(440, ' ');

  const int64_t per_thread = n / threads;
  std::atomic<bool> go{false};
  std::vector<double> cpu(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      const double c0 = ThreadCpuSeconds();
      for (int64_t i = 0; i < per_thread; ++i) {
        if (!(*log)->Append(payload).ok()) std::abort();
      }
      cpu[static_cast<size_t>(t)] = ThreadCpuSeconds() - c0;
    });
  }
  // One segment large enough for every record, faulted in before the clock starts: what is timed
  // is the appends alone (the ledger writer keeps the pages faulted in ahead of them).
  (*log)->PrefaultAhead(map_bytes);
  const auto start = std::chrono::steady_clock::now();
  go.store(true);
  for (auto& th : pool) th.join();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu_total = 0;
  for (double c : cpu) cpu_total += c;
  const double records = static_cast<double>(per_thread * threads);
  (*log)->Close();
  log->reset();
  std::filesystem::remove_all(dir);
  std::printf("spend_append: %d threads, %.0f records of %zu bytes\n", threads, records,
              payload.size());
  std::printf("wall %.1f ns/record (%.2f M records/s), appending threads' CPU %.1f ns/record\n",
              wall * 1e9 / records, records / wall / 1e6, cpu_total * 1e9 / records);
  std::printf("spend_append_ns_per_record=%.0f\n", cpu_total * 1e9 / records);
  return 0;
}
