#include "finops/allocation.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "finops/csv.h"
#include "finops/focus.h"
#include "finops/focus_rollup.h"
#include "finops/focus_store.h"
#include "ledger/store.h"

namespace bursar::finops {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
constexpr int64_t kHourUs = 3'600'000'000;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// How one name reads in one source.
struct Resolved {
  enum class Kind { kConstant, kColumn, kTag, kDimension } kind = Kind::kConstant;
  std::string constant;         // kConstant
  std::string column;           // kColumn: focus_rows column
  bool dictionary = false;      // kColumn: holds focus_dict ids
  std::string tag;              // kTag
  ledger::Dimension dimension;  // kDimension (gateway)
};

StatusOr<Resolved> ResolveFocus(const std::string& name) {
  Resolved r;
  std::string low = Lower(name);
  if (low == "source") {
    r.constant = "focus";
    return r;
  }
  if (low == "commit") return r;  // empty
  std::string_view column_name = name;
  if (low == "route") column_name = "ServiceName";
  if (low == "model") column_name = "SkuId";
  if (low == "key") column_name = "SubAccountId";
  if (low == "currency") column_name = "BillingCurrency";
  int c = FindFocusColumn(column_name);
  if (c >= 0) {
    const FocusColumn& col = FocusColumns()[c];
    if (col.kind == ColumnKind::kCost || col.kind == ColumnKind::kTime ||
        col.kind == ColumnKind::kTags) {
      return InvalidArgumentError("cannot group or filter by " + std::string(col.name) +
                                  " (a cost, time or tags column; use --every for time)");
    }
    r.kind = Resolved::Kind::kColumn;
    r.column = std::string(col.sql);
    r.dictionary = col.kind == ColumnKind::kText || col.kind == ColumnKind::kEnum;
    return r;
  }
  r.kind = Resolved::Kind::kTag;
  r.tag = name;
  return r;
}

StatusOr<Resolved> ResolveGateway(const std::string& name) {
  Resolved r;
  std::string low = Lower(name);
  auto dim = [&](ledger::Dimension::Kind k) {
    r.kind = Resolved::Kind::kDimension;
    r.dimension.kind = k;
    return r;
  };
  if (low == "source") {
    r.constant = "gateway";
    return r;
  }
  if (low == "key" || low == "subaccountid" || low == "subaccountname") {
    return dim(ledger::Dimension::Kind::kKey);
  }
  if (low == "route" || low == "servicename") return dim(ledger::Dimension::Kind::kRoute);
  if (low == "model" || low == "skuid" || low == "skupriceid") {
    return dim(ledger::Dimension::Kind::kModel);
  }
  if (low == "commit" || low == "x_commit") return dim(ledger::Dimension::Kind::kCommit);
  if (low == "providername" || low == "serviceprovidername" || low == "invoiceissuername") {
    r.constant = "bursar";
    return r;
  }
  if (low == "servicecategory") {
    r.constant = "AI and Machine Learning";
    return r;
  }
  if (low == "chargecategory") {
    r.constant = "Usage";
    return r;
  }
  if (low == "currency" || low == "billingcurrency") {
    r.constant = "\x01currency";  // filled with the group's currency
    return r;
  }
  if (FindFocusColumn(name) >= 0) return r;  // a FOCUS column gateway rows do not have: empty
  r.kind = Resolved::Kind::kDimension;
  r.dimension.kind = ledger::Dimension::Kind::kTag;
  r.dimension.tag = name;
  return r;
}

// One group as fetched: day (or bucket start day), values of all needed names.
struct Raw {
  int64_t day = 0;
  std::vector<std::string> values;
  std::string currency;
  Picos128 cost = 0;
  int64_t requests = 0, tokens = 0, images = 0, line_items = 0;
};

int64_t WeekStart(int64_t day) { return day - ((day + 3) % 7 + 7) % 7; }

int64_t MonthStartDay(int64_t day) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  return DaysFromCivil(y, m, 1);
}

int64_t NextMonthDay(int64_t day) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  return m == 12 ? DaysFromCivil(y + 1, 1, 1) : DaysFromCivil(y, m + 1, 1);
}

std::string PeriodLabel(Every every, int64_t day) {
  if (every == Every::kNone) return "";
  int64_t start = every == Every::kWeek    ? WeekStart(day)
                  : every == Every::kMonth ? MonthStartDay(day)
                                           : day;
  std::string ts = FormatTimestamp(start * kDayUs);
  return every == Every::kMonth ? ts.substr(0, 7) : ts.substr(0, 10);
}

Status FetchFocus(ledger::Db& db, const AllocationQuery& q, const std::vector<std::string>& names,
                  std::vector<Raw>* out) {
  BURSAR_RETURN_IF_ERROR(EnsureFocusSchema(db));
  std::vector<Resolved> res;
  for (const auto& n : names) {
    BURSAR_ASSIGN_OR_RETURN(Resolved r, ResolveFocus(n));
    res.push_back(r);
  }
  std::vector<ledger::Value> params;
  std::string select, joins, where;
  auto param = [&](ledger::Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  // The rollup answers exactly when every name is a rollup column or a constant and the time
  // range falls on whole days (finops/focus_rollup.h); otherwise read the rows.
  bool rollup = RollupCoversRange(q.since_us, q.until_us);
  for (const Resolved& r : res) {
    if (r.kind == Resolved::Kind::kTag) rollup = false;
    if (r.kind == Resolved::Kind::kColumn &&
        std::find(RollupColumns().begin(), RollupColumns().end(), r.column) ==
            RollupColumns().end()) {
      rollup = false;
    }
  }
  int ncols = 0;
  bool by_day = q.every != Every::kNone;
  if (by_day) {
    select += rollup ? "r.day" : "r.charge_period_start / " + std::to_string(kDayUs);
    ++ncols;
  }
  std::vector<int> col_of(res.size(), -1);
  for (size_t i = 0; i < res.size(); ++i) {
    std::string expr;
    if (res[i].kind == Resolved::Kind::kColumn) {
      expr = res[i].dictionary ? "COALESCE(r." + res[i].column + ", 0)"
                               : "COALESCE(r." + res[i].column + ", '')";
    } else if (res[i].kind == Resolved::Kind::kTag) {
      std::string alias = "t" + std::to_string(i);
      joins.append(" LEFT JOIN focus_tagset_tags ").append(alias).append(" ON ").append(alias);
      joins.append(".tagset_id = r.tagset_id AND ").append(alias).append(".tag_key = ");
      joins.append(param(res[i].tag));
      expr = "COALESCE(" + alias + ".tag_value, '')";
    } else {
      continue;
    }
    select += (select.empty() ? "" : ", ") + expr;
    col_of[i] = ncols++;
  }
  select += std::string(select.empty() ? "" : ", ") + "COALESCE(r.billing_currency, 0)";
  int currency_col = ncols++;
  std::string group;
  for (int k = 1; k <= ncols; ++k) group += (k > 1 ? ", " : "") + std::to_string(k);
  std::string sql;
  if (rollup) {
    if (q.since_us) where += " AND r.day >= " + param(*q.since_us / kDayUs);
    if (q.until_us) where += " AND r.day < " + param(*q.until_us / kDayUs);
    sql = "SELECT " + select +
          ", SUM(r.billed_cost), SUM(r.billed_cost_pico), SUM(r.line_items) FROM focus_rollup r "
          "WHERE 1 = 1" +
          where + " GROUP BY " + group;
  } else {
    if (q.since_us) where += " AND r.charge_period_start >= " + param(*q.since_us);
    if (q.until_us) where += " AND r.charge_period_start < " + param(*q.until_us);
    sql = "SELECT " + select +
          ", SUM(r.billed_cost), SUM(r.billed_cost_pico), COUNT(*) FROM focus_rows r" + joins +
          " WHERE 1 = 1" + where + " GROUP BY " + group;
  }
  // Dictionary columns come back as ids; their texts are looked up once per distinct id.
  std::map<int64_t, std::string> texts = {{0, ""}};
  size_t first = out->size();
  std::vector<std::vector<int64_t>> ids;
  BURSAR_RETURN_IF_ERROR(db.Query(sql, params, [&](const ledger::Row& row) -> Status {
    Raw raw;
    raw.day = by_day ? row.Int(0) : 0;
    std::vector<int64_t> row_ids(res.size() + 1, -1);
    for (size_t i = 0; i < res.size(); ++i) {
      if (col_of[i] < 0) {
        raw.values.push_back(res[i].constant);
      } else if (res[i].dictionary) {
        row_ids[i] = row.Int(col_of[i]);
        texts.emplace(row_ids[i], "");
        raw.values.emplace_back();
      } else {
        raw.values.push_back(row.Text(col_of[i]));
      }
    }
    row_ids[res.size()] = row.Int(currency_col);
    texts.emplace(row_ids[res.size()], "");
    // PostgreSQL's SUM(bigint) is numeric; both sums are whole numbers well inside int64.
    raw.cost = JoinPicos(row.Int(ncols), row.Int(ncols + 1));
    raw.line_items = row.Int(ncols + 2);
    out->push_back(std::move(raw));
    ids.push_back(std::move(row_ids));
    return OkStatus();
  }));
  std::vector<int64_t> wanted;
  for (const auto& [id, text] : texts) {
    if (id != 0) wanted.push_back(id);
  }
  for (size_t k = 0; k < wanted.size(); k += 500) {
    std::string in;
    for (size_t j = k; j < std::min(wanted.size(), k + 500); ++j) {
      in += (j > k ? "," : "") + std::to_string(wanted[j]);
    }
    BURSAR_RETURN_IF_ERROR(db.Query("SELECT id, value FROM focus_dict WHERE id IN (" + in + ")", {},
                                    [&](const ledger::Row& r) {
                                      texts[r.Int(0)] = r.Text(1);
                                      return OkStatus();
                                    }));
  }
  for (size_t k = 0; k < ids.size(); ++k) {
    Raw& raw = (*out)[first + k];
    for (size_t i = 0; i < res.size(); ++i) {
      if (ids[k][i] >= 0) raw.values[i] = texts[ids[k][i]];
    }
    raw.currency = texts[ids[k][res.size()]];
  }
  return OkStatus();
}

Status FetchGateway(ledger::Store& store, const AllocationQuery& q,
                    const std::vector<std::string>& names, std::vector<Raw>* out) {
  std::vector<Resolved> res;
  std::vector<ledger::Dimension> dims;
  std::vector<int> dim_of;
  for (const auto& n : names) {
    BURSAR_ASSIGN_OR_RETURN(Resolved r, ResolveGateway(n));
    if (r.kind == Resolved::Kind::kDimension) {
      dim_of.push_back(static_cast<int>(dims.size()));
      dims.push_back(r.dimension);
    } else {
      dim_of.push_back(-1);
    }
    res.push_back(r);
  }
  ledger::SpendFilter filter;
  // Push equality filters down where the store can apply them (they are re-checked later).
  for (const auto& [k, v] : q.where) {
    BURSAR_ASSIGN_OR_RETURN(Resolved r, ResolveGateway(k));
    if (r.kind != Resolved::Kind::kDimension) continue;
    switch (r.dimension.kind) {
      case ledger::Dimension::Kind::kTag:
        filter.tags[r.dimension.tag] = v;
        break;
      case ledger::Dimension::Kind::kKey:
        filter.keys.push_back(v);
        break;
      case ledger::Dimension::Kind::kRoute:
        filter.routes.push_back(v);
        break;
      case ledger::Dimension::Kind::kModel:
        filter.models.push_back(v);
        break;
      case ledger::Dimension::Kind::kCommit:
        break;
    }
  }
  // Buckets: one query per period, over the hours that hold data.
  std::vector<std::pair<int64_t, int64_t>> ranges;  // [since, until) in micros
  int64_t lo = q.since_us.value_or(INT64_MIN), hi = q.until_us.value_or(INT64_MAX);
  if (q.every == Every::kNone) {
    ranges.push_back({lo, hi});
  } else {
    BURSAR_ASSIGN_OR_RETURN(
        auto mm, store.db().QueryAll("SELECT MIN(hour_us), MAX(hour_us) FROM spend_hourly WHERE "
                                     "hour_us >= $1 AND hour_us < $2",
                                     {lo == INT64_MIN ? lo : lo - lo % kHourUs, hi}));
    if (mm.empty() || mm[0].IsNull(0)) return OkStatus();
    int64_t first_day = DayOf(std::max(mm[0].Int(0), lo));
    int64_t last_day = DayOf(std::min(mm[0].Int(1) + kHourUs - 1, hi - 1));
    int64_t day = q.every == Every::kWeek    ? WeekStart(first_day)
                  : q.every == Every::kMonth ? MonthStartDay(first_day)
                                             : first_day;
    while (day <= last_day) {
      int64_t next = q.every == Every::kWeek    ? day + 7
                     : q.every == Every::kMonth ? NextMonthDay(day)
                                                : day + 1;
      ranges.push_back({std::max(lo, day * kDayUs), std::min(hi, next * kDayUs)});
      day = next;
    }
  }
  for (auto [since, until] : ranges) {
    if (since != INT64_MIN) filter.since_us = since;
    if (until != INT64_MAX) filter.until_us = until;
    BURSAR_ASSIGN_OR_RETURN(auto groups, store.Aggregate(dims, filter));
    for (const auto& g : groups) {
      Raw raw;
      raw.day = since == INT64_MIN ? 0 : DayOf(since);
      raw.currency = g.currency;
      for (size_t i = 0; i < res.size(); ++i) {
        if (dim_of[i] >= 0) {
          raw.values.push_back(g.keys[dim_of[i]]);
        } else {
          raw.values.push_back(res[i].constant == "\x01currency" ? g.currency : res[i].constant);
        }
      }
      raw.cost = Picos128(g.totals.cost_micros) * kPicosPerMicro;
      raw.requests = g.totals.requests;
      raw.tokens = g.totals.prompt_tokens + g.totals.completion_tokens;
      raw.images = g.totals.images;
      out->push_back(std::move(raw));
    }
  }
  return OkStatus();
}

// Splits `pool` over `weights` exactly (largest remainder); equal weights when all are <= 0.
std::vector<Picos128> SplitExactly(Picos128 pool, const std::vector<Picos128>& weights,
                                   Split split) {
  size_t n = weights.size();
  std::vector<Picos128> w(n, 1);
  if (split == Split::kProportional) {
    Picos128 total = 0;
    for (size_t i = 0; i < n; ++i) {
      w[i] = std::max<Picos128>(RoundPicosToMicros(weights[i]), 0);
      total += w[i];
    }
    if (total == 0) std::fill(w.begin(), w.end(), 1);
  }
  Picos128 total = 0;
  for (auto x : w) total += x;
  bool negative = pool < 0;
  Picos128 mag = negative ? -pool : pool;
  std::vector<Picos128> share(n);
  std::vector<std::pair<Picos128, size_t>> remainders;
  Picos128 given = 0;
  for (size_t i = 0; i < n; ++i) {
    // mag * w[i] fits 128 bits: mag < 2^80 in practice, weights are micros.
    Picos128 num = mag * w[i];
    share[i] = num / total;
    given += share[i];
    remainders.push_back({num % total, i});
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < mag; ++k, ++given) share[remainders[k % n].second] += 1;
  if (negative) {
    for (auto& s : share) s = -s;
  }
  return share;
}

}  // namespace

StatusOr<Source> ParseSource(std::string_view s) {
  if (s == "gateway") return Source::kGateway;
  if (s == "focus") return Source::kFocus;
  if (s == "all") return Source::kAll;
  return InvalidArgumentError("--source must be gateway, focus or all, not \"" + std::string(s) +
                              "\"");
}

StatusOr<Every> ParseEvery(std::string_view s) {
  if (s.empty()) return Every::kNone;
  if (s == "day") return Every::kDay;
  if (s == "week") return Every::kWeek;
  if (s == "month") return Every::kMonth;
  return InvalidArgumentError("--every must be day, week or month, not \"" + std::string(s) + "\"");
}

StatusOr<Split> ParseSplit(std::string_view s) {
  if (s == "even") return Split::kEven;
  if (s == "proportional") return Split::kProportional;
  return InvalidArgumentError("--split must be even or proportional, not \"" + std::string(s) +
                              "\"");
}

StatusOr<std::pair<std::string, std::string>> ParseKeyValue(std::string_view s) {
  auto eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgumentError("expected KEY=VALUE, not \"" + std::string(s) + "\"");
  }
  return std::pair{std::string(s.substr(0, eq)), std::string(s.substr(eq + 1))};
}

std::optional<int64_t> CostPer(Picos128 cost, int64_t per, int64_t count) {
  if (count <= 0) return std::nullopt;
  Picos128 num = cost * per;
  Picos128 den = Picos128(count) * kPicosPerMicro;
  bool negative = num < 0;
  Picos128 mag = negative ? -num : num;
  Picos128 q = (mag + den / 2) / den;
  return static_cast<int64_t>(negative ? -q : q);
}

StatusOr<AllocationReport> RunAllocation(ledger::Store& store, const AllocationQuery& query) {
  AllocationReport report;
  report.query = query;
  // Every name the query needs: by, then where keys, then the shared key.
  std::vector<std::string> names = query.by;
  auto index_of = [&](const std::string& n) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == n) return static_cast<int>(i);
    }
    names.push_back(n);
    return static_cast<int>(names.size() - 1);
  };
  std::vector<std::pair<int, std::string>> where;
  for (const auto& [k, v] : query.where) where.push_back({index_of(k), v});
  int shared_index = query.shared ? index_of(query.shared->first) : -1;

  std::vector<Raw> raws;
  if (query.source != Source::kFocus) {
    BURSAR_RETURN_IF_ERROR(FetchGateway(store, query, names, &raws));
  }
  if (query.source != Source::kGateway) {
    BURSAR_RETURN_IF_ERROR(FetchFocus(store.db(), query, names, &raws));
  }

  // Group by (period, by-keys, currency); pool shared rows per (period, currency).
  using GroupKey = std::tuple<std::string, std::vector<std::string>, std::string>;
  std::map<GroupKey, AllocationRow> groups;
  std::map<std::pair<std::string, std::string>, AllocationRow> pools;
  const size_t nby = query.by.size();
  for (const Raw& raw : raws) {
    bool keep = true;
    for (const auto& [i, v] : where) keep = keep && raw.values[i] == v;
    if (!keep) continue;
    std::string period = PeriodLabel(query.every, raw.day);
    AllocationRow* row;
    if (shared_index >= 0 && raw.values[shared_index] == query.shared->second) {
      row = &pools[{period, raw.currency}];
    } else {
      std::vector<std::string> keys(raw.values.begin(), raw.values.begin() + nby);
      row = &groups[{period, keys, raw.currency}];
    }
    row->cost += raw.cost;
    row->requests += raw.requests;
    row->tokens += raw.tokens;
    row->images += raw.images;
    row->line_items += raw.line_items;
  }
  for (auto& [pk, pool] : pools) {
    std::vector<AllocationRow*> targets;
    std::vector<Picos128> weights;
    for (auto& [gk, row] : groups) {
      if (std::get<0>(gk) == pk.first && std::get<2>(gk) == pk.second) {
        targets.push_back(&row);
        weights.push_back(row.cost);
      }
    }
    if (targets.empty()) {  // nothing to share with: the shared rows stay a group of their own
      std::vector<std::string> keys(nby);
      for (size_t i = 0; i < nby; ++i) {
        if (static_cast<int>(i) == shared_index) keys[i] = query.shared->second;
      }
      AllocationRow& row = groups[{pk.first, keys, pk.second}];
      row.cost += pool.cost;
      row.requests += pool.requests;
      row.tokens += pool.tokens;
      row.images += pool.images;
      row.line_items += pool.line_items;
      continue;
    }
    auto shares = SplitExactly(pool.cost, weights, query.split);
    for (size_t i = 0; i < targets.size(); ++i) {
      targets[i]->cost += shares[i];
      targets[i]->shared += shares[i];
    }
  }
  std::map<std::string, AllocationRow> totals;
  for (auto& [gk, row] : groups) {
    row.period = std::get<0>(gk);
    row.keys = std::get<1>(gk);
    row.currency = std::get<2>(gk);
    AllocationRow& t = totals[row.currency];
    t.currency = row.currency;
    t.cost += row.cost;
    t.shared += row.shared;
    t.requests += row.requests;
    t.tokens += row.tokens;
    t.images += row.images;
    t.line_items += row.line_items;
    report.rows.push_back(std::move(row));
  }
  std::sort(report.rows.begin(), report.rows.end(),
            [](const AllocationRow& a, const AllocationRow& b) {
              if (a.period != b.period) return a.period < b.period;
              if (a.cost != b.cost) return a.cost > b.cost;
              if (a.keys != b.keys) return a.keys < b.keys;
              return a.currency < b.currency;
            });
  for (auto& [c, t] : totals) report.totals.push_back(t);
  return report;
}

}  // namespace bursar::finops
