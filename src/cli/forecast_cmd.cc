// bursar forecast --repo PATH [--rev REV] [--data DIR_OR_URL] [--now T] [--history-days N]
//                 [--output table|json]
//
// For each Budget of the desired state (a Git repository at --rev, or a plain directory),
// projects the period-end spend of its scope from the ledger's daily history with an interval,
// and says which budgets will exceed their limit and on which day (finops/forecast.h). Days are
// the budget's time zone's local days (gateway/timezone.h). Exit 0 when no budget is projected
// to exceed; 1 when one is (a finding for CI); 2 on bad options, an invalid repository or a
// database error.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "config/loader.h"
#include "finops/exact.h"
#include "finops/forecast.h"
#include "gateway/timezone.h"
#include "gitops/git_source.h"
#include "ledger/store.h"

namespace bursar::cli {
namespace {

struct ForecastOptions {
  std::string repo, rev, data, now, output = "table";
  int history_days = 56;
};

// A budget's local calendar through gateway::TimeZone (TZif files).
class ZoneCalendar : public finops::Calendar {
 public:
  explicit ZoneCalendar(std::shared_ptr<const gateway::TimeZone> tz) : tz_(std::move(tz)) {}
  int64_t LocalDay(int64_t utc_us) const override {
    auto t = std::chrono::floor<std::chrono::seconds>(
        std::chrono::sys_time<std::chrono::microseconds>(std::chrono::microseconds(utc_us)));
    int64_t local_us = utc_us + tz_->OffsetAt(t).count() * 1'000'000;
    return finops::DayOf(local_us);
  }
  int64_t MidnightUtc(int64_t day) const override {
    auto local = std::chrono::local_seconds(std::chrono::seconds(day * 86400));
    return tz_->LocalToUtc(local).time_since_epoch().count() * 1'000'000;
  }

 private:
  std::shared_ptr<const gateway::TimeZone> tz_;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "bursar forecast: %s\n", message.c_str());
  return kExitUsage;
}

int RunForecast(const ForecastOptions& opt) {
  int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (!opt.now.empty() && !finops::ParseTimestamp(opt.now, &now_us)) {
    return Fail("--now \"" + opt.now + "\" is not a date or RFC 3339 time");
  }
  auto read = gitops::ReadRepository(opt.repo, opt.rev);
  if (!read.ok()) return Fail(read.status().message());
  config::LoadResult loaded = config::LoadDesiredState(read->files);
  if (!loaded.diagnostics.empty() || loaded.state == nullptr) {
    for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    return Fail(opt.repo + " does not validate (see `bursar validate`)");
  }
  auto store = ledger::Store::Open(opt.data);
  if (!store.ok()) return Fail(store.status().ToString());
  std::vector<finops::BudgetForecast> forecasts;
  bool exceeds = false;
  for (const config::Budget& budget : loaded.state->budgets) {
    auto tz = gateway::LoadTimeZone(budget.time_zone);
    if (!tz.ok()) return Fail("budget " + budget.meta.name + ": " + tz.status().message());
    ZoneCalendar calendar(*tz);
    auto f = finops::ForecastBudget(**store, budget, calendar, now_us, opt.history_days);
    if (!f.ok()) return Fail(f.status().ToString());
    exceeds = exceeds || f->forecast.will_exceed || f->spent > f->limit;
    forecasts.push_back(std::move(*f));
  }
  std::string text = opt.output == "json" ? finops::FormatForecastJson(forecasts)
                                          : finops::FormatForecastTable(forecasts);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return exceeds ? kExitFinding : kExitOk;
}

}  // namespace

Runner SetupForecast(CLI::App& sub) {
  auto opt = std::make_shared<ForecastOptions>();
  const char* env = std::getenv("BURSAR_DATA");
  opt->data = env && *env ? env : "bursar-data";
  sub.add_option("--repo", opt->repo,
                 "Desired-state Git repository (read at --rev) or plain directory")
      ->required();
  sub.add_option("--rev", opt->rev, "Revision of a Git repository (default HEAD)");
  sub.add_option("--data", opt->data,
                 "Data folder (its ledger.db), sqlite:FILE, or a postgres:// URL "
                 "(default $BURSAR_DATA or ./bursar-data)");
  sub.add_option("--now", opt->now, "Forecast as of this time (default now; RFC 3339 or date)");
  sub.add_option("--history-days", opt->history_days, "Days of history to fit (default 56)")
      ->check(CLI::Range(1, 3660));
  sub.add_option("--output", opt->output, "table or json")->check(CLI::IsMember({"table", "json"}));
  sub.footer(
      "Projects each Budget's period-end spend (linear trend x day-of-week factors fitted on the "
      "daily history, with a ~90% interval) and names the day the expected path passes the "
      "limit. Exit codes: 0 no budget projected to exceed; 1 one is (or already has); 2 bad "
      "options, invalid repository or database error.");
  return [opt] { return RunForecast(*opt); };
}

}  // namespace bursar::cli
