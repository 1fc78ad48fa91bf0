// libFuzzer target for what the ledger reads back after a crash: a spend log segment (framed
// lines, possibly torn or corrupt) and the JSON spend records inside it, full or compact (with
// context lines, spend_record.h). Reading must never crash or throw; only intact frames are
// delivered; every record that decodes must survive encode -> decode unchanged, in both forms;
// and each line (by the rules below) is delivered or counted skipped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ledger/spend_log.h"
#include "ledger/spend_record.h"

using bursar::ledger::DecodeSpendRecord;
using bursar::ledger::EncodeSpendLogLines;
using bursar::ledger::EncodeSpendRecord;
using bursar::ledger::SpendLog;
using bursar::ledger::SpendLogDecoder;
using bursar::ledger::SpendLogLines;
using bursar::ledger::SpendRecord;

namespace {

// A record survives the spend log's compact form: its context line and record line, read by a
// decoder that starts as a segment's does.
void CheckCompactRoundTrip(const SpendRecord& r) {
  SpendLogLines lines;
  EncodeSpendLogLines(r, &lines);
  SpendLogDecoder fresh;
  auto ctx = fresh.Decode(lines.context);
  if (!ctx.ok() || ctx->has_value()) std::abort();
  auto again = fresh.Decode(lines.record);
  if (!again.ok() || !again->has_value() || !(**again == r)) std::abort();
}

// How many lines ParseSegment must account for (delivered or skipped), from the format's rules
// (spend_log.h): NUL runs between lines are unused space and count for nothing; a line is up to
// its newline (a last line without one is torn: one skip); in a line holding a NUL, what comes
// before its last NUL is one cut-off append (one skip) and what follows is a line of its own.
size_t LinesToAccountFor(std::string_view rest) {
  size_t n = 0;
  for (;;) {
    size_t start = rest.find_first_not_of('\0');
    if (start == std::string_view::npos) return n;
    rest.remove_prefix(start);
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return n + 1;
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (size_t z = line.rfind('\0'); z != std::string_view::npos) {
      ++n;
      if (z + 1 == line.size()) continue;
      // The rest is a record only if it is a whole frame; otherwise it belongs to the cut one.
      std::string_view tail = line.substr(z + 1);
      if (SpendLog::Frame(tail.size() > 9 ? tail.substr(9) : "") != std::string(tail) + "\n") {
        continue;
      }
    }
    ++n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  SpendLogDecoder decoder;  // what replay uses: context lines, compact and full records
  auto check = [&bytes, &decoder](std::string_view payload) {
    // Only whole, intact frames are delivered.
    if (bytes.find(SpendLog::Frame(payload)) == std::string_view::npos) std::abort();
    auto r = DecodeSpendRecord(payload);
    if (r.ok()) {
      auto again = DecodeSpendRecord(EncodeSpendRecord(*r));
      if (!again.ok() || !(*again == *r)) std::abort();
    }
    auto d = decoder.Decode(payload);
    if (d.ok() && d->has_value()) CheckCompactRoundTrip(**d);
    return bursar::OkStatus();
  };
  auto stats = SpendLog::ParseSegment(bytes, check);
  if (!stats.ok()) std::abort();
  if (static_cast<size_t>(stats->records + stats->skipped) != LinesToAccountFor(bytes)) {
    std::abort();
  }
  // The bytes as one record too.
  auto r = DecodeSpendRecord(bytes);
  if (r.ok()) {
    auto again = DecodeSpendRecord(EncodeSpendRecord(*r));
    if (!again.ok() || !(*again == *r)) std::abort();
  }
  return 0;
}
