// bursar: a thin main over the library; everything lives in cli/.
#include "cli/cli.h"

int main(int argc, char** argv) { return bursar::cli::Main(argc, argv); }
