// The desired-state model: the typed, validated form of the documents in a bursar repository.
//
// A DesiredState is built only by the loader (config/loader.h), which guarantees that what it
// returns is valid: every reference resolves, weights sum to 100, prices are non-negative, no
// plaintext secrets. Once built it is immutable and shared between threads as
// std::shared_ptr<const DesiredState>; readers need no lock.
//
// YAML field names are given beside each member. Money: see common/money.h (prices in pico-units
// per unit, limits in micro-units).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/money.h"

namespace bursar::config {

inline constexpr char kApiVersion[] = "bursar.dev/v1";

// Where a document or field came from. Lines and columns are 1-based.
struct SourceLocation {
  std::string file;  // path relative to the repository root
  int line = 0;
  int column = 0;
};

struct Metadata {
  std::string name;                           // metadata.name
  std::map<std::string, std::string> labels;  // metadata.labels
  SourceLocation where;                       // of the document's first line
};

enum class Modality { kText, kImage, kAudio, kEmbedding };

// How a model turns an image into input tokens.
enum class ImageTokenScheme {
  kNone,         // model does not take images
  kOpenAITiles,  // 512-px tiles after fit-in 2048 and short side 768: 85 + 170 per tile
  kAnthropic,    // (w*h)/750 after downscaling the long edge to 1568 px (and <= 1.15 MP)
  kGemini,       // 258 per 768-px tile (258 flat when both sides <= 384)
  kFlat,         // pricing.input_cost_per_image per image, no tokens
};

// Unit prices, pico-units of `currency` per unit. Names follow LiteLLM's model price map.
struct ModelPricing {
  Picos input_cost_per_token = 0;             // input_cost_per_token
  Picos cache_read_input_token_cost = 0;      // cache_read_input_token_cost
  Picos output_cost_per_token = 0;            // output_cost_per_token
  Picos output_cost_per_reasoning_token = 0;  // output_cost_per_reasoning_token (0: as output)
  Picos input_cost_per_image = 0;             // input_cost_per_image (kFlat)
  Picos input_cost_per_image_token = 0;       // input_cost_per_image_token (0: as input)
  Picos input_cost_per_audio_token = 0;       // input_cost_per_audio_token
  Picos output_cost_per_audio_token = 0;      // output_cost_per_audio_token
  Picos input_cost_per_audio_per_second = 0;  // input_cost_per_audio_per_second
};

struct Model {
  Metadata meta;
  std::string base_url;        // spec.baseUrl, e.g. https://api.openai.com/v1 (http or https)
  std::string upstream_model;  // spec.upstreamModel, the id sent upstream
  std::string api_key_env;     // spec.apiKeyEnv: environment variable holding the key ("" = none)
  std::chrono::milliseconds timeout{30000};  // spec.timeout ("30s", "500ms")
  std::vector<Modality> modalities;          // spec.modalities: [text, image, audio, embedding]
  ImageTokenScheme image_tokens = ImageTokenScheme::kNone;  // spec.imageTokens
  std::string currency = "USD";                             // spec.currency
  ModelPricing pricing;                                     // spec.pricing
};

struct RouteTarget {
  std::string model;  // targets[].model: a Model name
  int weight = 100;   // targets[].weight: percent; a route's weights sum to 100
};

struct RetryPolicy {
  int attempts = 1;                        // retry.attempts: total tries per target, >= 1
  std::chrono::milliseconds backoff{100};  // retry.backoff: first delay, doubled each try
  bool on_connect_error = true;            // retry.on: [connect, timeout, 5xx]
  bool on_timeout = true;
  bool on_5xx = true;
};

struct CachePolicy {
  bool enabled = false;           // cache.enabled
  std::chrono::seconds ttl{300};  // cache.ttl
  int64_t max_entries = 10000;    // cache.maxEntries
};

struct ImagePolicy {
  int max_long_edge = 0;  // images.maxLongEdge: cap in px for estimating/billing (0 = none)
};

struct CircuitBreakerPolicy {
  int failures = 5;                           // circuitBreaker.failures: consecutive, to open
  std::chrono::milliseconds cooldown{30000};  // circuitBreaker.cooldown
};

struct Route {
  Metadata meta;                         // meta.name is what clients send as "model"
  std::vector<RouteTarget> targets;      // spec.targets (canary split)
  std::vector<std::string> fallbacks;    // spec.fallbacks: Model names tried in order
  RetryPolicy retry;                     // spec.retry
  CachePolicy cache;                     // spec.cache
  ImagePolicy images;                    // spec.images
  CircuitBreakerPolicy circuit_breaker;  // spec.circuitBreaker
};

struct RateLimits {
  int64_t requests_per_minute = 0;  // rateLimits.requestsPerMinute (0 = unlimited)
  int64_t tokens_per_minute = 0;    // rateLimits.tokensPerMinute (0 = unlimited)
};

struct ApiKey {
  Metadata meta;
  std::string key_sha256;                   // spec.keyHash: "sha256:<64 lowercase hex>" -> hex
  std::map<std::string, std::string> tags;  // spec.tags (team, app, env, ...)
  std::vector<std::string> routes;          // spec.routes: allowed routes (empty = all)
  RateLimits rate_limits;                   // spec.rateLimits
};

enum class BudgetPeriod { kDay, kWeek, kMonth };
enum class BudgetAction { kAlert, kDowngrade, kBlock };

struct BudgetThreshold {
  int percent = 100;                           // thresholds[].at: percent of limit, 1..1000
  BudgetAction action = BudgetAction::kAlert;  // thresholds[].action
  std::string downgrade_to;  // thresholds[].downgradeTo: a Route name (downgrade only)
};

// A request is in scope when every non-empty selector matches it.
struct BudgetScope {
  std::map<std::string, std::string> tags;  // scope.tags: all must equal the key's tags
  std::vector<std::string> keys;            // scope.keys: ApiKey names
  std::vector<std::string> models;          // scope.models: Model names
  std::vector<std::string> routes;          // scope.routes: Route names
};

struct Budget {
  Metadata meta;
  BudgetScope scope;                           // spec.scope
  BudgetPeriod period = BudgetPeriod::kMonth;  // spec.period: day | week | month
  std::string time_zone = "UTC";               // spec.timeZone (IANA name)
  Micros limit = 0;                            // spec.limit: decimal string in currency, > 0
  std::string currency = "USD";                // spec.currency
  std::vector<BudgetThreshold> thresholds;     // spec.thresholds, sorted by percent
};

struct AlertSink {
  std::string type;     // sinks[].type: webhook | slack
  std::string url;      // sinks[].url (no secret: the loader refuses URLs with credentials)
  std::string url_env;  // sinks[].urlEnv: environment variable holding the URL
};

struct AlertPolicy {
  Metadata meta;
  std::vector<std::string> watch;       // spec.watch: spend | anomaly | budget | sync
  std::string sensitivity = "medium";   // spec.sensitivity: low | medium | high
  std::vector<std::string> group_by;    // spec.groupBy: tag names or route/model/key
  std::chrono::seconds window{3600};    // spec.window
  std::chrono::seconds cooldown{3600};  // spec.cooldown: no repeat of a group's alert within
  std::vector<AlertSink> sinks;         // spec.sinks
};

struct RemediationAction {
  std::string type;       // actions[].type: shiftRouteWeight | scaleDown | rollback
  std::string route;      // shiftRouteWeight: Route name
  std::string to_model;   // shiftRouteWeight: Model to receive all weight
  std::string workload;   // scaleDown: "Kind/name" of a workload document
  std::string off_hours;  // scaleDown: "HH:MM-HH:MM"
  int replicas = 0;       // scaleDown: replicas during off-hours
};

struct Remediation {
  Metadata meta;
  std::vector<std::string> findings;       // spec.findings: finding kinds it may act on
  std::string mode = "commit";             // spec.mode: commit | propose
  std::vector<RemediationAction> actions;  // spec.actions
};

struct PriceCatalog {
  Metadata meta;
  std::string currency = "USD";               // spec.currency
  int hours_per_month = 730;                  // spec.hoursPerMonth
  Picos per_vcpu_hour = 0;                    // spec.cpu.perVcpuHour
  Picos per_gib_hour = 0;                     // spec.memory.perGiBHour
  std::map<std::string, Picos> gpu_per_hour;  // spec.gpus.<type>.perHour
  std::string default_gpu_type;               // spec.defaultGpuType
};

// A container's resources; CPU in millicores, memory in bytes, GPUs as a count.
struct Resources {
  int64_t cpu_millis = 0;
  int64_t memory_bytes = 0;
  int64_t gpus = 0;  // nvidia.com/gpu
};

// A plain Kubernetes workload read for cost only.
struct Workload {
  std::string kind;  // Deployment | StatefulSet | DaemonSet | Job | CronJob
  Metadata meta;
  std::string api_version;
  int replicas = 1;  // spec.replicas (DaemonSet: 1; Job: parallelism)
  // Annotation bursar.dev/gpu-type, else nodeSelector nvidia.com/gpu.product; when a
  // PriceCatalog prices it (case-insensitively, or as a '-' prefix: "NVIDIA-A100-SXM4-80GB" is
  // "nvidia-a100"), the catalog's key.
  std::string gpu_type;
  Resources requests;  // sum over containers of resources.requests
  Resources limits;    // sum over containers of resources.limits
};

// Everything a repository declares at one revision, validated.
struct DesiredState {
  std::string revision;  // commit id (40 hex) or "" for a plain directory
  std::vector<Model> models;
  std::vector<Route> routes;
  std::vector<ApiKey> api_keys;
  std::vector<Budget> budgets;
  std::vector<AlertPolicy> alert_policies;
  std::vector<Remediation> remediations;
  std::vector<PriceCatalog> price_catalogs;
  std::vector<Workload> workloads;

  const Model* FindModel(std::string_view name) const;
  const Route* FindRoute(std::string_view name) const;
  const ApiKey* FindApiKey(std::string_view name) const;
  const Budget* FindBudget(std::string_view name) const;
};

using DesiredStatePtr = std::shared_ptr<const DesiredState>;

std::string_view ToString(Modality m);
std::string_view ToString(ImageTokenScheme s);
std::string_view ToString(BudgetPeriod p);
std::string_view ToString(BudgetAction a);

}  // namespace bursar::config
