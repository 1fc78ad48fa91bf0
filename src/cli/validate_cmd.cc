// bursar validate --repo PATH [--rev REV] [--output table|json]
//
// Loads and validates the desired state of a Git repository at a revision (libgit2, no
// checkout) or of a plain directory. Exit 0 with a one-line summary; exit 2 with every error as
// "file:line:column: message" on stderr.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "config/loader.h"
#include "gitops/git_source.h"

namespace bursar::cli {
namespace {

struct ValidateOptions {
  std::string repo;
  std::string rev;
  std::string output = "table";
};

std::string Count(size_t n, const char* singular, const char* plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

int RunValidate(const ValidateOptions& opt) {
  auto read = gitops::ReadRepository(opt.repo, opt.rev);
  if (!read.ok()) {
    std::fprintf(stderr, "bursar validate: %s\n", read.status().message().c_str());
    return kExitUsage;
  }
  config::LoadResult loaded = config::LoadDesiredState(read->files);
  std::string where = opt.repo;
  if (read->is_git) {
    where +=
        " at " + read->commit.substr(0, 12) + " (" + (opt.rev.empty() ? "HEAD" : opt.rev) + ")";
  }
  bool ok = loaded.diagnostics.empty() && loaded.state != nullptr;

  if (opt.output == "json") {
    nlohmann::json j;
    j["repo"] = opt.repo;
    j["revision"] = read->commit;
    j["valid"] = ok;
    j["files"] = read->files.size();
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& d : loaded.diagnostics) {
      errors.push_back({{"file", d.where.file},
                        {"line", d.where.line},
                        {"column", d.where.column},
                        {"message", d.message}});
    }
    j["errors"] = std::move(errors);
    if (ok) {
      const config::DesiredState& s = *loaded.state;
      j["counts"] = {{"Model", s.models.size()},
                     {"Route", s.routes.size()},
                     {"ApiKey", s.api_keys.size()},
                     {"Budget", s.budgets.size()},
                     {"AlertPolicy", s.alert_policies.size()},
                     {"Remediation", s.remediations.size()},
                     {"PriceCatalog", s.price_catalogs.size()},
                     {"Workload", s.workloads.size()}};
    }
    std::printf("%s\n", j.dump(2).c_str());
  }

  if (!loaded.diagnostics.empty()) {
    for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    std::fprintf(stderr, "%s: invalid — %s\n", where.c_str(),
                 Count(loaded.diagnostics.size(), "error", "errors").c_str());
    return kExitUsage;
  }
  if (loaded.state == nullptr) {
    std::fprintf(stderr, "%s: the loader returned no desired state and no error\n", where.c_str());
    return kExitUsage;
  }
  if (opt.output == "json") return kExitOk;
  const config::DesiredState& s = *loaded.state;
  std::printf("%s: valid — %s, %s, %s, %s, %s, %s, %s, %s (%s)\n", where.c_str(),
              Count(s.models.size(), "model", "models").c_str(),
              Count(s.routes.size(), "route", "routes").c_str(),
              Count(s.api_keys.size(), "API key", "API keys").c_str(),
              Count(s.budgets.size(), "budget", "budgets").c_str(),
              Count(s.alert_policies.size(), "alert policy", "alert policies").c_str(),
              Count(s.remediations.size(), "remediation", "remediations").c_str(),
              Count(s.price_catalogs.size(), "price catalog", "price catalogs").c_str(),
              Count(s.workloads.size(), "workload", "workloads").c_str(),
              Count(read->files.size(), "file", "files").c_str());
  return kExitOk;
}

}  // namespace

Runner SetupValidate(CLI::App& sub) {
  auto opt = std::make_shared<ValidateOptions>();
  sub.add_option("--repo", opt->repo,
                 "Git repository (read at --rev without checkout), a URL to mirror (file://, "
                 "https://, ssh://; cached in ~/.cache/bursar/git), or a plain directory")
      ->required();
  sub.add_option("--rev", opt->rev, "Revision of a Git repository (default HEAD)");
  sub.add_option("--output", opt->output, "table or json")->check(CLI::IsMember({"table", "json"}));
  sub.footer(
      "Exit codes: 0 valid; 2 invalid (each error as file:line:column: message on stderr), or "
      "a repository or revision that cannot be read.");
  return [opt] { return RunValidate(*opt); };
}

}  // namespace bursar::cli
