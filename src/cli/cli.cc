#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"

namespace bursar::cli {
namespace {

// The table of subcommands; keep it sorted by how often people use them.
constexpr Command kCommands[] = {
    {"serve", "Run the gateway on the configuration at a repository's HEAD", SetupServe},
    {"validate", "Validate a desired-state repository at a revision", SetupValidate},
    {"diff", "Resources added, removed and changed between two revisions", SetupDiff},
    {"check", "Monthly cost of a change (base -> head) and budget policy, for CI", SetupCheck},
    {"rollback", "Undo changes by writing a revert commit (and pushing it)", SetupRollback},
    {"history", "Sync history: commits applied or refused by the server", SetupHistory},
    {"drift", "How the live state differs from Git (emergency overrides)", SetupDrift},
    {"report", "Spend by key, team, route, model, commit or any tag", SetupReport},
    {"import", "Import a cloud bill: bursar import focus FILE (FOCUS 1.0-1.2 CSV)", SetupImport},
    {"export", "Export gateway spend: bursar export focus (FOCUS 1.2 CSV)", SetupExport},
    {"forecast", "Project each budget's period-end spend and the day it is exceeded",
     SetupForecast},
    {"version", "Print bursar's version", SetupVersion},
};

}  // namespace

void AddGitRepoOptions(CLI::App& sub, std::string* repo, std::string* cache) {
  sub.add_option("--repo", *repo,
                 "Git repository (work tree or bare), or a URL (file://, https://, ssh://) to "
                 "mirror and fetch")
      ->required();
  sub.add_option("--cache", *cache,
                 "Mirror folder for a URL (default ~/.cache/bursar/git/<hash of the URL>)");
}

int Main(int argc, char** argv) {
  CLI::App app{
      "bursar: multimodal AI inference on a budget, with Git as the single source of truth.",
      "bursar"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  Runner chosen;
  for (const Command& command : kCommands) {
    CLI::App* sub = app.add_subcommand(command.name, command.summary);
    Runner runner = command.setup(*sub);
    sub->callback([&chosen, runner] { chosen = runner; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return chosen ? chosen() : kExitUsage;
}

}  // namespace bursar::cli
