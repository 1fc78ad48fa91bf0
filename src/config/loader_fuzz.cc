// libFuzzer target for the desired-state loader: the input is one YAML file of a repository.
// The loader must never crash, hang or throw, whatever the bytes, and its diagnostics must keep
// their contract: a position, a message in valid UTF-8 that says what is expected, sorted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>

#include "config/loader.h"

namespace {

bool ValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80           ? 1
                 : (b >> 5) == 0x6  ? 2
                 : (b >> 4) == 0xe  ? 3
                 : (b >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<bursar::config::SourceFile> files;
  files.push_back({"fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)});
  bursar::config::LoadResult result = bursar::config::LoadDesiredState(files);
  const bursar::config::Diagnostic* previous = nullptr;
  for (const bursar::config::Diagnostic& d : result.diagnostics) {
    if (d.where.line < 1 || d.where.column < 1) __builtin_trap();
    if (d.message.find("expected") == std::string::npos) __builtin_trap();
    if (!ValidUtf8(d.message)) __builtin_trap();
    if (previous != nullptr && std::tie(d.where.line, d.where.column) <
                                   std::tie(previous->where.line, previous->where.column)) {
      __builtin_trap();
    }
    previous = &d;
  }
  if ((result.state == nullptr) == result.diagnostics.empty()) __builtin_trap();
  return 0;
}
