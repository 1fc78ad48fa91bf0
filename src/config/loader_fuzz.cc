// libFuzzer target for the desired-state loader: the input is one YAML file of a repository.
// The loader must never crash, hang or throw, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<bursar::config::SourceFile> files;
  files.push_back({"fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)});
  bursar::config::LoadResult result = bursar::config::LoadDesiredState(files);
  for (const bursar::config::Diagnostic& d : result.diagnostics) {
    if (d.where.line < 1 || d.where.column < 1 || d.message.empty()) __builtin_trap();
  }
  if ((result.state == nullptr) == result.diagnostics.empty()) __builtin_trap();
  return 0;
}
