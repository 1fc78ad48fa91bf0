// Test helpers for the ledger's tests: a fresh database per test on each backend.
//   "sqlite"   -> a new temporary directory (DIR/ledger.db)
//   "postgres" -> a new schema in the database at $BURSAR_TEST_PG_URL (skipped when unset),
//                 selected through the URL's options=-csearch_path, dropped at the end.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "ledger/db.h"
#include "ledger/spend_record.h"

namespace bursar::ledger::testing {

inline std::string MakeTempDir(const std::string& prefix = "bursar-ledger-test") {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + ".XXXXXX")).string();
  char* dir = mkdtemp(tmpl.data());
  return dir ? std::string(dir) : std::string();
}

// A fresh ledger database for one test; removes it on destruction.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& backend) : backend_(backend) {
    dir_ = MakeTempDir();
    if (backend == "sqlite") {
      url_ = dir_;
      return;
    }
    const char* base = std::getenv("BURSAR_TEST_PG_URL");
    if (!base || !*base) return;
    static std::atomic<int> counter{0};
    schema_ = "t" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
              std::to_string(std::random_device{}() % 100000);
    base_ = base;
    auto db = OpenDatabase(base_);
    if (!db.ok()) {
      error_ = db.status().ToString();
      return;
    }
    Status s = (*db)->ExecScript("CREATE SCHEMA " + schema_);
    if (!s.ok()) {
      error_ = s.ToString();
      return;
    }
    url_ = base_ + (base_.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
           schema_;
  }
  ~TestDatabase() {
    if (!schema_.empty() && error_.empty()) {
      auto db = OpenDatabase(base_);
      if (db.ok()) (void)(*db)->ExecScript("DROP SCHEMA " + schema_ + " CASCADE");
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // "" when the backend is not available here (the test should GTEST_SKIP).
  const std::string& url() const { return url_; }
  const std::string& error() const { return error_; }
  // A scratch directory for logs etc., removed at the end.
  const std::string& dir() const { return dir_; }

 private:
  std::string backend_, dir_, url_, base_, schema_, error_;
};

// Skips the test when the backend is not available; fails it when it should be but is broken.
#define BURSAR_REQUIRE_DB(tdb)                                                               \
  do {                                                                                       \
    ASSERT_TRUE((tdb).error().empty()) << (tdb).error();                                     \
    if ((tdb).url().empty()) GTEST_SKIP() << "BURSAR_TEST_PG_URL is not set: no PostgreSQL"; \
  } while (0)

// The tests' clock: 2026-01-01T00:00:00Z and one hour, unix micros.
inline constexpr int64_t kT0 = 1'767'225'600'000'000;
inline constexpr int64_t kHour = 3'600'000'000;

inline SpendRecord MakeRecord(const std::string& id, int64_t time_us, Micros cost) {
  SpendRecord r;
  r.request_id = id;
  r.time_us = time_us;
  r.key_name = "key-a";
  r.tags = {{"team", "search"}, {"env", "prod"}};
  r.route = "chat";
  r.model = "gpt-4o-mini";
  r.upstream_model = "gpt-4o-mini-2024-07-18";
  r.commit = "abc123";
  r.usage.prompt_tokens = 100;
  r.usage.completion_tokens = 20;
  r.price = R"({"input_cost_per_token":150000,"output_cost_per_token":600000})";
  r.cost_micros = cost;
  r.latency_us = 1234;
  return r;
}

// The first column of the first row of `sql` as an integer (-1, and a test failure, if none).
inline int64_t CountOf(Db& db, const std::string& sql) {
  auto rows = db.QueryAll(sql);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() && !rows->empty() ? (*rows)[0].Int(0) : -1;
}

inline std::string BackendName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace bursar::ledger::testing
