// Test support (included by *_test.cc only): a fresh ledger database per test on SQLite (a temp
// folder) or PostgreSQL (a private schema on BURSAR_TEST_PG_URL, dropped afterwards), and a way
// to run python3 as an independent calculator.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "ledger/db.h"

namespace bursar::finops::testing {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

class TestDb {
 public:
  // Returns nullptr when the backend is unavailable (PostgreSQL without BURSAR_TEST_PG_URL).
  static std::unique_ptr<TestDb> Make(Backend backend) {
    static std::atomic<int> counter{0};
    std::string tag =
        std::to_string(getpid()) + "_" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007) +
        "_" + std::to_string(counter++);
    auto t = std::unique_ptr<TestDb>(new TestDb);
    if (backend == Backend::kSqlite) {
      t->dir_ = (std::filesystem::temp_directory_path() / ("finops_test_" + tag)).string();
      std::filesystem::remove_all(t->dir_);
      t->url_ = t->dir_;
    } else {
      const char* base = std::getenv("BURSAR_TEST_PG_URL");
      if (base == nullptr || *base == '\0') return nullptr;
      t->base_ = base;
      t->schema_ = "finops_t_" + tag;
      auto admin = ledger::OpenDatabase(t->base_);
      EXPECT_TRUE(admin.ok()) << admin.status().ToString();
      if (!admin.ok()) return nullptr;
      Status created = (*admin)->ExecScript("DROP SCHEMA IF EXISTS " + t->schema_ +
                                            " CASCADE; CREATE SCHEMA " + t->schema_);
      EXPECT_TRUE(created.ok()) << created.ToString();
      t->url_ = t->base_ + (t->base_.find('?') == std::string::npos ? "?" : "&") +
                "options=-csearch_path%3D" + t->schema_;
    }
    auto db = ledger::OpenDatabase(t->url_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return nullptr;
    t->db_ = std::move(*db);
    return t;
  }
  ~TestDb() {
    db_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    if (!schema_.empty()) {
      auto admin = ledger::OpenDatabase(base_);
      if (admin.ok()) (void)(*admin)->ExecScript("DROP SCHEMA " + schema_ + " CASCADE");
    }
  }
  ledger::Db& db() { return *db_; }
  const std::string& url() const { return url_; }

 private:
  TestDb() = default;
  std::unique_ptr<ledger::Db> db_;
  std::string url_, dir_, base_, schema_;
};

// `var` names a variable to declare: it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define BURSAR_FINOPS_TEST_DB(var)                                         \
  auto var##_holder = ::bursar::finops::testing::TestDb::Make(GetParam()); \
  if (!var##_holder) GTEST_SKIP() << "BURSAR_TEST_PG_URL not set";         \
  ::bursar::ledger::Db& var = var##_holder->db()
// NOLINTEND(bugprone-macro-parentheses)

inline std::string SourceDir() {
  const char* env = std::getenv("BURSAR_SOURCE_DIR");
  return env ? env : BURSAR_SOURCE_DIR;
}

inline std::string SamplePath() {
  return SourceDir() + "/src/finops/testdata/focus-1.0-sample.csv";
}

// Runs `script` with python3 and returns its standard output.
inline std::string RunPython(const std::string& script) {
  static std::atomic<int> counter{0};
  auto path = std::filesystem::temp_directory_path() /
              ("finops_py_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + ".py");
  std::ofstream(path) << script;
  std::string out;
  FILE* p = popen(("python3 " + path.string()).c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << "python3 failed";
  std::filesystem::remove(path);
  return out;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

}  // namespace bursar::finops::testing
