#include "finops/forecast.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "finops/exact.h"

namespace bursar::finops {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
constexpr double kZ90 = 1.645;

int Weekday(int64_t day) { return static_cast<int>(((day + 3) % 7 + 7) % 7); }  // 0 = Monday

class Utc : public Calendar {
 public:
  int64_t LocalDay(int64_t utc_us) const override { return DayOf(utc_us); }
  int64_t MidnightUtc(int64_t day) const override { return day * kDayUs; }
};

std::string Date(int64_t day) { return FormatTimestamp(day * kDayUs).substr(0, 10); }

Micros ToMicros(double units) { return static_cast<Micros>(std::llround(units * 1e6)); }

std::string Money(Micros m) { return FormatMicros(m, 2); }

std::string_view PeriodName(config::BudgetPeriod p) {
  switch (p) {
    case config::BudgetPeriod::kDay:
      return "day";
    case config::BudgetPeriod::kWeek:
      return "week";
    case config::BudgetPeriod::kMonth:
      return "month";
  }
  return "?";
}

}  // namespace

std::unique_ptr<Calendar> UtcCalendar() { return std::make_unique<Utc>(); }

std::pair<int64_t, int64_t> PeriodDays(config::BudgetPeriod period, int64_t day) {
  switch (period) {
    case config::BudgetPeriod::kDay:
      return {day, day + 1};
    case config::BudgetPeriod::kWeek: {
      int64_t monday = day - Weekday(day);
      return {monday, monday + 7};
    }
    case config::BudgetPeriod::kMonth: {
      int64_t y;
      unsigned m, d;
      CivilFromDays(day, &y, &m, &d);
      int64_t first = DaysFromCivil(y, m, 1);
      int64_t next = m == 12 ? DaysFromCivil(y + 1, 1, 1) : DaysFromCivil(y, m + 1, 1);
      return {first, next};
    }
  }
  return {day, day + 1};
}

ForecastResult ForecastSpend(const ForecastInput& in) {
  ForecastResult out;
  out.weekday_factor.assign(7, 1.0);
  const auto& y = in.history;
  const size_t n = y.size();
  // Least-squares line through (t, y_t / factor) for the points whose factor is not ~0.
  auto fit = [&](double* a, double* b) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
    for (size_t t = 0; t < n; ++t) {
      double f = out.weekday_factor[Weekday(in.history_first_day + static_cast<int64_t>(t))];
      if (f < 1e-9) continue;  // a weekday that never spends says nothing about the trend
      double z = y[t] / f, x = static_cast<double>(t);
      sx += x;
      sy += z;
      sxx += x * x;
      sxy += x * z;
      m += 1;
    }
    *a = m > 0 ? sy / m : 0;
    *b = 0;
    double den = m * sxx - sx * sx;
    if (m >= 2 && std::fabs(den) > 1e-12) {
      *b = (m * sxy - sx * sy) / den;
      *a = (sy - *b * sx) / m;
    }
  };
  double a = 0, b = 0;
  fit(&a, &b);
  // Day-of-week factors from at least two full weeks: each weekday's spend over the trend's
  // (ratio of sums, so a trend does not leak into the factors), then the trend is refitted on
  // the deseasonalised series; a few rounds converge.
  for (int round = 0; n >= 14 && round < 8; ++round) {
    double actual[7] = {}, expected[7] = {};
    for (size_t t = 0; t < n; ++t) {
      int w = Weekday(in.history_first_day + static_cast<int64_t>(t));
      actual[w] += y[t];
      expected[w] += std::max(0.0, a + b * static_cast<double>(t));
    }
    double norm = 0;
    for (int w = 0; w < 7; ++w) {
      out.weekday_factor[w] = expected[w] > 1e-12 ? actual[w] / expected[w] : 1.0;
      norm += out.weekday_factor[w];
    }
    if (norm > 1e-12) {
      for (double& f : out.weekday_factor) f *= 7.0 / norm;
    } else {
      out.weekday_factor.assign(7, 1.0);
    }
    fit(&a, &b);
  }
  out.trend_per_day = b;
  auto predict = [&](int64_t day) {
    double t = static_cast<double>(day - in.history_first_day);
    return std::max(0.0, a + b * t) * out.weekday_factor[Weekday(day)];
  };
  double sse = 0;
  for (size_t t = 0; t < n; ++t) {
    double r = y[t] - predict(in.history_first_day + static_cast<int64_t>(t));
    sse += r * r;
  }
  double sigma = n > 2 ? std::sqrt(sse / static_cast<double>(n - 2)) : 0.0;
  // Walk the rest of the period.
  double spent = static_cast<double>(in.spent) / 1e6, limit = static_cast<double>(in.limit) / 1e6;
  double cumulative = spent, remaining = 0, variance = 0;
  if (in.spent > in.limit) out.exceed_day = in.today;
  for (int64_t day = in.today; day < in.period_end_day; ++day) {
    double weight = day == in.today ? std::clamp(in.today_left, 0.0, 1.0) : 1.0;
    double mu = n > 0 ? predict(day) * weight : 0.0;
    remaining += mu;
    variance += sigma * sigma * weight;
    cumulative += mu;
    if (!out.exceed_day && cumulative > limit) out.exceed_day = day;
  }
  out.projected = in.spent + ToMicros(remaining);
  Micros half = ToMicros(kZ90 * std::sqrt(variance));
  out.low = std::max(in.spent, out.projected - half);
  out.high = out.projected + half;
  out.will_exceed = out.projected > in.limit;
  out.may_exceed = out.high > in.limit;
  if (!out.will_exceed && out.exceed_day && in.spent <= in.limit) out.exceed_day.reset();
  return out;
}

StatusOr<BudgetForecast> ForecastBudget(ledger::Store& store, const config::Budget& budget,
                                        const Calendar& calendar, int64_t now_us,
                                        int history_days) {
  BudgetForecast f;
  f.budget = budget.meta.name;
  f.currency = budget.currency;
  f.period = budget.period;
  f.limit = budget.limit;
  int64_t today = calendar.LocalDay(now_us);
  auto [first, end] = PeriodDays(budget.period, today);
  f.period_start_us = calendar.MidnightUtc(first);
  f.period_end_us = calendar.MidnightUtc(end);
  f.first_day = first;
  f.end_day = end;

  ledger::SpendFilter filter;
  filter.tags = budget.scope.tags;
  filter.keys = budget.scope.keys;
  filter.models = budget.scope.models;
  filter.routes = budget.scope.routes;
  filter.currency = budget.currency;

  ForecastInput in;
  in.today = today;
  in.period_end_day = end;
  in.limit = budget.limit;
  int64_t start_day = today - history_days;
  bool seen = false;
  for (int64_t d = start_day; d < today; ++d) {
    filter.since_us = calendar.MidnightUtc(d);
    filter.until_us = calendar.MidnightUtc(d + 1);
    BURSAR_ASSIGN_OR_RETURN(Micros cost, store.SumCost(filter));
    if (!seen && cost == 0) continue;  // before the first spend: no history yet
    if (!seen) in.history_first_day = d;
    seen = true;
    in.history.push_back(static_cast<double>(cost) / 1e6);
  }
  if (!seen) in.history_first_day = today;
  filter.since_us = f.period_start_us;
  filter.until_us = now_us;
  BURSAR_ASSIGN_OR_RETURN(f.spent, store.SumCost(filter));
  in.spent = f.spent;
  int64_t t0 = calendar.MidnightUtc(today), t1 = calendar.MidnightUtc(today + 1);
  in.today_left = t1 > t0 ? static_cast<double>(t1 - now_us) / static_cast<double>(t1 - t0) : 0;
  f.forecast = ForecastSpend(in);
  if (f.forecast.exceed_day) f.exceed_date = Date(*f.forecast.exceed_day);
  return f;
}

namespace {

std::string StatusText(const BudgetForecast& f) {
  if (f.spent > f.limit) return "exceeded";
  if (f.forecast.will_exceed) return "will exceed on " + f.exceed_date;
  if (f.forecast.may_exceed) return "may exceed";
  return "ok";
}

}  // namespace

std::string FormatForecastTable(const std::vector<BudgetForecast>& forecasts) {
  std::vector<std::vector<std::string>> rows = {
      {"budget", "period", "limit", "spent", "projected", "range (90%)", "status"}};
  for (const auto& f : forecasts) {
    std::string period =
        Date(f.first_day) + (f.end_day - f.first_day > 1 ? ".." + Date(f.end_day - 1) : "");
    rows.push_back({f.budget, std::string(PeriodName(f.period)) + " " + period,
                    Money(f.limit) + " " + f.currency, Money(f.spent), Money(f.forecast.projected),
                    Money(f.forecast.low) + ".." + Money(f.forecast.high), StatusText(f)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) line += "  ";
      line += r[i] + std::string(width[i] - r[i].size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (forecasts.empty()) out += "(no budgets)\n";
  return out;
}

std::string FormatForecastJson(const std::vector<BudgetForecast>& forecasts) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& f : forecasts) {
    nlohmann::ordered_json j;
    j["budget"] = f.budget;
    j["period"] = PeriodName(f.period);
    j["periodStart"] = FormatTimestamp(f.period_start_us);
    j["periodEnd"] = FormatTimestamp(f.period_end_us);
    j["firstDay"] = Date(f.first_day);
    j["lastDay"] = Date(f.end_day - 1);
    j["currency"] = f.currency;
    j["limit"] = Money(f.limit);
    j["spent"] = Money(f.spent);
    j["projected"] = Money(f.forecast.projected);
    j["low"] = Money(f.forecast.low);
    j["high"] = Money(f.forecast.high);
    j["willExceed"] = f.forecast.will_exceed;
    j["mayExceed"] = f.forecast.may_exceed;
    j["exceedDate"] =
        f.exceed_date.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(f.exceed_date);
    j["trendPerDay"] = f.forecast.trend_per_day;
    j["status"] = StatusText(f);
    out.push_back(j);
  }
  return out.dump(2) + "\n";
}

}  // namespace bursar::finops
