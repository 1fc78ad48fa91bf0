// bursar history --data DIR [--limit N] [--output table|json]
//
// Prints the sync history kept in the ledger by `bursar serve`: every commit the syncer saw,
// newest first, with who wrote it, when it was seen, whether it was applied or refused (and the
// errors, file:line:column), and how long the sync took. Exit 0; 2 when the data folder or
// database cannot be opened.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "gitops/sync_history.h"
#include "ledger/db.h"

namespace bursar::cli {
namespace {

struct HistoryOptions {
  std::string data;
  size_t limit = 50;
  std::string output = "table";
};

int RunHistory(const HistoryOptions& opt) {
  bool plain_dir = !ledger::IsPostgresUrl(opt.data) && opt.data.rfind("sqlite:", 0) != 0;
  if (plain_dir && !std::filesystem::is_directory(opt.data)) {
    std::fprintf(stderr, "bursar history: %s is not a data folder\n", opt.data.c_str());
    return kExitUsage;
  }
  auto history = gitops::SyncHistory::Open(opt.data);
  if (!history.ok()) {
    std::fprintf(stderr, "bursar history: %s\n", history.status().ToString().c_str());
    return kExitUsage;
  }
  auto rows = (*history)->List(opt.limit);
  if (!rows.ok()) {
    std::fprintf(stderr, "bursar history: %s\n", rows.status().ToString().c_str());
    return kExitUsage;
  }
  std::string text =
      opt.output == "json" ? gitops::FormatHistoryJson(*rows) : gitops::FormatHistoryTable(*rows);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace

Runner SetupHistory(CLI::App& sub) {
  auto opt = std::make_shared<HistoryOptions>();
  sub.add_option("--data", opt->data,
                 "Data folder of `bursar serve` (its ledger.db), or a postgres:// URL")
      ->required();
  sub.add_option("--limit", opt->limit, "Most recent syncs to show (default 50)")
      ->check(CLI::PositiveNumber);
  sub.add_option("--output", opt->output, "table or json")->check(CLI::IsMember({"table", "json"}));
  sub.footer(
      "Every commit the server's syncer saw, newest first: applied, refused (with each error as "
      "file:line:column: message) or failed (retried). Exit codes: 0 ok; 2 the data folder or "
      "database cannot be opened.");
  return [opt] { return RunHistory(*opt); };
}

}  // namespace bursar::cli
