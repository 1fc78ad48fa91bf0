#include "gitops/drift_controller.h"

#include <gtest/gtest.h>

#include "gitops/sync_fixture.h"
#include "gitops/test_repo.h"

namespace bursar::gitops {
namespace {

using testing::TempDir;
using testing::TempRepo;

struct Sink {
  std::mutex mu;
  std::shared_ptr<const config::DesiredState> last;
  int count = 0;
  Publisher Fn() {
    return [this](std::shared_ptr<const config::DesiredState> s, const CommitInfo&) {
      std::lock_guard<std::mutex> l(mu);
      last = std::move(s);
      ++count;
      return OkStatus();
    };
  }
  int SmallWeight() {
    std::lock_guard<std::mutex> l(mu);
    return last->FindRoute("chat")->targets[0].weight;
  }
};

Override Weights(int small) {
  Override o;
  o.kind = OverrideKind::kRouteWeights;
  o.target = "chat";
  o.weights = {{"small", small}, {"large", 100 - small}};
  o.reason = "large is slow";
  o.actor = "oncall";
  return o;
}

SyncerOptions Opts(const std::string& source) {
  SyncerOptions o;
  o.source = source;
  o.branch = "main";
  return o;
}

TEST(DriftPolicyTest, Parses) {
  auto h = DriftPolicy::Parse("heal-after=10m");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->mode, DriftPolicy::Mode::kHeal);
  EXPECT_EQ(h->after, std::chrono::seconds(600));
  auto c = DriftPolicy::Parse("commit-after=0s");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->mode, DriftPolicy::Mode::kCommit);
  EXPECT_EQ(c->after, std::chrono::seconds(0));
  EXPECT_EQ(DriftPolicy::Parse("keep")->mode, DriftPolicy::Mode::kKeep);
  EXPECT_EQ(DriftPolicy::Parse("heal-after=2h")->after, std::chrono::seconds(7200));
  EXPECT_FALSE(DriftPolicy::Parse("heal").ok());
  EXPECT_FALSE(DriftPolicy::Parse("heal-after=").ok());
  EXPECT_FALSE(DriftPolicy::Parse("heal-after=5d").ok());
}

// Drift is detected, then healed after the grace period on a fake clock.
TEST(DriftControllerTest, HealsAfterGracePeriod) {
  TempRepo repo;
  testing::WriteFixture(repo, 90);
  repo.Commit("initial");
  FakeClock clock;
  Sink sink;
  DriftControllerOptions opt;
  opt.policy = *DriftPolicy::Parse("heal-after=10m");
  opt.clock = &clock;
  DriftController drift(opt, sink.Fn());
  EXPECT_EQ(drift.Add(Weights(100)).status().code(), StatusCode::kFailedPrecondition);
  Syncer syncer(Opts(repo.path()),
                [&](auto s, const CommitInfo& c) { return drift.OnGitState(s, c); });
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  EXPECT_EQ(sink.SmallWeight(), 90);
  EXPECT_TRUE(drift.Drift().empty());

  auto added = drift.Add(Weights(100));
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->id, 1);
  EXPECT_EQ(sink.SmallWeight(), 100);
  auto d = drift.Drift();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].resource, "Route/chat");
  EXPECT_NE(drift.RenderMetrics().find("bursar_drift_resources 1\n"), std::string::npos);

  clock.Advance(std::chrono::minutes(9));
  EXPECT_EQ(*drift.Tick(), 0);
  EXPECT_EQ(sink.SmallWeight(), 100);
  clock.Advance(std::chrono::minutes(2));
  EXPECT_EQ(*drift.Tick(), 1);
  EXPECT_EQ(sink.SmallWeight(), 90);
  EXPECT_TRUE(drift.Drift().empty());
  EXPECT_EQ(drift.Overrides()[0].state, OverrideState::kHealed);
  EXPECT_NE(drift.RenderMetrics().find("bursar_drift_actions_total{action=\"healed\"} 1"),
            std::string::npos);
}

TEST(DriftControllerTest, RevertAndGitAgreeing) {
  TempRepo repo;
  testing::WriteFixture(repo, 90);
  repo.Commit("initial");
  Sink sink;
  DriftControllerOptions opt;
  opt.policy = *DriftPolicy::Parse("keep");
  DriftController drift(opt, sink.Fn());
  Syncer syncer(Opts(repo.path()),
                [&](auto s, const CommitInfo& c) { return drift.OnGitState(s, c); });
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  auto a = drift.Add(Weights(100));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(drift.Revert(a->id, "oncall").code(), StatusCode::kOk);
  EXPECT_EQ(sink.SmallWeight(), 90);
  EXPECT_EQ(drift.Revert(a->id, "oncall").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(drift.Revert(99, "oncall").code(), StatusCode::kNotFound);
  // An override that Git comes to agree with is dropped when that commit syncs.
  ASSERT_TRUE(drift.Add(Weights(60)).ok());
  EXPECT_EQ(sink.SmallWeight(), 60);
  repo.Write("routes/chat.yaml", testing::RouteYaml("chat", 60));
  repo.Commit("agree with the override");
  ASSERT_TRUE(syncer.SyncOnce("poll").ok());
  EXPECT_TRUE(drift.Drift().empty());
  EXPECT_EQ(drift.Overrides()[0].state, OverrideState::kDropped);
  EXPECT_EQ(sink.SmallWeight(), 60);
}

// commit-after: the override becomes a commit of its own; the syncer applies it; Git is true.
TEST(DriftControllerTest, CommitsOverrideToGit) {
  TempRepo repo;
  testing::WriteFixture(repo, 90);
  std::string c1 = repo.Commit("initial");
  FakeClock clock;
  Sink sink;
  DriftControllerOptions opt;
  opt.policy = *DriftPolicy::Parse("commit-after=5m");
  opt.clock = &clock;
  opt.source = repo.path();
  opt.branch = "main";
  DriftController drift(opt, sink.Fn());
  Syncer syncer(Opts(repo.path()),
                [&](auto s, const CommitInfo& c) { return drift.OnGitState(s, c); });
  std::string written;
  drift.set_on_commit([&](const std::string& c) { written = c; });
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  Override lim;
  lim.kind = OverrideKind::kBudgetLimit;
  lim.target = "search-monthly";
  lim.limit = 25'000'000;
  lim.reason = "runaway agent";
  ASSERT_TRUE(drift.Add(lim).ok());
  ASSERT_TRUE(drift.Add(Weights(100)).ok());
  EXPECT_EQ(*drift.Tick(), 0);
  clock.Advance(std::chrono::minutes(6));
  EXPECT_EQ(*drift.Tick(), 2);
  EXPECT_EQ(*drift.Tick(), 0);  // not written twice
  ASSERT_FALSE(written.empty());
  EXPECT_EQ(repo.Git("rev-parse HEAD"), written);
  EXPECT_EQ(repo.Git("log -1 --format=%an"), "bursar");
  EXPECT_NE(repo.Git("log -1 --format=%B").find("Bursar-Drift-Override: 2"), std::string::npos);
  EXPECT_EQ(repo.Git("rev-list --count HEAD"), "3");
  EXPECT_NE(repo.Git("show HEAD~1:budgets/search.yaml").find("limit: \"25.00\""),
            std::string::npos);
  EXPECT_EQ(repo.Git("status --porcelain"), "");  // the work tree follows
  // Still drifted until the syncer applies the commits; then Git is true again.
  EXPECT_EQ(drift.Drift().size(), 2u);
  ASSERT_TRUE(syncer.SyncOnce("drift").ok());
  EXPECT_EQ(syncer.status().live_commit, written);
  EXPECT_TRUE(drift.Drift().empty());
  for (const Override& o : drift.Overrides()) {
    EXPECT_EQ(o.state, OverrideState::kCommitted) << o.id;
  }
  EXPECT_EQ(sink.SmallWeight(), 100);
  std::lock_guard<std::mutex> l(sink.mu);
  EXPECT_EQ(sink.last->FindBudget("search-monthly")->limit, 25'000'000);
  EXPECT_EQ(sink.last->revision, written);
  (void)c1;
}

TEST(DriftControllerTest, CommitThatWouldNotValidateIsNotWritten) {
  TempRepo repo;
  testing::WriteFixture(repo, 90);
  // A budget scoped to the key: removing the key from Git would leave a dangling reference.
  repo.Write("budgets/key.yaml",
             "apiVersion: bursar.dev/v1\nkind: Budget\nmetadata:\n  name: key-budget\nspec:\n"
             "  scope:\n    keys: [search]\n  period: day\n  limit: \"5.00\"\n");
  std::string c1 = repo.Commit("initial");
  FakeClock clock;
  Sink sink;
  DriftControllerOptions opt;
  opt.policy = *DriftPolicy::Parse("commit-after=0s");
  opt.clock = &clock;
  opt.source = repo.path();
  DriftController drift(opt, sink.Fn());
  Syncer syncer(Opts(repo.path()),
                [&](auto s, const CommitInfo& c) { return drift.OnGitState(s, c); });
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  Override block;
  block.kind = OverrideKind::kBlockKey;
  block.target = "search";
  block.reason = "leaked";
  ASSERT_TRUE(drift.Add(block).ok());
  {
    std::lock_guard<std::mutex> l(sink.mu);
    EXPECT_EQ(sink.last->FindApiKey("search"), nullptr);  // blocked live at once
  }
  EXPECT_EQ(*drift.Tick(), 0);
  EXPECT_EQ(repo.Git("rev-parse HEAD"), c1);
  auto o = drift.Overrides()[0];
  EXPECT_EQ(o.state, OverrideState::kActive);
  EXPECT_EQ(o.note.rfind("commit failed", 0), 0u) << o.note;
  EXPECT_NE(o.note.find("would not validate"), std::string::npos) << o.note;
}

TEST(DriftControllerTest, OverridesPersistAcrossRestart) {
  TempRepo repo;
  testing::WriteFixture(repo, 90);
  repo.Commit("initial");
  TempDir data;
  auto store = OverrideStore::Open(data.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  {
    Sink sink;
    DriftController drift(DriftControllerOptions{}, sink.Fn(), store->get());
    ASSERT_TRUE(drift.LoadPersisted().ok());
    Syncer syncer(Opts(repo.path()),
                  [&](auto s, const CommitInfo& c) { return drift.OnGitState(s, c); });
    ASSERT_TRUE(syncer.SyncOnce("start").ok());
    ASSERT_TRUE(drift.Add(Weights(70)).ok());
    auto second = drift.Add(Weights(80));
    ASSERT_TRUE(second.ok());
    ASSERT_TRUE(drift.Revert(second->id, "me").ok());
  }
  auto rows = (*store)->List(/*active_only=*/true);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  ASSERT_EQ((*rows)[0].weights.size(), 2u);
  for (const auto& w : (*rows)[0].weights) EXPECT_EQ(w.weight, w.model == "small" ? 70 : 30);
  auto fields = (*store)->Fields((*rows)[0].id);
  ASSERT_TRUE(fields.ok());
  EXPECT_NE(fields->find("spec.targets[model=small].weight"), std::string::npos) << *fields;
  Sink sink;
  DriftController drift(DriftControllerOptions{}, sink.Fn(), store->get());
  ASSERT_TRUE(drift.LoadPersisted().ok());
  Syncer syncer(Opts(repo.path()),
                [&](auto s, const CommitInfo& c) { return drift.OnGitState(s, c); });
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  EXPECT_EQ(sink.SmallWeight(), 70);
  auto third = drift.Add(Weights(50));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->id, 3);  // ids continue
}

TEST(DriftControllerTest, ThreadTicksOnTheClock) {
  TempRepo repo;
  testing::WriteFixture(repo, 90);
  repo.Commit("initial");
  FakeClock clock;
  Sink sink;
  DriftControllerOptions opt;
  opt.policy = *DriftPolicy::Parse("heal-after=1m");
  opt.clock = &clock;
  DriftController drift(opt, sink.Fn());
  Syncer syncer(Opts(repo.path()),
                [&](auto s, const CommitInfo& c) { return drift.OnGitState(s, c); });
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  ASSERT_TRUE(drift.Add(Weights(100)).ok());
  ASSERT_TRUE(drift.Start().ok());
  // The thread waits on the fake clock; move it a second at a time until it has ticked.
  for (int i = 0; i < 5000 && !drift.Drift().empty(); ++i) {
    clock.Advance(std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GE(clock.Now() - TimePoint(std::chrono::seconds(1700000000)), std::chrono::seconds(60));
  EXPECT_TRUE(drift.Drift().empty());
  drift.Stop();
  EXPECT_EQ(sink.SmallWeight(), 90);
}

}  // namespace
}  // namespace bursar::gitops
