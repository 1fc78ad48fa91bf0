// libFuzzer target for what the ledger reads back after a crash: a spend log segment (framed
// lines, possibly torn or corrupt) and the JSON spend records inside it. Reading must never
// crash or throw; every record that decodes must survive encode -> decode unchanged; and a line
// is either delivered or counted as skipped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ledger/spend_log.h"
#include "ledger/spend_record.h"

using bursar::ledger::DecodeSpendRecord;
using bursar::ledger::EncodeSpendRecord;
using bursar::ledger::SpendLog;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto check = [](std::string_view payload) {
    auto r = DecodeSpendRecord(payload);
    if (r.ok()) {
      auto again = DecodeSpendRecord(EncodeSpendRecord(*r));
      if (!again.ok() || !(*again == *r)) std::abort();
    }
    return bursar::OkStatus();
  };
  auto stats = SpendLog::ParseSegment(bytes, check);
  if (!stats.ok()) std::abort();
  size_t lines = 0;
  for (char c : bytes) lines += c == '\n';
  if (!bytes.empty() && bytes.back() != '\n') ++lines;
  if (static_cast<size_t>(stats->records + stats->skipped) != lines) std::abort();
  // The bytes as one record too.
  check(bytes);
  return 0;
}
