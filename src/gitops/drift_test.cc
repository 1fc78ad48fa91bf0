#include "gitops/drift.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "gitops/sync_fixture.h"

namespace bursar::gitops {
namespace {

std::vector<config::SourceFile> FixtureFiles() {
  using namespace testing;
  return {
      {"models/small.yaml", ModelYaml("small", "http://127.0.0.1:9/v1")},
      {"models/large.yaml", ModelYaml("large", "http://127.0.0.1:9/v1", "0.0000025", "0.00001")},
      {"routes/chat.yaml", "# the chat route\n" + RouteYaml("chat", 90) + "  # end\n"},
      {"keys/all.yaml",
       KeyYaml("search") + "---\n" +
           std::string(KeyYaml("other")).replace(KeyYaml("other").find("9f86"), 4, "aaaa")},
      {"budgets/search.yaml", BudgetYaml("search-monthly", "100.00")},
  };
}

std::shared_ptr<config::DesiredState> Load(const std::vector<config::SourceFile>& files) {
  config::LoadResult r = config::LoadDesiredState(files);
  for (const auto& d : r.diagnostics) ADD_FAILURE() << d.ToString();
  return r.state;
}

Override Weights(int small, int large) {
  Override o;
  o.kind = OverrideKind::kRouteWeights;
  o.target = "chat";
  o.weights = {{"small", small}, {"large", large}};
  o.reason = "large is down";
  return o;
}

TEST(DriftParseTest, ParsesTheThreeKinds) {
  auto b = ParseOverrideJson(R"({"kind":"blockKey","target":"search","reason":"leaked"})");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->kind, OverrideKind::kBlockKey);
  auto w = ParseOverrideJson(
      R"({"kind":"routeWeights","target":"chat","weights":{"small":100,"large":0},"reason":"x"})");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->weights.size(), 2u);
  auto l = ParseOverrideJson(
      R"({"kind":"budgetLimit","target":"search-monthly","limit":"20.50","reason":"x"})");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->limit, 20'500'000);
  auto n = ParseOverrideJson(R"({"kind":"budgetLimit","target":"b","limit":7,"reason":"x"})");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->limit, 7'000'000);
}

TEST(DriftParseTest, RejectsMalformed) {
  for (const char* bad : {
           "[]",
           "{}",
           R"({"kind":"nuke","target":"a","reason":"x"})",
           R"({"kind":"blockKey","target":"a"})",
           R"({"kind":"blockKey","target":"a","reason":"x","extra":1})",
           R"({"kind":"routeWeights","target":"a","reason":"x","weights":{"m":101}})",
           R"({"kind":"routeWeights","target":"a","reason":"x"})",
           R"({"kind":"budgetLimit","target":"a","reason":"x","limit":"-1"})",
           R"({"kind":"budgetLimit","target":"a","reason":"x","limit":"abc"})",
           R"({"kind":"blockKey","target":"a","reason":"x","limit":"1"})",
       }) {
    EXPECT_FALSE(ParseOverrideJson(bad).ok()) << bad;
  }
}

TEST(DriftApplyTest, AppliesAndReportsFieldLevelDrift) {
  auto git = Load(FixtureFiles());
  ASSERT_NE(git, nullptr);
  Override block;
  block.id = 1;
  block.kind = OverrideKind::kBlockKey;
  block.target = "search";
  block.reason = "leaked";
  Override w = Weights(100, 0);
  w.id = 2;
  Override lim;
  lim.id = 3;
  lim.kind = OverrideKind::kBudgetLimit;
  lim.target = "search-monthly";
  lim.limit = 20'000'000;
  lim.reason = "runaway";
  auto live = ApplyOverrides(*git, {block, w, lim});
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ((*live)->FindApiKey("search"), nullptr);
  EXPECT_NE((*live)->FindApiKey("other"), nullptr);
  EXPECT_EQ((*live)->FindRoute("chat")->targets[0].weight, 100);
  EXPECT_EQ((*live)->FindRoute("chat")->targets[1].weight, 0);
  EXPECT_EQ((*live)->FindBudget("search-monthly")->limit, 20'000'000);
  // Git itself is untouched.
  EXPECT_NE(git->FindApiKey("search"), nullptr);
  EXPECT_EQ(git->FindRoute("chat")->targets[0].weight, 90);

  auto drift = DriftOf(*git, {block, w, lim});
  ASSERT_EQ(drift.size(), 3u);
  EXPECT_EQ(drift[0].resource, "ApiKey/search");
  EXPECT_EQ(drift[0].file, "keys/all.yaml");
  EXPECT_EQ(drift[1].resource, "Route/chat");
  ASSERT_EQ(drift[1].fields.size(), 2u);
  EXPECT_EQ(drift[1].fields[0].ToString(), "spec.targets[model=small].weight: 90 -> 100");
  EXPECT_EQ(drift[2].fields[0].ToString(), "spec.limit: 100.00 -> 20.00");
  std::string table = FormatDriftTable(drift);
  EXPECT_NE(table.find("~ Route/chat (routes/chat.yaml)"), std::string::npos) << table;
  auto j = nlohmann::json::parse(FormatDriftJson("abc", drift, {block, w, lim}));
  EXPECT_TRUE(j["drifted"].get<bool>());
  EXPECT_EQ(j["entries"][1]["fields"][0]["git"], 90);
  EXPECT_EQ(j["entries"][1]["fields"][0]["live"], 100);
  EXPECT_EQ(j["entries"][2]["fields"][0]["live"], "20.00");
  EXPECT_EQ(j["overrides"].size(), 3u);
  EXPECT_EQ(FormatDriftTable({}), "no drift: the live state equals Git\n");
}

TEST(DriftApplyTest, RefusesOverridesThatDoNotApply) {
  auto git = Load(FixtureFiles());
  ASSERT_NE(git, nullptr);
  EXPECT_EQ(CheckOverride(*git, Weights(50, 40)).code(), StatusCode::kInvalidArgument);
  Override other = Weights(50, 50);
  other.weights[1].model = "gpt-9";
  EXPECT_EQ(CheckOverride(*git, other).code(), StatusCode::kNotFound);
  Override raise;
  raise.kind = OverrideKind::kBudgetLimit;
  raise.target = "search-monthly";
  raise.limit = 200'000'000;
  EXPECT_EQ(CheckOverride(*git, raise).code(), StatusCode::kInvalidArgument);
  Override nokey;
  nokey.kind = OverrideKind::kBlockKey;
  nokey.target = "nobody";
  EXPECT_EQ(CheckOverride(*git, nokey).code(), StatusCode::kNotFound);
  EXPECT_FALSE(ApplyOverrides(*git, {nokey}).ok());
  EXPECT_TRUE(IsNoOp(*git, Weights(90, 10)));
  EXPECT_FALSE(IsNoOp(*git, Weights(80, 20)));
}

TEST(DriftEditsTest, RewritesScalarsInPlaceAndRemovesKeyDocuments) {
  auto files = FixtureFiles();
  auto git = Load(files);
  ASSERT_NE(git, nullptr);
  auto w = OverrideEdits(files, *git, Weights(25, 75));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->size(), 1u);
  EXPECT_EQ((*w)[0].path, "routes/chat.yaml");
  EXPECT_EQ(*(*w)[0].content, "# the chat route\n" + testing::RouteYaml("chat", 25) + "  # end\n");

  Override lim;
  lim.kind = OverrideKind::kBudgetLimit;
  lim.target = "search-monthly";
  lim.limit = 12'340'000;
  auto l = OverrideEdits(files, *git, lim);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*(*l)[0].content, testing::BudgetYaml("search-monthly", "12.34"));

  Override block;
  block.kind = OverrideKind::kBlockKey;
  block.target = "search";
  auto b = OverrideEdits(files, *git, block);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE((*b)[0].content.has_value());
  std::string rest = *(*b)[0].content;
  EXPECT_EQ(rest.find("name: search"), std::string::npos) << rest;
  EXPECT_NE(rest.find("name: other"), std::string::npos) << rest;
  // The edited files still load, and say what the override said.
  std::vector<config::SourceFile> after = files;
  for (auto& f : after) {
    if (f.path == "keys/all.yaml") f.content = rest;
    if (f.path == "routes/chat.yaml") f.content = *(*w)[0].content;
  }
  auto state = Load(after);
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->FindApiKey("search"), nullptr);
  EXPECT_EQ(state->FindRoute("chat")->targets[0].weight, 25);

  Override second;
  second.kind = OverrideKind::kBlockKey;
  second.target = "other";
  auto b2 = OverrideEdits(files, *git, second);
  ASSERT_TRUE(b2.ok());
  EXPECT_EQ(*(*b2)[0].content, testing::KeyYaml("search"));

  // Blocking the only document of a file deletes the file.
  Override other;
  other.kind = OverrideKind::kBlockKey;
  other.target = "search";
  std::vector<config::SourceFile> single = files;
  single[3].content = testing::KeyYaml("search");
  auto s = OverrideEdits(single, *Load(single), other);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE((*s)[0].content.has_value());
}

TEST(DriftEditsTest, CommitMessageExplains) {
  Override o = Weights(100, 0);
  o.id = 7;
  o.actor = "oncall";
  std::string m = OverrideCommitMessage(o);
  EXPECT_EQ(m.rfind("drift: set Route chat weights to small=100 large=0\n", 0), 0u) << m;
  EXPECT_NE(m.find("Reason: large is down"), std::string::npos);
  EXPECT_NE(m.find("Bursar-Drift-Override: 7"), std::string::npos);
}

}  // namespace
}  // namespace bursar::gitops
