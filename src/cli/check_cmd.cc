// bursar check --repo PATH --base REV --head REV [--data DIR] [--days N]
//              [--output table|json|markdown]
//
// The monthly cost difference of a change before merge (gitops/cost_check.h): Kubernetes
// workloads priced by the PriceCatalog, and the traffic observed in the ledger (--data) re-priced
// under both configurations with the gateway's own pricing. Budget policies apply to the head:
// exit 1 when a budget's projection exceeds its limit; 2 when a revision cannot be read or does
// not validate; 0 otherwise.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "config/loader.h"
#include "gateway/pricing.h"
#include "gitops/cost_check.h"
#include "gitops/git_source.h"
#include "ledger/db.h"
#include "ledger/store.h"

namespace bursar::cli {
namespace {

struct CheckOptions {
  std::string repo;
  std::string cache;
  std::string base;
  std::string head;
  std::string data;
  int days = 30;
  std::string output = "table";
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "bursar check: %s\n", message.c_str());
  return kExitUsage;
}

// Reads and validates one revision; prints its errors and returns null when it is invalid.
config::DesiredStatePtr LoadRevision(gitops::GitRepository& repo, const std::string& rev,
                                     const char* side) {
  auto files = repo.ReadFiles(rev);
  if (!files.ok()) {
    Fail(std::string(side) + " " + rev + ": " + files.status().message());
    return nullptr;
  }
  config::LoadResult loaded = config::LoadDesiredState(*files);
  if (!loaded.diagnostics.empty() || loaded.state == nullptr) {
    for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    Fail(std::string(side) + " " + rev + " does not validate (" +
         std::to_string(loaded.diagnostics.size()) + " errors)");
    return nullptr;
  }
  return loaded.state;
}

__int128 GatewayPricer(const ledger::SpendTotals& t, const config::ModelPricing& pricing) {
  gateway::Usage u;
  u.prompt_tokens = t.prompt_tokens;
  u.cached_tokens = t.cached_tokens;
  u.completion_tokens = t.completion_tokens;
  u.reasoning_tokens = t.reasoning_tokens;
  u.image_tokens = t.image_tokens;
  u.images = t.images;
  u.audio_input_tokens = t.audio_input_tokens;
  u.audio_output_tokens = t.audio_output_tokens;
  u.audio_input_millis = t.audio_millis;
  return gateway::ComputeCost(u, pricing).total_picos;
}

int RunCheck(const CheckOptions& opt) {
  auto repo = gitops::OpenLocalOrMirror(opt.repo, opt.cache);
  if (!repo.ok()) return Fail(repo.status().message());
  auto base_id = (*repo)->ResolveCommit(opt.base);
  if (!base_id.ok()) return Fail("--base: " + base_id.status().message());
  auto head_id = (*repo)->ResolveCommit(opt.head);
  if (!head_id.ok()) return Fail("--head: " + head_id.status().message());
  config::DesiredStatePtr base = LoadRevision(**repo, *base_id, "base");
  if (base == nullptr) return kExitUsage;
  config::DesiredStatePtr head = LoadRevision(**repo, *head_id, "head");
  if (head == nullptr) return kExitUsage;

  std::vector<ledger::ObservedUsage> usage;
  gitops::ScopedUsage scoped;  // for the head's budgets that select requests by key or tag
  if (!opt.data.empty()) {
    bool plain_dir = !ledger::IsPostgresUrl(opt.data) && opt.data.rfind("sqlite:", 0) != 0;
    if (plain_dir && !std::filesystem::is_directory(opt.data)) {
      return Fail(opt.data + " is not a data folder");
    }
    auto store = ledger::Store::Open(opt.data);
    if (!store.ok()) return Fail(store.status().ToString());
    int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    int64_t since_us = now_us - int64_t{opt.days} * 86'400'000'000;
    auto rows = (*store)->ObservedUsageByRouteModel(since_us, now_us);
    if (!rows.ok()) return Fail(rows.status().ToString());
    usage = std::move(*rows);
    for (const config::Budget& b : head->budgets) {
      if (b.scope.keys.empty() && b.scope.tags.empty()) continue;
      ledger::SpendFilter scope;
      scope.keys = b.scope.keys;
      scope.tags = b.scope.tags;
      scope.routes = b.scope.routes;
      scope.models = b.scope.models;
      auto selected = (*store)->ObservedUsageByRouteModel(since_us, now_us, scope);
      if (!selected.ok()) return Fail(selected.status().ToString());
      scoped[b.meta.name] = std::move(*selected);
    }
  }

  gitops::CostReport report =
      gitops::ComputeCostCheck(*base, *head, usage, opt.days, GatewayPricer, scoped);
  report.base_rev = opt.base + " (" + base_id->substr(0, 12) + ")";
  report.head_rev = opt.head + " (" + head_id->substr(0, 12) + ")";
  if (opt.data.empty()) {
    report.notes.push_back("no --data given: model, price and route changes are not priced");
  }
  std::string text = opt.output == "json"       ? gitops::FormatCostJson(report)
                     : opt.output == "markdown" ? gitops::FormatCostMarkdown(report)
                                                : gitops::FormatCostTable(report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (report.BudgetExceeded()) {
    for (const auto& b : report.budgets) {
      if (!b.exceeded) continue;
      std::fprintf(stderr,
                   "bursar check: budget %s would be exceeded: projected %s %s per %s, limit %s "
                   "(over by %s)\n",
                   b.budget.c_str(), FormatMicros(b.head_projected).c_str(), b.currency.c_str(),
                   b.period.c_str(), FormatMicros(b.limit).c_str(), FormatMicros(b.over()).c_str());
    }
    return kExitFinding;
  }
  return kExitOk;
}

}  // namespace

Runner SetupCheck(CLI::App& sub) {
  auto opt = std::make_shared<CheckOptions>();
  AddGitRepoOptions(sub, &opt->repo, &opt->cache);
  sub.add_option("--base", opt->base, "Revision before the change (e.g. origin/main)")->required();
  sub.add_option("--head", opt->head, "Revision with the change (e.g. HEAD)")->required();
  sub.add_option("--data", opt->data,
                 "Data folder of `bursar serve` (its ledger.db) or a postgres:// URL: observed "
                 "traffic to re-price");
  sub.add_option("--days", opt->days, "Days of observed traffic to re-price (default 30)")
      ->check(CLI::Range(1, 366));
  sub.add_option("--output", opt->output, "table, json or markdown (for a PR comment)")
      ->check(CLI::IsMember({"table", "json", "markdown"}));
  sub.footer(
      "Monthly cost = requests x replicas x PriceCatalog x hoursPerMonth for Kubernetes "
      "workloads, plus observed traffic re-priced under each revision's models, prices and "
      "route weights. Exit codes: 0 ok; 1 a Budget would be exceeded under --head; 2 a "
      "revision cannot be read or does not validate.");
  return [opt] { return RunCheck(*opt); };
}

}  // namespace bursar::cli
