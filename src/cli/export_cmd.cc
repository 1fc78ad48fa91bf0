// bursar export focus [--data DIR_OR_URL] [--since T] [--until T] [-o FILE]
//
// Writes the gateway's metered spend as FOCUS 1.2 CSV rows (finops/focus_export.h), one per hour
// and (route, model, key, commit, tags), to FILE or standard output. Exit 0 ok; 2 bad options or
// database errors.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "finops/exact.h"
#include "finops/focus_export.h"
#include "ledger/store.h"

namespace bursar::cli {
namespace {

struct ExportFocusOptions {
  std::string data;
  std::string since, until, out;
  std::string provider = "bursar";
};

int RunExportFocus(const ExportFocusOptions& opt) {
  finops::ExportOptions options;
  options.provider = opt.provider;
  for (auto [text, slot] :
       {std::pair{&opt.since, &options.since_us}, std::pair{&opt.until, &options.until_us}}) {
    if (text->empty()) continue;
    int64_t t;
    if (!finops::ParseTimestamp(*text, &t)) {
      std::fprintf(stderr, "bursar export focus: \"%s\" is not a date or RFC 3339 time\n",
                   text->c_str());
      return kExitUsage;
    }
    *slot = t;
  }
  auto store = ledger::Store::Open(opt.data);
  if (!store.ok()) {
    std::fprintf(stderr, "bursar export focus: %s\n", store.status().ToString().c_str());
    return kExitUsage;
  }
  FILE* f = stdout;
  if (!opt.out.empty() && opt.out != "-") {
    f = std::fopen(opt.out.c_str(), "wb");
    if (f == nullptr) {
      std::fprintf(stderr, "bursar export focus: cannot write %s\n", opt.out.c_str());
      return kExitUsage;
    }
  }
  auto rows = finops::ExportGatewayFocus((*store)->db(), options, [f](std::string_view chunk) {
    if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) {
      return UnavailableError("write failed");
    }
    return OkStatus();
  });
  bool closed = f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0;
  if (!rows.ok() || !closed) {
    std::fprintf(stderr, "bursar export focus: %s\n",
                 rows.ok() ? "write failed" : rows.status().ToString().c_str());
    return kExitUsage;
  }
  if (f != stdout) {
    std::fprintf(stderr, "wrote %lld FOCUS 1.2 rows to %s\n", static_cast<long long>(*rows),
                 opt.out.c_str());
  }
  return kExitOk;
}

std::string DefaultDataDir() {
  const char* env = std::getenv("BURSAR_DATA");
  return env && *env ? env : "bursar-data";
}

}  // namespace

Runner SetupExport(CLI::App& sub) {
  sub.require_subcommand(1);
  auto opt = std::make_shared<ExportFocusOptions>();
  opt->data = DefaultDataDir();
  CLI::App* focus = sub.add_subcommand("focus", "Write gateway spend as FOCUS 1.2 CSV rows");
  focus->add_option("--data", opt->data,
                    "Data folder (its ledger.db), sqlite:FILE, or a postgres:// URL "
                    "(default $BURSAR_DATA or ./bursar-data)");
  focus->add_option("--since", opt->since, "First hour to export (date or RFC 3339, inclusive)");
  focus->add_option("--until", opt->until, "End of the export (date or RFC 3339, exclusive)");
  focus->add_option("-o,--out", opt->out, "Output file (default standard output)");
  focus->add_option("--provider", opt->provider,
                    "ProviderName / InvoiceIssuerName to write (default bursar)");
  focus->footer(
      "One row per hour and (route, model, API key, commit, tags): ServiceCategory \"AI and "
      "Machine Learning\", ServiceName = route, SkuId = model, Tags = the key's tags, costs as "
      "exact decimals, tokens as ConsumedQuantity, x_Commit and x_Requests columns. Exit codes: "
      "0 ok; 2 bad options or a database error.");
  return [opt] { return RunExportFocus(*opt); };
}

}  // namespace bursar::cli
