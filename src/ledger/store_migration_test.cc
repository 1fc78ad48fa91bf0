// The ledger's schema migrations on SQLite and PostgreSQL: each keeps the rows a ledger already
// holds (store_test.cc covers the current schema).
#include <gtest/gtest.h>

#include "ledger/ledger_test_util.h"
#include "ledger/store.h"

namespace bursar::ledger {
namespace {

using testing::kHour;
using testing::kT0;

// Each test builds its ledger at an old schema version itself.
class StoreMigrationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<testing::TestDatabase>(GetParam());
    BURSAR_REQUIRE_DB(*tdb_);
  }
  std::unique_ptr<testing::TestDatabase> tdb_;
};

// A ledger created before the daily rollup existed gets it filled from the hourly one.
TEST_P(StoreMigrationTest, DailyRollupMigrationBackfills) {
  auto db = OpenDatabase(tdb_->url());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(ApplyMigrations(**db, "ledger", {LedgerMigrations()[0]}).ok());
  for (int64_t h : {int64_t{0}, int64_t{5}, int64_t{30}}) {
    ASSERT_TRUE((*db)
                    ->Execute("INSERT INTO spend_hourly VALUES ($1, 'k', 'r', 'm', 'c', 1, 'USD', "
                              "2, 0, 10, 0, 5, 0, 0, 0, 0, 0, 0, $2, 0)",
                              {kT0 + h * kHour, h + 100})
                    .ok());
  }
  auto store = Store::FromDb(std::move(db).value());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  SpendFilter whole_days;
  whole_days.since_us = kT0;
  whole_days.until_us = kT0 + 48 * kHour;
  auto got = (*store)->Aggregate({}, whole_days);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].totals.requests, 6);
  EXPECT_EQ((*got)[0].totals.cost_micros, 100 + 105 + 130);
  auto rows = (*store)->db().QueryAll("SELECT COUNT(*) FROM spend_daily");
  EXPECT_EQ((*rows)[0].Int(0), 2);
}

// A version-2 ledger (request_id was the primary key) keeps every row, byte for byte, through
// migration 3, which drops that key; the kFresh insert path works afterwards.
TEST_P(StoreMigrationTest, DropKeyMigrationKeepsRows) {
  auto db = OpenDatabase(tdb_->url());
  ASSERT_TRUE(db.ok());
  const auto& all = LedgerMigrations();
  ASSERT_TRUE(ApplyMigrations(**db, "ledger", {all[0], all[1]}).ok());
  ASSERT_TRUE((*db)->ExecScript("INSERT INTO spend_tagsets (tags_json) VALUES ('{}')").ok());
  for (int i = 0; i < 300; ++i) {
    using std::string_view_literals::operator""sv;
    const std::string id = "old" + std::to_string(i), key = "key-" + std::to_string(i % 3);
    std::vector<Value> v = {
        id, kT0 + int64_t{i} * 1000, key, int64_t{1}, "chat"sv, "m"sv, "m-up"sv, "c1"sv};
    for (int64_t k = 0; k < 9; ++k) v.emplace_back(i + k);  // usage
    for (const Value& x :
         std::vector<Value>{"{}"sv, int64_t{i} * 7, int64_t{i % 2}, "USD"sv, int64_t{99},
                            int64_t{200}, int64_t{i % 5 == 0}, ""sv}) {
      v.push_back(x);  // price, cost, saved, currency, latency, status, cache_hit, downgraded
    }
    std::string params;
    for (size_t k = 1; k <= v.size(); ++k) params += (k > 1 ? ", $" : "$") + std::to_string(k);
    auto ins = (*db)->Execute("INSERT INTO spend VALUES (" + params +
                                  ") ON CONFLICT (request_id) DO NOTHING",  // the v2 key
                              v);
    ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  }
  auto dump = [](Db& d) {
    std::vector<std::vector<std::string>> rows;
    auto got = d.QueryAll("SELECT * FROM spend ORDER BY request_id");
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    for (const Row& r : got.ok() ? *got : std::vector<Row>{}) {
      rows.emplace_back();
      for (size_t i = 0; i < r.size(); ++i) rows.back().push_back(r.Text(i));
    }
    return rows;
  };
  const auto before = dump(**db);
  ASSERT_EQ(before.size(), 300u);
  ASSERT_EQ(before[0].size(), 25u);

  auto store = Store::FromDb(std::move(db).value());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*SchemaVersion((*store)->db(), "ledger"), 4);  // migration 4 (compact rows) too
  EXPECT_EQ(dump((*store)->db()), before);
  auto index = (*store)->db().QueryAll(
      (*store)->db().dialect() == Dialect::kPostgres
          ? "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND "
            "tablename = 'spend_rows' AND indexname = 'spend_time'"
          : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'spend_time' AND "
            "tbl_name = 'spend_rows'");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)[0].Int(0), 1) << "the time index is back";
  auto old = (*store)->GetRecord("old7");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->cost_micros, 49);
  EXPECT_EQ(old->time_us, kT0 + 7000);

  // New records go in as plain inserts; an old one offered as kMayRepeat is recognised.
  std::vector<SpendRecord> fresh = {testing::MakeRecord("new1", kT0, 5),
                                    testing::MakeRecord("new2", kT0 + 1, 6)};
  EXPECT_EQ(*(*store)->InsertBatch(fresh, InsertMode::kFresh), 2);
  SpendRecord again = *old;
  EXPECT_EQ(*(*store)->InsertBatch(std::vector<SpendRecord>{again}, InsertMode::kMayRepeat), 0);
  EXPECT_EQ(*(*store)->CountRecords(), 302);
  // The key is gone: kFresh does not check (its caller guarantees fresh ids).
  EXPECT_EQ(*(*store)->InsertBatch(std::vector<SpendRecord>{again}, InsertMode::kFresh), 1);
  EXPECT_EQ(*(*store)->CountRecords(), 303);
}

// Every column of every row of the spend view, as text, by request_id.
std::vector<std::vector<std::string>> DumpSpend(Db& db) {
  std::vector<std::vector<std::string>> rows;
  auto got = db.QueryAll("SELECT * FROM spend ORDER BY request_id");
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  for (const Row& r : got.ok() ? *got : std::vector<Row>{}) {
    rows.emplace_back();
    for (size_t i = 0; i < r.size(); ++i) rows.back().push_back(r.Text(i));
  }
  return rows;
}

// A version-3 ledger (one wide spend table) keeps every row, every column, through migration 4,
// which splits it into spend_rows and spend_dims behind a spend view; GetRecord reads each record
// back as it was written.
TEST_P(StoreMigrationTest, CompactRowsMigrationKeepsRows) {
  auto db = OpenDatabase(tdb_->url());
  ASSERT_TRUE(db.ok());
  const auto& all = LedgerMigrations();
  ASSERT_TRUE(ApplyMigrations(**db, "ledger", {all[0], all[1], all[2]}).ok());
  const bool pg = (*db)->dialect() == Dialect::kPostgres;
  const std::vector<std::map<std::string, std::string>> tagsets = {
      {}, {{"team", "search"}}, {{"team", "ads"}, {"env", "prod"}}};
  for (const auto& tags : tagsets) {
    ASSERT_TRUE((*db)
                    ->Execute("INSERT INTO spend_tagsets (tags_json) VALUES ($1)",
                              {CanonicalTagsJson(tags)})
                    .ok());
  }
  std::vector<SpendRecord> records;
  std::set<std::string> combos;
  for (int i = 0; i < 240; ++i) {
    SpendRecord r = testing::MakeRecord("old" + std::to_string(i), kT0 + int64_t{i % 37} * 1000,
                                        int64_t{i} * 7);
    r.key_name = "key-" + std::to_string(i % 3);
    r.tags = tagsets[i % 2 ? 1 : (i % 4 ? 2 : 0)];
    r.route = i % 5 ? "chat" : "vision";
    r.model = "m" + std::to_string(i % 4);
    r.upstream_model = r.model + "-up";
    r.commit = i < 120 ? "c1" : "c2";
    r.price = i % 7 ? R"({"in":1})" : R"({"in":2})";
    r.currency = i % 11 ? "USD" : "EUR";
    r.downgraded_from = i % 13 ? "" : "premium";
    r.usage = Usage{i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7, i + 8};
    r.saved_micros = i % 3;
    r.latency_us = 100 + i;
    r.status = i % 9 ? 200 : 502;
    r.cache_hit = i % 6 == 0;
    std::vector<Value> v = {r.request_id,
                            r.time_us,
                            r.key_name,
                            static_cast<int64_t>(r.tags.size()) + 1,  // the tag sets' ids above
                            r.route,
                            r.model,
                            r.upstream_model,
                            r.commit};
    for (int64_t u :
         {r.usage.prompt_tokens, r.usage.cached_tokens, r.usage.completion_tokens,
          r.usage.reasoning_tokens, r.usage.image_tokens, r.usage.images,
          r.usage.audio_input_tokens, r.usage.audio_output_tokens, r.usage.audio_millis}) {
      v.emplace_back(u);
    }
    for (const Value& x :
         std::vector<Value>{r.price, r.cost_micros, r.saved_micros, r.currency, r.latency_us,
                            int64_t{r.status}, int64_t{r.cache_hit}, r.downgraded_from}) {
      v.push_back(x);
    }
    std::string params;
    for (size_t k = 1; k <= v.size(); ++k) params += (k > 1 ? ", $" : "$") + std::to_string(k);
    auto ins = (*db)->Execute("INSERT INTO spend VALUES (" + params + ")", v);
    ASSERT_TRUE(ins.ok()) << ins.status().ToString();
    combos.insert(r.key_name + "|" + CanonicalTagsJson(r.tags) + "|" + r.route + "|" + r.model +
                  "|" + r.upstream_model + "|" + r.commit + "|" + r.price + "|" + r.currency + "|" +
                  r.downgraded_from);
    records.push_back(r);
  }
  const auto before = DumpSpend(**db);
  ASSERT_EQ(before.size(), 240u);
  ASSERT_EQ(before[0].size(), 25u);
  auto rowids = [](const std::string& table) {  // "oldN" has rowid N + 1
    return "SELECT COUNT(*) FROM " + table +
           " WHERE rowid = 1 + CAST(SUBSTR(request_id, 4) AS INTEGER)";
  };
  if (!pg) {
    ASSERT_EQ(testing::CountOf(**db, rowids("spend")), 240);
  }

  auto store = Store::FromDb(std::move(db).value());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Db& d = (*store)->db();
  EXPECT_EQ(*SchemaVersion(d, "ledger"), 4);
  EXPECT_EQ(DumpSpend(d), before);
  EXPECT_EQ(testing::CountOf(d, "SELECT COUNT(*) FROM spend_rows"), 240);
  EXPECT_EQ(testing::CountOf(d, "SELECT COUNT(*) FROM spend_dims"),
            static_cast<int64_t>(combos.size()));
  EXPECT_GT(combos.size(), 20u);
  if (!pg) {
    EXPECT_EQ(testing::CountOf(d, rowids("spend_rows")), 240) << "rowids kept";
  }
  for (const SpendRecord& r : records) {
    auto got = (*store)->GetRecord(r.request_id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, r);
  }
  // The time index serves the dedup query and the partial hours of a report.
  EXPECT_EQ(*(*store)->InsertBatch(records, InsertMode::kMayRepeat), 0);
  SpendFilter f;
  f.since_us = kT0 + 5000;
  f.until_us = kT0 + 9000;
  auto got = (*store)->Aggregate({}, f);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  int64_t want = 0;
  for (const SpendRecord& r : records) want += r.time_us >= kT0 + 5000 && r.time_us < kT0 + 9000;
  ASSERT_EQ(got->size(), 2u);  // USD and EUR
  EXPECT_EQ((*got)[0].totals.requests + (*got)[1].totals.requests, want);
  if (!pg) {
    std::string plan;
    auto rows = d.QueryAll(
        "EXPLAIN QUERY PLAN SELECT t.key_name, COUNT(*) FROM spend t WHERE t.time_us >= 5 AND "
        "t.time_us < 9 AND t.key_name IN ('a', 'b') GROUP BY t.key_name");
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    for (const Row& row : *rows) plan += row.Text(row.size() - 1) + "\n";
    // The outer loop is the time range of spend_rows (the view calls it r); dims by id.
    EXPECT_TRUE(plan.starts_with("SEARCH r USING INDEX spend_time (time_us>? AND time_us<?)"))
        << plan;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreMigrationTest, ::testing::Values("sqlite", "postgres"),
                         testing::BackendName);

}  // namespace
}  // namespace bursar::ledger
