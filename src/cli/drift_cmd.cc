// bursar drift --data DIR [--all] [--output table|json]
//
// Reports how the live state of `bursar serve` differs from Git: the emergency overrides made
// through the admin API (POST /admin/overrides) that are still active, each with its field-level
// difference (Git's value -> the live value), read from the ledger where the server persists
// them. The running server answers the same at GET /api/drift. Exit 0 when the live state equals
// Git, 1 when it drifts (a finding), 2 when the data folder or database cannot be read.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "gitops/drift_controller.h"
#include "gitops/sync_history.h"
#include "ledger/db.h"

namespace bursar::cli {
namespace {

struct DriftOptions {
  std::string data;
  bool all = false;
  std::string output = "table";
};

int RunDrift(const DriftOptions& opt) {
  bool plain_dir = !ledger::IsPostgresUrl(opt.data) && opt.data.rfind("sqlite:", 0) != 0;
  if (plain_dir && !std::filesystem::is_directory(opt.data)) {
    std::fprintf(stderr, "bursar drift: %s is not a data folder\n", opt.data.c_str());
    return kExitUsage;
  }
  auto store = gitops::OverrideStore::Open(opt.data);
  if (!store.ok()) {
    std::fprintf(stderr, "bursar drift: %s\n", store.status().ToString().c_str());
    return kExitUsage;
  }
  auto overrides = (*store)->List(/*active_only=*/!opt.all, 1000);
  if (!overrides.ok()) {
    std::fprintf(stderr, "bursar drift: %s\n", overrides.status().ToString().c_str());
    return kExitUsage;
  }
  int active = 0;
  nlohmann::json entries = nlohmann::json::array();
  for (const gitops::Override& o : *overrides) {
    if (o.state != gitops::OverrideState::kActive) continue;
    ++active;
    auto fields = (*store)->Fields(o.id);
    if (!fields.ok()) {
      std::fprintf(stderr, "bursar drift: %s\n", fields.status().ToString().c_str());
      return kExitUsage;
    }
    nlohmann::json f = nlohmann::json::parse(*fields, nullptr, false);
    entries.push_back({{"override", nlohmann::json::parse(gitops::OverrideToJson(o))},
                       {"fields", f.is_array() ? f : nlohmann::json::array()}});
  }
  if (opt.output == "json") {
    nlohmann::json j;
    j["drifted"] = active > 0;
    j["entries"] = entries;
    if (opt.all) {
      nlohmann::json all = nlohmann::json::array();
      for (const auto& o : *overrides) all.push_back(nlohmann::json::parse(OverrideToJson(o)));
      j["overrides"] = all;
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    if (active == 0) std::printf("no drift: the live state equals Git\n");
    for (const auto& e : entries) {
      const auto& o = e["override"];
      std::printf("~ override #%lld %s %s by %s at %s: %s\n",
                  static_cast<long long>(o["id"].get<int64_t>()),
                  o["kind"].get<std::string>().c_str(), o["target"].get<std::string>().c_str(),
                  o["actor"].get<std::string>().c_str(), o["createdAt"].get<std::string>().c_str(),
                  o["reason"].get<std::string>().c_str());
      for (const auto& f : e["fields"]) {
        std::printf("    %s %s: %s (git) -> %s (live)  [%s]\n", f.value("resource", "").c_str(),
                    f.value("path", "").c_str(), f.value("git", "").c_str(),
                    f.value("live", "").c_str(), f.value("file", "").c_str());
      }
      if (!o["note"].get<std::string>().empty()) {
        std::printf("    note: %s\n", o["note"].get<std::string>().c_str());
      }
    }
    if (opt.all) {
      for (const auto& o : *overrides) {
        if (o.state == gitops::OverrideState::kActive) continue;
        std::printf("  override #%lld %s %s: %s at %s%s%s\n", static_cast<long long>(o.id),
                    std::string(gitops::ToString(o.kind)).c_str(), o.target.c_str(),
                    std::string(gitops::ToString(o.state)).c_str(),
                    gitops::FormatUnixMicros(o.closed_at_us).c_str(), o.note.empty() ? "" : " - ",
                    o.note.c_str());
      }
    }
  }
  return active > 0 ? kExitFinding : kExitOk;
}

}  // namespace

Runner SetupDrift(CLI::App& sub) {
  auto opt = std::make_shared<DriftOptions>();
  sub.add_option("--data", opt->data,
                 "Data folder of `bursar serve` (its ledger.db), or a postgres:// URL")
      ->required();
  sub.add_flag("--all", opt->all, "Also list overrides already healed, committed or reverted");
  sub.add_option("--output", opt->output, "table or json")->check(CLI::IsMember({"table", "json"}));
  sub.footer(
      "Emergency overrides (POST /admin/overrides on the server) that make the live state differ "
      "from Git, field by field. The server's drift policy (--drift-policy) heals them after a "
      "grace period or commits them to Git. Exit codes: 0 no drift; 1 the live state drifts "
      "from Git; 2 the data folder or database cannot be read.");
  return [opt] { return RunDrift(*opt); };
}

}  // namespace bursar::cli
