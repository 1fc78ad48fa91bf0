#include "ledger/store.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "ledger/ledger_test_util.h"

namespace bursar::ledger {
namespace {

using testing::kHour;
using testing::kT0;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<testing::TestDatabase>(GetParam());
    BURSAR_REQUIRE_DB(*tdb_);
    auto store = Store::Open(tdb_->url());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  std::unique_ptr<testing::TestDatabase> tdb_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, InsertAndReplayWithoutDuplicates) {
  std::vector<SpendRecord> batch;
  batch.reserve(10);
  for (int i = 0; i < 10; ++i)
    batch.push_back(testing::MakeRecord("r" + std::to_string(i), kT0 + i, 100));
  auto n = store_->InsertBatch(batch);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 10);
  // A replay of the same records plus two new ones: only the new ones count, also in the rollup.
  batch.push_back(testing::MakeRecord("r10", kT0 + 10, 100));
  batch.push_back(testing::MakeRecord("r11", kT0 + 11, 100));
  n = store_->InsertBatch(batch);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(*store_->CountRecords(), 12);
  // Over 128 records (the multi-row insert) with an id twice in the batch and an old one.
  std::vector<SpendRecord> big;
  big.reserve(300);
  for (int i = 0; i < 300; ++i) {
    big.push_back(testing::MakeRecord("big" + std::to_string(i % 290), kT0 + i, 1));
  }
  big.push_back(testing::MakeRecord("r3", kT0 + 3, 1));  // replayed: same id and time
  n = store_->InsertBatch(big);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 290);
  EXPECT_EQ(*store_->CountRecords(), 302);
  EXPECT_EQ(store_->GetRecord("big5")->time_us, kT0 + 5) << "the first of a duplicate id wins";
  batch.resize(10);
  for (int i = 0; i < 290; ++i) {
    batch.push_back(testing::MakeRecord("big" + std::to_string(i), kT0 + i, 1));
  }
  batch.push_back(testing::MakeRecord("r10", kT0 + 10, 100));
  batch.push_back(testing::MakeRecord("r11", kT0 + 11, 100));
  auto total = store_->Aggregate({}, {});
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  ASSERT_EQ(total->size(), 1u);
  EXPECT_EQ((*total)[0].totals.requests, 302);
  EXPECT_EQ((*total)[0].totals.cost_micros, 1200 + 290);
  EXPECT_EQ((*total)[0].totals.prompt_tokens, 30200);
  // Reopening the store (migrations again) keeps everything.
  store_.reset();
  auto again = Store::Open(tdb_->url());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->CountRecords(), 302);
  EXPECT_EQ(*(*again)->InsertBatch(batch), 0);
}

// kMayRepeat keeps the first record of an id and counts it once, also in the rollups; kFresh
// stores what it is given (the table has no key on request_id: the caller guarantees fresh ids).
TEST_P(StoreTest, InsertModes) {
  std::vector<SpendRecord> batch = {testing::MakeRecord("x", kT0, 10),
                                    testing::MakeRecord("y", kT0 + 1, 20),
                                    testing::MakeRecord("x", kT0, 40)};
  auto n = store_->InsertBatch(batch, InsertMode::kMayRepeat);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(*store_->CountRecords(), 2);
  EXPECT_EQ(store_->GetRecord("x")->cost_micros, 10);
  auto sum = [&] {
    auto t = store_->Aggregate({}, {});
    EXPECT_TRUE(t.ok() && t->size() == 1u);
    return t.ok() && !t->empty() ? (*t)[0].totals : SpendTotals{};
  };
  EXPECT_EQ(sum().requests, 2);
  EXPECT_EQ(sum().cost_micros, 30);
  // Stored already (same id and time), alone or among new ones, over and under 128 rows.
  EXPECT_EQ(*store_->InsertBatch(batch, InsertMode::kMayRepeat), 0);
  std::vector<SpendRecord> more;
  for (int i = 0; i < 200; ++i) {
    more.push_back(testing::MakeRecord("m" + std::to_string(i), kT0 + i, 1));
    if (i % 50 == 0) more.push_back(batch[i % 2]);
  }
  EXPECT_EQ(*store_->InsertBatch(more, InsertMode::kMayRepeat), 200);
  EXPECT_EQ(*store_->InsertBatch(more, InsertMode::kMayRepeat), 0);
  EXPECT_EQ(*store_->CountRecords(), 202);
  EXPECT_EQ(sum().requests, 202);
  EXPECT_EQ(sum().cost_micros, 230);
  auto daily = store_->db().QueryAll("SELECT SUM(requests), SUM(cost_micros) FROM spend_daily");
  ASSERT_TRUE(daily.ok());
  EXPECT_EQ((*daily)[0].Int(0), 202);
  EXPECT_EQ((*daily)[0].Int(1), 230);
  // kFresh: plain inserts, 128-row statements and single rows.
  std::vector<SpendRecord> fresh;
  fresh.reserve(300);
  for (int i = 0; i < 300; ++i)
    fresh.push_back(testing::MakeRecord("f" + std::to_string(i), kT0, 2));
  EXPECT_EQ(*store_->InsertBatch(fresh, InsertMode::kFresh), 300);
  EXPECT_EQ(*store_->CountRecords(), 502);
  EXPECT_EQ(sum().requests, 502);
  EXPECT_EQ(sum().cost_micros, 830);
  EXPECT_EQ(store_->GetRecord("f299")->cost_micros, 2);
}

// PostgreSQL refuses invalid UTF-8 and NUL in TEXT: one odd request id must not poison a batch.
TEST_P(StoreTest, OddBytesAreStoredSanitized) {
  // After a clean record, an odd id with the same configuration, then an odd route.
  std::vector<SpendRecord> batch = {
      testing::MakeRecord(std::string("x\xff\0y", 4), kT0, 1), testing::MakeRecord("plain", kT0, 2),
      testing::MakeRecord("z\xfe", kT0, 3), testing::MakeRecord("plain-2", kT0, 4)};
  batch[0].tags["team"] = "s\xc3";
  batch[3].route = "r\xff";
  auto n = store_->InsertBatch(batch);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 4);
  auto got = store_->GetRecord("x\xEF\xBF\xBDy");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->tags.at("team"), "s\xEF\xBF\xBD");
  EXPECT_TRUE(store_->GetRecord("z\xEF\xBF\xBD").ok());
  got = store_->GetRecord("plain-2");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->route, "r\xEF\xBF\xBD");
  EXPECT_EQ(*store_->InsertBatch(batch), 0) << "the sanitized id still deduplicates";
}

TEST_P(StoreTest, GetRecordRoundTrips) {
  SpendRecord r = testing::MakeRecord("req-x", kT0 + 5, 777);
  r.usage = Usage{10, 2, 30, 4, 5, 1, 7, 8, 9000};
  r.cache_hit = true;
  r.saved_micros = 12;
  r.downgraded_from = "premium";
  r.status = 502;
  r.currency = "EUR";
  ASSERT_TRUE(store_->InsertBatch(std::vector<SpendRecord>{r}).ok());
  auto back = store_->GetRecord("req-x");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
  EXPECT_EQ(store_->GetRecord("nope").status().code(), StatusCode::kNotFound);
}

// Random records over three days; every aggregate, for ranges that do and do not fall on hour
// boundaries, equals a brute-force sum over the records.
TEST_P(StoreTest, AggregatesAreExactForAnyRange) {
  std::mt19937_64 rng(42);
  const std::vector<std::string> keys = {"k1", "k2", "k3"};
  const std::vector<std::string> teams = {"search", "ads", ""};
  const std::vector<std::string> routes = {"chat", "vision"};
  const std::vector<std::string> commits = {"c1", "c2"};
  std::vector<SpendRecord> all;
  for (int i = 0; i < 3000; ++i) {
    SpendRecord r = testing::MakeRecord("id-" + std::to_string(i),
                                        kT0 + static_cast<int64_t>(rng() % (72 * kHour)),
                                        static_cast<Micros>(rng() % 1'000'000));
    r.key_name = keys[rng() % keys.size()];
    r.tags.clear();
    const std::string& team = teams[rng() % teams.size()];
    if (!team.empty()) r.tags["team"] = team;
    if (rng() % 2) r.tags["env"] = rng() % 2 ? "prod" : "dev";
    r.route = routes[rng() % routes.size()];
    r.model = r.route == "chat" ? (rng() % 2 ? "mini" : "large") : "vision-model";
    r.commit = commits[rng() % commits.size()];
    r.usage.prompt_tokens = static_cast<int64_t>(rng() % 5000);
    r.usage.images = static_cast<int64_t>(rng() % 3);
    r.cache_hit = rng() % 10 == 0;
    r.currency = rng() % 20 == 0 ? "EUR" : "USD";
    all.push_back(r);
  }
  for (size_t i = 0; i < all.size(); i += 500) {
    std::vector<SpendRecord> chunk(all.begin() + i, all.begin() + std::min(all.size(), i + 500));
    ASSERT_TRUE(store_->InsertBatch(chunk).ok());
  }

  auto dim_value = [](const SpendRecord& r, const Dimension& d) -> std::string {
    switch (d.kind) {
      case Dimension::Kind::kKey:
        return r.key_name;
      case Dimension::Kind::kRoute:
        return r.route;
      case Dimension::Kind::kModel:
        return r.model;
      case Dimension::Kind::kCommit:
        return r.commit;
      case Dimension::Kind::kTag: {
        auto it = r.tags.find(d.tag);
        return it == r.tags.end() ? "" : it->second;
      }
    }
    return "";
  };
  struct Range {
    std::optional<int64_t> since, until;
  };
  std::vector<Range> ranges = {
      {std::nullopt, std::nullopt},
      {kT0 + 5 * kHour, kT0 + 30 * kHour},                      // whole hours
      {kT0 + 5 * kHour + 1234567, kT0 + 30 * kHour + 999},      // partial edges
      {kT0 + 7 * kHour + 10, kT0 + 7 * kHour + 2'000'000'000},  // inside one hour
      {kT0 + 7 * kHour + 10, std::nullopt},
      {std::nullopt, kT0 + 50 * kHour + 17},
      {kT0 + 10 * kHour, kT0 + 10 * kHour},  // empty
  };
  std::vector<std::vector<std::string>> groupings = {
      {}, {"key"}, {"team"}, {"route"}, {"model"}, {"commit"}, {"env"}, {"team", "route"}};
  for (const Range& range : ranges) {
    for (const auto& names : groupings) {
      std::vector<Dimension> by;
      by.reserve(names.size());
      for (const auto& n : names) by.push_back(*Dimension::Parse(n));
      SpendFilter f;
      f.since_us = range.since;
      f.until_us = range.until;
      auto got = store_->Aggregate(by, f);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      std::map<std::pair<std::vector<std::string>, std::string>, SpendTotals> want;
      for (const SpendRecord& r : all) {
        if (range.since && r.time_us < *range.since) continue;
        if (range.until && r.time_us >= *range.until) continue;
        std::vector<std::string> k;
        k.reserve(by.size());
        for (const Dimension& d : by) k.push_back(dim_value(r, d));
        SpendTotals& t = want[{k, r.currency}];
        SpendTotals one;
        one.requests = 1;
        one.cache_hits = r.cache_hit;
        one.prompt_tokens = r.usage.prompt_tokens;
        one.completion_tokens = r.usage.completion_tokens;
        one.images = r.usage.images;
        one.cost_micros = r.cost_micros;
        t.Add(one);
      }
      ASSERT_EQ(got->size(), want.size());
      for (size_t i = 0; i < got->size(); ++i) {
        const SpendGroup& g = (*got)[i];
        auto it = want.find({g.keys, g.currency});
        ASSERT_NE(it, want.end());
        EXPECT_EQ(g.totals, it->second);
        if (i > 0) {
          EXPECT_GE((*got)[i - 1].totals.cost_micros, g.totals.cost_micros);
        }
      }
    }
  }

  // Budget restore: tag scope + currency + since, at a non-hour boundary.
  SpendFilter scope;
  scope.tags = {{"team", "search"}, {"env", "prod"}};
  scope.currency = "USD";
  scope.since_us = kT0 + 20 * kHour + 77;
  scope.routes = {"chat"};
  Micros want_cost = 0;
  for (const SpendRecord& r : all) {
    auto team = r.tags.find("team");
    auto env = r.tags.find("env");
    if (team != r.tags.end() && team->second == "search" && env != r.tags.end() &&
        env->second == "prod" && r.currency == "USD" && r.time_us >= *scope.since_us &&
        r.route == "chat") {
      want_cost += r.cost_micros;
    }
  }
  auto cost = store_->SumCost(scope);
  ASSERT_TRUE(cost.ok()) << cost.status().ToString();
  EXPECT_EQ(*cost, want_cost);
  EXPECT_GT(want_cost, 0);

  // Observed usage by route and model over one day.
  auto observed = store_->ObservedUsageByRouteModel(kT0 + 24 * kHour, kT0 + 48 * kHour);
  ASSERT_TRUE(observed.ok());
  int64_t requests = 0, want_requests = 0;
  for (const auto& o : *observed) requests += o.totals.requests;
  for (const SpendRecord& r : all) {
    want_requests += r.time_us >= kT0 + 24 * kHour && r.time_us < kT0 + 48 * kHour;
  }
  EXPECT_EQ(requests, want_requests);
  ASSERT_FALSE(observed->empty());
  EXPECT_EQ((*observed)[0].route, "chat");

  // The same, narrowed to what a Budget scoped by a tag selects (for `bursar check`).
  SpendFilter team;
  team.tags = {{"team", "search"}};
  auto scoped = store_->ObservedUsageByRouteModel(kT0 + 24 * kHour, kT0 + 48 * kHour, team);
  ASSERT_TRUE(scoped.ok());
  int64_t scoped_requests = 0, want_scoped = 0;
  Micros scoped_cost = 0, want_scoped_cost = 0;
  for (const auto& o : *scoped) {
    scoped_requests += o.totals.requests;
    scoped_cost += o.totals.cost_micros;
  }
  for (const SpendRecord& r : all) {
    auto it = r.tags.find("team");
    if (r.time_us >= kT0 + 24 * kHour && r.time_us < kT0 + 48 * kHour && it != r.tags.end() &&
        it->second == "search") {
      ++want_scoped;
      want_scoped_cost += r.cost_micros;
    }
  }
  EXPECT_EQ(scoped_requests, want_scoped);
  EXPECT_EQ(scoped_cost, want_scoped_cost);
  EXPECT_GT(want_scoped, 0);
  EXPECT_LT(want_scoped, want_requests);
}

// Records of one configuration share one spend_dims row, across batches and reopened stores;
// a different price, commit or anything else of the configuration gets its own.
TEST_P(StoreTest, DimsAreSharedAndDistinct) {
  auto dims_of = [&](Store& s, const std::string& id) {
    return testing::CountOf(s.db(),
                            "SELECT dims_id FROM spend_rows WHERE request_id = '" + id + "'");
  };
  std::vector<SpendRecord> batch;
  for (int i = 0; i < 300; ++i) {
    batch.push_back(testing::MakeRecord("a" + std::to_string(i), kT0 + i, 1));
    if (i % 2) batch.back().key_name = "key-b";
  }
  ASSERT_EQ(*store_->InsertBatch(batch, InsertMode::kFresh), 300);
  EXPECT_EQ(testing::CountOf(store_->db(), "SELECT COUNT(*) FROM spend_dims"), 2);
  for (SpendRecord& r : batch) r.request_id += "-again";
  ASSERT_EQ(*store_->InsertBatch(batch, InsertMode::kMayRepeat), 300);
  EXPECT_EQ(testing::CountOf(store_->db(), "SELECT COUNT(*) FROM spend_dims"), 2);
  EXPECT_EQ(dims_of(*store_, "a0"), dims_of(*store_, "a298-again"));
  EXPECT_NE(dims_of(*store_, "a0"), dims_of(*store_, "a1"));

  store_.reset();
  auto again = Store::Open(tdb_->url());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  Store& s = **again;
  std::vector<SpendRecord> more = {
      testing::MakeRecord("b0", kT0, 1), testing::MakeRecord("b1", kT0, 1),
      testing::MakeRecord("b2", kT0, 1), testing::MakeRecord("b3", kT0, 1),
      testing::MakeRecord("b4", kT0, 1), testing::MakeRecord("b5", kT0, 1),
      testing::MakeRecord("b6", kT0, 1)};
  more[1].price = R"({"input_cost_per_token":1})";
  more[2].commit = "def456";
  more[3].downgraded_from = "premium";
  more[4].tags = {{"team", "ads"}};
  more[5].upstream_model = "other-upstream";
  more[6].currency = "EUR";
  ASSERT_EQ(*s.InsertBatch(more), 7);
  EXPECT_EQ(testing::CountOf(s.db(), "SELECT COUNT(*) FROM spend_dims"), 2 + 6);
  EXPECT_EQ(dims_of(s, "b0"), dims_of(s, "a0")) << "reused after reopening";
  std::set<int64_t> ids;
  for (const SpendRecord& r : more) {
    ids.insert(dims_of(s, r.request_id));
    auto got = s.GetRecord(r.request_id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, r);
  }
  EXPECT_EQ(ids.size(), more.size());
}

// A batch that fails rolls back the tag sets and dims it inserted; their ids must not stay
// cached, or a later record would point at nothing (PostgreSQL: sequences do not roll back) or
// at another configuration (SQLite hands the id out again).
TEST_P(StoreTest, FailedBatchLeavesNoCachedIds) {
  Db& d = store_->db();
  Status s = d.dialect() == Dialect::kPostgres
                 ? d.ExecScript(
                       "ALTER TABLE spend_rows ADD CONSTRAINT no_poison CHECK (request_id NOT "
                       "LIKE 'poison%')")
                 : d.ExecScript(
                       "CREATE TRIGGER no_poison BEFORE INSERT ON spend_rows WHEN NEW.request_id "
                       "LIKE 'poison%' BEGIN SELECT RAISE(ABORT, 'poison'); END");
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(*store_->InsertBatch(std::vector<SpendRecord>{testing::MakeRecord("w", kT0, 1)}), 1);
  // Round 1: the tag set is stored already, a new dims row is rolled back. Round 2: a new tag
  // set (and with it a new dims row) is rolled back.
  for (int round = 1; round <= 2; ++round) {
    const std::string n = std::to_string(round);
    SpendRecord a = testing::MakeRecord("poison" + n, kT0, 1);
    SpendRecord b = testing::MakeRecord("b" + n, kT0, 1);
    if (round == 1) {
      a.model = "model-a";
      b.model = "model-b";
    } else {
      a.tags = {{"team", "a"}};
      b.tags = {{"team", "b"}};
    }
    EXPECT_FALSE(store_->InsertBatch(std::vector<SpendRecord>{a}).ok());
    ASSERT_EQ(*store_->InsertBatch(std::vector<SpendRecord>{b}), 1);
    a.request_id = "a" + n;
    ASSERT_EQ(*store_->InsertBatch(std::vector<SpendRecord>{a}), 1);
    for (const SpendRecord& r : {a, b}) {
      auto got = store_->GetRecord(r.request_id);
      ASSERT_TRUE(got.ok()) << "round " << round << ": " << got.status().ToString();
      EXPECT_EQ(*got, r) << "round " << round;
    }
  }
  EXPECT_EQ(testing::CountOf(d, "SELECT COUNT(*) FROM spend_dims"), 5);
}

TEST(DimensionTest, Parses) {
  EXPECT_EQ(Dimension::Parse("key")->kind, Dimension::Kind::kKey);
  EXPECT_EQ(Dimension::Parse("commit")->kind, Dimension::Kind::kCommit);
  auto team = Dimension::Parse("team");
  EXPECT_EQ(team->kind, Dimension::Kind::kTag);
  EXPECT_EQ(team->tag, "team");
  EXPECT_EQ(Dimension::Parse("tag:key")->tag, "key");
  EXPECT_FALSE(Dimension::Parse("").ok());
  EXPECT_EQ(HourFloor(-1), -kHour);
  EXPECT_EQ(HourFloor(kHour + 5), kHour);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         testing::BackendName);

}  // namespace
}  // namespace bursar::ledger
