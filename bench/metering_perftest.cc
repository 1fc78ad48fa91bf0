// Google Benchmark for the gateway's per-request metering and admission work (not a test).
// Last line: metering: parse_estimate_admit_settle_ns=N (one typical chat request, one thread).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "gateway/budget.h"
#include "gateway/estimate.h"
#include "gateway/image_header.h"
#include "gateway/pricing.h"
#include "gateway/rate_limiter.h"
#include "gateway/request_parser.h"
#include "gateway/response_cache.h"
#include "gateway/usage.h"

namespace bg = bursar::gateway;
namespace cfg = bursar::config;

namespace {

const std::string kChat =
    R"({"model":"chat-default","messages":[{"role":"system","content":"You are a helpful )"
    R"(assistant that answers briefly."},{"role":"user","content":"What is the capital of )"
    R"(France? Please explain in a few sentences with some history."}],"max_tokens":200,)"
    R"("temperature":0.2,"stream":true})";

std::string ImageBody(size_t image_bytes) {
  // A PNG header followed by filler: what matters is the size of the data: URL.
  // Signature, IHDR length and type, 1024 x 768, 8-bit RGB: 29 bytes (the literal's own length;
  // it holds NULs). The count 33 given before read 4 bytes past the literal.
  using std::string_literals::operator""s;
  std::string png = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x04\0\0\0\x03\0\x08\x02\0\0\0"s;
  png.resize(image_bytes, 'x');
  return R"({"model":"vision","messages":[{"role":"user","content":[{"type":"text","text":"What )"
         R"(is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,)" +
         bg::EncodeBase64(png) + R"("}}]}]})";
}

cfg::Model Gpt4o() {
  cfg::Model m;
  m.meta.name = "gpt-4o";
  m.image_tokens = cfg::ImageTokenScheme::kOpenAITiles;
  m.pricing.input_cost_per_token = 2'500'000;
  m.pricing.cache_read_input_token_cost = 1'250'000;
  m.pricing.output_cost_per_token = 10'000'000;
  return m;
}

void BM_ParseChatText(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(bg::ParseChatRequest(kChat));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kChat.size()));
}
BENCHMARK(BM_ParseChatText);

void BM_ParseChatImage(benchmark::State& state) {
  const std::string body = ImageBody(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(bg::ParseChatRequest(body));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ParseChatImage)->Arg(100 << 10)->Arg(1 << 20);

void BM_RewriteBody(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(bg::RewriteRequestBody(kChat, "gpt-4o", true));
}
BENCHMARK(BM_RewriteBody);

void BM_EstimateAndCost(benchmark::State& state) {
  const auto parsed = bg::ParseChatRequest(kChat).value();
  const cfg::Model model = Gpt4o();
  for (auto _ : state) benchmark::DoNotOptimize(bg::EstimateRequest(parsed, model, {}));
}
BENCHMARK(BM_EstimateAndCost);

void BM_UsageFinalChunk(benchmark::State& state) {
  const std::string chunk =
      R"({"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":42,)"
      R"("completion_tokens":180,"total_tokens":222,"prompt_tokens_details":{"cached_tokens":0}}})";
  for (auto _ : state) benchmark::DoNotOptimize(bg::ParseUsageFromChunk(chunk));
}
BENCHMARK(BM_UsageFinalChunk);

void BM_UsageContentChunk(benchmark::State& state) {
  const std::string chunk =
      R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":)"
      R"({"content":"Paris"}}]})";
  for (auto _ : state) benchmark::DoNotOptimize(bg::ParseUsageFromChunk(chunk));
}
BENCHMARK(BM_UsageContentChunk);

std::unique_ptr<bg::BudgetTracker> Tracker() {
  cfg::Budget b;
  b.meta.name = "team-a";
  b.scope.tags = {{"team", "a"}};
  b.limit = INT64_MAX / 4;
  b.thresholds = {{80, cfg::BudgetAction::kAlert, ""}, {100, cfg::BudgetAction::kBlock, ""}};
  cfg::Budget all;
  all.meta.name = "org";
  all.limit = INT64_MAX / 4;
  return std::move(bg::BudgetTracker::Create({b, all}, bg::SystemNow()).value());
}

const std::map<std::string, std::string> kTags = {{"team", "a"}, {"env", "prod"}};

void BM_BudgetAdmitSettle(benchmark::State& state) {
  static std::unique_ptr<bg::BudgetTracker> tracker;
  if (state.thread_index() == 0) tracker = Tracker();
  bg::BudgetRequest req{"key-a", &kTags, "chat", "gpt-4o"};
  for (auto _ : state) {
    auto d = tracker->Admit(req, 1234);
    tracker->Settle(std::move(d.reservation), 1000);
  }
}
BENCHMARK(BM_BudgetAdmitSettle)->Threads(1)->Threads(2);

void BM_RateLimiterAdmit(benchmark::State& state) {
  static bg::RateLimiter limiter;
  const cfg::RateLimits limits{1'000'000'000, 1'000'000'000};
  const std::string key = "key-" + std::to_string(state.thread_index());
  for (auto _ : state) benchmark::DoNotOptimize(limiter.Admit(key, limits, 300));
}
BENCHMARK(BM_RateLimiterAdmit)->Threads(1)->Threads(2);

void BM_CacheKey(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(bg::CacheKey("chat", kChat));
}
BENCHMARK(BM_CacheKey);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // The whole metering path of one request, timed directly for the summary line.
  auto tracker = Tracker();
  const cfg::Model model = Gpt4o();
  const bg::BudgetRequest req{"key-a", &kTags, "chat", "gpt-4o"};
  constexpr int kIters = 200000;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kIters; ++i) {
    auto parsed = bg::ParseChatRequest(kChat);
    auto est = bg::EstimateRequest(*parsed, model, {});
    auto d = tracker->Admit(req, est.cost.total);
    tracker->Settle(std::move(d.reservation), est.cost.total / 2);
  }
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
          .count() /
      kIters;
  std::printf("metering: parse_estimate_admit_settle_ns=%lld\n", static_cast<long long>(ns));
  return 0;
}
