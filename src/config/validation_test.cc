// Malformed-input cases: each asserts the exact file:line:column of the one diagnostic it
// expects and the key words of its message (what is wrong and what is expected).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"

namespace bursar::config {
namespace {

// Valid documents the cases can refer to: Models m1 and m2, Route r1, ApiKey k1, a PriceCatalog
// with nvidia-l4, and Deployment/web.
constexpr char kBase[] = R"(apiVersion: bursar.dev/v1
kind: Model
metadata: {name: m1}
spec: {baseUrl: "https://api.example.com/v1", upstreamModel: x1, apiKeyEnv: EXAMPLE_KEY}
---
apiVersion: bursar.dev/v1
kind: Model
metadata: {name: m2}
spec: {baseUrl: "https://api.example.com/v1", upstreamModel: x2}
---
apiVersion: bursar.dev/v1
kind: Route
metadata: {name: r1}
spec: {targets: [{model: m1}]}
---
apiVersion: bursar.dev/v1
kind: ApiKey
metadata: {name: k1}
spec: {keyHash: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
---
apiVersion: bursar.dev/v1
kind: PriceCatalog
metadata: {name: cat}
spec: {gpus: {nvidia-l4: {perHour: "0.71"}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 1}
)";

// Four header lines; the spec's fields start on line 5.
std::string Doc(const std::string& kind, const std::string& spec) {
  return "apiVersion: bursar.dev/v1\nkind: " + kind + "\nmetadata: {name: x}\nspec:\n" + spec;
}

std::string Deployment(const std::string& resources) {
  return "apiVersion: apps/v1\n"      // 1
         "kind: Deployment\n"         // 2
         "metadata: {name: d}\n"      // 3
         "spec:\n"                    // 4
         "  template:\n"              // 5
         "    spec:\n"                // 6
         "      containers:\n"        // 7
         "        - name: c\n"        // 8
         "          resources:\n"     // 9
         "            requests:\n" +  // 10
         resources;                   // 11+
}

struct Case {
  const char* name;
  std::string yaml;
  std::string where;               // "case.yaml:L:C"
  std::vector<std::string> words;  // each must occur in the message
  bool with_base = true;           // load kBase (as base.yaml) beside the case
};

std::vector<Case> Cases() {
  const std::string hash64(64, 'b');
  return {
      {"UnknownFieldInRouteTarget",
       Doc("Route", "  targets:\n    - model: m1\n      wieght: 100\n"),
       "case.yaml:7:7",
       {"unknown field \"wieght\"", "Route \"x\" spec.targets[0]",
        "expected one of: model, weight"}},
      {"UnknownFieldInModelSpec",
       Doc("Model", "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  temperature: 1\n"),
       "case.yaml:7:3",
       {"unknown field \"temperature\"", "Model \"x\" spec", "expected one of:", "baseUrl"}},
      {"UnknownTopLevelField",
       Doc("Route", "  targets: [{model: m1}]\n") + "status: {}\n",
       "case.yaml:6:1",
       {"unknown field \"status\"", "expected one of: apiVersion, kind, metadata, spec"}},
      {"WeightWrongType",
       Doc("Route",
           "  targets:\n    - model: m1\n      weight: ninety\n    - model: m2\n      "
           "weight: 10\n"),
       "case.yaml:7:15",
       {"wrong type", "spec.targets[0].weight", "got string \"ninety\"",
        "expected an integer from 0 to 100"}},
      {"WeightsDoNotSum",
       Doc("Route",
           "  targets:\n    - model: m1\n      weight: 80\n    - model: m2\n      "
           "weight: 10\n"),
       "case.yaml:6:5",
       {"route weights sum to 90", "Route \"x\" spec.targets", "expected 100"}},
      {"MisspeltWeightReportedOnce",
       Doc("Route",
           "  targets:\n    - model: m1\n      wieght: 90\n    - model: m2\n      weight: 10\n"),
       "case.yaml:7:7",
       {"unknown field \"wieght\"", "expected one of: model, weight",
        "(did you mean \"weight\"?)"}},
      {"MisspeltBaseUrl",
       Doc("Model", "  baseURL: https://a.example/v1\n  upstreamModel: u\n"),
       "case.yaml:5:3",
       {"unknown field \"baseURL\"", "did you mean \"baseUrl\"?"}},
      {"ShiftToModelNotATarget",
       Doc("Remediation",
           "  findings: [budget]\n  actions:\n    - type: shiftRouteWeight\n      "
           "route: r1\n      toModel: m2\n"),
       "case.yaml:9:16",
       {"spec.actions[0].toModel", "Model \"m2\" is not a target of Route \"r1\"",
        "expected one of its targets: m1"}},
      {"WeightMissingWithTwoTargets",
       Doc("Route", "  targets:\n    - model: m1\n    - model: m2\n      weight: 100\n"),
       "case.yaml:6:7",
       {"missing required field \"weight\"", "spec.targets[0]", "sum to 100"}},
      {"MissingBaseUrl",
       Doc("Model", "  upstreamModel: u\n"),
       "case.yaml:5:3",
       {"missing required field \"baseUrl\"", "Model \"x\" spec", "expected", "URL"}},
      {"MissingName",
       "apiVersion: bursar.dev/v1\nkind: Route\nmetadata: {labels: {a: b}}\nspec: {targets: "
       "[{model: m1}]}\n",
       "case.yaml:3:11",
       {"missing required field \"name\"", "metadata", "expected"}},
      {"MissingSpec",
       "apiVersion: bursar.dev/v1\nkind: Budget\nmetadata: {name: x}\n",
       "case.yaml:1:1",
       {"missing required field \"spec\"", "Budget \"x\"", "limit"}},
      {"DurationWithoutUnit",
       Doc("Model", "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  timeout: 30\n"),
       "case.yaml:7:12",
       {"invalid duration \"30\"", "spec.timeout", "expected a duration", "30s"}},
      {"DurationUnknownUnit",
       Doc("Route", "  targets: [{model: m1}]\n  retry:\n    backoff: 5d\n"),
       "case.yaml:7:14",
       {"invalid duration \"5d\"", "spec.retry.backoff", "500ms, 30s, 5m or 1h"}},
      {"DurationZero",
       Doc("Route", "  targets: [{model: m1}]\n  circuitBreaker: {cooldown: 0s}\n"),
       "case.yaml:6:30",
       {"zero duration", "spec.circuitBreaker.cooldown", "greater than 0"}},
      {"CpuQuantityBadSuffix",
       Deployment("              cpu: 500x\n"),
       "case.yaml:11:20",
       {"invalid quantity \"500x\"", "resources.requests.cpu", "unknown suffix", "500m"}},
      {"MemoryQuantityBadSuffix",
       Deployment("              memory: 1GB\n"),
       "case.yaml:11:23",
       {"invalid quantity \"1GB\"", "requests.memory", "expected a whole number of bytes", "1Gi"}},
      {"FractionalGpu",
       Deployment("              nvidia.com/gpu: 0.5\n"),
       "case.yaml:11:31",
       {"invalid quantity \"0.5\"", "nvidia.com/gpu", "expected a whole number of GPUs"}},
      {"ReplicasAsString",
       "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec:\n  replicas: \"3\"\n",
       "case.yaml:5:13",
       {"wrong type", "StatefulSet \"s\" spec.replicas", "expected an integer"}},
      {"PriceNotADecimal",
       Doc("Model",
           "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  pricing:\n    "
           "input_cost_per_token: 1,5e-7\n"),
       "case.yaml:8:27",
       {"invalid decimal \"1,5e-7\"", "spec.pricing.input_cost_per_token",
        "expected a decimal price"}},
      {"PriceTooPrecise",
       Doc("Model",
           "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  pricing:\n    "
           "output_cost_per_token: 1e-13\n"),
       "case.yaml:8:28",
       {"invalid decimal \"1e-13\"", "more than 12 fraction digits"}},
      {"NegativePrice",
       Doc("Model",
           "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  pricing:\n    "
           "input_cost_per_image: \"-0.01\"\n"),
       "case.yaml:8:27",
       {"negative price \"-0.01\"", "input_cost_per_image", "expected a price >= 0"}},
      {"NegativeBudgetLimit",
       Doc("Budget", "  limit: -5\n"),
       "case.yaml:5:10",
       {"negative amount \"-5\"", "Budget \"x\" spec.limit", ">= 0"}},
      {"ZeroBudgetLimit",
       Doc("Budget", "  limit: \"0.00\"\n"),
       "case.yaml:5:10",
       {"zero limit", "expected an amount greater than 0"}},
      {"DuplicateModelName",
       "apiVersion: bursar.dev/v1\nkind: Model\nmetadata: {name: m1}\nspec: {baseUrl: "
       "\"https://b.example\", upstreamModel: y}\n",
       "case.yaml:3:18",
       {"duplicate Model name \"m1\"", "first defined at base.yaml:3:18", "unique names"}},
      {"DanglingRouteTarget",
       Doc("Route", "  targets:\n    - model: gpt-5\n"),
       "case.yaml:6:14",
       {"Route \"x\" spec.targets[0].model refers to unknown Model \"gpt-5\"",
        "expected one of: m1, m2"}},
      {"EmbeddingFallbackForChatRoute",
       "apiVersion: bursar.dev/v1\nkind: Model\nmetadata: {name: emb}\nspec: {baseUrl: "
       "\"https://e.example\", upstreamModel: e, modalities: [embedding]}\n---\n" +
           Doc("Route", "  targets: [{model: m1}]\n  fallbacks: [m2, emb]\n"),
       "case.yaml:11:19",
       {"Route \"x\" spec.fallbacks[1]: Model \"emb\" serves embeddings",
        "but Model \"m1\" (Route \"x\" spec.targets[0].model) serves chat completions",
        "expected every target and fallback of a route to serve the same endpoint"}},
      {"DanglingFallback",
       Doc("Route", "  targets: [{model: m1}]\n  fallbacks: [m1, m9]\n"),
       "case.yaml:6:19",
       {"spec.fallbacks[1] refers to unknown Model \"m9\""}},
      {"DanglingDowngradeRoute",
       Doc("Budget",
           "  limit: 10\n  thresholds:\n    - {at: 90, action: downgrade, "
           "downgradeTo: cheap}\n"),
       "case.yaml:7:48",
       {"spec.thresholds[0].downgradeTo refers to unknown Route \"cheap\"", "expected one of: r1"}},
      {"DanglingBudgetKey",
       Doc("Budget", "  limit: 10\n  scope: {keys: [k2]}\n"),
       "case.yaml:6:18",
       {"spec.scope.keys[0] refers to unknown ApiKey \"k2\"", "k1"}},
      {"DanglingBudgetModel",
       Doc("Budget", "  limit: 10\n  scope:\n    models: [m3]\n"),
       "case.yaml:7:14",
       {"spec.scope.models[0] refers to unknown Model \"m3\""}},
      {"DanglingBudgetRoute",
       Doc("Budget", "  limit: 10\n  scope: {routes: [r1, chat]}\n"),
       "case.yaml:6:24",
       {"spec.scope.routes[1] refers to unknown Route \"chat\"", "r1"}},
      {"DanglingRollbackRoute",
       Doc("Remediation", "  findings: [drift]\n  actions: [{type: rollback, route: r2}]\n"),
       "case.yaml:6:37",
       {"spec.actions[0].route refers to unknown Route \"r2\""}},
      {"LimitQuantityFinerThanMillicore",
       "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n"
       "      containers: [{resources: {limits: {cpu: 0.0001}}}]\n",
       "case.yaml:7:47",
       {"invalid quantity \"0.0001\"",
        "Job \"j\" spec.template.spec.containers[0].resources.limits.cpu",
        "finer than the smallest unit", "500m"}},
      {"ScaleDownProductionWorkload",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, labels: {env: prod}}\n---\n" +
           Doc("Remediation",
               "  findings: [idle]\n  actions:\n    - type: scaleDown\n      "
               "workload: Deployment/api\n      offHours: \"20:00-07:00\"\n"),
       "case.yaml:12:17",
       {"Deployment/api is labelled env=prod", "expected a non-production workload"}},
      {"SecondPriceCatalog",
       Doc("PriceCatalog", "  gpus: {nvidia-l4: {perHour: 0.8}}\n"),
       "case.yaml:3:18",
       {"second PriceCatalog \"x\"", "the first is \"cat\" at base.yaml:23:18",
        "expected one PriceCatalog per repository"}},
      {"DanglingRemediationWorkload",
       Doc("Remediation",
           "  findings: [idle]\n  actions:\n    - type: scaleDown\n      "
           "workload: Deployment/api\n      offHours: \"20:00-07:00\"\n"),
       "case.yaml:8:17",
       {"refers to unknown Workload \"Deployment/api\"", "expected one of: Deployment/web"}},
      {"DanglingApiKeyRoute",
       Doc("ApiKey", "  keyHash: sha256:" + hash64 + "\n  routes: [chat]\n"),
       "case.yaml:6:12",
       {"ApiKey \"x\" spec.routes[0] refers to unknown Route \"chat\""}},
      {"KeyHashUppercase",
       Doc("ApiKey", "  keyHash: sha256:" + std::string(64, 'A') + "\n"),
       "case.yaml:5:12",
       {"invalid keyHash", "expected \"sha256:\" followed by 64 lowercase hex digits"}},
      {"KeyHashWrongAlgorithm",
       Doc("ApiKey", "  keyHash: sha1:" + std::string(40, 'a') + "\n"),
       "case.yaml:5:12",
       {"invalid keyHash \"sha1:", "64 lowercase hex"}},
      {"DuplicateKeyHash",
       Doc("ApiKey", "  keyHash: sha256:" + std::string(64, 'a') + "\n"),
       "case.yaml:5:12",
       {"duplicate keyHash", "base.yaml:19:17", "one ApiKey per key"}},
      {"ApiKeyPlaintextField",
       Doc("ApiKey", "  keyHash: sha256:" + hash64 + "\n  key: hunter2\n"),
       "case.yaml:6:3",
       {"plaintext secret field \"key\"", "ApiKey \"x\" spec", "expected keyHash"}},
      {"ApiKeySecretField",
       Doc("ApiKey", "  keyHash: sha256:" + hash64 + "\n  secret: hunter2\n"),
       "case.yaml:6:3",
       {"plaintext secret field \"secret\""}},
      {"OpenAiKeyInTag",
       Doc("ApiKey", "  keyHash: sha256:" + hash64 +
                         "\n  tags: {team: web, note: sk-proj-abcdefghijklmnopqrstuv}\n"),
       "case.yaml:6:27",
       {"plaintext secret", "spec.tags.note", "sk-..."}},
      {"AnthropicKeyAsHash",
       Doc("ApiKey", "  keyHash: sk-ant-api03-abcdefghijklmnopqrstuvwxyz\n"),
       "case.yaml:5:12",
       {"plaintext secret", "spec.keyHash", "Anthropic"}},
      {"AwsKeyInLabel",
       "apiVersion: bursar.dev/v1\nkind: Route\nmetadata:\n  name: x\n  labels: {aws: "
       "AKIAIOSFODNN7EXAMPLE}\nspec: {targets: [{model: m1}]}\n",
       "case.yaml:5:17",
       {"plaintext secret", "metadata.labels.aws", "AWS"}},
      {"GithubTokenAsUpstream",
       Doc("Model",
           "  baseUrl: https://a.example/v1\n  upstreamModel: "
           "ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"),
       "case.yaml:6:18",
       {"plaintext secret", "spec.upstreamModel", "GitHub"}},
      {"ModelApiKeyField",
       Doc("Model", "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  apiKey: abc\n"),
       "case.yaml:7:3",
       {"plaintext secret field \"apiKey\"", "expected apiKeyEnv"}},
      {"ModelUrlWithCredentials",
       Doc("Model", "  baseUrl: https://bob:pa55@api.example.com/v1\n  upstreamModel: u\n"),
       "case.yaml:5:12",
       {"invalid URL", "credentials (user:password@)", "expected a URL without"}},
      {"ModelUrlNotHttp",
       Doc("Model", "  baseUrl: ftp://api.example.com\n  upstreamModel: u\n"),
       "case.yaml:5:12",
       {"unsupported scheme \"ftp\"", "expected http or https"}},
      // The URL check quotes the scheme: its bytes are escaped too (found by loader_fuzz).
      {"ModelUrlSchemeWithInvalidUtf8",
       Doc("Model", "  baseUrl: htt\xf0s://a.example\n  upstreamModel: u\n"),
       "case.yaml:5:12",
       {"unsupported scheme \"htt\\xf0s\"", "expected http or https"}},
      {"SinkUrlWithCredentials",
       Doc("AlertPolicy",
           "  watch: [spend]\n  sinks:\n    - type: webhook\n      url: "
           "https://u:p@hooks.example.com/x\n"),
       "case.yaml:8:12",
       {"credentials", "spec.sinks[0].url"}},
      {"SlackWebhookUrlInGit",
       Doc("AlertPolicy",
           "  watch: [spend]\n  sinks:\n    - type: slack\n      url: "
           "https://hooks.slack.com/services/T000/B000/XXXX\n"),
       "case.yaml:8:12",
       {"plaintext secret", "Slack incoming-webhook URL", "expected urlEnv"}},
      {"SinkBothUrlAndEnv",
       Doc("AlertPolicy",
           "  watch: [spend]\n  sinks:\n    - type: webhook\n      url: "
           "https://a.example/x\n      urlEnv: HOOK\n"),
       "case.yaml:9:7",
       {"both url and urlEnv", "expected exactly one of: url, urlEnv"}},
      {"BadApiKeyEnv",
       Doc("Model",
           "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  apiKeyEnv: openai-key\n"),
       "case.yaml:7:14",
       {"invalid environment variable name \"openai-key\"", "OPENAI_API_KEY"}},
      {"ThresholdOutOfRange",
       Doc("Budget", "  limit: 10\n  thresholds:\n    - {at: 0, action: alert}\n"),
       "case.yaml:7:12",
       {"value \"0\" out of range", "spec.thresholds[0].at", "from 1 to 1000"}},
      {"DowngradeWithoutTarget",
       Doc("Budget", "  limit: 10\n  thresholds:\n    - at: 90\n      action: downgrade\n"),
       "case.yaml:7:7",
       {"missing required field \"downgradeTo\"", "action downgrade"}},
      {"DowngradeToOnBlock",
       Doc("Budget",
           "  limit: 10\n  thresholds:\n    - {at: 100, action: block, downgradeTo: r1}\n"),
       "case.yaml:7:32",
       {"downgradeTo given for action \"block\"", "only with action downgrade"}},
      {"UnknownTimeZone",
       Doc("Budget", "  limit: 10\n  timeZone: Europe/Atlantis\n"),
       "case.yaml:6:13",
       {"unknown time zone \"Europe/Atlantis\"", "IANA", "Europe/Berlin"}},
      {"TimeZonePathTraversal",
       Doc("Budget", "  limit: 10\n  timeZone: ../../etc/passwd\n"),
       "case.yaml:6:13",
       {"unknown time zone"}},
      {"UnknownPeriod",
       Doc("Budget", "  limit: 10\n  period: quarter\n"),
       "case.yaml:6:11",
       {"unknown value \"quarter\"", "spec.period", "expected one of: day, week, month"}},
      {"UnknownAction",
       Doc("Budget", "  limit: 10\n  thresholds:\n    - {at: 50, action: notify}\n"),
       "case.yaml:7:24",
       {"unknown value \"notify\"", "expected one of: alert, downgrade, block"}},
      {"UnknownImageTokens",
       Doc("Model", "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  imageTokens: tiles\n"),
       "case.yaml:7:16",
       {"unknown value \"tiles\"", "openai, anthropic, gemini, flat"}},
      {"UnknownModality",
       Doc("Model",
           "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  modalities: [text, "
           "video]\n"),
       "case.yaml:7:22",
       {"unknown value \"video\"", "spec.modalities[1]", "text, image, audio"}},
      {"ImageModalityWithoutScheme",
       Doc("Model",
           "  baseUrl: https://a.example/v1\n  upstreamModel: u\n  modalities: [text, "
           "image]\n"),
       "case.yaml:7:15",
       {"includes image but imageTokens is not set", "expected imageTokens"}},
      {"UnknownSinkType",
       Doc("AlertPolicy", "  watch: [spend]\n  sinks:\n    - {type: email, urlEnv: X}\n"),
       "case.yaml:7:14",
       {"unknown value \"email\"", "expected one of: webhook, slack"}},
      {"UnknownWatch",
       Doc("AlertPolicy",
           "  watch: [spend, cpu]\n  sinks: [{type: slack, urlEnv: "
           "S}]\n"),
       "case.yaml:5:18",
       {"unknown value \"cpu\"", "spend, anomaly, budget, sync"}},
      {"BoolWrongType",
       Doc("Route", "  targets: [{model: m1}]\n  cache:\n    enabled: yes\n"),
       "case.yaml:7:14",
       {"wrong type", "spec.cache.enabled", "expected true or false"}},
      {"TargetsNotAList",
       Doc("Route", "  targets: {model: m1}\n"),
       "case.yaml:5:12",
       {"wrong type", "spec.targets", "got mapping", "non-empty list"}},
      {"BadCurrency",
       Doc("Budget", "  limit: 10\n  currency: usd\n"),
       "case.yaml:6:13",
       {"invalid currency \"usd\"", "ISO 4217"}},
      {"RemediationFieldNotForType",
       Doc("Remediation",
           "  findings: [budget]\n  actions:\n    - type: shiftRouteWeight\n      "
           "route: r1\n      toModel: m1\n      replicas: 0\n"),
       "case.yaml:10:7",
       {"field \"replicas\" does not apply", "shiftRouteWeight",
        "expected only: type, route, toModel"}},
      {"BadOffHours",
       Doc("Remediation",
           "  findings: [idle]\n  actions:\n    - type: scaleDown\n      "
           "workload: Deployment/web\n      offHours: \"25:00-07:00\"\n"),
       "case.yaml:9:17",
       {"invalid time range \"25:00-07:00\"", "HH:MM-HH:MM"}},
      {"UnknownDefaultGpu",
       Doc("PriceCatalog",
           "  gpus:\n    nvidia-t4: {perHour: \"0.35\"}\n  defaultGpuType: "
           "nvidia-b200\n"),
       "case.yaml:7:19",
       {"unknown GPU type \"nvidia-b200\"", "expected one of spec.gpus: nvidia-t4"},
       /*with_base=*/false},
      {"WorkloadGpuNotPriced",
       "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: g\n  annotations:\n    "
       "bursar.dev/gpu-type: nvidia-h200\nspec:\n  template:\n    spec:\n      containers:\n    "
       "    - resources: {limits: {nvidia.com/gpu: 2}}\n",
       "case.yaml:6:26",
       {"unknown GPU type \"nvidia-h200\"", "priced in a PriceCatalog: nvidia-l4"}},
      {"DuplicateField",
       Doc("Route", "  targets: [{model: m1}]\n  targets: [{model: m2}]\n"),
       "case.yaml:6:3",
       {"duplicate field \"targets\"", "expected each field at most once"}},
      {"UnsupportedApiVersion",
       "apiVersion: bursar.dev/v2\nkind: Model\n",
       "case.yaml:1:13",
       {"unsupported apiVersion \"bursar.dev/v2\"", "expected bursar.dev/v1"}},
      {"UnknownKind",
       "apiVersion: bursar.dev/v1\nkind: Gateway\n",
       "case.yaml:2:7",
       {"unknown kind \"Gateway\"", "expected one of: Model, Route"}},
      {"MissingApiVersion",
       "kind: Budget\nmetadata: {name: b}\n",
       "case.yaml:1:1",
       {"missing required field \"apiVersion\"", "expected bursar.dev/v1"}},
      {"DocumentIsAList",
       "- a\n- b\n",
       "case.yaml:1:1",
       {"document is a sequence", "expected a mapping with apiVersion, kind"}},
      {"YamlSyntaxError",
       "apiVersion: bursar.dev/v1\nkind: Route\nspec: {targets: [\n",
       "case.yaml:4:1",
       {"invalid YAML", "expected well-formed YAML"}},
      {"YamlBadIndentation",
       "apiVersion: bursar.dev/v1\nkind: Route\n  metadata: x\n",
       "case.yaml:3:11",
       {"invalid YAML"}},
      // yaml-cpp 0.7 emits nodes forever after a stray leading ',' (found by loader_fuzz).
      {"StrayCommaParserLoop", ",a: 1\n", "case.yaml:1:1", {"invalid YAML", "stray ','"}},
      // yaml-cpp quotes the offending byte in its message (found by loader_fuzz).
      {"BadEscapeByteInYamlMessage",
       "a: \"\\\xf8\"\n",
       "case.yaml:1:7",
       {"invalid YAML: unknown escape character: \\xf8"}},
      {"NestingTooDeep",
       std::string(100, '[') + std::string(100, ']') + "\n",
       "case.yaml:1:65",
       {"invalid YAML", "nesting deeper than 64"}},
      {"TooManyAliases",
       [] {
         std::string s = "a: &x 1\nb: [";
         for (int i = 0; i < 1001; ++i) s += "*x, ";
         return s + "1]\n";
       }(),
       "case.yaml:2:4005",
       {"invalid YAML", "too many aliases"}},
      {"AliasExpansionBomb",
       [] {
         // 10 levels of 9 aliases each: 9^10 nodes once expanded, from under 1 KB of text.
         std::string s = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n";
         for (int i = 1; i <= 10; ++i) {
           std::string prev = "*l" + std::to_string(i - 1);
           s += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
           for (int j = 0; j < 9; ++j) s += (j ? ", " : "") + prev;
           s += "]\n";
         }
         return s;
       }(),
       // l5 expands to 597871 nodes; the second *l5 on line 7 crosses the limit.
       "case.yaml:7:15",
       {"invalid YAML", "aliases expand to more than 1048576 nodes"}},
      {"FileTooLarge",
       "# " + std::string(kMaxFileBytes, 'x') + "\n",
       "case.yaml:1:1",
       {"file is 4194307 bytes", "expected at most 4194304 bytes"}},
      // Documents count across the repository: base.yaml holds 6, so this file's 9995th is one
      // too many.
      {"TooManyDocuments",
       [] {
         std::string s;
         for (size_t i = 0; i <= kMaxDocuments; ++i) s += "a: 1\n---\n";
         return s;
       }(),
       "case.yaml:19989:1",
       {"more than 10000 documents", "expected at most 10000"}},
  };
}

class MalformedTest : public ::testing::TestWithParam<Case> {};

TEST_P(MalformedTest, ReportsOneErrorWithPositionAndWording) {
  const Case& c = GetParam();
  std::vector<SourceFile> files = {{"case.yaml", c.yaml}};
  if (c.with_base) files.insert(files.begin(), {"base.yaml", kBase});
  LoadResult r = LoadDesiredState(files);
  EXPECT_EQ(r.state, nullptr);
  std::string all;
  for (const Diagnostic& d : r.diagnostics) all += d.ToString() + "\n";
  ASSERT_EQ(r.diagnostics.size(), 1u) << all;
  std::string text = r.diagnostics[0].ToString();
  EXPECT_EQ(text.substr(0, c.where.size() + 2), c.where + ": ") << text;
  for (const std::string& w : c.words)
    EXPECT_NE(text.find(w), std::string::npos) << w << "\n" << text;
  EXPECT_NE(text.find("expected"), std::string::npos) << text;
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ValidationTest, BaseFixtureIsValid) {
  LoadResult r = LoadDesiredState({{"base.yaml", kBase}});
  std::string all;
  for (const Diagnostic& d : r.diagnostics) all += d.ToString() + "\n";
  EXPECT_TRUE(r.diagnostics.empty()) << all;
}

TEST(ValidationTest, CollectsEveryErrorSortedByFileLineColumn) {
  std::string bad = Doc("Route",
                        "  targets:\n    - model: nope\n      weight: 50\n    - model: m1\n"
                        "      weight: 40\n  retry: {attempts: 0, backoff: soon}\n");
  LoadResult r = LoadDesiredState({{"z.yaml", bad}, {"base.yaml", kBase}, {"a.yaml", "- 1\n"}});
  ASSERT_EQ(r.diagnostics.size(), 5u);
  EXPECT_EQ(r.diagnostics[0].where.file, "a.yaml");
  std::vector<std::string> where;
  for (const Diagnostic& d : r.diagnostics) {
    where.push_back(d.where.file + ":" + std::to_string(d.where.line) + ":" +
                    std::to_string(d.where.column));
  }
  EXPECT_EQ(where, (std::vector<std::string>{"a.yaml:1:1", "z.yaml:6:5", "z.yaml:6:14",
                                             "z.yaml:10:21", "z.yaml:10:33"}));
}

TEST(ValidationTest, SyntaxErrorSuppressesCrossReferenceNoise) {
  // The route refers to a model that would be in the broken file: only the syntax error shows.
  std::string route = Doc("Route", "  targets: [{model: gpt}]\n");
  LoadResult r = LoadDesiredState({{"a.yaml", route}, {"b.yaml", "kind: [\n"}});
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].where.file, "b.yaml");
}

TEST(ValidationTest, GpuProductLabelResolvesToCatalogKey) {
  std::string w =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: g}\nspec:\n  template:\n    "
      "spec:\n      nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4-24GB}\n      containers:\n"
      "        - resources: {limits: {nvidia.com/gpu: 1}}\n";
  LoadResult r = LoadDesiredState({{"base.yaml", kBase}, {"w.yaml", w}});
  ASSERT_TRUE(r.diagnostics.empty()) << r.diagnostics[0].ToString();
  ASSERT_EQ(r.state->workloads.size(), 2u);
  EXPECT_EQ(r.state->workloads[1].gpu_type, "nvidia-l4");
  EXPECT_EQ(r.state->workloads[1].limits.gpus, 1);
}

TEST(ValidationTest, MessagesAreValidUtf8WhateverTheInput) {
  std::string bad =
      "apiVersion: bursar.dev/v1\nkind: Route\nmetadata:\n  name: \"caf\xc3\xa9\xff\"\n"
      "  labels: {\"k\x01\xfe\": v}\nspec: {targets: [{model: m1}]}\n";
  LoadResult r = LoadDesiredState({{"base.yaml", kBase}, {"u.yaml", bad}});
  ASSERT_EQ(r.diagnostics.size(), 1u);
  const std::string& m = r.diagnostics[0].message;
  EXPECT_NE(m.find("invalid name \"caf\xc3\xa9\\xff\""), std::string::npos) << m;
  for (const Diagnostic& d : r.diagnostics) {
    std::string text = d.ToString();
    for (size_t i = 0; i < text.size(); ++i) {
      auto b = static_cast<unsigned char>(text[i]);
      EXPECT_FALSE(b < 0x20 || b == 0xff || b == 0xfe) << text;
    }
  }
}

TEST(ValidationTest, SkipsForeignDocumentsSilently) {
  LoadResult r = LoadDesiredState(
      {{"k.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {sk: "
        "sk-abcdefghijklmnopqrstuvwxyz}\n---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: "
        "Kustomization\n---\n---\nfoo: bar\n"}});
  EXPECT_TRUE(r.diagnostics.empty());
  ASSERT_NE(r.state, nullptr);
  EXPECT_TRUE(r.state->workloads.empty());
}

}  // namespace
}  // namespace bursar::config
