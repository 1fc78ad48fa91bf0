#include "gitops/diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gitops/git_source.h"
#include "gitops/test_repo.h"

namespace bursar::gitops {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kRouteV1[] = R"(apiVersion: bursar.dev/v1
kind: Route
metadata:
  name: chat
spec:
  targets:
    - model: llama-v1
      weight: 90
    - model: llama-v2
      weight: 10
  fallbacks: [gpt-4o-mini, claude-haiku]
  retry:
    attempts: 2
)";

constexpr char kModel[] = R"(apiVersion: bursar.dev/v1
kind: Model
metadata:
  name: gpt-4o-mini
  labels:
    app.kubernetes.io/name: chat
spec:
  baseUrl: https://api.openai.com/v1
  timeout: 30s
  pricing:
    input_cost_per_token: "0.00000015"
    output_cost_per_token: 0.0000006
)";

constexpr char kDeployment[] = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm
  namespace: inference
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: server
          image: vllm/vllm-openai:v0.6.0
          resources:
            requests:
              cpu: "4"
              nvidia.com/gpu: 1
        - name: sidecar
          image: envoy:1.30
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

std::vector<std::string> Lines(const ResourceChange& c) {
  std::vector<std::string> out;
  for (const auto& f : c.fields) out.push_back(f.ToString());
  return out;
}

DiffResult MustDiff(const std::vector<config::SourceFile>& a,
                    const std::vector<config::SourceFile>& b) {
  auto r = DiffFiles(a, b);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : DiffResult{};
}

TEST(Diff, IdenticalAndMovedDocumentsAreNoChange) {
  std::vector<config::SourceFile> a = {{"all.yaml", std::string(kRouteV1) + "---\n" + kModel}};
  std::vector<config::SourceFile> b = {{"models/m.yaml", kModel}, {"routes/r.yaml", kRouteV1}};
  EXPECT_TRUE(MustDiff(a, a).changes.empty());
  EXPECT_TRUE(MustDiff(a, b).changes.empty());
  EXPECT_EQ(FormatDiffTable(MustDiff(a, b)), "no changes\n");
}

TEST(Diff, AddedAndRemovedResources) {
  std::vector<config::SourceFile> a = {{"r.yaml", kRouteV1}};
  std::vector<config::SourceFile> b = {{"m.yaml", kModel}};
  DiffResult d = MustDiff(a, b);
  ASSERT_EQ(d.changes.size(), 2u);
  EXPECT_EQ(d.changes[0].type, ChangeType::kAdded);
  EXPECT_EQ(d.changes[0].key.ToString(), "Model/gpt-4o-mini");
  EXPECT_EQ(d.changes[0].file_after, "m.yaml");
  EXPECT_TRUE(d.changes[0].fields.empty());
  EXPECT_EQ(d.changes[1].type, ChangeType::kRemoved);
  EXPECT_EQ(d.changes[1].key.ToString(), "Route/chat");
  EXPECT_EQ(d.changes[1].file_before, "r.yaml");
  EXPECT_EQ(d.added(), 1);
  EXPECT_EQ(d.removed(), 1);
  EXPECT_EQ(d.changed(), 0);
}

TEST(Diff, ScalarFieldChangeIsTheOnlyChange) {
  std::vector<config::SourceFile> a = {{"m.yaml", kModel}};
  std::vector<config::SourceFile> b = {{"m.yaml", Replace(kModel, "timeout: 30s", "timeout: 60s")}};
  DiffResult d = MustDiff(a, b);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].type, ChangeType::kChanged);
  EXPECT_THAT(Lines(d.changes[0]), ElementsAre("spec.timeout: 30s -> 60s"));
}

TEST(Diff, KeyedListItemsMatchByModel) {
  std::vector<config::SourceFile> a = {{"r.yaml", kRouteV1}};
  // Reordered targets with one weight change each: matched by `model`, order ignored.
  std::string v2 = Replace(kRouteV1,
                           "    - model: llama-v1\n      weight: 90\n"
                           "    - model: llama-v2\n      weight: 10\n",
                           "    - model: llama-v2\n      weight: 20\n"
                           "    - model: llama-v1\n      weight: 80\n");
  DiffResult d = MustDiff(a, {{"r.yaml", v2}});
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_THAT(Lines(d.changes[0]), ElementsAre("spec.targets[model=llama-v2].weight: 10 -> 20",
                                               "spec.targets[model=llama-v1].weight: 90 -> 80"));

  std::string v3 = Replace(kRouteV1, "    - model: llama-v2\n      weight: 10\n",
                           "    - model: llama-v3\n      weight: 10\n");
  d = MustDiff(a, {{"r.yaml", v3}});
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_THAT(
      Lines(d.changes[0]),
      ElementsAre("spec.targets[model=llama-v3]: (absent) -> {model: llama-v3, weight: 10}",
                  "spec.targets[model=llama-v2]: {model: llama-v2, weight: 10} -> (absent)"));
}

TEST(Diff, PlainListsCompareByIndex) {
  std::vector<config::SourceFile> a = {{"r.yaml", kRouteV1}};
  std::string v2 = Replace(kRouteV1, "fallbacks: [gpt-4o-mini, claude-haiku]",
                           "fallbacks: [gpt-4o-mini, gemini-flash, claude-haiku]");
  DiffResult d = MustDiff(a, {{"r.yaml", v2}});
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_THAT(Lines(d.changes[0]), ElementsAre("spec.fallbacks[1]: claude-haiku -> gemini-flash",
                                               "spec.fallbacks[2]: (absent) -> claude-haiku"));

  std::string v3 = Replace(kRouteV1, "fallbacks: [gpt-4o-mini, claude-haiku]", "fallbacks: []");
  d = MustDiff(a, {{"r.yaml", v3}});
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_THAT(Lines(d.changes[0]), ElementsAre("spec.fallbacks[0]: gpt-4o-mini -> (absent)",
                                               "spec.fallbacks[1]: claude-haiku -> (absent)"));
}

TEST(Diff, ListsWithoutAKeyOnEveryItemCompareByIndex) {
  std::vector<config::SourceFile> a = {{"r.yaml", kRouteV1}};
  std::string v2 =
      Replace(kRouteV1, "    - model: llama-v2\n      weight: 10\n", "    - weight: 10\n");
  DiffResult d = MustDiff(a, {{"r.yaml", v2}});
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_THAT(Lines(d.changes[0]), ElementsAre("spec.targets[1].model: llama-v2 -> (absent)"));
}

TEST(Diff, MapFieldsAddedAndRemoved) {
  std::vector<config::SourceFile> a = {{"r.yaml", kRouteV1}};
  std::string v2 = Replace(kRouteV1, "  retry:\n    attempts: 2\n",
                           "  cache:\n    enabled: true\n    ttl: 10m\n");
  DiffResult d = MustDiff(a, {{"r.yaml", v2}});
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_THAT(Lines(d.changes[0]), ElementsAre("spec.cache: (absent) -> {enabled: true, ttl: 10m}",
                                               "spec.retry: {attempts: 2} -> (absent)"));
}

TEST(Diff, KubernetesContainersByNameAndQuotedKeys) {
  std::vector<config::SourceFile> a = {{"k8s/vllm.yaml", kDeployment}, {"m.yaml", kModel}};
  std::string dep = Replace(Replace(kDeployment, "replicas: 3", "replicas: 5"), "nvidia.com/gpu: 1",
                            "nvidia.com/gpu: 2");
  std::string model =
      Replace(kModel, "app.kubernetes.io/name: chat", "app.kubernetes.io/name: vision");
  DiffResult d = MustDiff(a, {{"k8s/vllm.yaml", dep}, {"m.yaml", model}});
  ASSERT_EQ(d.changes.size(), 2u);
  EXPECT_EQ(d.changes[0].key.ToString(), "Deployment/inference/vllm");
  EXPECT_EQ(d.changes[0].key.api_version, "apps/v1");
  EXPECT_THAT(Lines(d.changes[0]),
              ElementsAre("spec.replicas: 3 -> 5",
                          "spec.template.spec.containers[name=server].resources.requests[\"nvidia."
                          "com/gpu\"]: 1 -> 2"));
  EXPECT_THAT(Lines(d.changes[1]),
              ElementsAre("metadata.labels[\"app.kubernetes.io/name\"]: chat -> vision"));
}

TEST(Diff, SameNameDifferentKindsAreDifferentResources) {
  std::string route = Replace(kRouteV1, "name: chat", "name: gpt-4o-mini");
  DiffResult d = MustDiff({{"a.yaml", kModel}}, {{"a.yaml", kModel}, {"b.yaml", route}});
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].key.ToString(), "Route/gpt-4o-mini");
  EXPECT_EQ(d.changes[0].type, ChangeType::kAdded);
}

TEST(Diff, ErrorsOnBadYamlAndDuplicates) {
  auto bad = DiffFiles({}, {{"bad.yaml", "a: [1, 2\nb: c\n"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("bad.yaml:"));

  auto dup = DiffFiles({{"a.yaml", kModel}, {"b.yaml", kModel}}, {});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(),
            "b.yaml:1:1: duplicate Model/gpt-4o-mini (first declared at a.yaml:1)");
}

TEST(Diff, QuotedAndPlainScalarsOfTheSameTextAreEqual) {
  std::string quoted = Replace(kRouteV1, "attempts: 2", "attempts: \"2\"");
  EXPECT_TRUE(MustDiff({{"r.yaml", kRouteV1}}, {{"r.yaml", quoted}}).changes.empty());
}

TEST(Diff, HostileYamlIsRefusedNotWalked) {
  // Billion laughs: nine levels of ten aliases each would be 10^9 nodes.
  std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) laughs += ", " + prev;
    laughs += "]\n";
  }
  auto r = DiffFiles({}, {{"laughs.yaml", laughs}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("laughs.yaml:"));
  auto deep = DiffFiles({{"deep.yaml", std::string(100000, '[')}}, {});
  ASSERT_FALSE(deep.ok());
  EXPECT_THAT(deep.status().message(), HasSubstr("deep.yaml:1:"));
}

TEST(Diff, TableAndJsonOutput) {
  std::vector<config::SourceFile> a = {{"m.yaml", kModel}, {"r.yaml", kRouteV1}};
  std::string model =
      Replace(Replace(kModel, "  timeout: 30s\n", ""), "\"0.00000015\"", "\"0.0000002\"");
  std::string route = Replace(kRouteV1, "attempts: 2", "attempts: 3");
  DiffResult d = MustDiff(a, {{"m.yaml", model}, {"routes.yaml", route}});
  d.from_rev = "HEAD~1";
  d.to_rev = "HEAD";
  EXPECT_EQ(FormatDiffTable(d),
            "~ Model/gpt-4o-mini  (bursar.dev/v1, m.yaml)\n"
            "    spec.pricing.input_cost_per_token: \"0.00000015\" -> \"0.0000002\"\n"
            "    spec.timeout: 30s -> (absent)\n"
            "~ Route/chat  (bursar.dev/v1, routes.yaml, moved from r.yaml)\n"
            "    spec.retry.attempts: 2 -> 3\n"
            "0 added, 2 changed, 0 removed\n");
  auto j = nlohmann::json::parse(FormatDiffJson(d));
  EXPECT_EQ(j["from"]["rev"], "HEAD~1");
  EXPECT_EQ(j["summary"]["changed"], 2);
  ASSERT_EQ(j["changes"].size(), 2u);
  const auto& f0 = j["changes"][0]["fields"][0];
  EXPECT_EQ(f0["path"], "spec.pricing.input_cost_per_token");
  EXPECT_EQ(f0["before"], "0.00000015");  // decimals keep their exact text
  EXPECT_FALSE(j["changes"][0]["fields"][1].contains("after"));
  EXPECT_EQ(j["changes"][1]["fields"][0]["after"], 3);  // integers are numbers
  EXPECT_EQ(j["changes"][1]["fileBefore"], "r.yaml");
  EXPECT_EQ(j["changes"][1]["type"], "changed");
}

TEST(Diff, BetweenTwoGitRevisions) {
  testing::TempRepo repo;
  repo.Write("routes/chat.yaml", kRouteV1);
  repo.Write("models.yaml", kModel);
  repo.Commit("one");
  repo.Write("routes/chat.yaml",
             Replace(Replace(kRouteV1, "weight: 90", "weight: 80"), "weight: 10", "weight: 20"));
  repo.Remove("models.yaml");
  repo.Write("k8s/vllm.yaml", kDeployment);
  repo.Commit("two");
  auto git = GitRepository::Open(repo.path());
  ASSERT_TRUE(git.ok());
  auto from = (*git)->ReadFiles("HEAD~1");
  auto to = (*git)->ReadFiles("HEAD");
  ASSERT_TRUE(from.ok() && to.ok());
  DiffResult d = MustDiff(*from, *to);
  ASSERT_EQ(d.changes.size(), 3u);
  EXPECT_EQ(d.changes[0].key.ToString(), "Deployment/inference/vllm");
  EXPECT_EQ(d.changes[0].type, ChangeType::kAdded);
  EXPECT_EQ(d.changes[1].key.ToString(), "Model/gpt-4o-mini");
  EXPECT_EQ(d.changes[1].type, ChangeType::kRemoved);
  EXPECT_EQ(d.changes[2].key.ToString(), "Route/chat");
  EXPECT_THAT(Lines(d.changes[2]), ElementsAre("spec.targets[model=llama-v1].weight: 90 -> 80",
                                               "spec.targets[model=llama-v2].weight: 10 -> 20"));
}

}  // namespace
}  // namespace bursar::gitops
