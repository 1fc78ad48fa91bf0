#include "gitops/cost_check.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace bursar::gitops {

bool CostReport::BudgetExceeded() const {
  return std::any_of(budgets.begin(), budgets.end(),
                     [](const BudgetFinding& b) { return b.exceeded; });
}

namespace {

constexpr __int128 kPicosPerMicro = 1'000'000;
constexpr __int128 kGiB = __int128{1} << 30;

// num / den rounded half away from zero. REQUIRES: den > 0.
Micros RoundDiv(__int128 num, __int128 den) {
  bool negative = num < 0;
  __int128 mag = negative ? -num : num;
  __int128 q = (mag + den / 2) / den;
  return static_cast<Micros>(negative ? -q : q);
}

const config::PriceCatalog* PickCatalog(const config::DesiredState& s) {
  const config::PriceCatalog* best = nullptr;
  for (const auto& c : s.price_catalogs) {
    if (c.meta.name == "default") return &c;
    if (best == nullptr || c.meta.name < best->meta.name) best = &c;
  }
  return best;
}

std::string WorkloadKey(const config::Workload& w) { return w.kind + "/" + w.meta.name; }

// What one side says about one workload.
struct PricedWorkload {
  const config::Workload* w = nullptr;
  std::string detail;
  std::map<std::string, Micros> components;  // component name -> monthly micros
  Micros total = 0;
};

std::string GpuType(const config::Workload& w, const config::PriceCatalog* catalog) {
  if (!w.gpu_type.empty()) return w.gpu_type;
  if (catalog != nullptr && !catalog->default_gpu_type.empty()) return catalog->default_gpu_type;
  return "gpu";
}

PricedWorkload PriceWorkload(const config::Workload& w, const config::PriceCatalog* catalog,
                             int hours, const char* side, std::set<std::string>* notes) {
  PricedWorkload p;
  p.w = &w;
  const config::Resources& r = w.requests;
  std::string type = GpuType(w, catalog);
  std::string parts;
  auto add_part = [&](const std::string& s) { parts += (parts.empty() ? "" : ", ") + s; };
  if (r.gpus > 0) add_part(std::to_string(r.gpus) + " " + type);
  if (r.cpu_millis > 0) add_part(FormatScaled(r.cpu_millis, 3) + " vCPU");
  if (r.memory_bytes > 0) {
    add_part(FormatScaled(RoundDiv(static_cast<__int128>(r.memory_bytes) * 1000, kGiB), 3) +
             " GiB");
  }
  p.detail = std::to_string(w.replicas) + " x (" + (parts.empty() ? "no requests" : parts) + ")";
  if (w.kind == "Job" || w.kind == "CronJob") {
    notes->insert(WorkloadKey(w) + " is priced as if it ran all month");
  }
  if (catalog == nullptr) {
    if (r.gpus > 0 || r.cpu_millis > 0 || r.memory_bytes > 0) {
      notes->insert(std::string("no PriceCatalog in ") + side + ": workloads cost 0 there");
    }
    return p;
  }
  const __int128 unit = static_cast<__int128>(w.replicas) * hours;
  if (r.gpus > 0) {
    auto price = catalog->gpu_per_hour.find(type);
    Micros m = 0;
    if (price == catalog->gpu_per_hour.end()) {
      notes->insert(WorkloadKey(w) + ": PriceCatalog/" + catalog->meta.name + " (" + side +
                    ") has no price for GPU type \"" + type + "\"; priced at 0");
    } else {
      m = RoundDiv(unit * r.gpus * price->second, kPicosPerMicro);
    }
    p.components["gpu " + type] = m;
  }
  if (r.cpu_millis > 0) {
    p.components["cpu"] =
        RoundDiv(unit * r.cpu_millis * catalog->per_vcpu_hour, 1000 * kPicosPerMicro);
  }
  if (r.memory_bytes > 0) {
    p.components["memory"] =
        RoundDiv(unit * r.memory_bytes * catalog->per_gib_hour, kGiB * kPicosPerMicro);
  }
  for (const auto& [name, m] : p.components) p.total += m;
  return p;
}

// What one side makes of one route's (or direct model's) observed traffic.
struct PricedTraffic {
  bool present = false;
  std::string detail;
  std::map<std::string, Micros> by_model;  // Model name -> monthly micros
  Micros total = 0;
};

struct TrafficKey {
  std::string route;  // "" = direct model use
  std::string model;  // set only when route is ""
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  auto operator<=>(const TrafficKey&) const = default;
};

PricedTraffic PriceTraffic(const TrafficKey& key, const ledger::SpendTotals& usage,
                           const config::DesiredState& s, const std::string& currency, int hours,
                           int days, const Pricer& pricer, const char* side,
                           std::set<std::string>* notes) {
  PricedTraffic p;
  std::vector<std::pair<const config::Model*, int>> targets;  // model, weight percent
  if (!key.route.empty()) {
    const config::Route* route = s.FindRoute(key.route);
    if (route == nullptr) {
      notes->insert("Route/" + key.route + " does not exist in " + side + ": its " +
                    std::to_string(usage.requests) + " observed requests cost 0 there");
      return p;
    }
    for (const auto& t : route->targets) {
      const config::Model* m = s.FindModel(t.model);
      if (m != nullptr) targets.emplace_back(m, t.weight);
      p.detail += (p.detail.empty() ? "" : ", ") + t.model + " " + std::to_string(t.weight) + "%";
    }
  } else {
    const config::Model* m = s.FindModel(key.model);
    if (m == nullptr) {
      notes->insert("Model/" + key.model + " does not exist in " + side + ": its " +
                    std::to_string(usage.requests) + " observed requests cost 0 there");
      return p;
    }
    targets.emplace_back(m, 100);
    p.detail = key.model;
  }
  p.present = true;
  const __int128 den = static_cast<__int128>(100) * 24 * days * kPicosPerMicro;
  for (const auto& [model, weight] : targets) {
    if (model->currency != currency) {
      notes->insert("Model/" + model->meta.name + " is priced in " + model->currency +
                    ", the report in " + currency + ": amounts are not converted");
    }
    __int128 picos = pricer(usage, model->pricing);
    Micros m = RoundDiv(picos * weight * hours, den);
    p.by_model[model->meta.name] += m;
    p.total += m;
  }
  return p;
}

bool Contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

struct Side {
  std::map<std::string, PricedWorkload> workloads;
  std::map<TrafficKey, PricedTraffic> traffic;
  // Budget name -> monthly cost on this side of the observed traffic its key/tag scope selects.
  std::map<std::string, Micros> scoped_traffic;
};

// A budget's projected spend per its period over one side; sets *attributed = false when the
// scope selects by key or tag and there is traffic it cannot attribute.
Micros Project(const config::Budget& b, const Side& side, int hours, bool* attributed) {
  const config::BudgetScope& scope = b.scope;
  __int128 monthly = 0;
  if (scope.keys.empty() && scope.models.empty() && scope.routes.empty()) {
    for (const auto& entry : side.workloads) {
      const PricedWorkload& p = entry.second;  // not a structured binding: clang 14 lambdas
      bool match = std::all_of(scope.tags.begin(), scope.tags.end(), [&](const auto& tag) {
        auto it = p.w->meta.labels.find(tag.first);
        return it != p.w->meta.labels.end() && it->second == tag.second;
      });
      if (match) monthly += p.total;
    }
  }
  bool selects_requests = !scope.keys.empty() || !scope.tags.empty();
  if (selects_requests) {
    if (auto it = side.scoped_traffic.find(b.meta.name); it != side.scoped_traffic.end()) {
      monthly += it->second;
    } else {
      for (const auto& [key, p] : side.traffic) {
        if (p.present && p.total != 0) *attributed = false;
      }
    }
  }
  for (const auto& [key, p] : side.traffic) {
    if (!p.present || selects_requests) continue;
    if (!scope.routes.empty() && !Contains(scope.routes, key.route)) continue;
    for (const auto& [model, m] : p.by_model) {
      if (scope.models.empty() || Contains(scope.models, model)) monthly += m;
    }
  }
  int period_hours = b.period == config::BudgetPeriod::kDay    ? 24
                     : b.period == config::BudgetPeriod::kWeek ? 168
                                                               : hours;
  return RoundDiv(monthly * period_hours, hours);
}

}  // namespace

namespace {

// The observed traffic a budget's key/tag scope selected, re-priced on one side like the route
// lines (split by that side's weights), keeping the shares on the models its scope names.
Micros PriceScopedTraffic(const config::Budget& b, const std::vector<ledger::ObservedUsage>& rows,
                          const config::DesiredState& s, const std::string& currency, int hours,
                          int days, const Pricer& pricer) {
  std::map<TrafficKey, ledger::SpendTotals> grouped;
  for (const auto& u : rows)
    grouped[TrafficKey{u.route, u.route.empty() ? u.model : ""}].Add(u.totals);
  std::set<std::string> ignored;  // the route lines already carry these notes
  Micros total = 0;
  for (const auto& [key, totals] : grouped) {
    PricedTraffic p = PriceTraffic(key, totals, s, currency, hours, days, pricer, "", &ignored);
    for (const auto& [model, m] : p.by_model) {
      if (b.scope.models.empty() || Contains(b.scope.models, model)) total += m;
    }
  }
  return total;
}

}  // namespace

CostReport ComputeCostCheck(const config::DesiredState& base, const config::DesiredState& head,
                            const std::vector<ledger::ObservedUsage>& usage, int usage_days,
                            const Pricer& pricer, const ScopedUsage& scoped_usage) {
  CostReport report;
  const config::PriceCatalog* base_catalog = PickCatalog(base);
  const config::PriceCatalog* head_catalog = PickCatalog(head);
  const config::PriceCatalog* main_catalog = head_catalog ? head_catalog : base_catalog;
  if (main_catalog != nullptr) {
    report.currency = main_catalog->currency;
    report.hours_per_month =
        main_catalog->hours_per_month > 0 ? main_catalog->hours_per_month : 730;
  }
  report.usage_days = usage_days > 0 ? usage_days : 30;
  const int hours = report.hours_per_month;
  std::set<std::string> notes;
  if (base_catalog && head_catalog && base_catalog->currency != head_catalog->currency) {
    notes.insert("the base and head PriceCatalogs use different currencies (" +
                 base_catalog->currency + ", " + head_catalog->currency + ")");
  }

  Side before, after;
  for (const auto& w : base.workloads) {
    before.workloads[WorkloadKey(w)] = PriceWorkload(w, base_catalog, hours, "base", &notes);
  }
  for (const auto& w : head.workloads) {
    after.workloads[WorkloadKey(w)] = PriceWorkload(w, head_catalog, hours, "head", &notes);
  }

  std::map<TrafficKey, ledger::SpendTotals> grouped;
  for (const auto& u : usage) {
    TrafficKey key{u.route, u.route.empty() ? u.model : ""};
    grouped[key].Add(u.totals);
    report.observed_requests += u.totals.requests;
  }
  for (const auto& [key, totals] : grouped) {
    before.traffic[key] = PriceTraffic(key, totals, base, report.currency, hours, report.usage_days,
                                       pricer, "base", &notes);
    after.traffic[key] = PriceTraffic(key, totals, head, report.currency, hours, report.usage_days,
                                      pricer, "head", &notes);
  }

  // Workload lines, in key order.
  std::set<std::string> workload_keys;
  for (const auto& [k, p] : before.workloads) workload_keys.insert(k);
  for (const auto& [k, p] : after.workloads) workload_keys.insert(k);
  for (const auto& k : workload_keys) {
    CostLine line;
    line.category = "workload";
    line.kind = k.substr(0, k.find('/'));
    line.name = k.substr(k.find('/') + 1);
    std::map<std::string, CostComponent> comps;
    if (auto it = before.workloads.find(k); it != before.workloads.end()) {
      line.base = it->second.total;
      line.base_detail = it->second.detail;
      for (const auto& [n, m] : it->second.components) comps[n].base = m;
    }
    if (auto it = after.workloads.find(k); it != after.workloads.end()) {
      line.head = it->second.total;
      line.head_detail = it->second.detail;
      for (const auto& [n, m] : it->second.components) comps[n].head = m;
    }
    for (auto& [n, c] : comps) {
      c.name = n;
      line.components.push_back(c);
    }
    report.lines.push_back(std::move(line));
  }
  // Traffic lines.
  for (const auto& [key, totals] : grouped) {
    const PricedTraffic& b = before.traffic[key];
    const PricedTraffic& h = after.traffic[key];
    CostLine line;
    line.category = "traffic";
    line.kind = key.route.empty() ? "Model" : "Route";
    line.name = key.route.empty() ? key.model : key.route;
    line.base = b.total;
    line.head = h.total;
    line.base_detail = b.detail;
    line.head_detail = h.detail;
    std::map<std::string, CostComponent> comps;
    for (const auto& [m, v] : b.by_model) comps["model " + m].base = v;
    for (const auto& [m, v] : h.by_model) comps["model " + m].head = v;
    for (auto& [n, c] : comps) {
      c.name = n;
      line.components.push_back(c);
    }
    report.lines.push_back(std::move(line));
  }
  for (const auto& line : report.lines) {
    report.base_total += line.base;
    report.head_total += line.head;
  }

  for (const auto& b : head.budgets) {
    auto it = scoped_usage.find(b.meta.name);
    if (it == scoped_usage.end()) continue;
    before.scoped_traffic[b.meta.name] =
        PriceScopedTraffic(b, it->second, base, report.currency, hours, report.usage_days, pricer);
    after.scoped_traffic[b.meta.name] =
        PriceScopedTraffic(b, it->second, head, report.currency, hours, report.usage_days, pricer);
  }
  for (const auto& b : head.budgets) {
    BudgetFinding f;
    f.budget = b.meta.name;
    f.period = std::string(config::ToString(b.period));
    f.currency = b.currency;
    f.limit = b.limit;
    if (b.currency != report.currency) {
      notes.insert("Budget/" + b.meta.name + " is in " + b.currency + ", prices in " +
                   report.currency + ": not checked");
      continue;
    }
    f.head_projected = Project(b, after, hours, &f.traffic_attributed);
    f.base_projected = Project(b, before, hours, &f.traffic_attributed);
    f.exceeded = f.head_projected > f.limit;
    if (!f.traffic_attributed) {
      notes.insert("Budget/" + b.meta.name +
                   " selects requests by key or tag and no per-scope usage was given, so only "
                   "workloads are counted for it");
    }
    report.budgets.push_back(std::move(f));
  }
  report.notes.assign(notes.begin(), notes.end());
  return report;
}

}  // namespace bursar::gitops
