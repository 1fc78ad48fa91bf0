// Allocation over FOCUS rows (FinOps Foundation, FOCUS Sample Data, CC BY 4.0; see
// testdata/README.md) and gateway spend, on SQLite and PostgreSQL.
#include "finops/allocation.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <tuple>

#include "finops/focus_export.h"
#include "finops/focus_rollup.h"
#include "finops/focus_store.h"
#include "finops/test_db.h"
#include "ledger/report.h"

namespace bursar::finops {
namespace {

using testing::Backend;
using testing::RunPython;
using testing::SamplePath;

class AllocationTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    holder_ = testing::TestDb::Make(GetParam());
    if (!holder_) GTEST_SKIP() << "BURSAR_TEST_PG_URL not set";
    auto store = ledger::Store::Open(holder_->url());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    holder_.reset();
  }

  static ledger::SpendRecord Rec(std::string id, int64_t time_us, std::string team,
                                 std::string route, std::string model, int64_t cost_micros,
                                 int64_t tokens = 1000, int64_t images = 0) {
    ledger::SpendRecord r;
    r.request_id = std::move(id);
    r.time_us = time_us;
    r.key_name = "key-" + team;
    r.tags = {{"team", team}, {"env", "prod"}};
    r.route = std::move(route);
    r.model = std::move(model);
    r.upstream_model = r.model;
    r.commit = "c0ffee";
    r.usage.prompt_tokens = tokens / 2;
    r.usage.completion_tokens = tokens - tokens / 2;
    r.usage.images = images;
    r.cost_micros = cost_micros;
    r.price = "{}";
    return r;
  }

  AllocationReport Run(const AllocationQuery& q) {
    auto r = RunAllocation(*store_, q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : AllocationReport{};
  }

  std::map<std::string, std::string> ByFirstKey(const AllocationReport& r, int digits = 12) {
    std::map<std::string, std::string> out;
    for (const auto& row : r.rows) out[row.keys.at(0)] = FormatPicos(row.cost, digits);
    return out;
  }

  std::unique_ptr<testing::TestDb> holder_;
  std::unique_ptr<ledger::Store> store_;
};

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z, a Thursday

std::map<std::string, std::string> Python(const std::string& how, const std::string& what) {
  std::string script = "import csv, json\nfrom decimal import Decimal\nhow, what = '" + how +
                       "', '" + what + "'\npath = '" + SamplePath() + "'\n" + R"PY(
tot = {}
for r in csv.DictReader(open(path, newline='', encoding='utf-8-sig')):
    if how == 'col':
        k = r[what]
    else:
        t = r['Tags']
        d = {} if t in ('', 'NULL') else {kk.strip(): str(v) for kk, v in json.loads(t).items()}
        k = d.get(what, '')
    tot[k] = tot.get(k, Decimal(0)) + Decimal(r['BilledCost'])
for k in sorted(tot):
    print(k + '\t' + format(tot[k].quantize(Decimal('1e-12')), 'f'))
)PY";
  std::map<std::string, std::string> out;
  std::istringstream lines(RunPython(script));
  std::string line;
  while (std::getline(lines, line)) {
    auto tab = line.find('\t');
    out[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return out;
}

TEST_P(AllocationTest, FocusSampleTotalsEqualPython) {
  auto imported = ImportFocusFile(store_->db(), SamplePath(), {});
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  AllocationQuery q;
  q.source = Source::kFocus;
  q.by = {"ServiceName"};
  EXPECT_EQ(ByFirstKey(Run(q)), Python("col", "ServiceName"));
  q.by = {"ProviderName"};
  auto by_provider = Run(q);
  EXPECT_EQ(ByFirstKey(by_provider), Python("col", "ProviderName"));
  EXPECT_EQ(by_provider.rows.size(), 3u);
  EXPECT_EQ(by_provider.totals.size(), 1u);
  EXPECT_EQ(FormatPicos(by_provider.totals[0].cost, 12), FormatPicos(imported->billed_cost, 12));
  q.by = {"business_unit"};  // a tag
  EXPECT_EQ(ByFirstKey(Run(q)), Python("tag", "business_unit"));
  q.by = {"serviceprovidername"};  // the 1.2 spelling and any case reach the same column
  EXPECT_EQ(ByFirstKey(Run(q)), Python("col", "ProviderName"));
}

// Reports answered from focus_rollup (rollup columns only, whole days) equal the same reports
// read from the rows (a finer grouping, summed back), to the pico and the line count; and the
// migration's backfill rebuilds the rollup the importer wrote.
TEST_P(AllocationTest, FocusRollupAgreesWithTheRows) {
  ASSERT_TRUE(ImportFocusFile(store_->db(), SamplePath(), {}).ok());
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  auto fold = [](const AllocationReport& r) {
    std::map<Key, std::pair<std::string, int64_t>> out;
    std::map<Key, Picos128> cost;
    for (const auto& row : r.rows) {
      Key k{row.period, row.keys.at(0), row.keys.at(1), row.currency};
      cost[k] += row.cost;
      out[k].second += row.line_items;
    }
    for (auto& [k, v] : out) v.first = FormatPicos(cost[k], 12);
    return out;
  };
  AllocationQuery q;
  q.source = Source::kFocus;
  q.every = Every::kDay;
  q.by = {"ServiceName", "ChargeCategory"};
  AllocationReport daily = Run(q);
  ASSERT_GT(daily.rows.size(), 2u);
  AllocationQuery rows = q;
  rows.by.push_back("ResourceId");  // not in the rollup: read from the rows
  EXPECT_EQ(fold(daily), fold(Run(rows)));
  // Whole-day bounds still use the rollup; a bound inside a day reads the rows.
  auto day = [](const std::string& period) { return *ledger::ParseTimestamp(period); };
  q.since_us = rows.since_us = day(daily.rows.front().period) + kDay;
  q.until_us = rows.until_us = day(daily.rows.back().period);
  EXPECT_EQ(fold(Run(q)), fold(Run(rows)));
  q.since_us = rows.since_us = *q.since_us + 3600'000'000LL;
  q.by.pop_back();
  q.by.push_back("ProviderName");
  rows.by = q.by;
  rows.by.push_back("ResourceId");
  EXPECT_EQ(fold(Run(q)), fold(Run(rows)));

  AllocationQuery all;
  all.source = Source::kFocus;
  all.by = {"ServiceName", "RegionId"};
  auto before = fold(Run(all));
  ASSERT_TRUE(store_->db().Execute("DELETE FROM focus_rollup").ok());
  std::string fill = RollupMigration(2).sqlite_sql;
  fill = fill.substr(fill.find("INSERT"));
  ASSERT_TRUE(store_->db().ExecScript(fill).ok());
  EXPECT_EQ(fold(Run(all)), before);
}

TEST_P(AllocationTest, FocusFiltersBucketsAndCsv) {
  ASSERT_TRUE(ImportFocusFile(store_->db(), SamplePath(), {}).ok());
  AllocationQuery q;
  q.source = Source::kFocus;
  q.by = {"ProviderName"};
  q.where = {{"ProviderName", "Microsoft"}};
  q.every = Every::kMonth;
  auto r = Run(q);
  ASSERT_FALSE(r.rows.empty());
  for (const auto& row : r.rows) {
    EXPECT_EQ(row.keys[0], "Microsoft");
    EXPECT_EQ(row.period.size(), 7u) << row.period;  // "2024-09"
  }
  std::string csv = FormatAllocationCsv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "period,ProviderName,cost");
  q.every = Every::kNone;
  q.where.clear();
  std::string plain = FormatAllocationCsv(Run(q));
  EXPECT_EQ(plain.substr(0, plain.find('\n')), "ProviderName,cost");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), '\n'), 4);  // header + 3 providers
  auto bad = RunAllocation(*store_, [] {
    AllocationQuery b;
    b.source = Source::kFocus;
    b.by = {"BilledCost"};
    return b;
  }());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(AllocationTest, GatewayByTagWithDaysAndUnitEconomics) {
  std::vector<ledger::SpendRecord> recs = {
      Rec("r1", kT0 + 3600'000'000, "search", "chat", "gpt-small", 1'500'000, 2000),
      Rec("r2", kT0 + 7200'000'000, "search", "chat", "gpt-small", 500'000, 2000),
      Rec("r3", kT0 + kDay + 60'000'000, "search", "vision", "gpt-vision", 300'000, 1000, 3),
      Rec("r4", kT0 + kDay + 120'000'000, "ads", "chat", "gpt-small", 250'000, 500),
  };
  ASSERT_TRUE(store_->InsertBatch(recs).ok());
  AllocationQuery q;
  q.by = {"team"};
  auto r = Run(q);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].keys[0], "search");
  EXPECT_EQ(FormatPicos(r.rows[0].cost, 2), "2.30");
  EXPECT_EQ(r.rows[0].requests, 3);
  EXPECT_EQ(r.rows[0].tokens, 5000);
  EXPECT_EQ(r.rows[0].images, 3);
  EXPECT_EQ(CostPer(r.rows[0].cost, 1000, r.rows[0].requests), 766'666'667);  // $766.666667
  EXPECT_EQ(CostPer(r.rows[0].cost, 1'000'000, r.rows[0].tokens), 460'000'000);
  EXPECT_EQ(CostPer(r.rows[0].cost, 1, r.rows[0].images), 766'667);
  q.every = Every::kDay;
  q.by = {"team", "model"};
  auto daily = Run(q);
  ASSERT_EQ(daily.rows.size(), 3u);
  EXPECT_EQ(daily.rows[0].period, "2026-01-01");
  EXPECT_EQ(FormatPicos(daily.rows[0].cost, 2), "2.00");
  EXPECT_EQ(daily.rows[1].period, "2026-01-02");
  EXPECT_EQ(daily.rows[1].keys, (std::vector<std::string>{"search", "gpt-vision"}));
  q.every = Every::kWeek;  // 2026-01-01 is a Thursday: its week starts on Monday 2025-12-29
  q.by = {"route"};
  auto weekly = Run(q);
  ASSERT_FALSE(weekly.rows.empty());
  EXPECT_EQ(weekly.rows[0].period, "2025-12-29");
  q.every = Every::kNone;
  q.by = {"route"};
  q.where = {{"team", "search"}, {"model", "gpt-small"}};
  auto filtered = Run(q);
  ASSERT_EQ(filtered.rows.size(), 1u);
  EXPECT_EQ(FormatPicos(filtered.rows[0].cost, 2), "2.00");
  std::string json = FormatAllocationJson(r);
  EXPECT_NE(json.find("\"costPer1kRequests\": \"766.666667\""), std::string::npos) << json;
}

TEST_P(AllocationTest, SharedCostsSplitEvenlyOrInProportionToTheLastPico) {
  std::vector<ledger::SpendRecord> recs = {
      Rec("a", kT0, "a", "chat", "m", 3'000'000), Rec("b", kT0, "b", "chat", "m", 1'000'000),
      Rec("p", kT0, "platform", "chat", "m", 2'000'000),
      Rec("q", kT0, "platform", "chat", "m", 1),  // 1 micro: not divisible by 2 groups in picos?
  };
  ASSERT_TRUE(store_->InsertBatch(recs).ok());
  AllocationQuery q;
  q.by = {"team"};
  q.shared = std::pair<std::string, std::string>{"team", "platform"};
  q.split = Split::kEven;
  auto even = Run(q);
  ASSERT_EQ(even.rows.size(), 2u);
  EXPECT_EQ(FormatPicos(even.rows[0].cost, 2), "4.0000005");
  EXPECT_EQ(FormatPicos(even.rows[1].cost, 2), "2.0000005");
  EXPECT_EQ(FormatPicos(even.totals[0].cost, 2), "6.000001");  // nothing lost
  q.split = Split::kProportional;
  auto prop = Run(q);
  ASSERT_EQ(prop.rows.size(), 2u);
  EXPECT_EQ(prop.rows[0].keys[0], "a");
  EXPECT_EQ(FormatPicos(prop.rows[0].cost, 2), "4.50000075");
  EXPECT_EQ(FormatPicos(prop.rows[1].cost, 2), "1.50000025");
  EXPECT_EQ(FormatPicos(prop.rows[0].shared + prop.rows[1].shared, 2), "2.000001");
  // A pool of 1 pico-odd amount over 3 groups still sums exactly.
  ASSERT_TRUE(store_->InsertBatch(std::vector{Rec("c", kT0, "c", "chat", "m", 0)}).ok());
  q.split = Split::kEven;
  auto three = Run(q);
  Picos128 sum = 0;
  for (const auto& row : three.rows) sum += row.cost;
  EXPECT_EQ(sum, three.totals[0].cost);
  EXPECT_EQ(FormatPicos(three.totals[0].cost, 2), "6.000001");
}

TEST_P(AllocationTest, BothSourcesSideBySideAndExportRoundTrips) {
  std::vector<ledger::SpendRecord> recs = {
      Rec("r1", kT0 + 10, "search", "chat", "gpt-small", 1'234'567),
      Rec("r2", kT0 + 20, "search", "chat", "gpt-small", 1),
      Rec("r3", kT0 + 3 * 3600'000'000LL, "ads", "vision", "gpt-vision", 2'000'000),
  };
  recs[1].cache_hit = true;
  recs[1].saved_micros = 99;
  ASSERT_TRUE(store_->InsertBatch(recs).ok());
  std::string csv;
  auto rows = ExportGatewayFocus(store_->db(), {}, [&](std::string_view chunk) {
    csv.append(chunk);
    return OkStatus();
  });
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 2);  // two (hour, route, model, key, tags) groups
  EXPECT_NE(csv.find("AI and Machine Learning"), std::string::npos);
  EXPECT_NE(csv.find("\"{\"\"env\"\":\"\"prod\"\",\"\"team\"\":\"\"search\"\"}\""),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",1.234568,"), std::string::npos) << csv;  // 1234567 + 1 micros, exact
  // The export is a FOCUS 1.2 file bursar itself imports.
  auto imported = ImportFocus(store_->db(), MemorySource(csv), "export.csv", {});
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->version, FocusVersion::k1_2);
  EXPECT_EQ(FormatPicos(imported->billed_cost, 2), "3.234568");
  AllocationQuery q;
  q.source = Source::kAll;
  q.by = {"source", "ServiceName"};
  auto both = Run(q);
  std::map<std::string, std::string> got;
  for (const auto& row : both.rows) got[row.keys[0] + "/" + row.keys[1]] = FormatPicos(row.cost, 2);
  std::map<std::string, std::string> want = {{"focus/chat", "1.234568"},
                                             {"focus/vision", "2.00"},
                                             {"gateway/chat", "1.234568"},
                                             {"gateway/vision", "2.00"}};
  EXPECT_EQ(got, want);
  q.by = {"team"};  // the key's tags travel through the export's Tags column
  q.source = Source::kFocus;
  auto teams = Run(q);
  ASSERT_EQ(teams.rows.size(), 2u);
  EXPECT_EQ(teams.rows[0].keys[0], "ads");
  // --since/--until select whole hours.
  ExportOptions late;
  late.since_us = kT0 + 3600'000'000LL;
  std::string tail;
  ASSERT_TRUE(ExportGatewayFocus(store_->db(), late, [&](std::string_view c) {
                tail.append(c);
                return OkStatus();
              }).ok());
  EXPECT_EQ(std::count(tail.begin(), tail.end(), '\n'), 2);  // header + the 03:00 row
}

INSTANTIATE_TEST_SUITE_P(Backends, AllocationTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace bursar::finops
