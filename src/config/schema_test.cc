// Keeps schema/bursar.schema.json and the loader's field tables (config/fields.h) identical:
// every object the schema describes for a kind must have a table with exactly its properties,
// and every table must appear in the schema.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "config/fields.h"
#include "config/loader.h"

namespace bursar::config {
namespace {

using Json = nlohmann::json;

std::string SourceDir() {
  const char* env = std::getenv("BURSAR_SOURCE_DIR");
  return env != nullptr ? env : BURSAR_SOURCE_DIR;
}

Json LoadSchema() {
  std::ifstream in(SourceDir() + "/schema/bursar.schema.json");
  EXPECT_TRUE(in.good());
  return Json::parse(in, nullptr, /*allow_exceptions=*/false);
}

const Json& Resolve(const Json& root, const Json& node) {
  if (node.is_object() && node.contains("$ref")) {
    std::string ref = node["$ref"];
    const std::string prefix = "#/$defs/";
    EXPECT_EQ(ref.rfind(prefix, 0), 0u) << ref;
    return Resolve(root, root["$defs"][ref.substr(prefix.size())]);
  }
  return node;
}

using Enums = std::map<std::string, std::vector<std::string>>;

// Collects, per table path ("", "spec", "spec.targets[]", "spec.gpus{}"), the property names,
// and per path the values of each `enum`.
void Walk(const Json& root, const Json& node_in, const std::string& path,
          std::map<std::string, std::set<std::string>>* out, Enums* enums) {
  const Json& node = Resolve(root, node_in);
  if (!node.is_object()) return;
  if (node.contains("enum")) {
    for (const Json& v : node["enum"]) (*enums)[path].push_back(v.get<std::string>());
  }
  auto join = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
  if (node.contains("properties")) {
    std::set<std::string>& names = (*out)[path];
    for (const auto& [key, value] : node["properties"].items()) {
      names.insert(key);
      Walk(root, value, join(key), out, enums);
    }
  }
  if (node.contains("items")) Walk(root, node["items"], path + "[]", out, enums);
  if (node.contains("additionalProperties") && node["additionalProperties"].is_object()) {
    Walk(root, node["additionalProperties"], path + "{}", out, enums);
  }
}

TEST(SchemaTest, ParsesAndListsEveryKind) {
  Json schema = LoadSchema();
  ASSERT_FALSE(schema.is_discarded());
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  std::set<std::string> one_of;
  for (const Json& ref : schema["oneOf"]) one_of.insert(ref["$ref"].get<std::string>());
  for (std::string_view kind : BursarKinds()) {
    EXPECT_TRUE(one_of.contains("#/$defs/" + std::string(kind))) << kind;
    const Json& def = schema["$defs"][std::string(kind)];
    EXPECT_EQ(def["properties"]["kind"]["const"], std::string(kind));
    EXPECT_EQ(def["properties"]["apiVersion"]["const"], kApiVersion);
  }
  EXPECT_EQ(one_of.size(), BursarKinds().size());
}

TEST(SchemaTest, FieldsMatchLoaderTablesExactly) {
  Json schema = LoadSchema();
  ASSERT_FALSE(schema.is_discarded());
  for (std::string_view kind_view : BursarKinds()) {
    std::string kind(kind_view);
    std::map<std::string, std::set<std::string>> from_schema;
    Enums enums;
    Walk(schema, schema["$defs"][kind], "", &from_schema, &enums);
    std::map<std::string, std::set<std::string>> from_loader;
    for (const FieldTable& t : KnownFieldTables()) {
      if (t.kind != kind) continue;
      from_loader[std::string(t.path)] = std::set<std::string>(t.fields.begin(), t.fields.end());
    }
    // Open string maps (labels, tags) have no table; the schema gives them no properties.
    EXPECT_EQ(from_schema, from_loader) << "kind " << kind;
  }
}

TEST(SchemaTest, EnumValuesMatchLoaderTablesExactly) {
  Json schema = LoadSchema();
  ASSERT_FALSE(schema.is_discarded());
  for (std::string_view kind_view : BursarKinds()) {
    std::string kind(kind_view);
    std::map<std::string, std::set<std::string>> fields;
    Enums from_schema;
    Walk(schema, schema["$defs"][kind], "", &fields, &from_schema);
    Enums from_loader;
    for (const EnumTable& t : KnownEnumTables()) {
      if (t.kind == kind) from_loader[std::string(t.path)].assign(t.values.begin(), t.values.end());
    }
    EXPECT_EQ(from_schema, from_loader) << "kind " << kind;
  }
}

TEST(SchemaTest, EveryTableBelongsToAKind) {
  std::set<std::string_view> kinds(BursarKinds().begin(), BursarKinds().end());
  for (const FieldTable& t : KnownFieldTables()) {
    EXPECT_TRUE(kinds.contains(t.kind)) << t.kind;
    EXPECT_EQ(FindFieldTable(t.kind, t.path), &t) << "duplicate table " << t.kind << " " << t.path;
  }
}

// The loader accepts every field the schema lists: a document using all of them loads.
TEST(SchemaTest, LoaderAcceptsADocumentWithEveryField) {
  const char* yaml = R"(apiVersion: bursar.dev/v1
kind: Model
metadata: {name: m, labels: {a: b}, annotations: {c: d}}
spec:
  baseUrl: https://api.example.com/v1
  upstreamModel: u
  apiKeyEnv: K
  timeout: 1s
  modalities: [text, image, audio, embedding]
  imageTokens: flat
  currency: EUR
  pricing:
    input_cost_per_token: 1e-7
    cache_read_input_token_cost: 0
    output_cost_per_token: "0.000002"
    output_cost_per_reasoning_token: 0.000003
    input_cost_per_image: 0.01
    input_cost_per_image_token: 1e-6
    input_cost_per_audio_token: 1e-6
    output_cost_per_audio_token: 2e-6
    input_cost_per_audio_per_second: 0.0001
---
apiVersion: bursar.dev/v1
kind: Route
metadata: {name: r}
spec:
  targets: [{model: m, weight: 100}]
  fallbacks: [m]
  retry: {attempts: 3, backoff: 1h30m, on: [5xx]}
  cache: {enabled: false, ttl: 1s, maxEntries: 1}
  images: {maxLongEdge: 0}
  circuitBreaker: {failures: 1, cooldown: 500ms}
---
apiVersion: bursar.dev/v1
kind: ApiKey
metadata: {name: k}
spec:
  keyHash: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  tags: {team: t}
  routes: [r]
  rateLimits: {requestsPerMinute: 0, tokensPerMinute: 1}
---
apiVersion: bursar.dev/v1
kind: Budget
metadata: {name: b}
spec:
  scope: {tags: {team: t}, keys: [k], models: [m], routes: [r]}
  period: week
  timeZone: Europe/Berlin
  limit: 0.000001
  currency: EUR
  thresholds: [{at: 1000, action: downgrade, downgradeTo: r}]
---
apiVersion: bursar.dev/v1
kind: AlertPolicy
metadata: {name: a}
spec:
  watch: [sync]
  sensitivity: high
  groupBy: [route]
  window: 5m
  cooldown: 1h
  sinks: [{type: webhook, urlEnv: HOOK}, {type: slack, url: "http://localhost:9/x"}]
---
apiVersion: bursar.dev/v1
kind: Remediation
metadata: {name: x}
spec:
  findings: [drift]
  mode: propose
  actions:
    - {type: rollback, route: r}
    - {type: scaleDown, workload: Job/j, offHours: "00:00-23:59", replicas: 1}
    - {type: shiftRouteWeight, route: r, toModel: m}
---
apiVersion: bursar.dev/v1
kind: PriceCatalog
metadata: {name: p}
spec:
  currency: EUR
  hoursPerMonth: 744
  cpu: {perVcpuHour: 0.03}
  memory: {perGiBHour: 0.004}
  gpus: {nvidia-l4: {perHour: 0.7}}
  defaultGpuType: nvidia-l4
---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  parallelism: 4
  template: {spec: {containers: [{resources: {requests: {cpu: "1.5", memory: 100M}}}]}}
)";
  LoadResult r = LoadDesiredState({{"all.yaml", yaml}});
  std::string all;
  for (const Diagnostic& d : r.diagnostics) all += d.ToString() + "\n";
  ASSERT_TRUE(r.diagnostics.empty()) << all;
  const DesiredState& s = *r.state;
  EXPECT_EQ(s.models[0].pricing.input_cost_per_image, 10'000'000'000);
  EXPECT_EQ(s.models[0].pricing.output_cost_per_token, 2'000'000);
  EXPECT_EQ(s.models[0].image_tokens, ImageTokenScheme::kFlat);
  EXPECT_EQ(s.routes[0].retry.backoff, std::chrono::minutes(90));
  EXPECT_FALSE(s.routes[0].retry.on_timeout);
  EXPECT_TRUE(s.routes[0].retry.on_5xx);
  EXPECT_EQ(s.budgets[0].limit, 1);
  EXPECT_EQ(s.budgets[0].period, BudgetPeriod::kWeek);
  EXPECT_EQ(s.workloads[0].replicas, 4);
  EXPECT_EQ(s.workloads[0].requests.cpu_millis, 1500);
  EXPECT_EQ(s.workloads[0].requests.memory_bytes, 100'000'000);
  EXPECT_EQ(s.remediations[0].mode, "propose");
  EXPECT_EQ(s.remediations[0].actions.size(), 3u);
}

}  // namespace
}  // namespace bursar::config
