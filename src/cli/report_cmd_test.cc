// `bursar report` end to end through the CLI table: a real SQLite ledger in a temp folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "ledger/store.h"

namespace bursar::cli {
namespace {

constexpr int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kHour = 3'600'000'000;

int RunCli(std::vector<std::string> args, std::string* out) {
  args.insert(args.begin(), "bursar");
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (auto& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = Main(static_cast<int>(argv.size()), argv.data());
  *out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  if (rc != 0) *out += err;
  return rc;
}

class ReportCmdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bursar-report.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = ledger::Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::vector<ledger::SpendRecord> records;
    auto add = [&](const std::string& id, int64_t t, const std::string& team, Micros cost) {
      ledger::SpendRecord r;
      r.request_id = id;
      r.time_us = t;
      r.key_name = "key-" + team;
      if (!team.empty()) r.tags["team"] = team;
      r.route = "chat";
      r.model = "mini";
      r.commit = t < kT0 + 24 * kHour ? "c1" : "c2";
      r.usage.prompt_tokens = 10;
      r.cost_micros = cost;
      records.push_back(r);
    };
    add("a", kT0 + 1, "search", 1'000'001);
    add("b", kT0 + 2 * kHour + 5, "search", 499'999);
    add("c", kT0 + 30 * kHour, "ads", 7);
    add("d", kT0 + 50 * kHour, "", 123'456'789);
    ASSERT_TRUE((*store)->InsertBatch(records).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ReportCmdTest, JsonByTeamIsExact) {
  std::string out;
  ASSERT_EQ(RunCli({"report", "--data", dir_, "--by", "team", "--output", "json"}, &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["groups"].size(), 3u);
  EXPECT_EQ(j["groups"][0]["team"], "");
  EXPECT_EQ(j["groups"][0]["cost"], "123.456789");
  EXPECT_EQ(j["groups"][1]["team"], "search");
  EXPECT_EQ(j["groups"][1]["cost"], "1.50");
  EXPECT_EQ(j["groups"][1]["requests"], 2);
  EXPECT_EQ(j["totals"][0]["cost_micros"], 124'956'796);
}

TEST_F(ReportCmdTest, TimeRangeAndSeveralDimensions) {
  std::string out;
  ASSERT_EQ(RunCli({"report", "--data", dir_, "--by", "commit,team", "--since",
                    "2026-01-01T00:00:00.000002Z", "--until", "2026-01-03", "--output", "json"},
                   &out),
            0)
      << out;
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["groups"].size(), 2u);  // a is before --since, d after --until
  EXPECT_EQ(j["groups"][0]["commit"], "c1");
  EXPECT_EQ(j["groups"][0]["cost_micros"], 499'999);
  EXPECT_EQ(j["groups"][1]["team"], "ads");
  EXPECT_EQ(j["since"], "2026-01-01T00:00:00.000002Z");
}

TEST_F(ReportCmdTest, TableShowsTotal) {
  std::string out;
  ASSERT_EQ(RunCli({"report", "--data", dir_, "--by", "model"}, &out), 0) << out;
  EXPECT_NE(out.find("mini"), std::string::npos) << out;
  EXPECT_NE(out.find("124.956796"), std::string::npos) << out;
  EXPECT_NE(out.find("TOTAL"), std::string::npos) << out;
}

TEST_F(ReportCmdTest, BadInputIsExit2) {
  std::string out;
  EXPECT_EQ(RunCli({"report", "--data", dir_ + "/missing", "--by", "team"}, &out), 2);
  EXPECT_EQ(RunCli({"report", "--data", dir_, "--by", "team", "--since", "last week"}, &out), 2);
  EXPECT_NE(out.find("bad time"), std::string::npos) << out;
  EXPECT_EQ(RunCli({"report", "--data", dir_, "--by", "team", "--output", "xml"}, &out), 2);
  EXPECT_EQ(RunCli({"report", "--data", dir_}, &out), 2);
}

}  // namespace
}  // namespace bursar::cli
