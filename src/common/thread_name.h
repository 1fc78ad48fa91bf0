// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it (Linux keeps 15 bytes; a
// longer name is cut). bursar's threads: bursar-gw-N (gateway workers), bursar-ledger (the spend
// ledger writer), bursar-sync (Git sync), bursar-drift (drift checks).
#pragma once

#include <string>
#include <string_view>

namespace bursar {

void SetThreadName(std::string_view name);
// The calling thread's name ("" if it cannot be read).
std::string ThreadName();

}  // namespace bursar
