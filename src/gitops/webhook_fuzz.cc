// libFuzzer target for the webhook parser: the first byte picks the payload flavour and whether
// the signature is right (so the JSON parser behind authentication is reached), the rest is the
// body. Corpus: fuzz/corpus/webhook_fuzz/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gitops/webhook.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  static const bursar::gitops::WebhookVerifier verifier("fuzz-secret", "main", 64 * 1024);
  const bool good = (mode & 0x4) != 0;
  std::string sig = "sha256=" + (good ? bursar::gitops::HmacSha256Hex("fuzz-secret", body)
                                      : std::string(64, '0'));
  bursar::gitops::WebhookHeaders headers;
  switch (mode & 0x3) {
    case 0:
      headers = {{"X-GitHub-Event", (mode & 0x8) ? "ping" : "push"}, {"X-Hub-Signature-256", sig}};
      break;
    case 1:
      headers = {{"X-Gitlab-Event", "Push Hook"},
                 {"X-Gitlab-Token", good ? "fuzz-secret" : "nope"}};
      break;
    case 2:
      headers = {{"x-bursar-signature", sig}};
      break;
    default:
      headers = {{"Content-Type", "application/json"}};
      break;
  }
  auto ev = verifier.Verify(headers, body);
  if (ev.ok() && ev->trigger && ev->ref != verifier.branch_ref()) __builtin_trap();
  return 0;
}
