// bursar import focus FILE [--data DIR_OR_URL] [--skip-bad-rows] [--output table|json]
//
// Imports a FOCUS 1.0/1.1/1.2 CSV cloud bill (plain or gzip) into the ledger database in one
// transaction (finops/focus_store.h). A bad row rejects the whole file (exit 2, "FILE:LINE:
// column C: ..."), unless --skip-bad-rows, which loads the rest and lists what was skipped.
// Importing the same content again changes nothing. Exit 0 ok; 2 input or database errors.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "finops/focus_store.h"
#include "ledger/db.h"

namespace bursar::cli {
namespace {

struct ImportFocusOptions {
  std::string file;
  std::string data;
  bool skip_bad_rows = false;
  std::string output = "table";
};

int RunImportFocus(const ImportFocusOptions& opt) {
  auto db = ledger::OpenDatabase(opt.data);
  if (!db.ok()) {
    std::fprintf(stderr, "bursar import focus: %s\n", db.status().ToString().c_str());
    return kExitUsage;
  }
  finops::ImportOptions options;
  options.skip_bad_rows = opt.skip_bad_rows;
  auto result = finops::ImportFocusFile(**db, opt.file, options);
  if (!result.ok()) {
    std::fprintf(stderr, "bursar import focus: %s\n", result.status().message().c_str());
    std::fprintf(stderr, "bursar import focus: nothing was imported\n");
    return kExitUsage;
  }
  const auto& r = *result;
  if (opt.output == "json") {
    nlohmann::json j = {{"file", opt.file},
                        {"database", (*db)->display_url()},
                        {"alreadyImported", r.already_imported},
                        {"importId", r.import_id},
                        {"sha256", r.sha256},
                        {"focusVersion", std::string(finops::ToString(r.version))},
                        {"rows", r.rows},
                        {"skipped", r.skipped},
                        {"billedCost", finops::FormatPicos(r.billed_cost, 2)}};
    nlohmann::json skipped = nlohmann::json::array();
    for (const auto& s : r.skipped_rows) skipped.push_back({{"line", s.line}, {"error", s.error}});
    j["skippedRows"] = skipped;
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  if (r.already_imported) {
    std::printf("%s: already imported (import #%lld, sha256 %s); nothing changed\n",
                opt.file.c_str(), static_cast<long long>(r.import_id), r.sha256.c_str());
    return kExitOk;
  }
  for (const auto& s : r.skipped_rows) std::fprintf(stderr, "skipped %s\n", s.error.c_str());
  if (r.skipped > static_cast<int64_t>(r.skipped_rows.size())) {
    std::fprintf(stderr, "... and %lld more skipped rows\n",
                 static_cast<long long>(r.skipped - r.skipped_rows.size()));
  }
  std::printf(
      "imported %lld rows (FOCUS %s) from %s into %s as import #%lld; skipped %lld; "
      "billed total %s\n",
      static_cast<long long>(r.rows), std::string(finops::ToString(r.version)).c_str(),
      opt.file.c_str(), (*db)->display_url().c_str(), static_cast<long long>(r.import_id),
      static_cast<long long>(r.skipped), finops::FormatPicos(r.billed_cost, 2).c_str());
  return kExitOk;
}

std::string DefaultDataDir() {
  const char* env = std::getenv("BURSAR_DATA");
  return env && *env ? env : "bursar-data";
}

}  // namespace

Runner SetupImport(CLI::App& sub) {
  sub.require_subcommand(1);
  auto opt = std::make_shared<ImportFocusOptions>();
  opt->data = DefaultDataDir();
  CLI::App* focus = sub.add_subcommand("focus", "Import a FOCUS 1.0-1.2 CSV cloud bill (or .gz)");
  focus->add_option("FILE", opt->file, "FOCUS CSV file, plain or gzip")->required();
  focus->add_option("--data", opt->data,
                    "Data folder (its ledger.db), sqlite:FILE, or a postgres:// URL "
                    "(default $BURSAR_DATA or ./bursar-data)");
  focus->add_flag("--skip-bad-rows", opt->skip_bad_rows,
                  "Load the good rows and list the bad ones instead of rejecting the file");
  focus->add_option("--output", opt->output, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  focus->footer(
      "Header-driven (any column order; optional columns may be missing); the version is "
      "detected from the columns. Costs are stored exactly. Re-importing the same content "
      "changes nothing. Exit codes: 0 ok; 2 a bad row (FILE:LINE: column C: ...), a bad header, "
      "or a database error, and then nothing is written.");
  return [opt] { return RunImportFocus(*opt); };
}

}  // namespace bursar::cli
