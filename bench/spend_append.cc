// spend_append [--threads T] [--records N] [--format both|full|compact]
//
// The gateway workers' cost of making a spend record durable without sync (the mapped spend log
// the gateway uses): T threads (default 2, the bench machine's cores) each encode and append N
// records (default 2,000,000 in all) of a gateway request to one SpendLog, as the workers do
// concurrently, into one segment faulted in beforehand (as the ledger writer keeps the pages
// ahead of the appends). It does so twice: with the full line of every field (EncodeSpendRecord,
// the log's format before session 10), then with the compact lines the gateway writes (a context
// line per thread and segment, records that refer to it). Prints wall and CPU time per record
// and bytes per record for each, and the ratio. Last line:
// spend_append_ns_per_record=N full_ns_per_record=M
// (CPU time of the appending threads, user + system, per record: compact lines, then full ones)
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
#include "ledger/spend_record.h"

using bursar::Status;
using bursar::ledger::SpendLog;
using bursar::ledger::SpendRecord;

namespace {

double ThreadCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

struct Result {
  double cpu_ns = 0;   // per record, the appending threads' CPU
  double wall_ns = 0;  // per record
  double bytes = 0;    // per record, in the segment
};

// T threads append n records in all to a fresh log in `dir`; `compact`: the gateway's lines.
Result Run(const std::string& dir, int threads, int64_t n, bool compact) {
  const size_t map_bytes = static_cast<size_t>(n) * 480 + (size_t{1} << 20);
  auto log = SpendLog::Open({dir, /*sync=*/false, map_bytes});
  if (!log.ok()) {
    std::fprintf(stderr, "spend_append: %s\n", log.status().ToString().c_str());
    std::exit(1);
  }
  // The bench configuration's record (bench/gateway.sh): one key, one route, one model.
  SpendRecord base;
  base.time_us = 1'790'000'000'000'000;
  base.key_name = "bench";
  base.tags = {{"team", "bench"}};
  base.route = "chat";
  base.model = "bench-model";
  base.upstream_model = "bench-upstream";
  base.commit = "a57093cbbe0a103bed6b3777a7132f56256ea39a";
  base.usage.prompt_tokens = 19;
  base.usage.completion_tokens = 9;
  base.price = R"({"input_cost_per_token":150000,"output_cost_per_token":600000})";
  base.cost_micros = 8;
  base.latency_us = 412;

  const int64_t per_thread = n / threads;
  std::atomic<bool> go{false};
  std::vector<double> cpu(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      SpendRecord r = base;
      r.request_id = "req_3a5f09c2e47b18d60" + std::to_string(t) + "000000000000";
      bursar::ledger::SpendLogLines lines;
      while (!go.load()) std::this_thread::yield();
      const double c0 = ThreadCpuSeconds();
      for (int64_t i = 0; i < per_thread; ++i) {
        r.request_id.back() = static_cast<char>('0' + i % 10);  // as ids differ request by request
        ++r.time_us;
        Status s;
        if (compact) {
          bursar::ledger::EncodeSpendLogLines(r, &lines);
          const SpendLog::Context context{lines.context_id, lines.context};
          s = (*log)->Append(lines.record, nullptr, &context);
        } else {
          s = (*log)->Append(bursar::ledger::EncodeSpendRecord(r));
        }
        if (!s.ok()) std::abort();
      }
      cpu[static_cast<size_t>(t)] = ThreadCpuSeconds() - c0;
    });
  }
  // One segment large enough for every record, faulted in before the clock starts: what is timed
  // is the encoding and the appends alone (the ledger writer keeps the pages faulted in ahead).
  (*log)->PrefaultAhead(map_bytes);
  const auto start = std::chrono::steady_clock::now();
  go.store(true);
  for (auto& th : pool) th.join();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu_total = 0;
  for (double c : cpu) cpu_total += c;
  const double records = static_cast<double>(per_thread * threads);
  const double bytes = static_cast<double>((*log)->current_segment_bytes());
  (*log)->Close();
  log->reset();
  std::filesystem::remove_all(dir);
  return Result{cpu_total * 1e9 / records, wall * 1e9 / records, bytes / records};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  int64_t n = 2'000'000;
  std::string format = "both";  // or full, or compact: one of the two runs only (for profiling)
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--records" && i + 1 < argc) {
      n = std::atoll(argv[++i]);
    } else if (a == "--format" && i + 1 < argc) {
      format = argv[++i];
    } else {
      std::fprintf(
          stderr, "usage: spend_append [--threads T] [--records N] [--format both|full|compact]\n");
      return 2;
    }
  }
  if (threads <= 0 || n <= 0) {
    std::fprintf(stderr, "spend_append: --threads and --records must be positive\n");
    return 2;
  }
  if (format != "both" && format != "full" && format != "compact") {
    std::fprintf(stderr, "spend_append: --format must be both, full or compact, not \"%s\"\n",
                 format.c_str());
    return 2;
  }
  const bool do_full = format != "compact", do_compact = format != "full";
  std::string tmpl = (std::filesystem::temp_directory_path() / "bursar-append.XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return 1;
  const long long total = n / threads * threads;  // whole shares per thread
  std::printf("spend_append: %d threads, %lld records each way\n", threads, total);
  const Result full = do_full ? Run(tmpl + "/full", threads, n, false) : Result{};
  const Result compact = do_compact ? Run(tmpl + "/compact", threads, n, true) : Result{};
  std::filesystem::remove_all(tmpl);
  auto print = [](const char* name, const Result& r) {
    std::printf(
        "%s: %.0f bytes/record, wall %.1f ns/record (%.2f M records/s), CPU %.1f ns/record\n", name,
        r.bytes, r.wall_ns, 1e3 / r.wall_ns, r.cpu_ns);
  };
  if (do_full) print("full lines   ", full);
  if (do_compact) print("compact lines", compact);
  if (do_full && do_compact) {
    std::printf("compact/full: bytes %.2f, CPU %.2f\n", compact.bytes / full.bytes,
                compact.cpu_ns / full.cpu_ns);
  }
  // The run not made prints 0.
  std::printf("spend_append_ns_per_record=%.0f full_ns_per_record=%.0f\n", compact.cpu_ns,
              full.cpu_ns);
  return 0;
}
