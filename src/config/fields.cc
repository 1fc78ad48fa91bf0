#include "config/fields.h"

#include <array>

namespace bursar::config {
namespace {

using F = std::string_view;

constexpr F kDocument[] = {"apiVersion", "kind", "metadata", "spec"};
constexpr F kMetadata[] = {"name", "labels", "annotations"};

constexpr F kModelSpec[] = {"baseUrl",    "upstreamModel", "apiKeyEnv", "timeout",
                            "modalities", "imageTokens",   "currency",  "pricing"};
constexpr F kModelPricing[] = {"input_cost_per_token",           "cache_read_input_token_cost",
                               "output_cost_per_token",          "output_cost_per_reasoning_token",
                               "input_cost_per_image",           "input_cost_per_image_token",
                               "input_cost_per_audio_token",     "output_cost_per_audio_token",
                               "input_cost_per_audio_per_second"};

constexpr F kRouteSpec[] = {"targets", "fallbacks", "retry", "cache", "images", "circuitBreaker"};
constexpr F kRouteTarget[] = {"model", "weight"};
constexpr F kRouteRetry[] = {"attempts", "backoff", "on"};
constexpr F kRouteCache[] = {"enabled", "ttl", "maxEntries"};
constexpr F kRouteImages[] = {"maxLongEdge"};
constexpr F kRouteBreaker[] = {"failures", "cooldown"};

constexpr F kApiKeySpec[] = {"keyHash", "tags", "routes", "rateLimits"};
constexpr F kApiKeyLimits[] = {"requestsPerMinute", "tokensPerMinute"};

constexpr F kBudgetSpec[] = {"scope", "period", "timeZone", "limit", "currency", "thresholds"};
constexpr F kBudgetScope[] = {"tags", "keys", "models", "routes"};
constexpr F kBudgetThreshold[] = {"at", "action", "downgradeTo"};

constexpr F kAlertSpec[] = {"watch", "sensitivity", "groupBy", "window", "cooldown", "sinks"};
constexpr F kAlertSink[] = {"type", "url", "urlEnv"};

constexpr F kRemediationSpec[] = {"findings", "mode", "actions"};
constexpr F kRemediationAction[] = {"type", "route", "toModel", "workload", "offHours", "replicas"};

constexpr F kCatalogSpec[] = {"currency", "hoursPerMonth", "cpu",
                              "memory",   "gpus",          "defaultGpuType"};
constexpr F kCatalogCpu[] = {"perVcpuHour"};
constexpr F kCatalogMemory[] = {"perGiBHour"};
constexpr F kCatalogGpu[] = {"perHour"};

#define BURSAR_KIND_COMMON(kind) \
  {kind, "", kDocument}, { kind, "metadata", kMetadata }

constexpr FieldTable kTables[] = {
    BURSAR_KIND_COMMON("Model"),
    {"Model", "spec", kModelSpec},
    {"Model", "spec.pricing", kModelPricing},
    BURSAR_KIND_COMMON("Route"),
    {"Route", "spec", kRouteSpec},
    {"Route", "spec.targets[]", kRouteTarget},
    {"Route", "spec.retry", kRouteRetry},
    {"Route", "spec.cache", kRouteCache},
    {"Route", "spec.images", kRouteImages},
    {"Route", "spec.circuitBreaker", kRouteBreaker},
    BURSAR_KIND_COMMON("ApiKey"),
    {"ApiKey", "spec", kApiKeySpec},
    {"ApiKey", "spec.rateLimits", kApiKeyLimits},
    BURSAR_KIND_COMMON("Budget"),
    {"Budget", "spec", kBudgetSpec},
    {"Budget", "spec.scope", kBudgetScope},
    {"Budget", "spec.thresholds[]", kBudgetThreshold},
    BURSAR_KIND_COMMON("AlertPolicy"),
    {"AlertPolicy", "spec", kAlertSpec},
    {"AlertPolicy", "spec.sinks[]", kAlertSink},
    BURSAR_KIND_COMMON("Remediation"),
    {"Remediation", "spec", kRemediationSpec},
    {"Remediation", "spec.actions[]", kRemediationAction},
    BURSAR_KIND_COMMON("PriceCatalog"),
    {"PriceCatalog", "spec", kCatalogSpec},
    {"PriceCatalog", "spec.cpu", kCatalogCpu},
    {"PriceCatalog", "spec.memory", kCatalogMemory},
    {"PriceCatalog", "spec.gpus{}", kCatalogGpu},
};

#undef BURSAR_KIND_COMMON

// Order matters where a C++ enum is cast from the index (Modality, ImageTokenScheme,
// BudgetPeriod, BudgetAction).
constexpr F kModalities[] = {"text", "image", "audio", "embedding"};
constexpr F kImageTokens[] = {"none", "openai", "anthropic", "gemini", "flat"};
constexpr F kRetryOn[] = {"connect", "timeout", "5xx"};
constexpr F kPeriods[] = {"day", "week", "month"};
constexpr F kActions[] = {"alert", "downgrade", "block"};
constexpr F kWatch[] = {"spend", "anomaly", "budget", "sync"};
constexpr F kSensitivity[] = {"low", "medium", "high"};
constexpr F kSinkTypes[] = {"webhook", "slack"};
constexpr F kFindings[] = {"anomaly", "budget", "forecast", "drift", "idle"};
constexpr F kModes[] = {"commit", "propose"};
constexpr F kRemediationActions[] = {"shiftRouteWeight", "scaleDown", "rollback"};

constexpr EnumTable kEnums[] = {
    {"Model", "spec.modalities[]", kModalities},
    {"Model", "spec.imageTokens", kImageTokens},
    {"Route", "spec.retry.on[]", kRetryOn},
    {"Budget", "spec.period", kPeriods},
    {"Budget", "spec.thresholds[].action", kActions},
    {"AlertPolicy", "spec.watch[]", kWatch},
    {"AlertPolicy", "spec.sensitivity", kSensitivity},
    {"AlertPolicy", "spec.sinks[].type", kSinkTypes},
    {"Remediation", "spec.findings[]", kFindings},
    {"Remediation", "spec.mode", kModes},
    {"Remediation", "spec.actions[].type", kRemediationActions},
};

constexpr F kKinds[] = {"Model",       "Route",       "ApiKey",      "Budget",
                        "AlertPolicy", "Remediation", "PriceCatalog"};

}  // namespace

std::span<const FieldTable> KnownFieldTables() { return kTables; }

const FieldTable* FindFieldTable(std::string_view kind, std::string_view path) {
  for (const FieldTable& t : kTables) {
    if (t.kind == kind && t.path == path) return &t;
  }
  return nullptr;
}

std::span<const EnumTable> KnownEnumTables() { return kEnums; }

const EnumTable* FindEnumTable(std::string_view kind, std::string_view path) {
  for (const EnumTable& t : kEnums) {
    if (t.kind == kind && t.path == path) return &t;
  }
  return nullptr;
}

std::span<const std::string_view> BursarKinds() { return kKinds; }

}  // namespace bursar::config
