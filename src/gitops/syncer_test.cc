#include "gitops/syncer.h"

#include <gtest/gtest.h>

#include <atomic>

#include "gitops/sync_fixture.h"
#include "gitops/test_repo.h"

namespace bursar::gitops {
namespace {

using testing::TempDir;
using testing::TempRepo;
using testing::WriteFixture;

// Collects what the syncer publishes (the serving side's view).
struct Published {
  std::mutex mu;
  std::vector<std::shared_ptr<const config::DesiredState>> states;
  std::shared_ptr<const config::DesiredState> Last() {
    std::lock_guard<std::mutex> l(mu);
    return states.empty() ? nullptr : states.back();
  }
  size_t Count() {
    std::lock_guard<std::mutex> l(mu);
    return states.size();
  }
  Publisher Fn() {
    return [this](std::shared_ptr<const config::DesiredState> s, const CommitInfo&) {
      std::lock_guard<std::mutex> l(mu);
      states.push_back(std::move(s));
      return OkStatus();
    };
  }
};

SyncerOptions Opts(const std::string& source, const std::string& branch = "",
                   const std::string& cache_dir = "", FakeClock* clock = nullptr) {
  SyncerOptions o;
  o.source = source;
  o.branch = branch;
  o.cache_dir = cache_dir;
  o.clock = clock;
  return o;
}

int SmallWeight(const config::DesiredState& s) {
  const config::Route* r = s.FindRoute("chat");
  if (r == nullptr) return -1;
  for (const auto& t : r->targets) {
    if (t.model == "small") return t.weight;
  }
  return -1;
}

TEST(SyncerTest, PublishesNewCommitsAndSkipsUnchanged) {
  TempRepo repo;
  WriteFixture(repo, 90);
  std::string c1 = repo.Commit("initial");
  Published pub;
  Syncer syncer(Opts(repo.path(), "main"), pub.Fn());
  auto r1 = syncer.SyncOnce("start");
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  ASSERT_TRUE(r1->has_value());
  EXPECT_EQ((*r1)->result, SyncResult::kApplied) << ::testing::PrintToString((*r1)->errors);
  EXPECT_EQ((*r1)->commit, c1);
  EXPECT_EQ((*r1)->author, "Test Author <test@example.com>");
  EXPECT_EQ((*r1)->message, "initial");
  ASSERT_EQ(pub.Count(), 1u);
  EXPECT_EQ(pub.Last()->revision, c1);
  EXPECT_EQ(SmallWeight(*pub.Last()), 90);

  auto again = syncer.SyncOnce("poll");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(pub.Count(), 1u);

  repo.Write("routes/chat.yaml", testing::RouteYaml("chat", 50));
  std::string c2 = repo.Commit("shift chat to 50/50");
  auto r2 = syncer.SyncOnce("poll");
  ASSERT_TRUE(r2.ok() && r2->has_value());
  EXPECT_EQ((*r2)->result, SyncResult::kApplied);
  EXPECT_EQ(SmallWeight(*pub.Last()), 50);
  SyncStatus st = syncer.status();
  EXPECT_EQ(st.live_commit, c2);
  EXPECT_EQ(st.branch, "refs/heads/main");
  EXPECT_EQ(st.applied, 2);
}

TEST(SyncerTest, InvalidCommitIsRefusedAndLastGoodKeepsServing) {
  TempRepo repo;
  WriteFixture(repo, 90);
  std::string good = repo.Commit("initial");
  Published pub;
  std::vector<SyncRecord> observed;
  Syncer syncer(Opts(repo.path(), "main"), pub.Fn(), DefaultPolicyCheck,
                [&](const SyncRecord& r) { observed.push_back(r); });
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  // Weights that do not sum to 100 and a typo'd field.
  repo.Write("routes/chat.yaml",
             "apiVersion: bursar.dev/v1\nkind: Route\nmetadata:\n  name: chat\nspec:\n"
             "  targets:\n    - model: small\n      wieght: 70\n    - model: large\n"
             "      weight: 20\n");
  std::string bad = repo.Commit("broken route");
  auto r = syncer.SyncOnce("webhook");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->result, SyncResult::kRefused);
  EXPECT_EQ((*r)->commit, bad);
  ASSERT_FALSE((*r)->errors.empty());
  EXPECT_EQ((*r)->errors[0].rfind("routes/chat.yaml:", 0), 0u) << (*r)->errors[0];
  EXPECT_EQ(pub.Count(), 1u);  // nothing published
  SyncStatus st = syncer.status();
  EXPECT_EQ(st.live_commit, good);
  ASSERT_TRUE(st.last_refused.has_value());
  EXPECT_EQ(st.last_refused->commit, bad);
  EXPECT_EQ(st.refused, 1);
  ASSERT_EQ(observed.size(), 2u);
  EXPECT_EQ(observed[1].result, SyncResult::kRefused);
  // A refused commit is not retried on the next poll.
  auto again = syncer.SyncOnce("poll");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  // The fix is applied.
  WriteFixture(repo, 70);
  std::string fixed = repo.Commit("fix route");
  auto f = syncer.SyncOnce("poll");
  ASSERT_TRUE(f.ok() && f->has_value());
  EXPECT_EQ((*f)->result, SyncResult::kApplied);
  EXPECT_EQ(syncer.status().live_commit, fixed);
  EXPECT_EQ(SmallWeight(*pub.Last()), 70);
}

TEST(SyncerTest, PolicyRefusesBudgetRemovalWithoutTrailer) {
  TempRepo repo;
  WriteFixture(repo);
  repo.Commit("initial");
  Published pub;
  Syncer syncer(Opts(repo.path()), pub.Fn());
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  repo.Remove("budgets/search.yaml");
  repo.Commit("drop the budget");
  auto r = syncer.SyncOnce("poll");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->result, SyncResult::kRefused);
  ASSERT_EQ((*r)->errors.size(), 1u);
  EXPECT_NE((*r)->errors[0].find("budgets/search.yaml:"), std::string::npos);
  EXPECT_NE((*r)->errors[0].find("Bursar-Allow: budget-removal"), std::string::npos);
  repo.Commit("drop the budget\n\nBursar-Allow: budget-removal");
  auto ok = syncer.SyncOnce("poll");
  ASSERT_TRUE(ok.ok() && ok->has_value());
  EXPECT_EQ((*ok)->result, SyncResult::kApplied);
  EXPECT_TRUE(pub.Last()->budgets.empty());
}

TEST(SyncerTest, PolicyRefusesMoreExpensiveDowngrade) {
  TempRepo repo;
  WriteFixture(repo);
  repo.Write("routes/premium.yaml",
             "apiVersion: bursar.dev/v1\nkind: Route\nmetadata:\n  name: premium\nspec:\n"
             "  targets:\n    - model: large\n");
  repo.Write("budgets/search.yaml",
             "apiVersion: bursar.dev/v1\nkind: Budget\nmetadata:\n  name: search-monthly\n"
             "spec:\n  scope:\n    routes: [chat]\n  period: month\n  limit: \"100.00\"\n"
             "  thresholds:\n    - at: 80\n      action: downgrade\n      downgradeTo: premium\n");
  repo.Commit("downgrade to a pricier route");
  Published pub;
  Syncer syncer(Opts(repo.path()), pub.Fn());
  auto r = syncer.SyncOnce("start");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->result, SyncResult::kRefused) << ::testing::PrintToString((*r)->errors);
  ASSERT_FALSE((*r)->errors.empty());
  EXPECT_NE((*r)->errors[0].find("costs more per token"), std::string::npos);
  EXPECT_EQ(pub.Count(), 0u);
}

TEST(SyncerTest, FollowsRemoteUrlThroughMirror) {
  TempRepo remote(/*bare=*/true);
  TempRepo work;
  WriteFixture(work, 90);
  std::string c1 = work.Commit("initial");
  work.Git("push -q " + testing::ShellQuote(remote.path()) + " main");
  TempDir cache;
  Published pub;
  Syncer syncer(Opts(remote.url(), "main", cache.path() + "/m"), pub.Fn());
  auto r1 = syncer.SyncOnce("start");
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  ASSERT_TRUE(r1->has_value());
  EXPECT_EQ((*r1)->commit, c1);
  work.Write("routes/chat.yaml", testing::RouteYaml("chat", 10));
  std::string c2 = work.Commit("canary 10");
  work.Git("push -q " + testing::ShellQuote(remote.path()) + " main");
  auto r2 = syncer.SyncOnce("webhook");
  ASSERT_TRUE(r2.ok() && r2->has_value());
  EXPECT_EQ((*r2)->commit, c2);
  EXPECT_EQ(SmallWeight(*pub.Last()), 10);
}

// A bare remote made with a plain `git init --bare` has HEAD on an unborn master: follow main.
TEST(SyncerTest, RemoteWithUnbornHeadFollowsMain) {
  TempRepo remote(/*bare=*/true);
  remote.Git("symbolic-ref HEAD refs/heads/master");
  TempRepo work;
  WriteFixture(work, 90);
  std::string c1 = work.Commit("initial");
  work.Git("push -q " + testing::ShellQuote(remote.path()) + " main");
  TempDir cache;
  Published pub;
  Syncer syncer(Opts(remote.url(), "", cache.path() + "/m"), pub.Fn());
  auto r = syncer.SyncOnce("start");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->commit, c1);
  EXPECT_EQ(syncer.status().branch, "refs/heads/main");
}

TEST(SyncerTest, MissingSourceIsAnError) {
  TempDir dir;
  Syncer syncer(Opts(dir.path() + "/nope"), nullptr);
  auto r = syncer.SyncOnce();
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(syncer.status().last_error.empty());
}

TEST(SyncerTest, PublisherFailureIsRetried) {
  TempRepo repo;
  WriteFixture(repo);
  std::string c1 = repo.Commit("initial");
  int calls = 0;
  Syncer syncer(Opts(repo.path()),
                [&](const std::shared_ptr<const config::DesiredState>&, const CommitInfo&) {
                  return ++calls == 1 ? UnavailableError("not ready") : OkStatus();
                });
  auto r1 = syncer.SyncOnce();
  ASSERT_TRUE(r1.ok() && r1->has_value());
  EXPECT_EQ((*r1)->result, SyncResult::kFailed);
  EXPECT_TRUE(syncer.status().live_commit.empty());
  auto r2 = syncer.SyncOnce();
  ASSERT_TRUE(r2.ok() && r2->has_value());
  EXPECT_EQ((*r2)->result, SyncResult::kApplied);
  EXPECT_EQ(syncer.status().live_commit, c1);
}

// The loop: a trigger syncs at once; with a fake clock, polling happens only when the poll
// interval has passed on that clock.
TEST(SyncerTest, LoopSyncsOnTriggerAndOnPollInterval) {
  TempRepo repo;
  WriteFixture(repo, 90);
  repo.Commit("initial");
  FakeClock clock;
  Published pub;
  Syncer syncer(Opts(repo.path(), "main", "", &clock), pub.Fn());
  ASSERT_TRUE(syncer.SyncOnce("start").ok());
  ASSERT_TRUE(syncer.Start().ok());
  EXPECT_FALSE(syncer.Start().ok());

  repo.Write("routes/chat.yaml", testing::RouteYaml("chat", 40));
  std::string c2 = repo.Commit("webhook commit");
  syncer.Trigger("webhook");
  EXPECT_EQ(syncer.WaitForCommit(c2, std::chrono::seconds(20)), SyncResult::kApplied);
  EXPECT_EQ(syncer.status().last->trigger, "webhook");

  repo.Write("routes/chat.yaml", testing::RouteYaml("chat", 30));
  std::string c3 = repo.Commit("polled commit");
  // Not due yet on the fake clock: nothing happens however long real time passes.
  EXPECT_EQ(syncer.WaitForCommit(c3, std::chrono::milliseconds(100)), std::nullopt);
  clock.Advance(std::chrono::seconds(31));
  EXPECT_EQ(syncer.WaitForCommit(c3, std::chrono::seconds(20)), SyncResult::kApplied);
  EXPECT_EQ(syncer.status().last->trigger, "poll");
  syncer.Stop();
  syncer.Stop();
  EXPECT_EQ(SmallWeight(*pub.Last()), 30);
}

TEST(SyncMetricsTest, RendersPrometheusLines) {
  SyncStatus st;
  st.branch = "refs/heads/main";
  st.live_commit = "abc";
  st.has_success = true;
  st.last_success = TimePoint(std::chrono::seconds(100));
  st.applied = 3;
  SyncRecord rec;
  rec.result = SyncResult::kRefused;
  st.last = rec;
  std::string m = RenderSyncMetrics(st, TimePoint(std::chrono::seconds(112)));
  EXPECT_NE(m.find("bursar_sync_live_commit_info{commit=\"abc\",branch=\"refs/heads/main\"} 1"),
            std::string::npos);
  EXPECT_NE(m.find("bursar_sync_last_result{result=\"refused\"} 1"), std::string::npos);
  EXPECT_NE(m.find("bursar_sync_last_result{result=\"applied\"} 0"), std::string::npos);
  EXPECT_NE(m.find("bursar_sync_seconds_since_success 12\n"), std::string::npos);
  EXPECT_NE(m.find("bursar_sync_total{result=\"applied\"} 3"), std::string::npos);
}

TEST(IsRemoteSourceTest, Classifies) {
  EXPECT_TRUE(IsRemoteSource("https://github.com/o/r.git"));
  EXPECT_TRUE(IsRemoteSource("file:///tmp/x"));
  EXPECT_TRUE(IsRemoteSource("git@github.com:o/r.git"));
  EXPECT_FALSE(IsRemoteSource("/srv/config"));
  EXPECT_FALSE(IsRemoteSource("./repo@v2"));
}

}  // namespace
}  // namespace bursar::gitops
