#include "gateway/router.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/sha256.h"
#include "gateway/http_types.h"
#include "gateway/snapshot.h"

namespace bursar::gateway {
namespace {

config::Route CanaryRoute() {
  config::Route r;
  r.meta.name = "chat";
  r.targets = {{"stable", 90}, {"canary", 10}};
  r.fallbacks = {"selfhosted", "stable"};
  return r;
}

TEST(RouterTest, WeightedPickIsDeterministicAndFollowsWeights) {
  config::Route r = CanaryRoute();
  std::map<std::string, int> counts;
  for (int i = 0; i < 10000; ++i) {
    std::string id = "req_" + std::to_string(i);
    const std::string& a = PickTarget(r, RoutingHash(id));
    EXPECT_EQ(a, PickTarget(r, RoutingHash(id)));
    ++counts[a];
  }
  EXPECT_NEAR(counts["canary"], 1000, 150);
  EXPECT_NEAR(counts["stable"], 9000, 150);
}

TEST(RouterTest, ZeroWeightTargetIsNeverPicked) {
  config::Route r;
  r.targets = {{"a", 0}, {"b", 100}};
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(PickTarget(r, RoutingHash(std::to_string(i))), "b");
}

TEST(RouterTest, PlanIsPickThenFallbacksWithoutDuplicates) {
  config::Route r = CanaryRoute();
  for (int i = 0; i < 100; ++i) {
    AttemptPlan got = PlanAttempts(r, RoutingHash(std::to_string(i)));
    std::vector<std::string_view> plan(got.begin(), got.end());
    if (plan[0] == "stable") {
      EXPECT_EQ(plan, (std::vector<std::string_view>{"stable", "selfhosted"}));
    } else {
      EXPECT_EQ(plan, (std::vector<std::string_view>{"canary", "selfhosted", "stable"}));
    }
  }
}

TEST(RouterTest, RetryPolicyAndBackoff) {
  config::RetryPolicy p;
  p.backoff = std::chrono::milliseconds(100);
  p.on_timeout = false;
  EXPECT_TRUE(Retryable(p, FailureKind::kConnect));
  EXPECT_FALSE(Retryable(p, FailureKind::kTimeout));
  EXPECT_TRUE(Retryable(p, FailureKind::kServerError));
  EXPECT_FALSE(Retryable(p, FailureKind::kMalformed));
  EXPECT_EQ(Backoff(p, 1).count(), 100);
  EXPECT_EQ(Backoff(p, 2).count(), 200);
  EXPECT_EQ(Backoff(p, 4).count(), 800);
  EXPECT_EQ(Backoff(p, 30).count(), 30000);
}

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresAndProbesAfterCooldown) {
  config::CircuitBreakerPolicy policy;
  policy.failures = 3;
  policy.cooldown = std::chrono::milliseconds(1000);
  CircuitBreaker b;
  auto t0 = CircuitBreaker::Clock::time_point() + std::chrono::hours(1);
  b.RecordFailure(policy, t0);
  b.RecordFailure(policy, t0);
  b.RecordSuccess();  // resets the run
  b.RecordFailure(policy, t0);
  b.RecordFailure(policy, t0);
  EXPECT_TRUE(b.Allow(policy, t0));
  b.RecordFailure(policy, t0);
  EXPECT_EQ(b.state(policy, t0), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.Allow(policy, t0 + std::chrono::milliseconds(999)));
  auto later = t0 + std::chrono::milliseconds(1000);
  EXPECT_EQ(b.state(policy, later), CircuitBreaker::State::kHalfOpen);
  EXPECT_TRUE(b.Allow(policy, later));   // the probe
  EXPECT_FALSE(b.Allow(policy, later));  // only one
  b.RecordFailure(policy, later);        // probe failed: open again
  EXPECT_FALSE(b.Allow(policy, later + std::chrono::milliseconds(500)));
  auto again = later + std::chrono::milliseconds(1000);
  EXPECT_TRUE(b.Allow(policy, again));
  b.RecordSuccess();
  EXPECT_EQ(b.state(policy, again), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.Allow(policy, again));
  EXPECT_TRUE(b.Allow(policy, again));
}

TEST(CircuitBreakersTest, SameModelSameBreakerAcrossSnapshots) {
  CircuitBreakers breakers;
  EXPECT_EQ(breakers.Get("m"), breakers.Get("m"));
  EXPECT_NE(breakers.Get("m"), breakers.Get("n"));
}

TEST(UpstreamTargetTest, ParsesBaseUrls) {
  auto t = UpstreamTarget::Parse("https://api.openai.com/v1/");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->tls);
  EXPECT_EQ(t->host, "api.openai.com");
  EXPECT_EQ(t->port, "443");
  EXPECT_EQ(t->base_path, "/v1");
  EXPECT_EQ(t->host_header, "api.openai.com");
  t = UpstreamTarget::Parse("http://127.0.0.1:8000");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->tls);
  EXPECT_EQ(t->port, "8000");
  EXPECT_EQ(t->base_path, "");
  t = UpstreamTarget::Parse("http://[::1]:9000/api/v1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->base_path, "/api/v1");
  EXPECT_FALSE(UpstreamTarget::Parse("ftp://x").ok());
  EXPECT_FALSE(UpstreamTarget::Parse("http://user:pw@host/v1").ok());
  EXPECT_FALSE(UpstreamTarget::Parse("http://host:99999").ok());
}

TEST(SnapshotTest, AuthenticatesBySha256AndListsAllowedRoutes) {
  auto state = std::make_shared<config::DesiredState>();
  state->revision = "abc";
  config::Model m;
  m.meta.name = "m";
  m.base_url = "http://127.0.0.1:1/v1";
  m.api_key_env = "UPSTREAM_KEY";
  state->models.push_back(m);
  for (std::string name : {"chat", "vision"}) {
    config::Route r;
    r.meta.name = name;
    r.targets = {{"m", 100}};
    state->routes.push_back(r);
  }
  config::ApiKey k;
  k.meta.name = "web";
  k.key_sha256 = "sha256:" + Sha256Hex("sk-secret");
  k.routes = {"vision"};
  state->api_keys.push_back(k);
  CircuitBreakers breakers;
  auto snap = BuildSnapshot(state, breakers, [](const std::string& name) {
    return name == "UPSTREAM_KEY" ? std::string("up-key") : std::string();
  });
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const Snapshot& s = **snap;
  EXPECT_EQ(s.commit, "abc");
  ASSERT_NE(s.Authenticate("sk-secret"), nullptr);
  EXPECT_EQ(s.Authenticate("sk-secret")->meta.name, "web");
  EXPECT_EQ(s.Authenticate("sk-secreT"), nullptr);
  EXPECT_EQ(s.Authenticate(""), nullptr);
  EXPECT_EQ(s.FindModel("m")->api_key, "up-key");
  EXPECT_EQ(
      s.ModelsJson(*s.Authenticate("sk-secret")),
      R"({"object":"list","data":[{"id":"vision","object":"model","created":0,"owned_by":"bursar"}]})");

  // The memo answers as the snapshot does, and never from an older snapshot.
  KeyMemo memo;
  EXPECT_EQ(memo.Authenticate(*snap, "sk-secret"), s.Authenticate("sk-secret"));
  EXPECT_EQ(memo.Authenticate(*snap, "sk-secreT"), nullptr);
  EXPECT_EQ(memo.Authenticate(*snap, "sk-secre"), nullptr);
  EXPECT_EQ(memo.Authenticate(*snap, ""), nullptr);
  EXPECT_EQ(memo.Authenticate(*snap, "sk-secret"), s.Authenticate("sk-secret"));
  auto rotated = std::make_shared<config::DesiredState>(*state);
  rotated->api_keys[0].key_sha256 = "sha256:" + Sha256Hex("sk-rotated");
  auto snap2 = BuildSnapshot(rotated, breakers);
  ASSERT_TRUE(snap2.ok());
  EXPECT_EQ(memo.Authenticate(*snap2, "sk-secret"), nullptr);
  ASSERT_NE(memo.Authenticate(*snap2, "sk-rotated"), nullptr);
  EXPECT_EQ(memo.Authenticate(*snap2, "sk-rotated"), (*snap2)->Authenticate("sk-rotated"));
  EXPECT_EQ(memo.Authenticate(*snap, "sk-rotated"), nullptr);
  EXPECT_EQ(memo.Authenticate(*snap, "sk-secret"), s.Authenticate("sk-secret"));

  SnapshotHolder holder;
  SnapshotHolder::Reader reader(holder);
  EXPECT_EQ(reader.Get(), nullptr);
  holder.Publish(*snap);
  EXPECT_EQ(reader.Get().get(), snap->get());
}

TEST(SnapshotTest, RejectsBadKeyHash) {
  auto state = std::make_shared<config::DesiredState>();
  config::ApiKey k;
  k.meta.name = "bad";
  k.key_sha256 = "sha256:xyz";
  state->api_keys.push_back(k);
  CircuitBreakers breakers;
  EXPECT_FALSE(BuildSnapshot(state, breakers).ok());
}

TEST(HttpTypesTest, ErrorJsonHasOpenAIShape) {
  EXPECT_EQ(
      ErrorJson("bad \"x\"\n", "invalid_request_error", "invalid_body"),
      R"({"error":{"message":"bad \"x\"\n","type":"invalid_request_error","param":null,"code":"invalid_body"}})");
  EXPECT_EQ(ErrorJson("m", "t", ""),
            R"({"error":{"message":"m","type":"t","param":null,"code":null}})");
}

}  // namespace
}  // namespace bursar::gateway
