#include "gitops/webhook.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace bursar::gitops {
namespace {

constexpr char kSecret[] = "s3cret";
const std::string kPush =
    R"({"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567"})";

TEST(HmacTest, KnownVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ConstantTimeEqualsTest, Compares) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(WebhookTest, GitHubPushWithRightSignatureTriggers) {
  WebhookVerifier v(kSecret, "main");
  auto ev = v.Verify({{"x-github-event", "push"},
                      {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kSecret, kPush)}},
                     kPush);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->flavor, WebhookFlavor::kGitHub);
  EXPECT_TRUE(ev->trigger);
  EXPECT_EQ(ev->ref, "refs/heads/main");
  EXPECT_EQ(ev->after, "0123456789abcdef0123456789abcdef01234567");
}

TEST(WebhookTest, GitHubWrongOrMissingSignatureIsUnauthenticated) {
  WebhookVerifier v(kSecret, "main");
  auto wrong = v.Verify({{"X-GitHub-Event", "push"},
                         {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("other", kPush)}},
                        kPush);
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  auto missing = v.Verify({{"X-GitHub-Event", "push"}}, kPush);
  EXPECT_EQ(missing.status().code(), StatusCode::kUnauthenticated);
  auto malformed = v.Verify(
      {{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", HmacSha256Hex(kSecret, kPush)}}, kPush);
  EXPECT_EQ(malformed.status().code(), StatusCode::kUnauthenticated);
  // A body changed after signing.
  std::string tampered = kPush;
  tampered[10] = 'X';
  auto t = v.Verify({{"X-GitHub-Event", "push"},
                     {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kSecret, kPush)}},
                    tampered);
  EXPECT_EQ(t.status().code(), StatusCode::kUnauthenticated);
}

TEST(WebhookTest, GitHubPingAndOtherBranchDoNotTrigger) {
  WebhookVerifier v(kSecret, "refs/heads/main");
  std::string ping = R"({"zen":"hi"})";
  auto p = v.Verify({{"X-GitHub-Event", "ping"},
                     {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kSecret, ping)}},
                    ping);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->trigger);
  std::string other = R"({"ref":"refs/heads/dev","after":"aa"})";
  auto o = v.Verify({{"X-GitHub-Event", "push"},
                     {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kSecret, other)}},
                    other);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->trigger);
  EXPECT_NE(o->reason.find("refs/heads/dev"), std::string::npos);
  std::string del =
      R"({"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000"})";
  auto d = v.Verify({{"X-GitHub-Event", "push"},
                     {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kSecret, del)}},
                    del);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->trigger);
}

TEST(WebhookTest, GitLabToken) {
  WebhookVerifier v(kSecret, "main");
  auto ok = v.Verify({{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", kSecret}}, kPush);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->flavor, WebhookFlavor::kGitLab);
  EXPECT_TRUE(ok->trigger);
  auto bad = v.Verify({{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "s3cre"}}, kPush);
  EXPECT_EQ(bad.status().code(), StatusCode::kUnauthenticated);
  auto none = v.Verify({{"X-Gitlab-Event", "Push Hook"}}, kPush);
  EXPECT_EQ(none.status().code(), StatusCode::kUnauthenticated);
  auto tag = v.Verify({{"X-Gitlab-Event", "Tag Push Hook"}, {"X-Gitlab-Token", kSecret}}, kPush);
  ASSERT_TRUE(tag.ok());
  EXPECT_FALSE(tag->trigger);
}

TEST(WebhookTest, GenericPayload) {
  WebhookVerifier v(kSecret, "main");
  auto ok = v.Verify({{"X-Bursar-Signature", "sha256=" + HmacSha256Hex(kSecret, kPush)}}, kPush);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->flavor, WebhookFlavor::kGeneric);
  EXPECT_TRUE(ok->trigger);
  // Upper-case hex is accepted too.
  std::string upper = HmacSha256Hex(kSecret, kPush);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(v.Verify({{"X-Bursar-Signature", "sha256=" + upper}}, kPush).ok());
  auto no_headers = v.Verify({{"Content-Type", "application/json"}}, kPush);
  EXPECT_EQ(no_headers.status().code(), StatusCode::kUnauthenticated);
  std::string junk = "not json";
  auto bad_json =
      v.Verify({{"X-Bursar-Signature", "sha256=" + HmacSha256Hex(kSecret, junk)}}, junk);
  EXPECT_EQ(bad_json.status().code(), StatusCode::kInvalidArgument);
  std::string no_ref = R"({"after":"ab"})";
  auto nr = v.Verify({{"X-Bursar-Signature", "sha256=" + HmacSha256Hex(kSecret, no_ref)}}, no_ref);
  EXPECT_EQ(nr.status().code(), StatusCode::kInvalidArgument);
}

TEST(WebhookTest, BodySizeLimit) {
  WebhookVerifier v(kSecret, "main", 64);
  std::string big(65, ' ');
  auto r = v.Verify({{"X-Bursar-Signature", "sha256=" + HmacSha256Hex(kSecret, big)}}, big);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

TEST(WebhookTest, SecretFromEnvironment) {
  ::unsetenv("BURSAR_TEST_WEBHOOK_SECRET");
  EXPECT_EQ(WebhookVerifier::FromEnv("BURSAR_TEST_WEBHOOK_SECRET", "main").status().code(),
            StatusCode::kFailedPrecondition);
  ::setenv("BURSAR_TEST_WEBHOOK_SECRET", kSecret, 1);
  auto v = WebhookVerifier::FromEnv("BURSAR_TEST_WEBHOOK_SECRET", "main");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(
      v->Verify({{"X-Bursar-Signature", "sha256=" + HmacSha256Hex(kSecret, kPush)}}, kPush).ok());
  ::unsetenv("BURSAR_TEST_WEBHOOK_SECRET");
}

}  // namespace
}  // namespace bursar::gitops
