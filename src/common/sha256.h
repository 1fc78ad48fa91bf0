// SHA-256 through OpenSSL's EVP interface, with the algorithm fetched once per process: OpenSSL 3
// otherwise fetches it (a locked provider lookup) on every SHA256() / EVP_sha256() digest, which
// the gateway pays per request for the API key lookup.
//
// Sha256 is incremental (Update any number of times, then Final or FinalHex once); Sha256Hex and
// Sha256Raw are one-shot. Hex is lowercase, 64 characters; raw is 32 bytes.
// Thread safety: a Sha256 object belongs to one thread; the free functions are thread-safe.
// Errors: none reported; OpenSSL failing to provide SHA-256 aborts at first use.
#pragma once

#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace bursar {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  std::string Final();     // 32 raw bytes
  std::string FinalHex();  // 64 lowercase hex digits

 private:
  evp_md_ctx_st* ctx_;
};

std::string Sha256Raw(std::string_view data);
std::string Sha256Hex(std::string_view data);

}  // namespace bursar
