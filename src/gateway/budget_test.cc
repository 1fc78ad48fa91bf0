#include "gateway/budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace bursar::gateway {
namespace {

using config::BudgetAction;

SysSeconds At(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}} + hours{h} + minutes{min};
}

struct FakeClock {
  std::atomic<int64_t> now{At(2026, 11, 27, 10).time_since_epoch().count()};
  NowFn Fn() {
    return [this] { return SysTime(std::chrono::seconds(now.load())); };
  }
  void Set(SysSeconds t) { now = t.time_since_epoch().count(); }
};

config::Budget MakeBudget(std::string name, Micros limit,
                          std::vector<config::BudgetThreshold> thresholds = {}) {
  config::Budget b;
  b.meta.name = std::move(name);
  b.limit = limit;
  b.period = config::BudgetPeriod::kDay;
  b.thresholds = std::move(thresholds);
  return b;
}

const std::map<std::string, std::string> kTeamA = {{"team", "a"}, {"env", "prod"}};

BudgetRequest Req(bool downgraded = false) {
  return {"key-a", &kTeamA, "chat", "gpt-4o", downgraded};
}

TEST(BudgetTest, ScopeMatching) {
  FakeClock clock;
  config::Budget by_tag = MakeBudget("team-a", 1000);
  by_tag.scope.tags = {{"team", "a"}};
  config::Budget by_other_tag = MakeBudget("team-b", 1000);
  by_other_tag.scope.tags = {{"team", "b"}};
  config::Budget by_route = MakeBudget("route-chat", 1000);
  by_route.scope.routes = {"chat", "other"};
  config::Budget by_model = MakeBudget("model-mini", 1000);
  by_model.scope.models = {"gpt-4o-mini"};
  auto t = BudgetTracker::Create({by_tag, by_other_tag, by_route, by_model}, clock.Fn());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  AdmitDecision d = (*t)->Admit(Req(), 10);
  EXPECT_EQ(d.outcome, AdmitOutcome::kAllow);
  auto names = d.reservation.budgets();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"route-chat", "team-a"}));
  BudgetRequest no_tags{"key-x", nullptr, "x", "y"};
  EXPECT_FALSE((*t)->Admit(no_tags, 10).reservation.active());
}

TEST(BudgetTest, ReserveSettleRelease) {
  FakeClock clock;
  auto t = BudgetTracker::Create({MakeBudget("b", 10'000)}, clock.Fn());
  ASSERT_TRUE(t.ok());
  BudgetTracker& tr = **t;
  AdmitDecision d1 = tr.Admit(Req(), 4000);
  AdmitDecision d2 = tr.Admit(Req(), 4000);
  EXPECT_EQ(d1.reservation.amount(), 4000);
  EXPECT_EQ(tr.Snapshot()[0].reserved, 8000);
  AdmitDecision d3 = tr.Admit(Req(), 4000);  // 12000 > 10000: implicit block at 100%
  EXPECT_EQ(d3.outcome, AdmitOutcome::kBlock);
  EXPECT_FALSE(d3.reservation.active());
  tr.Settle(std::move(d1.reservation), 1500);
  tr.Release(std::move(d2.reservation));
  auto s = tr.Snapshot()[0];
  EXPECT_EQ(s.spent, 1500);
  EXPECT_EQ(s.reserved, 0);
  EXPECT_EQ(s.blocks, 1);
  {
    AdmitDecision dropped = tr.Admit(Req(), 700);
    EXPECT_EQ(tr.Snapshot()[0].reserved, 700);
  }  // destroyed without Settle: released
  EXPECT_EQ(tr.Snapshot()[0].reserved, 0);
}

TEST(BudgetTest, ThresholdActions) {
  FakeClock clock;
  auto t = BudgetTracker::Create({MakeBudget("daily", 100'000,
                                             {{50, BudgetAction::kAlert, ""},
                                              {80, BudgetAction::kDowngrade, "chat-cheap"},
                                              {100, BudgetAction::kBlock, ""}})},
                                 clock.Fn());
  ASSERT_TRUE(t.ok());
  BudgetTracker& tr = **t;
  AdmitDecision a = tr.Admit(Req(), 40'000);
  EXPECT_EQ(a.outcome, AdmitOutcome::kAllow);
  tr.Settle(std::move(a.reservation), 40'000);
  AdmitDecision b = tr.Admit(Req(), 15'000);  // projected 55% >= 50%: alert, once
  EXPECT_EQ(b.outcome, AdmitOutcome::kAlert);
  EXPECT_EQ(b.alerts, (std::vector<std::string>{"daily"}));
  EXPECT_TRUE(b.reservation.active());
  tr.Settle(std::move(b.reservation), 15'000);
  AdmitDecision c = tr.Admit(Req(), 1'000);  // 56%: alert already fired this period
  EXPECT_EQ(c.outcome, AdmitOutcome::kAllow);
  tr.Settle(std::move(c.reservation), 1'000);
  AdmitDecision d = tr.Admit(Req(), 30'000);  // 86%: downgrade, nothing reserved
  EXPECT_EQ(d.outcome, AdmitOutcome::kDowngrade);
  EXPECT_EQ(d.downgrade_to, "chat-cheap");
  EXPECT_EQ(d.budget, "daily");
  EXPECT_FALSE(d.reservation.active());
  AdmitDecision e = tr.Admit(Req(/*downgraded=*/true), 10'000);  // on the cheap route: 66%
  EXPECT_EQ(e.outcome, AdmitOutcome::kAllow);
  tr.Settle(std::move(e.reservation), 10'000);
  AdmitDecision f = tr.Admit(Req(true), 40'000);  // 106% > 100%: block
  EXPECT_EQ(f.outcome, AdmitOutcome::kBlock);
  EXPECT_EQ(f.budget, "daily");
  EXPECT_EQ(f.resets_at, At(2026, 11, 28));
  EXPECT_EQ(f.message,
            "budget \"daily\" would exceed 100% of its limit of 0.10 USD (spent 0.066, reserved "
            "0.00, this request up to 0.04)");
  auto s = tr.Snapshot()[0];
  EXPECT_EQ(s.spent, 66'000);
  EXPECT_EQ(s.alerts_fired, 1);
  EXPECT_EQ(s.downgrades, 1);
  EXPECT_EQ(s.blocks, 1);
}

TEST(BudgetTest, HighestCrossedDowngradeWinsAcrossBudgets) {
  FakeClock clock;
  auto t = BudgetTracker::Create(
      {MakeBudget("b-team", 100'000,
                  {{80, BudgetAction::kDowngrade, "cheap"},
                   {95, BudgetAction::kDowngrade, "cheapest"},
                   {200, BudgetAction::kBlock, ""}}),
       MakeBudget("a-org", 1'000'000,
                  {{5, BudgetAction::kDowngrade, "other"}, {200, BudgetAction::kBlock, ""}})},
      clock.Fn());
  ASSERT_TRUE(t.ok());
  AdmitDecision d = (*t)->Admit(Req(), 90'000);  // 90% of b-team, 9% of a-org
  EXPECT_EQ(d.outcome, AdmitOutcome::kDowngrade);
  EXPECT_EQ(d.downgrade_to, "cheap");
  EXPECT_EQ(d.budget, "b-team");
  d = (*t)->Admit(Req(), 97'000);
  EXPECT_EQ(d.downgrade_to, "cheapest");
  d = (*t)->Admit(Req(), 60'000);  // only a-org's 5% is crossed
  EXPECT_EQ(d.downgrade_to, "other");
  EXPECT_EQ(d.budget, "a-org");
}

TEST(BudgetTest, PeriodRolloverInTheBudgetsTimeZone) {
  FakeClock clock;
  clock.Set(At(2026, 3, 28, 22, 59));  // 23:59 in Berlin
  config::Budget b = MakeBudget("berlin", 1000);
  b.time_zone = "Europe/Berlin";
  auto t = BudgetTracker::Create({b}, clock.Fn());
  ASSERT_TRUE(t.ok());
  BudgetTracker& tr = **t;
  AdmitDecision old = tr.Admit(Req(), 600);
  EXPECT_EQ(tr.Admit(Req(), 600).outcome, AdmitOutcome::kBlock);
  EXPECT_EQ(tr.Snapshot()[0].period, (Period{At(2026, 3, 27, 23), At(2026, 3, 28, 23)}));
  clock.Set(At(2026, 3, 28, 23, 0));  // midnight in Berlin: a new day of 23 hours
  auto s = tr.Snapshot()[0];
  EXPECT_EQ(s.period, (Period{At(2026, 3, 28, 23), At(2026, 3, 29, 22)}));
  EXPECT_EQ(s.reserved, 0);
  AdmitDecision fresh = tr.Admit(Req(), 600);
  EXPECT_EQ(fresh.outcome, AdmitOutcome::kAllow);
  // The old period's reservation settles its cost into the current period.
  tr.Settle(std::move(old.reservation), 100);
  s = tr.Snapshot()[0];
  EXPECT_EQ(s.spent, 100);
  EXPECT_EQ(s.reserved, 600);
}

TEST(BudgetTest, SeedAndReconfigureCarryOver) {
  FakeClock clock;
  std::vector<std::pair<SysSeconds, SysSeconds>> seeded;
  auto seed = [&seeded](const config::Budget& b, SysSeconds start, SysSeconds end) -> Micros {
    seeded.emplace_back(start, end);
    return b.meta.name == "a" ? 30'000 : 0;
  };
  auto t =
      BudgetTracker::Create({MakeBudget("a", 50'000), MakeBudget("b", 50'000)}, clock.Fn(), seed);
  ASSERT_TRUE(t.ok());
  BudgetTracker& tr = **t;
  ASSERT_EQ(seeded.size(), 2u);
  EXPECT_EQ(seeded[0], std::make_pair(At(2026, 11, 27), At(2026, 11, 28)));
  EXPECT_EQ(tr.Snapshot()[0].spent, 30'000);
  AdmitDecision d = tr.Admit(Req(), 1000);
  tr.Settle(std::move(d.reservation), 1000);
  AdmitDecision pending = tr.Admit(Req(), 500);
  // "a" keeps its state with a new limit; "b" changes period and is seeded again; "c" is new.
  config::Budget b2 = MakeBudget("b", 50'000);
  b2.period = config::BudgetPeriod::kMonth;
  ASSERT_TRUE(tr.Reconfigure({MakeBudget("a", 40'000), b2, MakeBudget("c", 5)}).ok());
  EXPECT_EQ(seeded.size(), 4u);
  auto s = tr.Snapshot();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].name, "a");
  EXPECT_EQ(s[0].limit, 40'000);
  EXPECT_EQ(s[0].spent, 31'000);
  EXPECT_EQ(s[0].reserved, 500);
  EXPECT_EQ(s[1].spent, 0);
  EXPECT_EQ(s[1].period, (Period{At(2026, 11, 1), At(2026, 12, 1)}));
  tr.Settle(std::move(pending.reservation), 400);  // the outstanding reservation stays valid
  EXPECT_EQ(tr.Snapshot()[0].spent, 31'400);
  EXPECT_EQ(tr.Snapshot()[0].reserved, 0);
  config::Budget bad = MakeBudget("z", 1);
  bad.time_zone = "Nowhere/Land";
  EXPECT_EQ(tr.Reconfigure({bad}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tr.Snapshot().size(), 3u);  // unchanged on error
  // Admit sees the new table at once (a thread keeps the table it saw last, by version): "c"
  // (limit 5) blocks.
  AdmitDecision after = tr.Admit(Req(), 1000);
  EXPECT_EQ(after.outcome, AdmitOutcome::kBlock);
  EXPECT_EQ(after.budget, "c");
  // Another tracker on the same thread has its own table.
  auto other = BudgetTracker::Create({MakeBudget("solo", 1'000'000)}, clock.Fn());
  ASSERT_TRUE(other.ok());
  AdmitDecision o = (*other)->Admit(Req(), 1000);
  EXPECT_EQ(o.outcome, AdmitOutcome::kAllow);
  EXPECT_EQ(o.reservation.budgets(), std::vector<std::string>{"solo"});
  EXPECT_EQ(tr.Admit(Req(), 1000).budget, "c");
}

void ConcurrentAdmit(Micros limit, Micros estimate, int threads, int* admitted_out,
                     Micros* reserved_out) {
  FakeClock clock;
  auto t = BudgetTracker::Create({MakeBudget("shared", limit)}, clock.Fn());
  ASSERT_TRUE(t.ok());
  BudgetTracker& tr = **t;
  std::atomic<int> admitted{0};
  std::atomic<bool> go{false};
  std::vector<AdmitDecision> decisions(threads);
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      decisions[i] = tr.Admit(Req(), estimate);
      if (decisions[i].reservation.active()) ++admitted;
    });
  }
  go = true;
  for (auto& th : pool) th.join();
  *admitted_out = admitted.load();
  *reserved_out = tr.Snapshot()[0].reserved;
  // Settle everything concurrently at the estimate: spent equals what was reserved.
  pool.clear();
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      if (decisions[i].reservation.active())
        tr.Settle(std::move(decisions[i].reservation), estimate);
    });
  }
  for (auto& th : pool) th.join();
  auto s = tr.Snapshot()[0];
  EXPECT_EQ(s.reserved, 0);
  EXPECT_EQ(s.spent, *reserved_out);
}

TEST(BudgetTest, TwoHundredConcurrentRequestsAgainstABudgetThatFitsFifty) {
  int admitted = 0;
  Micros reserved = 0;
  ConcurrentAdmit(50'000, 1'000, 200, &admitted, &reserved);
  EXPECT_EQ(admitted, 50);
  EXPECT_EQ(reserved, 50'000);
  // An estimate that does not divide the limit: never more than the limit is reserved.
  ConcurrentAdmit(50'000, 1'300, 200, &admitted, &reserved);
  EXPECT_EQ(admitted, 38);
  EXPECT_LE(reserved, 50'000 + 1'300);
  EXPECT_EQ(reserved, 38 * 1'300);
}

}  // namespace
}  // namespace bursar::gateway
