// libFuzzer target for the resource diff: the input is two YAML files separated by a line
// "===". The diff must never crash, hang or throw, and its JSON output must parse.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "gitops/diff.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find("\n===\n");
  std::string a = split == std::string::npos ? input : input.substr(0, split);
  std::string b = split == std::string::npos ? std::string() : input.substr(split + 5);
  auto diff = bursar::gitops::DiffFiles({{"a.yaml", a}}, {{"a.yaml", b}});
  if (!diff.ok()) return 0;
  (void)bursar::gitops::FormatDiffTable(*diff);
  std::string json = bursar::gitops::FormatDiffJson(*diff);
  if (nlohmann::json::parse(json, nullptr, false).is_discarded()) __builtin_trap();
  // A file diffed with itself has no changes.
  auto same = bursar::gitops::DiffFiles({{"a.yaml", a}}, {{"a.yaml", a}});
  if (same.ok() && !same->changes.empty()) __builtin_trap();
  return 0;
}
