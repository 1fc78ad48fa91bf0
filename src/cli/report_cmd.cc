// bursar report --data DIR_OR_URL --by key|team|route|model|commit|<tag>[,...] [--since T]
//               [--until T] [--output table|json]
//
// Prints the spend recorded by `bursar serve`, grouped by one or more dimensions (any tag name
// groups by that tag), from the ledger's hourly rollup (exact at any time range). Amounts are
// printed exactly from integer micros. Exit 0; 2 on a bad option or when the ledger cannot be
// opened.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "finops/allocation.h"
#include "ledger/db.h"
#include "ledger/report.h"
#include "ledger/store.h"

namespace bursar::cli {
namespace {

struct ReportOptions {
  std::string data;
  std::vector<std::string> by;
  std::string since;
  std::string until;
  std::string output = "table";
  // Allocation (finops/allocation.h): both sources, buckets, filters, shared-cost showback, CSV.
  std::string source = "gateway";
  std::string every, shared, split = "even";
  std::vector<std::string> where;
};

int Fail(const Status& s) {
  std::fprintf(stderr, "bursar report: %s\n", s.ToString().c_str());
  return kExitUsage;
}

int RunReport(const ReportOptions& opt) {
  ledger::Report report;
  std::vector<ledger::Dimension> dims;
  for (const std::string& name : opt.by) {
    auto d = ledger::Dimension::Parse(name);
    if (!d.ok()) return Fail(d.status());
    dims.push_back(*d);
    report.by.push_back(d->Name());
  }
  ledger::SpendFilter filter;
  if (!opt.since.empty()) {
    auto t = ledger::ParseTimestamp(opt.since);
    if (!t.ok()) return Fail(t.status());
    filter.since_us = report.since_us = *t;
  }
  if (!opt.until.empty()) {
    auto t = ledger::ParseTimestamp(opt.until);
    if (!t.ok()) return Fail(t.status());
    filter.until_us = report.until_us = *t;
  }
  bool plain_dir = !ledger::IsPostgresUrl(opt.data) && !opt.data.starts_with("sqlite:");
  if (plain_dir && !std::filesystem::is_directory(opt.data)) {
    std::fprintf(stderr, "bursar report: %s is not a data folder\n", opt.data.c_str());
    return kExitUsage;
  }
  if (opt.source != "gateway" || !opt.every.empty() || !opt.where.empty() || !opt.shared.empty() ||
      opt.output == "csv") {
    auto text =
        finops::RunAllocationCommand({opt.data, opt.source, opt.by, opt.every, opt.since, opt.until,
                                      opt.where, opt.shared, opt.split, opt.output});
    if (!text.ok()) return Fail(text.status());
    std::fwrite(text->data(), 1, text->size(), stdout);
    return kExitOk;
  }
  auto store = ledger::Store::Open(opt.data);
  if (!store.ok()) return Fail(store.status());
  auto groups = (*store)->Aggregate(dims, filter);
  if (!groups.ok()) return Fail(groups.status());
  report.groups = std::move(groups).value();
  std::string text =
      opt.output == "json" ? ledger::FormatReportJson(report) : ledger::FormatReportTable(report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace

Runner SetupReport(CLI::App& sub) {
  auto opt = std::make_shared<ReportOptions>();
  sub.add_option("--data", opt->data,
                 "Data folder of `bursar serve` (its ledger.db), sqlite:FILE, or a "
                 "postgresql:// URL")
      ->required();
  sub.add_option("--by", opt->by,
                 "Group by key, route, model, commit, team or any other tag name; several "
                 "separated by commas (--by team,route)")
      ->required()
      ->delimiter(',');
  sub.add_option("--since", opt->since, "From this time, inclusive: RFC 3339 or YYYY-MM-DD (UTC)");
  sub.add_option("--until", opt->until,
                 "Up to this time, exclusive: RFC 3339 or YYYY-MM-DD (its 00:00 UTC)");
  sub.add_option("--output", opt->output, "table, json or csv (csv: the --by columns and cost)")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  sub.add_option("--source", opt->source,
                 "gateway (metered spend), focus (imported cloud bills) or all")
      ->check(CLI::IsMember({"gateway", "focus", "all"}));
  sub.add_option("--every", opt->every, "Time buckets: day, week (from Monday) or month (UTC)")
      ->check(CLI::IsMember({"day", "week", "month"}));
  sub.add_option("--where", opt->where, "Only rows whose tag or column KEY equals VALUE (repeat)");
  sub.add_option("--shared", opt->shared,
                 "Showback: rows whose KEY equals VALUE are shared costs, spread over the other "
                 "groups");
  sub.add_option("--split", opt->split, "How shared costs are spread: even or proportional")
      ->check(CLI::IsMember({"even", "proportional"}));
  sub.footer(
      "Spend recorded by the gateway, grouped, with requests, tokens, cost and cache savings per "
      "group and a TOTAL per currency. Amounts are exact. Records still in the spend log of a "
      "server that was killed appear once it starts again (it replays the log). Exit codes: 0 "
      "ok; 2 bad option or the ledger cannot be opened.");
  return [opt] { return RunReport(*opt); };
}

}  // namespace bursar::cli
