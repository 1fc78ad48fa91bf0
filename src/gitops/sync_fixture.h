// Test helper (tests only): writes a small valid desired-state repository (two Models, a Route
// with a canary split, an ApiKey and a Budget) into a TempRepo.
#pragma once

#include <string>

#include "gitops/test_repo.h"

namespace bursar::gitops::testing {

inline constexpr char kFixtureKeyHash[] =
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";  // "test"

inline std::string ModelYaml(const std::string& name, const std::string& base_url,
                             const std::string& in_price = "0.00000015",
                             const std::string& out_price = "0.0000006") {
  return "apiVersion: bursar.dev/v1\n"
         "kind: Model\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "spec:\n"
         "  baseUrl: " +
         base_url +
         "\n"
         "  upstreamModel: " +
         name +
         "-upstream\n"
         "  pricing:\n"
         "    input_cost_per_token: \"" +
         in_price +
         "\"\n"
         "    output_cost_per_token: \"" +
         out_price + "\"\n";
}

inline std::string RouteYaml(const std::string& name, int weight_a, const std::string& a = "small",
                             const std::string& b = "large") {
  return "apiVersion: bursar.dev/v1\n"
         "kind: Route\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "spec:\n"
         "  targets:\n"
         "    - model: " +
         a +
         "\n"
         "      weight: " +
         std::to_string(weight_a) +
         "\n"
         "    - model: " +
         b +
         "\n"
         "      weight: " +
         std::to_string(100 - weight_a) + "\n";
}

inline std::string KeyYaml(const std::string& name) {
  return std::string(
             "apiVersion: bursar.dev/v1\n"
             "kind: ApiKey\n"
             "metadata:\n"
             "  name: ") +
         name +
         "\n"
         "spec:\n"
         "  keyHash: \"" +
         kFixtureKeyHash +
         "\"\n"
         "  tags:\n"
         "    team: search\n";
}

inline std::string BudgetYaml(const std::string& name, const std::string& limit) {
  return "apiVersion: bursar.dev/v1\n"
         "kind: Budget\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "spec:\n"
         "  scope:\n"
         "    routes: [chat]\n"
         "  period: month\n"
         "  limit: \"" +
         limit +
         "\"\n"
         "  thresholds:\n"
         "    - at: 100\n"
         "      action: block\n";
}

// Writes the fixture files (does not commit).
inline void WriteFixture(TempRepo& repo, int chat_weight_small = 90) {
  repo.Write("models/small.yaml", ModelYaml("small", "http://127.0.0.1:9/v1"));
  repo.Write("models/large.yaml",
             ModelYaml("large", "http://127.0.0.1:9/v1", "0.0000025", "0.00001"));
  repo.Write("routes/chat.yaml", RouteYaml("chat", chat_weight_small));
  repo.Write("keys/search.yaml", KeyYaml("search"));
  repo.Write("budgets/search.yaml", BudgetYaml("search-monthly", "100.00"));
}

}  // namespace bursar::gitops::testing
