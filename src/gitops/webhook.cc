#include "gitops/webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>

namespace bursar::gitops {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<std::string_view> Header(const WebhookHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Checks "sha256=<hex>" against HMAC-SHA256(secret, body).
Status CheckSignature(std::string_view header_value, std::string_view secret, std::string_view body,
                      std::string_view header_name) {
  header_value = Trim(header_value);
  constexpr std::string_view kPrefix = "sha256=";
  if (header_value.size() < kPrefix.size() ||
      !IEquals(header_value.substr(0, kPrefix.size()), kPrefix)) {
    return UnauthenticatedError(std::string(header_name) + " must be \"sha256=<hex>\"");
  }
  std::string given(header_value.substr(kPrefix.size()));
  for (char& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string expected = HmacSha256Hex(secret, body);
  if (!ConstantTimeEquals(given, expected)) {
    return UnauthenticatedError(std::string(header_name) + " does not match the body");
  }
  return OkStatus();
}

bool AllZeros(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    if (c != '0') return false;
  }
  return true;
}

StatusOr<WebhookEvent> ParsePush(WebhookEvent ev, std::string_view body,
                                 const std::string& branch_ref) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("webhook body is not a JSON object");
  }
  auto ref = j.find("ref");
  if (ref == j.end() || !ref->is_string()) {
    return InvalidArgumentError("push payload has no string \"ref\"");
  }
  ev.ref = ref->get<std::string>();
  auto after = j.find("after");
  if (after != j.end() && after->is_string()) ev.after = after->get<std::string>();
  auto deleted = j.find("deleted");
  bool is_delete =
      AllZeros(ev.after) || (deleted != j.end() && deleted->is_boolean() && deleted->get<bool>());
  if (ev.ref != branch_ref) {
    ev.reason = "push to " + ev.ref + ", following " + branch_ref;
  } else if (is_delete) {
    ev.reason = "branch deleted";
  } else {
    ev.trigger = true;
  }
  return ev;
}

}  // namespace

std::string_view ToString(WebhookFlavor f) {
  switch (f) {
    case WebhookFlavor::kGitHub:
      return "github";
    case WebhookFlavor::kGitLab:
      return "gitlab";
    case WebhookFlavor::kGeneric:
      return "generic";
  }
  return "?";
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(size_t{len} * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kHex[mac[i] >> 4];
    out[2 * i + 1] = kHex[mac[i] & 0xf];
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

WebhookVerifier::WebhookVerifier(std::string secret, std::string branch, size_t max_body_bytes)
    : secret_(std::move(secret)), max_body_bytes_(max_body_bytes) {
  branch_ref_ = branch.rfind("refs/", 0) == 0 ? std::move(branch) : "refs/heads/" + branch;
}

StatusOr<WebhookVerifier> WebhookVerifier::FromEnv(const std::string& env_name, std::string branch,
                                                   size_t max_body_bytes) {
  const char* v = std::getenv(env_name.c_str());
  if (v == nullptr || *v == '\0') {
    return FailedPreconditionError("webhook secret variable " + env_name + " is not set");
  }
  return WebhookVerifier(v, std::move(branch), max_body_bytes);
}

StatusOr<WebhookEvent> WebhookVerifier::Verify(const WebhookHeaders& headers,
                                               std::string_view body) const {
  if (body.size() > max_body_bytes_) {
    return ResourceExhaustedError("webhook body of " + std::to_string(body.size()) +
                                  " bytes exceeds the limit of " + std::to_string(max_body_bytes_));
  }
  if (secret_.empty()) return UnauthenticatedError("no webhook secret configured");
  WebhookEvent ev;
  if (auto gh = Header(headers, "X-GitHub-Event")) {
    ev.flavor = WebhookFlavor::kGitHub;
    ev.event = std::string(Trim(*gh));
    auto sig = Header(headers, "X-Hub-Signature-256");
    if (!sig) return UnauthenticatedError("missing X-Hub-Signature-256");
    BURSAR_RETURN_IF_ERROR(CheckSignature(*sig, secret_, body, "X-Hub-Signature-256"));
    if (ev.event != "push") {
      ev.reason = "GitHub event \"" + ev.event + "\" is not a push";
      return ev;
    }
    return ParsePush(std::move(ev), body, branch_ref_);
  }
  if (auto gl = Header(headers, "X-Gitlab-Event")) {
    ev.flavor = WebhookFlavor::kGitLab;
    ev.event = std::string(Trim(*gl));
    auto token = Header(headers, "X-Gitlab-Token");
    if (!token) return UnauthenticatedError("missing X-Gitlab-Token");
    if (!ConstantTimeEquals(*token, secret_)) {
      return UnauthenticatedError("X-Gitlab-Token does not match");
    }
    if (ev.event != "Push Hook") {
      ev.reason = "GitLab event \"" + ev.event + "\" is not a push";
      return ev;
    }
    return ParsePush(std::move(ev), body, branch_ref_);
  }
  if (auto sig = Header(headers, "X-Bursar-Signature")) {
    ev.flavor = WebhookFlavor::kGeneric;
    ev.event = "push";
    BURSAR_RETURN_IF_ERROR(CheckSignature(*sig, secret_, body, "X-Bursar-Signature"));
    return ParsePush(std::move(ev), body, branch_ref_);
  }
  return UnauthenticatedError(
      "no X-Hub-Signature-256 (GitHub), X-Gitlab-Token (GitLab) or X-Bursar-Signature header");
}

}  // namespace bursar::gitops
