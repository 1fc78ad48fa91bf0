#include "gitops/cost_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace bursar::gitops {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

constexpr Picos kDollar = 1'000'000'000'000;  // picos per currency unit

config::PriceCatalog Catalog() {
  config::PriceCatalog c;
  c.meta.name = "default";
  c.currency = "USD";
  c.hours_per_month = 730;
  c.per_vcpu_hour = kDollar / 25;                  // 0.04
  c.per_gib_hour = kDollar / 200;                  // 0.005
  c.gpu_per_hour["nvidia-l4"] = kDollar * 8 / 10;  // 0.80
  c.gpu_per_hour["nvidia-h100"] = kDollar * 4;     // 4.00
  c.default_gpu_type = "nvidia-l4";
  return c;
}

config::Workload Vllm(int replicas) {
  config::Workload w;
  w.kind = "Deployment";
  w.api_version = "apps/v1";
  w.meta.name = "vllm";
  w.meta.labels["team"] = "platform";
  w.replicas = replicas;
  w.gpu_type = "nvidia-l4";
  w.requests.gpus = 1;
  w.requests.cpu_millis = 4000;
  w.requests.memory_bytes = int64_t{16} << 30;
  return w;
}

config::Budget MonthlyBudget(const std::string& name, Micros limit) {
  config::Budget b;
  b.meta.name = name;
  b.period = config::BudgetPeriod::kMonth;
  b.limit = limit;
  return b;
}

// input and output tokens only: enough to check weights, scaling and rounding.
__int128 SimplePricer(const ledger::SpendTotals& u, const config::ModelPricing& p) {
  return static_cast<__int128>(u.prompt_tokens) * p.input_cost_per_token +
         static_cast<__int128>(u.completion_tokens) * p.output_cost_per_token;
}

const CostLine* Find(const CostReport& r, const std::string& kind, const std::string& name) {
  for (const auto& l : r.lines) {
    if (l.kind == kind && l.name == name) return &l;
  }
  return nullptr;
}

TEST(CostCheck, ReplicasOfAGpuDeployment) {
  config::DesiredState base, head;
  base.price_catalogs = {Catalog()};
  head.price_catalogs = {Catalog()};
  base.workloads = {Vllm(3)};
  head.workloads = {Vllm(5)};
  head.budgets = {MonthlyBudget("platform", 3000'000'000), MonthlyBudget("roomy", 5000'000'000)};
  CostReport r = ComputeCostCheck(base, head, {}, 30, SimplePricer);

  // Per replica and month: GPU 0.80 x 730 = 584.00, CPU 4 x 0.04 x 730 = 116.80,
  // memory 16 x 0.005 x 730 = 58.40: 759.20.
  EXPECT_EQ(r.base_total, 2277'600'000);
  EXPECT_EQ(r.head_total, 3796'000'000);
  EXPECT_EQ(r.diff(), 1518'400'000);
  EXPECT_EQ(r.currency, "USD");
  const CostLine* line = Find(r, "Deployment", "vllm");
  ASSERT_NE(line, nullptr);
  EXPECT_EQ(line->base_detail, "3 x (1 nvidia-l4, 4 vCPU, 16 GiB)");
  EXPECT_EQ(line->head_detail, "5 x (1 nvidia-l4, 4 vCPU, 16 GiB)");
  ASSERT_EQ(line->components.size(), 3u);
  EXPECT_EQ(line->components[0].name, "cpu");
  EXPECT_EQ(line->components[0].head, 584'000'000);
  EXPECT_EQ(line->components[1].name, "gpu nvidia-l4");
  EXPECT_EQ(line->components[1].base, 1752'000'000);
  EXPECT_EQ(line->components[1].head, 2920'000'000);
  EXPECT_EQ(line->components[2].name, "memory");
  EXPECT_EQ(line->components[2].head, 292'000'000);

  ASSERT_EQ(r.budgets.size(), 2u);
  EXPECT_TRUE(r.budgets[0].exceeded);
  EXPECT_EQ(r.budgets[0].base_projected, 2277'600'000);
  EXPECT_EQ(r.budgets[0].head_projected, 3796'000'000);
  EXPECT_EQ(r.budgets[0].over(), 796'000'000);
  EXPECT_FALSE(r.budgets[1].exceeded);
  EXPECT_TRUE(r.BudgetExceeded());

  auto j = nlohmann::json::parse(FormatCostJson(r));
  EXPECT_EQ(j["baseMonthlyCost"], "2277.60");
  EXPECT_EQ(j["headMonthlyCost"], "3796.00");
  EXPECT_EQ(j["monthlyCostDiff"], "1518.40");
  EXPECT_EQ(j["monthlyCostDiffMicros"], 1518'400'000);
  EXPECT_EQ(j["budgetExceeded"], true);
  EXPECT_EQ(j["budgets"][0]["over"], "796.00");
  EXPECT_EQ(j["resources"][0]["components"][1]["diff"], "1168.00");

  std::string md = FormatCostMarkdown(r);
  EXPECT_THAT(md, HasSubstr("| Deployment/vllm | 2277.60 | 3796.00 | +1518.40 |"));
  EXPECT_THAT(md, HasSubstr("| gpu nvidia-l4 | 1752.00 | 2920.00 | +1168.00 |"));
  EXPECT_THAT(md, HasSubstr("| platform | month | 3000.00 USD | 2277.60 | 3796.00 | **over by "
                            "796.00** |"));
  EXPECT_THAT(md, HasSubstr("`platform` would be over by 796.00 USD per month"));
  std::string table = FormatCostTable(r);
  EXPECT_THAT(table, HasSubstr("platform (month): limit 3000.00 USD, projected 2277.60 -> "
                               "3796.00: OVER by 796.00"));
  EXPECT_THAT(table,
              HasSubstr("roomy (month): limit 5000.00 USD, projected 2277.60 -> 3796.00: ok"));
}

TEST(CostCheck, GpuTypeChangeAndCatalogPriceChange) {
  config::DesiredState base, head;
  base.price_catalogs = {Catalog()};
  head.price_catalogs = {Catalog()};
  head.price_catalogs[0].per_vcpu_hour = kDollar / 20;  // 0.05
  base.workloads = {Vllm(1)};
  head.workloads = {Vllm(1)};
  head.workloads[0].gpu_type = "nvidia-h100";
  CostReport r = ComputeCostCheck(base, head, {}, 30, SimplePricer);
  // GPU 584.00 -> 2920.00; CPU 116.80 -> 146.00; memory 58.40 both.
  EXPECT_EQ(r.base_total, 759'200'000);
  EXPECT_EQ(r.head_total, 3124'400'000);
  EXPECT_EQ(Find(r, "Deployment", "vllm")->components.size(), 4u);  // both GPU types listed
}

TEST(CostCheck, UnpricedThingsBecomeNotes) {
  config::DesiredState base, head;
  head.price_catalogs = {Catalog()};
  config::Workload job = Vllm(1);
  job.kind = "Job";
  job.meta.name = "batch";
  job.gpu_type = "tpu-v5";
  head.workloads = {job};
  base.workloads = {job};
  CostReport r = ComputeCostCheck(base, head, {}, 30, SimplePricer);
  EXPECT_THAT(r.notes, Contains("no PriceCatalog in base: workloads cost 0 there"));
  EXPECT_THAT(r.notes, Contains("Job/batch is priced as if it ran all month"));
  EXPECT_THAT(r.notes, Contains("Job/batch: PriceCatalog/default (head) has no price for GPU type "
                                "\"tpu-v5\"; priced at 0"));
  EXPECT_EQ(r.base_total, 0);
  EXPECT_EQ(r.head_total, 175'200'000);  // CPU and memory only
}

class TrafficTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (config::DesiredState* s : {&base_, &head_}) {
      s->price_catalogs = {Catalog()};
      config::Model small, large;
      small.meta.name = "small";
      small.pricing.input_cost_per_token = 150'000;  // 0.15 per million
      small.pricing.output_cost_per_token = 600'000;
      large.meta.name = "large";
      large.pricing.input_cost_per_token = 2'500'000;
      large.pricing.output_cost_per_token = 10'000'000;
      s->models = {small, large};
      config::Route chat;
      chat.meta.name = "chat";
      chat.targets = {{"small", 90}, {"large", 10}};
      s->routes = {chat};
    }
    head_.routes[0].targets = {{"small", 50}, {"large", 50}};
    ledger::ObservedUsage a, b;
    a.route = "chat";
    a.model = "small";
    a.totals.requests = 900;
    a.totals.prompt_tokens = 9'000'000;
    a.totals.completion_tokens = 900'000;
    b.route = "chat";
    b.model = "large";
    b.totals.requests = 100;
    b.totals.prompt_tokens = 1'000'000;
    b.totals.completion_tokens = 100'000;
    usage_ = {a, b};
  }
  config::DesiredState base_, head_;
  std::vector<ledger::ObservedUsage> usage_;
};

TEST_F(TrafficTest, CanaryWeightChangeIsRepricedOnObservedTraffic) {
  CostReport r = ComputeCostCheck(base_, head_, usage_, 30, SimplePricer);
  // Route total: 10M input, 1M output per 30 days = 2.10 on small, 35.00 on large.
  // Monthly = x 730 / 720. Base: small 2.10 x 90% -> 1.916250, large 35.00 x 10% -> 3.548611.
  // Head: small 2.10 x 50% -> 1.064583, large 35.00 x 50% -> 17.743056.
  EXPECT_EQ(r.observed_requests, 1000);
  EXPECT_EQ(r.base_total, 5'464'861);
  EXPECT_EQ(r.head_total, 18'807'639);
  EXPECT_EQ(r.diff(), 13'342'778);
  const CostLine* line = Find(r, "Route", "chat");
  ASSERT_NE(line, nullptr);
  EXPECT_EQ(line->base_detail, "small 90%, large 10%");
  EXPECT_EQ(line->head_detail, "small 50%, large 50%");
  auto j = nlohmann::json::parse(FormatCostJson(r));
  EXPECT_EQ(j["baseMonthlyCost"], "5.464861");
  EXPECT_EQ(j["monthlyCostDiff"], "13.342778");
}

TEST_F(TrafficTest, PriceChangeAndRemovedRoute) {
  head_.routes[0].targets = base_.routes[0].targets;
  head_.models[1].pricing.output_cost_per_token = 20'000'000;  // large output price doubles
  CostReport r = ComputeCostCheck(base_, head_, usage_, 30, SimplePricer);
  // large: 25.00 + 20.00 = 45.00 per 30 days x 10% x 730/720 = 4.562500 (was 3.548611).
  EXPECT_EQ(r.diff(), 4'562'500 - 3'548'611);
  EXPECT_EQ(Find(r, "Route", "chat")->components[0].name, "model large");
  EXPECT_EQ(Find(r, "Route", "chat")->components[0].head, 4'562'500);
  head_.routes.clear();
  r = ComputeCostCheck(base_, head_, usage_, 30, SimplePricer);
  EXPECT_EQ(r.head_total, 0);
  EXPECT_THAT(
      r.notes,
      Contains("Route/chat does not exist in head: its 1000 observed requests cost 0 there"));
}

TEST_F(TrafficTest, BudgetsByRoutePeriodAndTags) {
  config::Budget daily = MonthlyBudget("chat-daily", 500'000);  // 0.50 per day
  daily.period = config::BudgetPeriod::kDay;
  daily.scope.routes = {"chat"};
  config::Budget large_only = MonthlyBudget("large-only", 20'000'000);
  large_only.scope.models = {"large"};
  config::Budget team = MonthlyBudget("team", 1'000'000);
  team.scope.tags["team"] = "search";
  head_.budgets = {daily, large_only, team};
  CostReport r = ComputeCostCheck(base_, head_, usage_, 30, SimplePricer);
  ASSERT_EQ(r.budgets.size(), 3u);
  // 18.807639 a month is 0.618333 a day (x 24 / 730).
  EXPECT_EQ(r.budgets[0].head_projected, 618'333);
  EXPECT_EQ(r.budgets[0].base_projected, 179'667);
  EXPECT_TRUE(r.budgets[0].exceeded);
  EXPECT_EQ(r.budgets[0].over(), 118'333);
  EXPECT_EQ(r.budgets[1].head_projected, 17'743'056);
  EXPECT_FALSE(r.budgets[1].exceeded);
  EXPECT_FALSE(r.budgets[2].traffic_attributed);
  EXPECT_EQ(r.budgets[2].head_projected, 0);  // no workload labelled team=search
  EXPECT_FALSE(r.budgets[2].exceeded);
  EXPECT_THAT(r.notes, Contains(HasSubstr("Budget/team selects requests by key or tag")));
}

// A budget scoped by a tag counts the traffic its scope selected, re-priced per side.
TEST_F(TrafficTest, TagBudgetCountsItsScopedTraffic) {
  config::Budget team = MonthlyBudget("team", 1'000'000);
  team.scope.tags["team"] = "search";
  config::Budget team_large = MonthlyBudget("team-large", 100'000'000);
  team_large.scope.tags["team"] = "search";
  team_large.scope.models = {"large"};
  head_.budgets = {team, team_large};
  // Team "search" sent a tenth of the route's traffic: 1M input and 100k output tokens.
  ledger::ObservedUsage mine;
  mine.route = "chat";
  mine.model = "small";
  mine.totals.requests = 100;
  mine.totals.prompt_tokens = 1'000'000;
  mine.totals.completion_tokens = 100'000;
  ScopedUsage scoped = {{"team", {mine}}, {"team-large", {mine}}};
  CostReport r = ComputeCostCheck(base_, head_, usage_, 30, SimplePricer, scoped);
  ASSERT_EQ(r.budgets.size(), 2u);
  // A tenth of the route line: head 1.880764 (small 0.106458 + large 1.774306), base 0.546486.
  EXPECT_TRUE(r.budgets[0].traffic_attributed);
  EXPECT_EQ(r.budgets[0].head_projected, 106'458 + 1'774'306);
  EXPECT_EQ(r.budgets[0].base_projected, 191'625 + 354'861);
  EXPECT_TRUE(r.budgets[0].exceeded);                 // limit 1.00
  EXPECT_EQ(r.budgets[1].head_projected, 1'774'306);  // only its share on "large"
  EXPECT_FALSE(r.budgets[1].exceeded);
  EXPECT_THAT(r.notes, Not(Contains(HasSubstr("selects requests by key or tag"))));
}

}  // namespace
}  // namespace bursar::gitops
