// Cost of a change before merge (`bursar check`): the projected monthly cost of a base and a
// head desired state, per resource, and the Budget policies applied to the head.
//
// Kubernetes workloads: requests x replicas x PriceCatalog x hoursPerMonth — GPUs by type
// (nodeSelector/annotation type, else the catalog's defaultGpuType), vCPU from millicores,
// memory per GiB (2^30 bytes). Every workload is priced as running all month (Jobs and CronJobs
// too; a note says so). Each side uses its own PriceCatalog (the one named "default", else the
// first by name), so catalog price changes show up as diffs.
// Traffic: observed usage per (route, model) over the last `usage_days` days (from the ledger)
// is re-priced under each side's configuration: a route's total usage is split over that
// side's targets by weight and priced with each target Model's prices, then scaled to a month
// (x hoursPerMonth / (24 x usage_days)). Traffic of a route missing on a side costs 0 there
// (clients would get errors), with a note. Usage with no route is priced on its model.
// Money is exact: each component (a GPU type, CPU, memory, a route's share on one model) is
// computed in 128-bit pico units and rounded once to micros; lines and totals are their sums.
//
// Budgets (head side): a budget counts the workloads whose labels carry all of its scope tags
// (when it names no keys, models or routes), and the traffic of the routes/models its scope
// names; a budget scoped by keys or tags counts the traffic in `scoped_usage` under its name
// (the requests its scope selected, re-priced per side like the route lines), or, without it,
// only workloads (with a note). The projection is converted to the budget's period (day = 24 h,
// week = 168 h). A budget whose projection exceeds its limit is a finding (exit 1 in the CLI).
//
// Pure functions over values; thread-safe. No errors: what cannot be priced is a note.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/money.h"
#include "config/model.h"
#include "ledger/store.h"

namespace bursar::gitops {

// The exact cost in pico-units of `usage` under `pricing`. The CLI passes the gateway's pricing
// (gateway/pricing.h) so `check` prices requests exactly as the gateway meters them.
using Pricer =
    std::function<__int128(const ledger::SpendTotals& usage, const config::ModelPricing& pricing)>;

struct CostComponent {
  std::string name;  // "gpu nvidia-l4", "cpu", "memory", "model gpt-4o-mini"
  Micros base = 0;
  Micros head = 0;
};

struct CostLine {
  std::string kind;  // Deployment, StatefulSet, ..., Route, Model
  std::string name;
  std::string category;     // "workload" or "traffic"
  std::string base_detail;  // "3 x (1 nvidia-l4, 4 vCPU, 16 GiB)"; "" when absent on that side
  std::string head_detail;
  Micros base = 0;  // monthly
  Micros head = 0;
  std::vector<CostComponent> components;
  Micros diff() const { return head - base; }
  bool changed() const { return base != head || base_detail != head_detail; }
};

struct BudgetFinding {
  std::string budget;
  std::string period;  // day | week | month
  std::string currency;
  Micros limit = 0;
  Micros base_projected = 0;  // per period, base config
  Micros head_projected = 0;  // per period, head config
  bool exceeded = false;      // head_projected > limit
  bool traffic_attributed = true;
  Micros over() const { return head_projected - limit; }
};

struct CostReport {
  std::string base_rev, head_rev;  // as given (display only)
  std::string currency = "USD";
  int hours_per_month = 730;
  int usage_days = 30;
  int64_t observed_requests = 0;
  Micros base_total = 0;
  Micros head_total = 0;
  std::vector<CostLine> lines;  // sorted: workloads then traffic, by kind and name
  std::vector<BudgetFinding> budgets;
  std::vector<std::string> notes;
  Micros diff() const { return head_total - base_total; }
  bool BudgetExceeded() const;
};

// Budget name -> the observed usage its scope selects (ledger::Store::ObservedUsageByRouteModel
// with the scope as filter), for budgets scoped by keys or tags.
using ScopedUsage = std::map<std::string, std::vector<ledger::ObservedUsage>>;

CostReport ComputeCostCheck(const config::DesiredState& base, const config::DesiredState& head,
                            const std::vector<ledger::ObservedUsage>& usage, int usage_days,
                            const Pricer& pricer, const ScopedUsage& scoped_usage = {});

// Plain text for a terminal.
std::string FormatCostTable(const CostReport& report);
// JSON: baseMonthlyCost, headMonthlyCost, monthlyCostDiff (exact decimal strings in `currency`,
// as Infracost does) and their *Micros integer twins, currency, hoursPerMonth, budgetExceeded,
// resources[] (kind, name, category, before/after/diff, components[]), budgets[], notes[].
std::string FormatCostJson(const CostReport& report);
// GitHub-flavoured Markdown for a pull-request comment: a summary table with one row per
// resource, a table per resource with its components, the budgets, and the notes.
std::string FormatCostMarkdown(const CostReport& report);

}  // namespace bursar::gitops
