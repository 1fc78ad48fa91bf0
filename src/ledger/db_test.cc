#include "ledger/db.h"

#include <gtest/gtest.h>

#include "ledger/ledger_test_util.h"

namespace bursar::ledger {
namespace {

class DbTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tdb_ = std::make_unique<testing::TestDatabase>(GetParam());
    BURSAR_REQUIRE_DB(*tdb_);
    auto db = OpenDatabase(tdb_->url());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  std::unique_ptr<testing::TestDatabase> tdb_;
  std::unique_ptr<Db> db_;
};

std::vector<Migration> WidgetMigrations() {
  return {
      {1, "widgets", "CREATE TABLE widgets (id BIGINT PRIMARY KEY, price_picos BIGINT NOT NULL)",
       ""},
      {2, "widget names", "ALTER TABLE widgets ADD COLUMN name TEXT NOT NULL DEFAULT ''", ""},
  };
}

TEST_P(DbTest, MigrationsApplyOnceAndAreIdempotent) {
  auto n = ApplyMigrations(*db_, "widgets", WidgetMigrations());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  auto again = ApplyMigrations(*db_, "widgets", WidgetMigrations());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(*SchemaVersion(*db_, "widgets"), 2);
  auto rows = db_->QueryAll(
      "SELECT component, version, name FROM schema_migrations ORDER BY component, version");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].Text(2), "widget names");

  // A second component has its own versions.
  std::vector<Migration> other = {{1, "gadgets", "CREATE TABLE gadgets (id BIGINT)", ""}};
  EXPECT_EQ(*ApplyMigrations(*db_, "gadgets", other), 1);
  EXPECT_EQ(*SchemaVersion(*db_, "gadgets"), 1);
  EXPECT_EQ(*SchemaVersion(*db_, "widgets"), 2);

  // A later build adds migration 3: only that one runs.
  auto three = WidgetMigrations();
  three.push_back({3, "widget index", "CREATE INDEX widgets_name ON widgets (name)", ""});
  EXPECT_EQ(*ApplyMigrations(*db_, "widgets", three), 1);
}

TEST_P(DbTest, MigrationMismatchIsRefused) {
  ASSERT_TRUE(ApplyMigrations(*db_, "widgets", WidgetMigrations()).ok());
  auto renamed = WidgetMigrations();
  renamed[1].name = "something else";
  EXPECT_EQ(ApplyMigrations(*db_, "widgets", renamed).status().code(),
            StatusCode::kFailedPrecondition);
  auto older = WidgetMigrations();
  older.pop_back();  // the database is newer than this list
  EXPECT_EQ(ApplyMigrations(*db_, "widgets", older).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_P(DbTest, FailingMigrationAppliesNothing) {
  std::vector<Migration> bad = {
      {1, "ok", "CREATE TABLE first_table (id BIGINT)", ""},
      {2, "broken", "CREATE TABLE second_table (id BIGINT); THIS IS NOT SQL", ""},
  };
  EXPECT_FALSE(ApplyMigrations(*db_, "bad", bad).ok());
  EXPECT_EQ(*SchemaVersion(*db_, "bad"), 0);
  // first_table was rolled back with the rest.
  EXPECT_FALSE(db_->QueryAll("SELECT * FROM first_table").ok());
}

TEST_P(DbTest, ParametersRowsAndExactIntegers) {
  ASSERT_TRUE(ApplyMigrations(*db_, "widgets", WidgetMigrations()).ok());
  // A literal '$1' in a string is not a parameter.
  auto n = db_->Execute("INSERT INTO widgets (id, price_picos, name) VALUES ($2, $1, '$1' || $3)",
                        {int64_t{INT64_MAX}, int64_t{7}, std::string("x")});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  ASSERT_TRUE(db_->Execute("INSERT INTO widgets (id, price_picos) VALUES ($1, $2)",
                           {int64_t{8}, int64_t{INT64_MIN}})
                  .ok());
  auto rows = db_->QueryAll("SELECT id, price_picos, name, NULL FROM widgets ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].Int(0), 7);
  EXPECT_EQ((*rows)[0].Int(1), INT64_MAX);
  EXPECT_EQ((*rows)[0].Text(2), "$1x");
  EXPECT_TRUE((*rows)[0].IsNull(3));
  EXPECT_EQ((*rows)[1].Int(1), INT64_MIN);
  // SUM of BIGINT is exact (PostgreSQL returns NUMERIC text).
  auto sum = db_->QueryAll("SELECT SUM(id) FROM widgets");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ((*sum)[0].Int(0), 15);
}

TEST_P(DbTest, ConstraintViolationIsAlreadyExists) {
  ASSERT_TRUE(ApplyMigrations(*db_, "widgets", WidgetMigrations()).ok());
  ASSERT_TRUE(
      db_->Execute("INSERT INTO widgets (id, price_picos) VALUES ($1, 1)", {int64_t{1}}).ok());
  auto dup = db_->Execute("INSERT INTO widgets (id, price_picos) VALUES ($1, 1)", {int64_t{1}});
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  auto none = db_->Execute(
      "INSERT INTO widgets (id, price_picos) VALUES ($1, 1) ON CONFLICT (id) DO NOTHING",
      {int64_t{1}});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(db_->QueryAll("SELEKT 1").status().code(), StatusCode::kInternal);
}

TEST_P(DbTest, TransactionRollsBackUnlessCommitted) {
  ASSERT_TRUE(ApplyMigrations(*db_, "widgets", WidgetMigrations()).ok());
  {
    Transaction tx(*db_);
    ASSERT_TRUE(tx.status().ok());
    ASSERT_TRUE(db_->Execute("INSERT INTO widgets (id, price_picos) VALUES (1, 1)").ok());
    EXPECT_EQ(db_->Begin().code(), StatusCode::kFailedPrecondition);
  }
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ((*db_->QueryAll("SELECT COUNT(*) FROM widgets"))[0].Int(0), 0);
  {
    Transaction tx(*db_);
    ASSERT_TRUE(db_->Execute("INSERT INTO widgets (id, price_picos) VALUES (2, 1)").ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ((*db_->QueryAll("SELECT COUNT(*) FROM widgets"))[0].Int(0), 1);
}

TEST_P(DbTest, QueryCallbackErrorStops) {
  ASSERT_TRUE(ApplyMigrations(*db_, "widgets", WidgetMigrations()).ok());
  for (int64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(db_->Execute("INSERT INTO widgets (id, price_picos) VALUES ($1, 0)", {i}).ok());
  }
  int seen = 0;
  Status s = db_->Query("SELECT id FROM widgets ORDER BY id", {}, [&](const Row&) {
    return ++seen == 2 ? InvalidArgumentError("stop") : OkStatus();
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(seen, 2);
  // The statement is reusable afterwards.
  EXPECT_EQ(db_->QueryAll("SELECT id FROM widgets ORDER BY id")->size(), 5u);
}

INSTANTIATE_TEST_SUITE_P(Backends, DbTest, ::testing::Values("sqlite", "postgres"),
                         testing::BackendName);

TEST(DbUrlTest, SelectsBackendByUrl) {
  EXPECT_TRUE(IsPostgresUrl("postgres://x"));
  EXPECT_TRUE(IsPostgresUrl("postgresql://u@h/db"));
  EXPECT_FALSE(IsPostgresUrl("/var/lib/bursar"));
  EXPECT_EQ(OpenDatabase("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenDatabase("mysql://x").status().code(), StatusCode::kInvalidArgument);
  auto mem = OpenDatabase("sqlite::memory:");
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ((*mem)->dialect(), Dialect::kSqlite);
  auto bad = OpenDatabase("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2");
  EXPECT_EQ(bad.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(bad.status().message().find("secret"), std::string::npos) << bad.status().message();
}

TEST(DbUrlTest, DirectoryGetsWalLedgerDb) {
  std::string dir = testing::MakeTempDir();
  {
    auto db = OpenDatabase(dir + "/sub");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto mode = (*db)->QueryAll("PRAGMA journal_mode");
    ASSERT_TRUE(mode.ok());
    EXPECT_EQ((*mode)[0].Text(0), "wal");
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/sub/ledger.db"));
  std::filesystem::remove_all(dir);
}

// While a bulk import holds the file in rollback-journal mode with its transaction open, another
// process's open (a gateway starting) keeps that mode instead of failing; once the file is free,
// an open switches it back to WAL.
TEST(DbUrlTest, OpenDuringAJournalModeImportKeepsThatMode) {
  std::string dir = testing::MakeTempDir();
  auto importer = OpenDatabase(dir);
  ASSERT_TRUE(importer.ok());
  ASSERT_TRUE((*importer)->ExecScript("CREATE TABLE t (x INTEGER)").ok());
  ASSERT_EQ((*importer)->QueryAll("PRAGMA journal_mode=DELETE")->at(0).Text(0), "delete");
  ASSERT_TRUE((*importer)->ExecScript("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)").ok());
  auto gateway = OpenDatabase(dir);  // waits out the busy timeout, then goes on
  ASSERT_TRUE(gateway.ok()) << gateway.status().ToString();
  EXPECT_EQ((*gateway)->QueryAll("PRAGMA journal_mode")->at(0).Text(0), "delete");
  ASSERT_TRUE((*importer)->ExecScript("COMMIT").ok());
  EXPECT_EQ((*gateway)->QueryAll("SELECT COUNT(*) FROM t")->at(0).Int(0), 1);
  gateway->reset();
  importer->reset();
  auto later = OpenDatabase(dir);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ((*later)->QueryAll("PRAGMA journal_mode")->at(0).Text(0), "wal");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bursar::ledger
