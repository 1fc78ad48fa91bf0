#include "finops/focus_rollup.h"

namespace bursar::finops {

const std::vector<std::string>& RollupColumns() {
  static const std::vector<std::string> kColumns = {"billing_currency", "service_name",
                                                    "service_category", "provider_name",
                                                    "charge_category",  "region_id"};
  return kColumns;
}

ledger::Migration RollupMigration(int version) {
  std::string cols, coalesced, groups;
  for (size_t i = 0; i < RollupColumns().size(); ++i) {
    const std::string& c = RollupColumns()[i];
    cols += ", " + c;
    coalesced += ", COALESCE(" + c + ", 0)";
    groups += ", " + std::to_string(i + 3);
  }
  std::string create = "CREATE TABLE focus_rollup (import_id BIGINT NOT NULL, day BIGINT NOT NULL";
  for (const std::string& c : RollupColumns()) create += ", " + c + " BIGINT NOT NULL";
  create +=
      ", billed_cost BIGINT NOT NULL, billed_cost_pico BIGINT NOT NULL, line_items BIGINT NOT "
      "NULL);\n";
  std::string fill = "INSERT INTO focus_rollup (import_id, day" + cols +
                     ", billed_cost, billed_cost_pico, line_items) SELECT import_id, "
                     "charge_period_start / " +
                     std::to_string(kRollupDayUs) + coalesced +
                     ", SUM(billed_cost), SUM(billed_cost_pico), COUNT(*) FROM focus_rows GROUP "
                     "BY 1, 2" +
                     groups + ";\n";
  return {version, "focus_rollup: BilledCost per import, day and common dimensions", create + fill,
          ""};
}

bool RollupCoversRange(const std::optional<int64_t>& since_us,
                       const std::optional<int64_t>& until_us) {
  auto whole_day = [](const std::optional<int64_t>& t) {
    return !t || (*t > 0 && *t % kRollupDayUs == 0);
  };
  return whole_day(since_us) && whole_day(until_us);
}

int64_t RollupBuilder::Group(const std::array<int64_t, kDims>& dims) {
  auto [it, added] = group_ids_.emplace(dims, static_cast<int64_t>(groups_.size()));
  if (added) groups_.push_back(dims);
  return it->second;
}

namespace {
size_t SlotOf(int64_t group, int64_t day, size_t mask) {
  uint64_t h = (static_cast<uint64_t>(group) * 0x9E3779B97F4A7C15ull) ^
               (static_cast<uint64_t>(day) * 0xC2B2AE3D27D4EB4Full);
  return static_cast<size_t>(h ^ (h >> 31)) & mask;
}
}  // namespace

void RollupBuilder::Add(int64_t group, int64_t charge_period_start, Picos128 billed_cost) {
  const int64_t day = charge_period_start / kRollupDayUs;  // truncates, like the reports' SQL
  if (group != last_group_ || day != last_day_) {
    size_t mask = slots_.size() - 1;
    size_t i = SlotOf(group, day, mask);
    while (slots_[i] != 0) {
      const Sum& s = sums_[slots_[i] - 1];
      if (s.group == group && s.day == day) break;
      i = (i + 1) & mask;
    }
    if (slots_[i] == 0) {
      sums_.push_back({group, day, 0, 0});
      slots_[i] = static_cast<uint32_t>(sums_.size());
      if (sums_.size() * 2 > slots_.size()) {
        slots_.assign(slots_.size() * 2, 0);
        mask = slots_.size() - 1;
        for (size_t k = 0; k < sums_.size(); ++k) {
          size_t j = SlotOf(sums_[k].group, sums_[k].day, mask);
          while (slots_[j] != 0) j = (j + 1) & mask;
          slots_[j] = static_cast<uint32_t>(k + 1);
        }
      }
      last_sum_ = sums_.size() - 1;
    } else {
      last_sum_ = slots_[i] - 1;
    }
    last_group_ = group;
    last_day_ = day;
  }
  Sum& s = sums_[last_sum_];
  s.cost += billed_cost;
  ++s.rows;
}

Status RollupBuilder::Write(ledger::Db& db, int64_t import_id) const {
  constexpr size_t kBatch = 100;
  constexpr size_t kPerRow = kDims + 5;
  auto sql = [](size_t rows) {
    std::string s = "INSERT INTO focus_rollup (import_id, day";
    for (const std::string& c : RollupColumns()) s += ", " + c;
    s += ", billed_cost, billed_cost_pico, line_items) VALUES ";
    size_t p = 1;
    for (size_t r = 0; r < rows; ++r) {
      s += r ? ", (" : "(";
      for (size_t k = 0; k < kPerRow; ++k) s += (k ? ", $" : "$") + std::to_string(p++);
      s += ")";
    }
    return s;
  };
  std::vector<ledger::Value> params;
  size_t pending = 0;
  auto flush = [&](bool all) -> Status {
    if (pending == 0 || (!all && pending < kBatch)) return OkStatus();
    BURSAR_ASSIGN_OR_RETURN(ledger::Statement * stmt, db.Prepare(sql(pending)));
    BURSAR_RETURN_IF_ERROR(stmt->Execute(params).status());
    params.clear();
    pending = 0;
    return OkStatus();
  };
  for (const Sum& sum : sums_) {
    int64_t micros = 0, rem = 0;
    if (!SplitPicos(sum.cost, &micros, &rem)) {
      return InvalidArgumentError("a day's BilledCost total is out of range");
    }
    params.emplace_back(import_id);
    params.emplace_back(sum.day);
    for (int64_t v : groups_[sum.group]) params.emplace_back(v);
    params.emplace_back(micros);
    params.emplace_back(rem);
    params.emplace_back(sum.rows);
    ++pending;
    BURSAR_RETURN_IF_ERROR(flush(false));
  }
  return flush(true);
}

}  // namespace bursar::finops
