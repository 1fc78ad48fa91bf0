#include "gitops/sync_history.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "gitops/sync_fixture.h"
#include "gitops/test_repo.h"

namespace bursar::gitops {
namespace {

SyncRecord Rec(const std::string& commit, SyncResult result, int64_t seen) {
  SyncRecord r;
  r.commit = commit;
  r.author = "Ann <ann@example.com>";
  r.message = "change " + commit;
  r.commit_time = 1700000000;
  r.trigger = "webhook";
  r.seen_at_us = seen;
  r.finished_at_us = seen + 1500;
  r.duration_us = 1500;
  r.result = result;
  if (result == SyncResult::kRefused) r.errors = {"routes/a.yaml:7:9: bad weight", "x \"q\""};
  return r;
}

void RoundTrip(SyncHistory& h) {
  ASSERT_TRUE(h.Record(Rec("c1", SyncResult::kApplied, 1000000)).ok());
  ASSERT_TRUE(h.Record(Rec("c2", SyncResult::kRefused, 2000000)).ok());
  ASSERT_TRUE(h.Record(Rec("c3", SyncResult::kFailed, 3000000)).ok());
  auto rows = h.List(10);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].commit, "c3");
  EXPECT_EQ((*rows)[0].result, SyncResult::kFailed);
  EXPECT_EQ((*rows)[1].commit, "c2");
  EXPECT_EQ((*rows)[1].result, SyncResult::kRefused);
  EXPECT_EQ((*rows)[1].errors,
            (std::vector<std::string>{"routes/a.yaml:7:9: bad weight", "x \"q\""}));
  EXPECT_EQ((*rows)[2].author, "Ann <ann@example.com>");
  EXPECT_EQ((*rows)[2].duration_us, 1500);
  EXPECT_EQ((*rows)[2].trigger, "webhook");
  auto two = h.List(2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
}

TEST(SyncHistoryTest, SqliteRoundTripAndReopen) {
  testing::TempDir dir;
  {
    auto h = SyncHistory::Open(dir.path());
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    RoundTrip(**h);
  }
  auto again = SyncHistory::Open(dir.path());  // migrations are not applied twice
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto rows = (*again)->List();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 3u);
}

TEST(SyncHistoryTest, PostgresRoundTrip) {
  const char* url = std::getenv("BURSAR_TEST_PG_URL");
  if (url == nullptr || *url == '\0') GTEST_SKIP() << "BURSAR_TEST_PG_URL not set";
  auto h = SyncHistory::Open(url);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  auto cleaner = ledger::OpenDatabase(url);  // start from an empty table (shared test server)
  ASSERT_TRUE(cleaner.ok());
  ASSERT_TRUE((*cleaner)->Execute("DELETE FROM sync_history").ok());
  RoundTrip(**h);
}

TEST(SyncHistoryTest, FormatsTableAndJson) {
  std::vector<SyncRecord> rows = {
      Rec("0123456789abcdef0123", SyncResult::kRefused, 1764238502000001),
      Rec("c1", SyncResult::kApplied, 1764238501000000)};
  std::string table = FormatHistoryTable(rows);
  EXPECT_NE(table.find("2025-11-27 10:15:02  refused  0123456789ab"), std::string::npos) << table;
  EXPECT_NE(table.find("    routes/a.yaml:7:9: bad weight"), std::string::npos);
  auto j = nlohmann::json::parse(FormatHistoryJson(rows));
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["result"], "refused");
  EXPECT_EQ(j[0]["seenAt"], "2025-11-27T10:15:02.000001Z");
  EXPECT_TRUE(j[0]["appliedAt"].is_null());
  EXPECT_EQ(j[0]["refusedAt"], "2025-11-27T10:15:02.001501Z");
  EXPECT_EQ(j[1]["appliedAt"], "2025-11-27T10:15:01.001500Z");
  EXPECT_EQ(j[0]["errors"][0], "routes/a.yaml:7:9: bad weight");
  EXPECT_DOUBLE_EQ(j[0]["durationMs"].get<double>(), 1.5);
}

// The syncer's observer writes history rows for applied and refused commits.
TEST(SyncHistoryTest, SyncerRecordsIntoHistory) {
  testing::TempDir dir;
  auto h = SyncHistory::Open(dir.path());
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  SyncHistory* history = h->get();
  testing::TempRepo repo;
  testing::WriteFixture(repo);
  std::string good = repo.Commit("initial");
  SyncerOptions o;
  o.source = repo.path();
  Syncer syncer(o, nullptr, DefaultPolicyCheck,
                [history](const SyncRecord& r) { ASSERT_TRUE(history->Record(r).ok()); });
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  repo.Write("routes/chat.yaml",
             "apiVersion: bursar.dev/v1\nkind: Route\nmetadata: {name: chat}\n"
             "spec:\n  targets: []\n");
  std::string bad = repo.Commit("empty targets");
  ASSERT_TRUE(syncer.SyncOnce("webhook").ok());
  auto rows = history->List();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].commit, bad);
  EXPECT_EQ((*rows)[0].result, SyncResult::kRefused);
  EXPECT_EQ((*rows)[0].message, "empty targets");
  ASSERT_FALSE((*rows)[0].errors.empty());
  EXPECT_EQ((*rows)[0].errors[0].rfind("routes/chat.yaml:5:", 0), 0u) << (*rows)[0].errors[0];
  EXPECT_EQ((*rows)[1].commit, good);
  EXPECT_EQ((*rows)[1].result, SyncResult::kApplied);
  EXPECT_EQ((*rows)[1].trigger, "start");
}

}  // namespace
}  // namespace bursar::gitops
