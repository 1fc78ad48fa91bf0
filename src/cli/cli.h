// The command line: one table of subcommands (cli/cli.cc), each in its own *_cmd.cc file.
//
// Exit codes: 0 success, 1 a finding that should fail CI (budget breach in `check`),
// 2 usage or input errors (with the message on stderr).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace bursar::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFinding = 1;
inline constexpr int kExitUsage = 2;

// A subcommand: Setup adds its options to `sub` and returns what runs it after parsing.
using Runner = std::function<int()>;
struct Command {
  const char* name;
  const char* summary;
  Runner (*setup)(CLI::App& sub);
};

int Main(int argc, char** argv);

}  // namespace bursar::cli
