#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"

#ifndef BURSAR_VERSION
#define BURSAR_VERSION "0.0.0"
#endif

namespace bursar::cli {

Runner SetupVersion(CLI::App& sub) {
  return [] {
    std::printf("bursar %s\n", BURSAR_VERSION);
    return kExitOk;
  };
}

}  // namespace bursar::cli
