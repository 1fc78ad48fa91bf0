// Git push webhooks: authenticates a POST /hooks/git request and says whether it should trigger a
// sync of the followed branch.
//
// Three payload flavours are accepted, recognised by their headers:
//   GitHub   X-GitHub-Event: push          X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)>
//   GitLab   X-Gitlab-Event: Push Hook     X-Gitlab-Token: <the secret itself>
//   generic  X-Bursar-Signature: sha256=<hex HMAC-SHA256(body)>, body {"ref": ..., "after": ...}
// Signatures and tokens are compared in constant time (CRYPTO_memcmp). The secret comes from an
// environment variable (WebhookVerifier::FromEnv); it is never logged.
//
// Only a push to the followed branch triggers a sync; other events (GitHub "ping", tag pushes,
// pushes to other branches, branch deletions) are authenticated, then answered "ignored".
//
// Ownership/threads: a WebhookVerifier is immutable after construction; Verify() may be called
// from any number of threads at once.
// Errors: Unauthenticated (no recognised signature header, wrong signature/token),
// ResourceExhausted (body over the size limit -> HTTP 413), InvalidArgument (an authenticated
// push whose body is not JSON or has no "ref").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace bursar::gitops {

enum class WebhookFlavor { kGitHub, kGitLab, kGeneric };
std::string_view ToString(WebhookFlavor f);

// Request headers as received; names are matched case-insensitively.
using WebhookHeaders = std::vector<std::pair<std::string, std::string>>;

struct WebhookEvent {
  WebhookFlavor flavor = WebhookFlavor::kGeneric;
  std::string event;     // "push", "ping", "Push Hook", ...
  std::string ref;       // "refs/heads/main" ("" for non-push events)
  std::string after;     // the pushed commit id (40 hex), "" when unknown
  bool trigger = false;  // true: sync the followed branch now
  std::string reason;    // why it does not trigger ("" when it does)
};

inline constexpr size_t kMaxWebhookBodyBytes =
    1 << 20;  // GitHub caps payloads at 25 MB; ours are small

class WebhookVerifier {
 public:
  // `branch` is the followed branch, "main" or "refs/heads/main". `secret` must be non-empty.
  WebhookVerifier(std::string secret, std::string branch,
                  size_t max_body_bytes = kMaxWebhookBodyBytes);

  // Reads the secret from the environment variable `env_name`. FailedPrecondition when it is
  // unset or empty.
  static StatusOr<WebhookVerifier> FromEnv(const std::string& env_name, std::string branch,
                                           size_t max_body_bytes = kMaxWebhookBodyBytes);

  // Authenticates and parses one request. Never throws.
  StatusOr<WebhookEvent> Verify(const WebhookHeaders& headers, std::string_view body) const;

  const std::string& branch_ref() const { return branch_ref_; }

 private:
  std::string secret_;
  std::string branch_ref_;  // "refs/heads/<branch>"
  size_t max_body_bytes_;
};

// Lower-case hex of HMAC-SHA256(key, data) (OpenSSL). Exposed for tests and the benchmark.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// Constant-time equality for secrets (length leaks, content does not).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace bursar::gitops
