// Output formats of the cost check (declared in gitops/cost_check.h).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "gitops/cost_check.h"

namespace bursar::gitops {
namespace {

// Rounded to cents for people; JSON keeps every micro.
std::string Cents(Micros m) {
  bool negative = m < 0;
  Micros mag = negative ? -m : m;
  Micros rounded = (mag + 5'000) / 10'000 * 10'000;
  return FormatMicros(negative ? -rounded : rounded, 2);
}

std::string SignedCents(Micros m) {
  std::string s = Cents(m);
  return m > 0 ? "+" + s : s;
}

std::string Exact(Micros m) { return FormatMicros(m, 2); }

std::string Pad(const std::string& s, size_t width, bool right) {
  if (s.size() >= width) return s;
  std::string fill(width - s.size(), ' ');
  return right ? fill + s : s + fill;
}

std::string MdEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') {
      out += "&lt;";
      continue;
    }
    if (c == '|' || c == '*' || c == '_' || c == '`' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string Detail(const CostLine& l, const char* arrow = " -> ") {
  if (l.base_detail == l.head_detail) return l.head_detail;
  return (l.base_detail.empty() ? "(none)" : l.base_detail) + arrow +
         (l.head_detail.empty() ? "(none)" : l.head_detail);
}

size_t Unchanged(const CostReport& r) {
  size_t n = 0;
  for (const auto& l : r.lines) n += l.changed() ? 0 : 1;
  return n;
}

}  // namespace

std::string FormatCostTable(const CostReport& r) {
  std::string out = "Monthly cost of " + r.base_rev + " -> " + r.head_rev + " (" + r.currency +
                    ", " + std::to_string(r.hours_per_month) +
                    " h/month; traffic: " + std::to_string(r.observed_requests) +
                    " requests in the last " + std::to_string(r.usage_days) + " days)\n\n";
  size_t width = 20;
  for (const auto& l : r.lines) width = std::max(width, l.kind.size() + l.name.size() + 3);
  out += Pad("resource", width, false) + Pad("before", 14, true) + Pad("after", 14, true) +
         Pad("diff", 14, true) + "\n";
  for (const auto& l : r.lines) {
    if (!l.changed()) continue;
    out += Pad(l.kind + "/" + l.name, width, false) + Pad(Cents(l.base), 14, true) +
           Pad(Cents(l.head), 14, true) + Pad(SignedCents(l.diff()), 14, true) + "   " + Detail(l) +
           "\n";
  }
  out += Pad("total", width, false) + Pad(Cents(r.base_total), 14, true) +
         Pad(Cents(r.head_total), 14, true) + Pad(SignedCents(r.diff()), 14, true) + "\n";
  if (size_t n = Unchanged(r)) out += "(" + std::to_string(n) + " unchanged resources not shown)\n";
  if (!r.budgets.empty()) {
    out += "\nbudgets:\n";
    for (const auto& b : r.budgets) {
      out += "  " + b.budget + " (" + b.period + "): limit " + Cents(b.limit) + " " + b.currency +
             ", projected " + Cents(b.base_projected) + " -> " + Cents(b.head_projected) +
             (b.exceeded ? ": OVER by " + Cents(b.over()) : std::string(": ok")) + "\n";
    }
  }
  if (!r.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& n : r.notes) out += "  - " + n + "\n";
  }
  return out;
}

std::string FormatCostJson(const CostReport& r) {
  nlohmann::json j;
  j["currency"] = r.currency;
  j["hoursPerMonth"] = r.hours_per_month;
  j["usageDays"] = r.usage_days;
  j["observedRequests"] = r.observed_requests;
  j["base"] = {{"rev", r.base_rev}};
  j["head"] = {{"rev", r.head_rev}};
  j["baseMonthlyCost"] = Exact(r.base_total);
  j["headMonthlyCost"] = Exact(r.head_total);
  j["monthlyCostDiff"] = Exact(r.diff());
  j["baseMonthlyCostMicros"] = r.base_total;
  j["headMonthlyCostMicros"] = r.head_total;
  j["monthlyCostDiffMicros"] = r.diff();
  j["budgetExceeded"] = r.BudgetExceeded();
  nlohmann::json resources = nlohmann::json::array();
  for (const auto& l : r.lines) {
    nlohmann::json comps = nlohmann::json::array();
    for (const auto& c : l.components) {
      comps.push_back({{"name", c.name},
                       {"before", Exact(c.base)},
                       {"after", Exact(c.head)},
                       {"diff", Exact(c.head - c.base)}});
    }
    resources.push_back({{"kind", l.kind},
                         {"name", l.name},
                         {"category", l.category},
                         {"before", Exact(l.base)},
                         {"after", Exact(l.head)},
                         {"diff", Exact(l.diff())},
                         {"beforeDetail", l.base_detail},
                         {"afterDetail", l.head_detail},
                         {"components", std::move(comps)}});
  }
  j["resources"] = std::move(resources);
  nlohmann::json budgets = nlohmann::json::array();
  for (const auto& b : r.budgets) {
    budgets.push_back({{"name", b.budget},
                       {"period", b.period},
                       {"currency", b.currency},
                       {"limit", Exact(b.limit)},
                       {"projectedBefore", Exact(b.base_projected)},
                       {"projectedAfter", Exact(b.head_projected)},
                       {"exceeded", b.exceeded},
                       {"over", Exact(b.exceeded ? b.over() : 0)},
                       {"trafficAttributed", b.traffic_attributed}});
  }
  j["budgets"] = std::move(budgets);
  j["notes"] = r.notes;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string FormatCostMarkdown(const CostReport& r) {
  std::string out = "## bursar cost check\n\n";
  out += "Monthly cost **" + SignedCents(r.diff()) + " " + r.currency + "** (" +
         Cents(r.base_total) + " → " + Cents(r.head_total) + " " + r.currency + ") for `" +
         r.base_rev + "` → `" + r.head_rev + "` · " + std::to_string(r.hours_per_month) +
         " h/month · traffic re-priced from " + std::to_string(r.observed_requests) +
         " requests over the last " + std::to_string(r.usage_days) + " days\n\n";
  bool any_exceeded = r.BudgetExceeded();
  if (any_exceeded) {
    out += "> **Budget policy fails:** ";
    bool first = true;
    for (const auto& b : r.budgets) {
      if (!b.exceeded) continue;
      out += std::string(first ? "" : "; ") + "`" + b.budget + "` would be over by " +
             Cents(b.over()) + " " + b.currency + " per " + b.period;
      first = false;
    }
    out += ".\n\n";
  }
  out += "| resource | before | after | diff |\n|---|---:|---:|---:|\n";
  for (const auto& l : r.lines) {
    if (!l.changed()) continue;
    out += "| " + MdEscape(l.kind + "/" + l.name) + " | " + Cents(l.base) + " | " + Cents(l.head) +
           " | " + SignedCents(l.diff()) + " |\n";
  }
  out += "| **total** | **" + Cents(r.base_total) + "** | **" + Cents(r.head_total) + "** | **" +
         SignedCents(r.diff()) + "** |\n";
  if (size_t n = Unchanged(r)) {
    out += "\n" + std::to_string(n) + " unchanged resource" + (n == 1 ? "" : "s") + " not shown.\n";
  }
  bool details = false;
  for (const auto& l : r.lines) {
    if (!l.changed()) continue;
    if (!details) {
      out += "\n<details><summary>Per resource</summary>\n";
      details = true;
    }
    out +=
        "\n#### " + MdEscape(l.kind + "/" + l.name) + "\n\n" + MdEscape(Detail(l, " → ")) + "\n\n";
    out += "| component | before | after | diff |\n|---|---:|---:|---:|\n";
    for (const auto& c : l.components) {
      out += "| " + MdEscape(c.name) + " | " + Cents(c.base) + " | " + Cents(c.head) + " | " +
             SignedCents(c.head - c.base) + " |\n";
    }
  }
  if (details) out += "\n</details>\n";
  if (!r.budgets.empty()) {
    out +=
        "\n### Budgets\n\n| budget | period | limit | before | after | status |\n"
        "|---|---|---:|---:|---:|---|\n";
    for (const auto& b : r.budgets) {
      out += "| " + MdEscape(b.budget) + " | " + b.period + " | " + Cents(b.limit) + " " +
             b.currency + " | " + Cents(b.base_projected) + " | " + Cents(b.head_projected) +
             " | " + (b.exceeded ? "**over by " + Cents(b.over()) + "**" : std::string("ok")) +
             " |\n";
    }
  }
  if (!r.notes.empty()) {
    out += "\n### Notes\n\n";
    for (const auto& n : r.notes) out += "- " + MdEscape(n) + "\n";
  }
  return out;
}

}  // namespace bursar::gitops
