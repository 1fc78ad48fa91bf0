// The query side of ledger/store.h: aggregates over the raw records and the hourly and daily
// rollups, observed usage for `bursar check`, and single records.
#include <algorithm>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>

#include "ledger/store.h"
#include "ledger/store_internal.h"

namespace bursar::ledger {

using store_internal::CeilTo;
using store_internal::FloorTo;
using store_internal::kDaily;
using store_internal::kLevels;
using store_internal::kRaw;
using store_internal::kUsageColumns;
using store_internal::LevelInfo;
using store_internal::TotalsFromRow;

Status Store::QueryGroups(
    int level, const std::vector<Dimension>& by, const SpendFilter& filter, int64_t since_us,
    int64_t until_us,
    std::map<std::pair<std::vector<std::string>, std::string>, SpendTotals>* out) {
  std::vector<Value> params;
  auto param = [&params](Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  std::string select;
  std::string joins;
  std::string group;
  for (size_t i = 0; i < by.size(); ++i) {
    std::string expr;
    switch (by[i].kind) {
      case Dimension::Kind::kKey:
        expr = "t.key_name";
        break;
      case Dimension::Kind::kRoute:
        expr = "t.route";
        break;
      case Dimension::Kind::kModel:
        expr = "t.model";
        break;
      case Dimension::Kind::kCommit:
        expr = "t.commit_rev";
        break;
      case Dimension::Kind::kTag: {
        std::string alias = "g" + std::to_string(i);
        joins.append(" LEFT JOIN spend_tagset_tags ").append(alias).append(" ON ").append(alias);
        joins.append(".tagset_id = t.tagset_id AND ").append(alias).append(".tag_key = ");
        joins.append(param(by[i].tag));
        expr = "COALESCE(" + alias + ".tag_value, '')";
        break;
      }
    }
    select += expr + ", ";
    group += expr + ", ";
  }
  select += "t.currency";
  group += "t.currency";
  const LevelInfo& info = kLevels[level];
  if (level != kRaw) {
    select += ", SUM(t.requests), SUM(t.cache_hits)";
  } else {
    select += ", COUNT(*), SUM(t.cache_hit)";
  }
  for (const char* c : kUsageColumns) select += std::string(", SUM(t.") + c + ")";
  select += ", SUM(t.cost_micros), SUM(t.saved_micros)";

  const std::string time_col = std::string("t.") + info.time_col;
  std::string where = " WHERE " + time_col + " >= " + param(since_us) + " AND " + time_col + " < " +
                      param(until_us);
  auto in_list = [&](const char* col, const std::vector<std::string>& values) {
    if (values.empty()) return;
    where += std::string(" AND ") + col + " IN (";
    for (size_t i = 0; i < values.size(); ++i) where += (i ? ", " : "") + param(values[i]);
    where += ")";
  };
  in_list("t.key_name", filter.keys);
  in_list("t.route", filter.routes);
  in_list("t.model", filter.models);
  if (!filter.currency.empty()) where += " AND t.currency = " + param(filter.currency);
  if (!filter.tags.empty()) {
    where += " AND t.tagset_id IN (SELECT tagset_id FROM spend_tagset_tags WHERE ";
    bool first = true;
    for (const auto& [k, v] : filter.tags) {
      where += std::string(first ? "" : " OR ") + "(tag_key = " + param(k) +
               " AND tag_value = " + param(v) + ")";
      first = false;
    }
    where +=
        " GROUP BY tagset_id HAVING COUNT(*) = " + param(static_cast<int64_t>(filter.tags.size())) +
        ")";
  }
  std::string sql =
      "SELECT " + select + " FROM " + info.table + " t" + joins + where + " GROUP BY " + group;
  const size_t ndim = by.size();
  return db_->Query(sql, params, [out, ndim](const Row& row) {
    std::vector<std::string> keys;
    keys.reserve(ndim);
    for (size_t i = 0; i < ndim; ++i) keys.push_back(row.Text(i));
    (*out)[{std::move(keys), row.Text(ndim)}].Add(TotalsFromRow(row, ndim + 1));
    return OkStatus();
  });
}

StatusOr<std::vector<SpendGroup>> Store::Aggregate(const std::vector<Dimension>& by,
                                                   const SpendFilter& filter) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t since = filter.since_us.value_or(kMin);
  const int64_t until = filter.until_us.value_or(kMax);
  std::map<std::pair<std::vector<std::string>, std::string>, SpendTotals> groups;
  // Whole days from the daily rollup, whole hours around them from the hourly one, and the
  // partial hours at either edge from the records themselves. An open end stays open.
  std::function<Status(int, int64_t, int64_t, bool, bool)> cover =
      [&](int level, int64_t a, int64_t b, bool a_open, bool b_open) -> Status {
    if (a >= b) return OkStatus();
    if (level == kRaw) return QueryGroups(kRaw, by, filter, a, b, &groups);
    const int64_t unit = kLevels[level].unit;
    const int64_t lo = a_open ? a : CeilTo(a, unit);
    const int64_t hi = b_open ? b : FloorTo(b, unit);
    if (lo >= hi) return cover(level - 1, a, b, a_open, b_open);
    BURSAR_RETURN_IF_ERROR(QueryGroups(level, by, filter, lo, hi, &groups));
    BURSAR_RETURN_IF_ERROR(cover(level - 1, a, lo, a_open, false));
    return cover(level - 1, hi, b, false, b_open);
  };
  BURSAR_RETURN_IF_ERROR(
      cover(kDaily, since, until, !filter.since_us.has_value(), !filter.until_us.has_value()));
  std::vector<SpendGroup> out;
  out.reserve(groups.size());
  for (auto& [k, t] : groups) out.push_back(SpendGroup{k.first, k.second, t});
  std::sort(out.begin(), out.end(), [](const SpendGroup& a, const SpendGroup& b) {
    if (a.totals.cost_micros != b.totals.cost_micros) {
      return a.totals.cost_micros > b.totals.cost_micros;
    }
    return std::tie(a.keys, a.currency) < std::tie(b.keys, b.currency);
  });
  return out;
}

StatusOr<Micros> Store::SumCost(const SpendFilter& filter) {
  BURSAR_ASSIGN_OR_RETURN(std::vector<SpendGroup> groups, Aggregate({}, filter));
  Micros sum = 0;
  for (const SpendGroup& g : groups) sum += g.totals.cost_micros;
  return sum;
}

StatusOr<std::vector<ObservedUsage>> Store::ObservedUsageByRouteModel(int64_t since_us,
                                                                      int64_t until_us,
                                                                      const SpendFilter& scope) {
  SpendFilter filter = scope;
  filter.since_us = since_us;
  filter.until_us = until_us;
  std::vector<Dimension> by = {{Dimension::Kind::kRoute, ""}, {Dimension::Kind::kModel, ""}};
  BURSAR_ASSIGN_OR_RETURN(std::vector<SpendGroup> groups, Aggregate(by, filter));
  std::vector<ObservedUsage> out;
  out.reserve(groups.size());
  for (SpendGroup& g : groups) {
    out.push_back(ObservedUsage{g.keys[0], g.keys[1], g.currency, g.totals});
  }
  std::sort(out.begin(), out.end(), [](const ObservedUsage& a, const ObservedUsage& b) {
    return std::tie(a.route, a.model, a.currency) < std::tie(b.route, b.model, b.currency);
  });
  return out;
}

StatusOr<int64_t> Store::CountRecords() {
  BURSAR_ASSIGN_OR_RETURN(std::vector<Row> rows, db_->QueryAll("SELECT COUNT(*) FROM spend_rows"));
  return rows.empty() ? 0 : rows[0].Int(0);
}

StatusOr<SpendRecord> Store::GetRecord(const std::string& request_id) {
  std::string cols =
      "s.request_id, s.time_us, s.key_name, ts.tags_json, s.route, s.model, s.upstream_model, "
      "s.commit_rev";
  for (const char* c : kUsageColumns) cols += std::string(", s.") + c;
  cols +=
      ", s.price, s.cost_micros, s.saved_micros, s.currency, s.latency_us, s.status, s.cache_hit, "
      "s.downgraded_from";
  BURSAR_ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      db_->QueryAll("SELECT " + cols +
                        " FROM spend s JOIN spend_tagsets ts ON ts.id = s.tagset_id WHERE "
                        "s.request_id = $1",
                    {request_id}));
  if (rows.empty()) return NotFoundError("no spend record " + request_id);
  const Row& row = rows[0];
  SpendRecord r;
  size_t c = 0;
  r.request_id = row.Text(c++);
  r.time_us = row.Int(c++);
  r.key_name = row.Text(c++);
  nlohmann::json tags = nlohmann::json::parse(row.Text(c++), nullptr, false);
  if (tags.is_object()) {
    for (const auto& [k, v] : tags.items()) {
      if (v.is_string()) r.tags[k] = v.get<std::string>();
    }
  }
  r.route = row.Text(c++);
  r.model = row.Text(c++);
  r.upstream_model = row.Text(c++);
  r.commit = row.Text(c++);
  Usage& u = r.usage;
  for (int64_t* f : {&u.prompt_tokens, &u.cached_tokens, &u.completion_tokens, &u.reasoning_tokens,
                     &u.image_tokens, &u.images, &u.audio_input_tokens, &u.audio_output_tokens,
                     &u.audio_millis}) {
    *f = row.Int(c++);
  }
  r.price = row.Text(c++);
  r.cost_micros = row.Int(c++);
  r.saved_micros = row.Int(c++);
  r.currency = row.Text(c++);
  r.latency_us = row.Int(c++);
  r.status = static_cast<int>(row.Int(c++));
  r.cache_hit = row.Int(c++) != 0;
  r.downgraded_from = row.Text(c++);
  return r;
}

}  // namespace bursar::ledger
