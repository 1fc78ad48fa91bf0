// Setup functions of the subcommands, one per *_cmd.cc file. See cli.h.
#pragma once

#include <string>

#include "cli/cli.h"

namespace bursar::cli {

Runner SetupVersion(CLI::App& sub);
Runner SetupServe(CLI::App& sub);
Runner SetupReport(CLI::App& sub);
Runner SetupValidate(CLI::App& sub);
Runner SetupDiff(CLI::App& sub);
Runner SetupCheck(CLI::App& sub);
Runner SetupRollback(CLI::App& sub);
Runner SetupHistory(CLI::App& sub);
Runner SetupDrift(CLI::App& sub);
Runner SetupImport(CLI::App& sub);
Runner SetupExport(CLI::App& sub);
Runner SetupForecast(CLI::App& sub);

// --repo (required: a Git repository or a URL to mirror) and --cache (the mirror folder), for
// the commands that compare revisions (diff, check).
void AddGitRepoOptions(CLI::App& sub, std::string* repo, std::string* cache);

}  // namespace bursar::cli
