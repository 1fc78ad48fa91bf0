// Budget forecasts: project each Budget's period-end spend from its daily history, with an
// interval, and say whether and on which day it will exceed its limit.
//
// Model (ForecastSpend): daily totals of the last weeks are deseasonalised by day-of-week
// factors (when at least two weeks of history exist), a least-squares linear trend is fitted to
// them, and each remaining day of the period is predicted as trend x weekday factor (never
// below 0). The interval is +-1.645 residual standard deviations x sqrt(remaining days) (about
// 90%), and never below what is already spent. Statistics use double; every amount returned is
// in exact micros, rounded once.
//
// Days are local days of the budget's time zone, given by a Calendar (the CLI adapts
// gateway/timezone.h; UtcCalendar() for UTC). ForecastBudget reads the history and the spend so
// far from the ledger with the budget's scope (tags, keys, models, routes, currency): the
// function the gateway's budget alerts call to warn before a budget is exhausted.
//
// Threads: pure functions, except ForecastBudget which uses the caller's Store on its thread.
// Errors: the ledger's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/money.h"
#include "common/status.h"
#include "config/model.h"
#include "ledger/store.h"

namespace bursar::finops {

// Local calendar of a time zone. Local days are numbered like civil days since 1970-01-01.
class Calendar {
 public:
  virtual ~Calendar() = default;
  // The local day containing a UTC instant.
  virtual int64_t LocalDay(int64_t utc_us) const = 0;
  // The UTC instant of a local day's midnight.
  virtual int64_t MidnightUtc(int64_t local_day) const = 0;
};
std::unique_ptr<Calendar> UtcCalendar();

// Local days [first, end) of the budget period (day, week from Monday, month) holding `day`.
std::pair<int64_t, int64_t> PeriodDays(config::BudgetPeriod period, int64_t day);

struct ForecastInput {
  std::vector<double> history;    // daily totals (currency units) of consecutive days, oldest first
  int64_t history_first_day = 0;  // local day number of history[0]
  int64_t today = 0;              // local day of "now"; history ends before it
  double today_left = 1.0;        // fraction of today still to come (0..1)
  int64_t period_end_day = 0;     // first local day after the period
  Micros spent = 0;               // spent in the period so far (exact)
  Micros limit = 0;
};

struct ForecastResult {
  Micros projected = 0;  // period-end spend, expected
  Micros low = 0;        // interval (about 90%)
  Micros high = 0;
  bool will_exceed = false;            // projected > limit
  bool may_exceed = false;             // high > limit
  std::optional<int64_t> exceed_day;   // local day on which the expected path passes the limit
  double trend_per_day = 0;            // slope of the fitted trend (currency units per day)
  std::vector<double> weekday_factor;  // Monday..Sunday (all 1 without seasonality)
};

ForecastResult ForecastSpend(const ForecastInput& in);

struct BudgetForecast {
  std::string budget;
  std::string currency;
  config::BudgetPeriod period = config::BudgetPeriod::kMonth;
  int64_t period_start_us = 0;  // UTC instants of the period's local midnights
  int64_t period_end_us = 0;
  int64_t first_day = 0;  // local days [first_day, end_day) of the period
  int64_t end_day = 0;
  Micros limit = 0;
  Micros spent = 0;
  ForecastResult forecast;
  std::string exceed_date;  // local date "YYYY-MM-DD" of forecast.exceed_day, or ""
};

// Reads `history_days` days of history before today and the spend so far, and forecasts.
StatusOr<BudgetForecast> ForecastBudget(ledger::Store& store, const config::Budget& budget,
                                        const Calendar& calendar, int64_t now_us,
                                        int history_days = 56);

std::string FormatForecastTable(const std::vector<BudgetForecast>& forecasts);
std::string FormatForecastJson(const std::vector<BudgetForecast>& forecasts);

}  // namespace bursar::finops
