// Positive tests: the example repository loads, and values are parsed exactly.
#include "config/loader.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace bursar::config {
namespace {

std::string SourceDir() {
  const char* env = std::getenv("BURSAR_SOURCE_DIR");
  return env != nullptr ? env : BURSAR_SOURCE_DIR;
}

std::string AllDiagnostics(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.diagnostics) out += d.ToString() + "\n";
  return out;
}

class ExampleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto files = ReadDirectory(SourceDir() + "/examples/platform");
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    files_ = new std::vector<SourceFile>(std::move(*files));
    result_ = new LoadResult(LoadDesiredState(*files_));
  }
  static void TearDownTestSuite() {
    delete files_;
    delete result_;
  }
  const DesiredState& state() { return *result_->state; }
  static std::vector<SourceFile>* files_;
  static LoadResult* result_;
};
std::vector<SourceFile>* ExampleTest::files_ = nullptr;
LoadResult* ExampleTest::result_ = nullptr;

TEST_F(ExampleTest, LoadsWithoutDiagnostics) {
  EXPECT_TRUE(result_->diagnostics.empty()) << AllDiagnostics(*result_);
  ASSERT_NE(result_->state, nullptr);
}

TEST_F(ExampleTest, ReadsFilesSortedWithRelativePaths) {
  ASSERT_GE(files_->size(), 8u);
  EXPECT_EQ((*files_)[0].path, "access/api-keys.yaml");
  for (size_t i = 1; i < files_->size(); ++i) {
    EXPECT_LT((*files_)[i - 1].path, (*files_)[i].path);
    EXPECT_NE((*files_)[i].path[0], '/');
  }
}

TEST_F(ExampleTest, CountsEveryKind) {
  ASSERT_NE(result_->state, nullptr);
  EXPECT_EQ(state().models.size(), 7u);
  EXPECT_EQ(state().routes.size(), 5u);
  EXPECT_EQ(state().api_keys.size(), 3u);
  EXPECT_EQ(state().budgets.size(), 2u);
  EXPECT_EQ(state().alert_policies.size(), 1u);
  EXPECT_EQ(state().remediations.size(), 1u);
  EXPECT_EQ(state().price_catalogs.size(), 1u);
  EXPECT_EQ(state().workloads.size(), 3u);  // the Service and the ConfigMap are skipped
}

TEST_F(ExampleTest, PricesAreExactPicos) {
  ASSERT_NE(result_->state, nullptr);
  const Model* mini = state().FindModel("gpt-4o-mini");
  ASSERT_NE(mini, nullptr);
  EXPECT_EQ(mini->pricing.input_cost_per_token, 150'000);  // 1.5e-07 USD
  EXPECT_EQ(mini->pricing.cache_read_input_token_cost, 75'000);
  EXPECT_EQ(mini->pricing.output_cost_per_token, 600'000);
  EXPECT_EQ(mini->base_url, "https://api.openai.com/v1");
  EXPECT_EQ(mini->api_key_env, "OPENAI_API_KEY");
  EXPECT_EQ(mini->timeout, std::chrono::seconds(30));
  EXPECT_EQ(mini->image_tokens, ImageTokenScheme::kOpenAITiles);
  ASSERT_EQ(mini->modalities.size(), 2u);
  EXPECT_EQ(mini->modalities[1], Modality::kImage);
  const Model* whisper = state().FindModel("whisper-1");
  ASSERT_NE(whisper, nullptr);
  EXPECT_EQ(whisper->pricing.input_cost_per_audio_per_second, 100'000'000);  // "0.0001"
  EXPECT_EQ(whisper->modalities, std::vector<Modality>{Modality::kAudio});
  const Model* embed = state().FindModel("text-embedding-3-small");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->pricing.input_cost_per_token, 20'000);  // 2e-08
  EXPECT_EQ(state().FindModel("gpt-4o-transcribe")->pricing.input_cost_per_audio_token, 6'000'000);
}

TEST_F(ExampleTest, RoutesKeepCanaryAndPolicies) {
  ASSERT_NE(result_->state, nullptr);
  const Route* chat = state().FindRoute("chat");
  ASSERT_NE(chat, nullptr);
  ASSERT_EQ(chat->targets.size(), 2u);
  EXPECT_EQ(chat->targets[0].model, "gpt-4o-mini");
  EXPECT_EQ(chat->targets[0].weight, 90);
  EXPECT_EQ(chat->targets[1].model, "gpt-4.1-mini");
  EXPECT_EQ(chat->targets[1].weight, 10);
  EXPECT_EQ(chat->fallbacks, std::vector<std::string>{"multimodal-selfhosted"});
  EXPECT_EQ(chat->retry.attempts, 2);
  EXPECT_EQ(chat->retry.backoff, std::chrono::milliseconds(200));
  EXPECT_TRUE(chat->cache.enabled);
  EXPECT_EQ(chat->cache.ttl, std::chrono::minutes(10));
  EXPECT_EQ(chat->cache.max_entries, 50000);
  EXPECT_EQ(chat->images.max_long_edge, 1024);
  EXPECT_EQ(chat->circuit_breaker.cooldown, std::chrono::seconds(30));
  const Route* economy = state().FindRoute("chat-economy");
  ASSERT_NE(economy, nullptr);
  EXPECT_EQ(economy->targets[0].weight, 100);  // a single target takes all traffic
  EXPECT_EQ(state().FindRoute("embeddings")->cache.ttl, std::chrono::hours(24));
}

TEST_F(ExampleTest, KeysBudgetsAndPolicies) {
  ASSERT_NE(result_->state, nullptr);
  const ApiKey* web = state().FindApiKey("web-storefront-prod");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->key_sha256, "f9591d82e076efa42a6fac9b1d3bd70a0e2f955bb58719fa7e97182596c5ed23");
  EXPECT_EQ(web->tags.at("team"), "web");
  EXPECT_EQ(web->rate_limits.tokens_per_minute, 2'000'000);
  const Budget* monthly = state().FindBudget("web-monthly");
  ASSERT_NE(monthly, nullptr);
  EXPECT_EQ(monthly->limit, 5'000'000'000);  // "5000.00" in micros
  EXPECT_EQ(monthly->period, BudgetPeriod::kMonth);
  EXPECT_EQ(monthly->time_zone, "America/New_York");
  ASSERT_EQ(monthly->thresholds.size(), 4u);
  EXPECT_EQ(monthly->thresholds[2].action, BudgetAction::kDowngrade);
  EXPECT_EQ(monthly->thresholds[2].downgrade_to, "chat-economy");
  EXPECT_EQ(monthly->thresholds[3].percent, 110);
  const Budget* daily = state().FindBudget("mobile-staging-daily");
  ASSERT_NE(daily, nullptr);
  EXPECT_EQ(daily->limit, 25'000'000);
  EXPECT_EQ(daily->scope.keys, std::vector<std::string>{"mobile-ios-staging"});
  const AlertPolicy& alerts = state().alert_policies[0];
  EXPECT_EQ(alerts.window, std::chrono::hours(1));
  EXPECT_EQ(alerts.cooldown, std::chrono::hours(6));
  ASSERT_EQ(alerts.sinks.size(), 2u);
  EXPECT_EQ(alerts.sinks[0].url_env, "SLACK_FINOPS_WEBHOOK_URL");
  const Remediation& rem = state().remediations[0];
  ASSERT_EQ(rem.actions.size(), 2u);
  EXPECT_EQ(rem.actions[1].workload, "Deployment/multimodal-inference-staging");
  EXPECT_EQ(rem.actions[1].off_hours, "20:00-07:00");
  const PriceCatalog& cat = state().price_catalogs[0];
  EXPECT_EQ(cat.gpu_per_hour.at("nvidia-h100"), 11'061'300'000'000);
  EXPECT_EQ(cat.per_vcpu_hour, 31'611'000'000);
  EXPECT_EQ(cat.default_gpu_type, "nvidia-l4");
}

TEST_F(ExampleTest, WorkloadsFromKubernetesManifests) {
  ASSERT_NE(result_->state, nullptr);
  const Workload* seed = nullptr;
  const Workload* cron = nullptr;
  for (const Workload& w : state().workloads) {
    if (w.meta.name == "multimodal-inference-service") seed = &w;
    if (w.meta.name == "catalog-reindex") cron = &w;
  }
  ASSERT_NE(seed, nullptr);
  EXPECT_EQ(seed->kind, "Deployment");
  EXPECT_EQ(seed->replicas, 3);
  EXPECT_EQ(seed->requests.gpus, 1);
  EXPECT_EQ(seed->requests.cpu_millis, 500);
  EXPECT_EQ(seed->requests.memory_bytes, int64_t{1} << 30);
  EXPECT_EQ(seed->limits.cpu_millis, 1000);
  EXPECT_EQ(seed->limits.memory_bytes, int64_t{2} << 30);
  EXPECT_EQ(seed->gpu_type, "nvidia-l4");
  ASSERT_NE(cron, nullptr);
  EXPECT_EQ(cron->kind, "CronJob");
  EXPECT_EQ(cron->replicas, 2);
  EXPECT_EQ(cron->requests.cpu_millis, 4000);
  EXPECT_EQ(cron->gpu_type, "nvidia-a100");
}

// The plaintext example keys (for demos and integration tests) hash to the ApiKeys' keyHash.
TEST_F(ExampleTest, ExamplePlaintextKeysMatchTheirHashes) {
  ASSERT_NE(result_->state, nullptr);
  std::ifstream in(SourceDir() + "/examples/platform-example-keys.tsv");
  ASSERT_TRUE(in.good());
  std::string name, key;
  int checked = 0;
  while (in >> name >> key) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
    std::string hex;
    for (unsigned char b : digest) {
      hex += "0123456789abcdef"[b >> 4];
      hex += "0123456789abcdef"[b & 0xf];
    }
    const ApiKey* api_key = state().FindApiKey(name);
    ASSERT_NE(api_key, nullptr) << name;
    EXPECT_EQ(api_key->key_sha256, hex) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(LoaderTest, EveryWorkloadKindSumsContainers) {
  const char* yaml = R"(apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      containers:
        - resources: {requests: {cpu: 100m, memory: 64Mi}}
        - resources: {requests: {cpu: "0.25", memory: 1e6}, limits: {ephemeral-storage: 1Gi}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: vllm
  annotations: {bursar.dev/gpu-type: nvidia-h100}
spec:
  replicas: 2
  template:
    spec:
      containers: [{resources: {limits: {nvidia.com/gpu: "8", cpu: 32, memory: 512Gi}}}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    metadata:
      annotations: {bursar.dev/gpu-type: nvidia-l4}
    spec:
      containers: [{resources: {requests: {nvidia.com/gpu: 1}}}]
)";
  LoadResult r = LoadDesiredState({{"k.yaml", yaml}});
  ASSERT_TRUE(r.diagnostics.empty()) << r.diagnostics[0].ToString();
  ASSERT_EQ(r.state->workloads.size(), 3u);
  const Workload& agent = r.state->workloads[0];
  EXPECT_EQ(agent.kind, "DaemonSet");
  EXPECT_EQ(agent.api_version, "apps/v1");
  EXPECT_EQ(agent.replicas, 1);
  EXPECT_EQ(agent.requests.cpu_millis, 350);
  EXPECT_EQ(agent.requests.memory_bytes, (int64_t{64} << 20) + 1'000'000);
  EXPECT_EQ(agent.meta.where.line, 1);
  const Workload& vllm = r.state->workloads[1];
  EXPECT_EQ(vllm.replicas, 2);
  EXPECT_EQ(vllm.limits.gpus, 8);
  EXPECT_EQ(vllm.limits.cpu_millis, 32'000);
  EXPECT_EQ(vllm.limits.memory_bytes, int64_t{512} << 30);
  EXPECT_EQ(vllm.gpu_type, "nvidia-h100");  // no PriceCatalog: kept as written
  EXPECT_EQ(vllm.meta.where.line, 11);
  const Workload& job = r.state->workloads[2];
  EXPECT_EQ(job.replicas, 1);
  EXPECT_EQ(job.requests.gpus, 1);
  EXPECT_EQ(job.gpu_type, "nvidia-l4");
}

TEST(LoaderTest, EmptyInputIsAnEmptyValidState) {
  LoadResult r = LoadDesiredState({});
  EXPECT_TRUE(r.diagnostics.empty());
  ASSERT_NE(r.state, nullptr);
  EXPECT_TRUE(r.state->models.empty());
}

TEST(LoaderTest, ReadDirectorySkipsDotFoldersAndOtherExtensions) {
  char tmpl[] = "/tmp/bursar-config-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::filesystem::path root(tmpl);
  auto write = [&](const std::string& rel, const std::string& text) {
    std::filesystem::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  };
  write("b/deep/x.yml", "a: 1\n");
  write("a.yaml", "b: 2\n");
  write(".git/config.yaml", "c: 3\n");
  write(".github/workflows/ci.yaml", "on: push\n");
  write("README.md", "# r\n");
  write("values.json", "{}");
  auto files = ReadDirectory(root.string());
  std::filesystem::remove_all(root);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].path, "a.yaml");
  EXPECT_EQ((*files)[0].content, "b: 2\n");
  EXPECT_EQ((*files)[1].path, "b/deep/x.yml");
}

TEST(LoaderTest, ReadDirectoryRejectsMissingDirectory) {
  auto files = ReadDirectory("/nonexistent/bursar/dir");
  EXPECT_FALSE(files.ok());
}

}  // namespace
}  // namespace bursar::config
