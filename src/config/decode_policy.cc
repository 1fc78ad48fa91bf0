// Decoders for the policy kinds: ApiKey, Budget, AlertPolicy, Remediation, PriceCatalog.
#include <algorithm>

#include "common/money.h"
#include "config/decode.h"
#include "config/syntax.h"

namespace bursar::config::internal {
namespace {

// Reads a list of names and records each as a reference to `kind`.
void ReadRefs(Decoder& d, const YamlNode* node, const Path& path, const std::string& kind,
              std::vector<std::string>* out) {
  std::vector<const YamlNode*> nodes;
  std::vector<std::string> names;
  d.ReadStringList(node, path, kind + " names", &names, &nodes);
  for (size_t i = 0; i < nodes.size(); ++i) {
    d.Refer(kind, names[i], *nodes[i], path.Index(i));
    out->push_back(names[i]);
  }
}

// A required, non-empty sequence; reports and returns false otherwise.
bool NonEmptyList(Decoder& d, const YamlNode* node, const Path& path, std::string_view expect) {
  if (node == nullptr) return false;
  if (!node->IsSequence() || node->items.empty()) {
    d.WrongType(*node, path, "a non-empty list of " + std::string(expect));
    return false;
  }
  return true;
}

}  // namespace

void DecodeApiKey(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state) {
  ApiKey k;
  k.meta = std::move(meta);
  Fields spec(d, doc.Require("spec", "a mapping with keyHash"), doc.At("spec"), "ApiKey", true,
              {"key", "secret", "apiKey", "token", "value", "plaintext", "password"},
              "keyHash: \"sha256:\" followed by the 64 lowercase hex digits of the key's SHA-256 "
              "(never the key itself)");
  if (spec.ok()) {
    const YamlNode* hash = spec.Require(
        "keyHash", "\"sha256:\" followed by the 64 lowercase hex digits of the key's SHA-256");
    std::string text;
    if (d.ReadString(hash, spec.At("keyHash"), "a key hash", &text)) {
      std::string_view hex = KeyHashHex(text);
      if (hex.empty()) {
        d.Error(*hash, "invalid keyHash " + Quote(text) + " in " + spec.At("keyHash").Describe() +
                           "; expected \"sha256:\" followed by 64 lowercase hex digits");
      } else {
        k.key_sha256 = std::string(hex);
        d.Declare("KeyHash", k.key_sha256, *hash);
      }
    }
    d.ReadStringMap(spec.Get("tags"), spec.At("tags"), &k.tags);
    ReadRefs(d, spec.Get("routes"), spec.At("routes"), "Route", &k.routes);
    Fields limits(d, spec.Get("rateLimits"), spec.At("rateLimits"), "ApiKey");
    if (limits.ok()) {
      d.ReadInt(limits.Get("requestsPerMinute"), limits.At("requestsPerMinute"), int64_t{0},
                int64_t{1'000'000'000}, &k.rate_limits.requests_per_minute);
      d.ReadInt(limits.Get("tokensPerMinute"), limits.At("tokensPerMinute"), int64_t{0},
                int64_t{1'000'000'000'000}, &k.rate_limits.tokens_per_minute);
    }
  }
  state->api_keys.push_back(std::move(k));
}

void DecodeBudget(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state) {
  Budget b;
  b.meta = std::move(meta);
  Fields spec(d, doc.Require("spec", "a mapping with limit, period and thresholds"), doc.At("spec"),
              "Budget");
  if (spec.ok()) {
    Fields scope(d, spec.Get("scope"), spec.At("scope"), "Budget");
    if (scope.ok()) {
      d.ReadStringMap(scope.Get("tags"), scope.At("tags"), &b.scope.tags);
      ReadRefs(d, scope.Get("keys"), scope.At("keys"), "ApiKey", &b.scope.keys);
      ReadRefs(d, scope.Get("models"), scope.At("models"), "Model", &b.scope.models);
      ReadRefs(d, scope.Get("routes"), scope.At("routes"), "Route", &b.scope.routes);
    }
    int period = 0;
    if (d.ReadEnum(spec.Get("period"), spec.At("period"), &period)) {
      b.period = static_cast<BudgetPeriod>(period);
    }
    const YamlNode* tz = spec.Get("timeZone");
    if (d.ReadString(tz, spec.At("timeZone"), "an IANA time zone name", &b.time_zone) &&
        !TimeZoneExists(b.time_zone)) {
      d.Error(*tz, "unknown time zone " + Quote(b.time_zone) + " for " +
                       spec.At("timeZone").Describe() +
                       "; expected an IANA name from /usr/share/zoneinfo such as UTC or "
                       "Europe/Berlin");
    }
    const YamlNode* limit =
        spec.Require("limit", "the budget in currency units, a decimal such as \"5000.00\"");
    if (d.ReadDecimal(limit, spec.At("limit"), kMicroDigits, false, &b.limit) && b.limit == 0) {
      d.Error(*limit, "zero limit for " + spec.At("limit").Describe() +
                          "; expected an amount greater than 0");
    }
    d.ReadCurrency(spec.Get("currency"), spec.At("currency"), &b.currency);
    const YamlNode* thresholds = spec.Get("thresholds");
    Path tpath = spec.At("thresholds");
    if (thresholds != nullptr && !thresholds->IsNull()) {
      if (!thresholds->IsSequence()) {
        d.WrongType(*thresholds, tpath, "a list of {at, action, downgradeTo}");
      } else {
        for (size_t i = 0; i < thresholds->items.size(); ++i) {
          Fields t(d, thresholds->items[i], tpath.Index(i), "Budget");
          if (!t.ok()) continue;
          if (t.node()->IsNull()) {
            d.WrongType(*t.node(), tpath.Index(i), "a mapping {at, action, downgradeTo}");
            continue;
          }
          BudgetThreshold th;
          bool at_ok = d.ReadInt(t.Require("at", "a percentage of the limit from 1 to 1000"),
                                 t.At("at"), 1, 1000, &th.percent);
          int action = 0;
          bool action_ok = d.ReadEnum(t.Require("action", "one of: alert, downgrade, block"),
                                      t.At("action"), &action);
          th.action = static_cast<BudgetAction>(action);
          const YamlNode* to = t.Get("downgradeTo");
          if (action_ok && th.action == BudgetAction::kDowngrade && to == nullptr) {
            d.Missing(*t.node(), tpath.Index(i), "downgradeTo",
                      "the name of a cheaper Route for action downgrade");
          } else if (action_ok && th.action != BudgetAction::kDowngrade && to != nullptr) {
            d.Error(*t.Key("downgradeTo"), "downgradeTo given for action " +
                                               Quote(t.Get("action")->value) + " in " +
                                               tpath.Index(i).Describe() +
                                               "; expected downgradeTo only with action "
                                               "downgrade");
          } else if (to != nullptr && d.ReadName(to, t.At("downgradeTo"), &th.downgrade_to)) {
            d.Refer("Route", th.downgrade_to, *to, t.At("downgradeTo"));
          }
          if (at_ok && action_ok) {
            for (const BudgetThreshold& other : b.thresholds) {
              if (other.percent == th.percent && other.action == th.action) {
                d.Error(*t.node(), "duplicate threshold at " + std::to_string(th.percent) +
                                       "% with action " + Quote(t.Get("action")->value) + " in " +
                                       tpath.Describe() + "; expected each (at, action) once");
              }
            }
          }
          b.thresholds.push_back(std::move(th));
        }
        std::stable_sort(b.thresholds.begin(), b.thresholds.end(),
                         [](const BudgetThreshold& x, const BudgetThreshold& y) {
                           return x.percent < y.percent;
                         });
      }
    }
  }
  state->budgets.push_back(std::move(b));
}

void DecodeAlertPolicy(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state) {
  AlertPolicy a;
  a.meta = std::move(meta);
  Fields spec(d, doc.Require("spec", "a mapping with watch and sinks"), doc.At("spec"),
              "AlertPolicy");
  if (spec.ok()) {
    const YamlNode* watch = spec.Require("watch", "a list of: spend, anomaly, budget, sync");
    if (NonEmptyList(d, watch, spec.At("watch"), "spend, anomaly, budget, sync")) {
      for (size_t i = 0; i < watch->items.size(); ++i) {
        int v = 0;
        if (d.ReadEnum(watch->items[i], spec.At("watch").Index(i), &v)) {
          a.watch.push_back(watch->items[i]->value);
        }
      }
    }
    int sens = 0;
    if (d.ReadEnum(spec.Get("sensitivity"), spec.At("sensitivity"), &sens)) {
      a.sensitivity = spec.Get("sensitivity")->value;
    }
    d.ReadStringList(spec.Get("groupBy"), spec.At("groupBy"), "tag names or route/model/key",
                     &a.group_by);
    d.ReadSeconds(spec.Get("window"), spec.At("window"), &a.window);
    d.ReadSeconds(spec.Get("cooldown"), spec.At("cooldown"), &a.cooldown);
    const YamlNode* sinks = spec.Require("sinks", "a list of {type, url or urlEnv}");
    Path spath = spec.At("sinks");
    if (NonEmptyList(d, sinks, spath, "{type, url or urlEnv}")) {
      for (size_t i = 0; i < sinks->items.size(); ++i) {
        Fields s(d, sinks->items[i], spath.Index(i), "AlertPolicy");
        if (!s.ok()) continue;
        if (s.node()->IsNull()) {
          d.WrongType(*s.node(), spath.Index(i), "a mapping {type, url or urlEnv}");
          continue;
        }
        AlertSink sink;
        int type = 0;
        if (d.ReadEnum(s.Require("type", "one of: webhook, slack"), s.At("type"), &type)) {
          sink.type = type == 0 ? "webhook" : "slack";
        }
        const YamlNode* url = s.Get("url");
        const YamlNode* url_env = s.Get("urlEnv");
        if ((url == nullptr) == (url_env == nullptr)) {
          d.Error(url == nullptr ? *s.node() : *s.Key("urlEnv"),
                  std::string(url == nullptr ? "neither url nor urlEnv" : "both url and urlEnv") +
                      " given in " + spath.Index(i).Describe() +
                      "; expected exactly one of: url, urlEnv");
        }
        if (d.ReadString(url, s.At("url"), "a http(s) URL", &sink.url)) {
          Status st = CheckUrl(sink.url);
          if (!st.ok()) {
            d.Error(*url, "invalid URL " + Quote(sink.url) + " for " + s.At("url").Describe() +
                              ": " + st.message());
          } else if (sink.url.find("hooks.slack.com/services/") != std::string::npos) {
            d.Error(*url, "plaintext secret in " + s.At("url").Describe() +
                              ": a Slack incoming-webhook URL is a credential; expected urlEnv: "
                              "the name of an environment variable that holds the URL");
          }
        }
        if (d.ReadString(url_env, s.At("urlEnv"), "an environment variable name", &sink.url_env) &&
            !IsValidEnvName(sink.url_env)) {
          d.Error(*url_env, "invalid environment variable name " + Quote(sink.url_env) + " for " +
                                s.At("urlEnv").Describe() +
                                "; expected letters, digits and '_' not starting with a digit, "
                                "such as SLACK_WEBHOOK_URL");
        }
        a.sinks.push_back(std::move(sink));
      }
    }
  }
  state->alert_policies.push_back(std::move(a));
}

void DecodeRemediation(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state) {
  Remediation r;
  r.meta = std::move(meta);
  Fields spec(d, doc.Require("spec", "a mapping with findings and actions"), doc.At("spec"),
              "Remediation");
  if (spec.ok()) {
    constexpr std::string_view kFindings = "anomaly, budget, forecast, drift, idle";
    const YamlNode* findings = spec.Require("findings",
                                            "a list of: anomaly, budget, forecast, "
                                            "drift, idle");
    if (NonEmptyList(d, findings, spec.At("findings"), kFindings)) {
      for (size_t i = 0; i < findings->items.size(); ++i) {
        int v = 0;
        if (d.ReadEnum(findings->items[i], spec.At("findings").Index(i), &v)) {
          r.findings.push_back(findings->items[i]->value);
        }
      }
    }
    int mode = 0;
    if (d.ReadEnum(spec.Get("mode"), spec.At("mode"), &mode)) {
      r.mode = mode == 0 ? "commit" : "propose";
    }
    const YamlNode* actions =
        spec.Require("actions", "a list of actions (shiftRouteWeight, scaleDown, rollback)");
    Path apath = spec.At("actions");
    if (NonEmptyList(d, actions, apath, "actions")) {
      for (size_t i = 0; i < actions->items.size(); ++i) {
        Fields a(d, actions->items[i], apath.Index(i), "Remediation");
        if (!a.ok()) continue;
        if (a.node()->IsNull()) {
          d.WrongType(*a.node(), apath.Index(i), "a mapping with type");
          continue;
        }
        RemediationAction act;
        int type = 0;
        if (!d.ReadEnum(a.Require("type", "one of: shiftRouteWeight, scaleDown, rollback"),
                        a.At("type"), &type)) {
          continue;
        }
        act.type = a.Get("type")->value;
        static constexpr std::string_view kApplies[3][4] = {
            {"type", "route", "toModel", ""},
            {"type", "workload", "offHours", "replicas"},
            {"type", "route", "", ""},
        };
        std::string allowed;
        for (std::string_view f : kApplies[type]) {
          if (!f.empty()) allowed += (allowed.empty() ? "" : ", ") + std::string(f);
        }
        for (const auto& [key, value] : a.entries()) {
          bool ok = std::find(std::begin(kApplies[type]), std::end(kApplies[type]), key->value) !=
                    std::end(kApplies[type]);
          if (!ok) {
            d.Error(*key, "field " + Quote(key->value) + " does not apply to action type " +
                              Quote(act.type) + " in " + apath.Index(i).Describe() +
                              "; expected only: " + allowed);
          }
        }
        if (type == 0 || type == 2) {
          const YamlNode* route =
              type == 0 ? a.Require("route", "the name of a Route") : a.Get("route");
          if (d.ReadName(route, a.At("route"), &act.route)) {
            d.Refer("Route", act.route, *route, a.At("route"));
          }
        }
        if (type == 0) {
          const YamlNode* to = a.Require("toModel", "the name of a Model to receive all weight");
          if (d.ReadName(to, a.At("toModel"), &act.to_model)) {
            d.Refer("Model", act.to_model, *to, a.At("toModel"));
            if (!act.route.empty()) {
              d.Refer("RouteTarget", act.to_model, *to, a.At("toModel"));
              d.registry().refs.back().route = act.route;
            }
          }
        }
        if (type == 1) {
          const YamlNode* w = a.Require("workload", "\"Kind/name\" of a workload document");
          if (d.ReadString(w, a.At("workload"), "\"Kind/name\"", &act.workload)) {
            size_t slash = act.workload.find('/');
            if (slash == std::string::npos || slash == 0 || slash + 1 == act.workload.size()) {
              d.Error(*w, "invalid workload reference " + Quote(act.workload) + " in " +
                              a.At("workload").Describe() +
                              "; expected \"Kind/name\" such as Deployment/inference");
            } else {
              d.Refer("Workload", act.workload, *w, a.At("workload"));
              d.Refer("NonProductionWorkload", act.workload, *w, a.At("workload"));
            }
          }
          const YamlNode* hours = a.Require("offHours", "\"HH:MM-HH:MM\" (24-hour clock)");
          if (d.ReadString(hours, a.At("offHours"), "\"HH:MM-HH:MM\"", &act.off_hours) &&
              !IsValidTimeRange(act.off_hours)) {
            d.Error(*hours, "invalid time range " + Quote(act.off_hours) + " for " +
                                a.At("offHours").Describe() +
                                "; expected \"HH:MM-HH:MM\" on a 24-hour clock, e.g. "
                                "\"20:00-07:00\"");
          }
          d.ReadInt(a.Get("replicas"), a.At("replicas"), 0, 10000, &act.replicas);
        }
        r.actions.push_back(std::move(act));
      }
    }
  }
  state->remediations.push_back(std::move(r));
}

void DecodePriceCatalog(Decoder& d, const Fields& doc, Metadata meta, DesiredState* state) {
  PriceCatalog c;
  c.meta = std::move(meta);
  Fields spec(d, doc.Require("spec", "a mapping with gpus, cpu and memory prices"), doc.At("spec"),
              "PriceCatalog");
  if (spec.ok()) {
    d.ReadCurrency(spec.Get("currency"), spec.At("currency"), &c.currency);
    d.ReadInt(spec.Get("hoursPerMonth"), spec.At("hoursPerMonth"), 1, 744, &c.hours_per_month);
    Fields cpu(d, spec.Get("cpu"), spec.At("cpu"), "PriceCatalog");
    if (cpu.ok()) {
      d.ReadDecimal(cpu.Get("perVcpuHour"), cpu.At("perVcpuHour"), kPicoDigits, false,
                    &c.per_vcpu_hour);
    }
    Fields mem(d, spec.Get("memory"), spec.At("memory"), "PriceCatalog");
    if (mem.ok()) {
      d.ReadDecimal(mem.Get("perGiBHour"), mem.At("perGiBHour"), kPicoDigits, false,
                    &c.per_gib_hour);
    }
    Fields gpus(d, spec.Get("gpus"), spec.At("gpus"), "PriceCatalog", /*strict=*/false);
    if (gpus.ok()) {
      for (const auto& [key, value] : gpus.entries()) {
        std::string type;
        Path gpath = spec.At("gpus").MapValue(key->value);
        if (!d.ReadName(key, gpath, &type)) continue;
        Fields g(d, value, gpath, "PriceCatalog");
        if (!g.ok()) continue;
        Picos price = 0;
        if (d.ReadDecimal(g.Require("perHour", "the price of one GPU for one hour"),
                          g.At("perHour"), kPicoDigits, false, &price)) {
          c.gpu_per_hour[type] = price;
          d.registry().gpu_types.push_back(type);
        }
      }
    }
    const YamlNode* def = spec.Get("defaultGpuType");
    if (d.ReadName(def, spec.At("defaultGpuType"), &c.default_gpu_type) &&
        !c.gpu_per_hour.contains(c.default_gpu_type)) {
      std::vector<std::string> types;
      for (const auto& [t, p] : c.gpu_per_hour) types.push_back(t);
      d.Error(*def, spec.At("defaultGpuType").Describe() + " refers to unknown GPU type " +
                        Quote(c.default_gpu_type) +
                        "; expected one of spec.gpus: " + JoinNames(types));
    }
  }
  state->price_catalogs.push_back(std::move(c));
}

}  // namespace bursar::config::internal
