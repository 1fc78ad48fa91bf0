#include "gitops/syncer_service.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gitops/sync_fixture.h"
#include "gitops/test_repo.h"

namespace bursar::gitops {
namespace {

using testing::TempDir;
using testing::TempRepo;

constexpr char kSecret[] = "hook-secret";
constexpr char kAdmin[] = "admin-token";

struct Fixture {
  TempRepo repo;
  TempDir data;
  std::mutex mu;
  std::shared_ptr<const config::DesiredState> live;
  std::unique_ptr<GitOpsService> service;

  explicit Fixture(std::string admin = kAdmin) {
    testing::WriteFixture(repo, 90);
    repo.Commit("initial");
    GitOpsServiceOptions o;
    o.sync.source = repo.path();
    o.data = data.path();
    o.webhook_secret = kSecret;
    o.admin_token = std::move(admin);
    o.drift = *DriftPolicy::Parse("keep");
    auto s = GitOpsService::Create(o, [this](auto state, const CommitInfo&) {
      std::lock_guard<std::mutex> l(mu);
      live = std::move(state);
      return OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    service = std::move(*s);
  }
  int SmallWeight() {
    std::lock_guard<std::mutex> l(mu);
    return live->FindRoute("chat")->targets[0].weight;
  }
  ControlResponse Get(const std::string& target, const std::string& token = kAdmin) {
    ControlRequest r;
    r.method = "GET";
    r.target = target;
    std::string auth = "Bearer " + token;
    r.authorization = auth;
    return service->Handle(r);
  }
  ControlResponse Send(const std::string& method, const std::string& target,
                       const std::string& body) {
    ControlRequest r;
    r.method = method;
    r.target = target;
    std::string auth = std::string("Bearer ") + kAdmin;
    r.authorization = auth;
    r.body = body;
    return service->Handle(r);
  }
  ControlResponse Hook(const std::string& body, const std::string& secret) {
    ControlRequest r;
    r.method = "POST";
    r.target = "/hooks/git";
    r.headers = {{"X-GitHub-Event", "push"},
                 {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(secret, body)}};
    r.body = body;
    return service->Handle(r);
  }
};

TEST(GitOpsServiceTest, Serves) {
  EXPECT_TRUE(GitOpsService::Serves("/hooks/git"));
  EXPECT_TRUE(GitOpsService::Serves("/api/sync-history?limit=3"));
  EXPECT_TRUE(GitOpsService::Serves("/admin/overrides/3"));
  EXPECT_FALSE(GitOpsService::Serves("/admin/budgets"));
  EXPECT_FALSE(GitOpsService::Serves("/v1/chat/completions"));
}

// Webhook: a wrong signature is rejected and nothing syncs; the right one triggers the sync.
TEST(GitOpsServiceTest, WebhookTriggersSync) {
  Fixture f;
  ASSERT_TRUE(f.service->InitialSync().ok());
  ASSERT_TRUE(f.service->Start().ok());
  f.repo.Write("routes/chat.yaml", testing::RouteYaml("chat", 20));
  std::string c2 = f.repo.Commit("canary 80% to large");
  std::string body = R"({"ref":"refs/heads/main","after":")" + c2 + R"("})";
  ControlResponse bad = f.Hook(body, "wrong");
  EXPECT_EQ(bad.status, 401) << bad.body;
  EXPECT_EQ(f.service->syncer().WaitForCommit(c2, std::chrono::milliseconds(200)), std::nullopt);
  EXPECT_EQ(f.SmallWeight(), 90);
  ControlResponse ok = f.Hook(body, kSecret);
  EXPECT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(f.service->syncer().WaitForCommit(c2, std::chrono::seconds(20)), SyncResult::kApplied);
  EXPECT_EQ(f.SmallWeight(), 20);
  ControlResponse other = f.Hook(R"({"ref":"refs/heads/dev","after":"x"})", kSecret);
  EXPECT_EQ(other.status, 200);
  EXPECT_FALSE(nlohmann::json::parse(other.body)["triggered"].get<bool>());

  auto st = nlohmann::json::parse(f.Get("/api/sync-status").body);
  EXPECT_EQ(st["liveCommit"], c2);
  EXPECT_EQ(st["lastSync"]["trigger"], "webhook");
  auto hist = nlohmann::json::parse(f.Get("/api/sync-history?limit=1").body);
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0]["commit"], c2);
  EXPECT_EQ(hist[0]["result"], "applied");
  EXPECT_EQ(f.Get("/api/sync-history?limit=x").status, 400);
  std::string metrics = f.service->Metrics();
  EXPECT_NE(metrics.find("bursar_sync_live_commit_info{commit=\"" + c2), std::string::npos);
  EXPECT_NE(metrics.find("bursar_drift_active_overrides 0"), std::string::npos);
  f.service->Stop();
}

TEST(GitOpsServiceTest, RefusedCommitIsVisibleAndOldOneServes) {
  Fixture f;
  ASSERT_TRUE(f.service->InitialSync().ok());
  f.repo.Write("routes/chat.yaml", testing::RouteYaml("chat", 20, "small", "nonexistent"));
  std::string bad = f.repo.Commit("route to a model that does not exist");
  ASSERT_TRUE(f.service->syncer().SyncOnce("poll").ok());
  EXPECT_EQ(f.SmallWeight(), 90);
  auto st = nlohmann::json::parse(f.Get("/api/sync-status").body);
  EXPECT_EQ(st["lastRefused"]["commit"], bad);
  EXPECT_NE(st["lastRefused"]["errors"][0].get<std::string>().find("routes/chat.yaml:"),
            std::string::npos);
  EXPECT_NE(st["liveCommit"], bad);
}

TEST(GitOpsServiceTest, AdminOverridesAndDrift) {
  Fixture f;
  ASSERT_TRUE(f.service->InitialSync().ok());
  EXPECT_EQ(f.Get("/admin/drift", "nope").status, 401);
  EXPECT_EQ(f.Get("/api/drift", "nope").status, 401);
  ControlResponse added = f.Send(
      "POST", "/admin/overrides",
      R"({"kind":"routeWeights","target":"chat","weights":{"small":100,"large":0},"reason":"large down"})");
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(f.SmallWeight(), 100);
  auto drift = nlohmann::json::parse(f.Get("/api/drift").body);
  EXPECT_TRUE(drift["drifted"].get<bool>());
  EXPECT_EQ(drift["entries"][0]["resource"], "Route/chat");
  EXPECT_EQ(drift["entries"][0]["fields"][0]["git"], 90);
  EXPECT_EQ(drift["entries"][0]["fields"][0]["live"], 100);
  EXPECT_EQ(f.Send("POST", "/admin/overrides", R"({"kind":"blockKey"})").status, 400);
  EXPECT_EQ(f.Send("POST", "/admin/overrides",
                   R"({"kind":"budgetLimit","target":"search-monthly","limit":"500","reason":"x"})")
                .status,
            400);
  EXPECT_EQ(
      f.Send("POST", "/admin/overrides", R"({"kind":"blockKey","target":"ghost","reason":"x"})")
          .status,
      404);
  int id = nlohmann::json::parse(added.body)["id"];
  EXPECT_EQ(f.Send("DELETE", "/admin/overrides/" + std::to_string(id), "").status, 200);
  EXPECT_EQ(f.SmallWeight(), 90);
  EXPECT_EQ(f.Send("DELETE", "/admin/overrides/" + std::to_string(id), "").status, 409);
  EXPECT_EQ(f.Send("DELETE", "/admin/overrides/abc", "").status, 400);
  auto list = nlohmann::json::parse(f.Get("/admin/overrides").body);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "reverted");
}

TEST(GitOpsServiceTest, AdminDisabledWithoutToken) {
  Fixture f("");
  ASSERT_TRUE(f.service->InitialSync().ok());
  EXPECT_EQ(f.Get("/admin/overrides").status, 403);
  EXPECT_EQ(f.Get("/api/sync-status").status, 200);
}

TEST(GitOpsServiceTest, InitialSyncFailsWhenTipIsInvalid) {
  TempRepo repo;
  repo.Write("routes/chat.yaml", testing::RouteYaml("chat", 50));  // models missing
  repo.Commit("broken");
  GitOpsServiceOptions o;
  o.sync.source = repo.path();
  auto s = GitOpsService::Create(o, nullptr);
  ASSERT_TRUE(s.ok());
  auto r = (*s)->InitialSync();
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("routes/chat.yaml:"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace bursar::gitops
