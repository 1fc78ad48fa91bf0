// One metered request: what the gateway writes to the spend ledger for every request it served
// (or refused after reaching an upstream), self-describing enough to be re-priced or audited later.
//
// A SpendRecord is a plain value. request_id is unique across the ledger: writing the same id
// twice (a log replay) stores it once. Times are unix microseconds (UTC). Money is exact: cost and
// saved amounts in micro-units of `currency` (common/money.h), the applied unit prices in
// pico-units inside `price`.
//
// EncodeSpendRecord/DecodeSpendRecord give the one-line JSON form used by the spend log
// (ledger/spend_log.h) and by exports; decoding rejects (InvalidArgument) malformed JSON, wrong
// types and a missing request_id. Unknown fields are ignored so older binaries can read newer logs.
// Thread safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/money.h"
#include "common/status.h"

namespace bursar::ledger {

// Raw usage by modality, as the upstream reported it (or as estimated when it did not).
struct Usage {
  int64_t prompt_tokens = 0;        // all input tokens, including cached/image/audio tokens
  int64_t cached_tokens = 0;        // of prompt_tokens, read from the upstream's prompt cache
  int64_t completion_tokens = 0;    // all output tokens, including reasoning/audio tokens
  int64_t reasoning_tokens = 0;     // of completion_tokens
  int64_t image_tokens = 0;         // of prompt_tokens, from image inputs
  int64_t images = 0;               // number of input images
  int64_t audio_input_tokens = 0;   // of prompt_tokens, from audio inputs
  int64_t audio_output_tokens = 0;  // of completion_tokens, audio output
  int64_t audio_millis = 0;         // duration of audio input, milliseconds

  friend bool operator==(const Usage&, const Usage&) = default;
};

struct SpendRecord {
  std::string request_id;                   // unique; the gateway's x-request-id
  int64_t time_us = 0;                      // when the request arrived, unix micros UTC
  std::string key_name;                     // ApiKey metadata.name ("" when unauthenticated)
  std::map<std::string, std::string> tags;  // the key's tags (team, app, env, ...)
  std::string route;                        // Route name the client asked for (after downgrade)
  std::string model;                        // target Model name that served it
  std::string upstream_model;               // id sent upstream
  std::string commit;                       // Git commit of the configuration that served it
  Usage usage;
  // Unit prices applied, pico-units per unit, compact JSON object with LiteLLM field names and
  // only non-zero prices, e.g. {"input_cost_per_token":150000,"output_cost_per_token":600000}.
  std::string price;
  Micros cost_micros = 0;   // what the request cost (0 on a cache hit)
  Micros saved_micros = 0;  // what a cache hit saved (the cost it would have had)
  std::string currency = "USD";
  int64_t latency_us = 0;  // arrival to last byte sent
  int status = 200;        // HTTP status returned to the client
  bool cache_hit = false;
  std::string downgraded_from;  // the route asked for, when a budget downgraded it; else ""

  friend bool operator==(const SpendRecord&, const SpendRecord&) = default;
};

// One line of JSON, no trailing newline, keys in a fixed order. Never fails.
std::string EncodeSpendRecord(const SpendRecord& record);

// Parses what EncodeSpendRecord wrote.
StatusOr<SpendRecord> DecodeSpendRecord(std::string_view json);

// The spend log's compact form. A gateway thread's records repeat the configuration's fields
// (key, tags, route, model, upstream_model, commit, price, currency) in long runs, and those are
// most of a record's bytes, so the log holds them once in a context line
//   {"ctx":N,"key":...,"tags":{...},...,"currency":"USD"}
// and each record line carries "ctx":N in their place (otherwise EncodeSpendRecord's line).
// N is unique within the process; SpendLog::Append writes the context line into a segment before
// the first record line there that refers to it, so a segment can be read on its own. Each thread
// keeps its last kSpendLogContextsPerThread sets of fields, so a worker that serves a few keys in
// turn reuses their contexts.
inline constexpr size_t kSpendLogContextsPerThread = 8;
struct SpendLogLines {
  uint64_t context_id = 0;   // N
  std::string_view context;  // the context line; valid until this thread's next call
  std::string record;        // the record line
};
// Encodes `record` for the spend log. Uses this thread's cache of the configuration's fields.
void EncodeSpendLogLines(const SpendRecord& record, SpendLogLines* out);

// Reads the payloads of one spend log segment in order: context lines, compact record lines and
// full ones (EncodeSpendRecord's, as older builds wrote them).
class SpendLogDecoder {
 public:
  // The record, or nullopt for a context line (kept for the lines after it). InvalidArgument
  // for a malformed line, or a record line whose context was not read before it.
  StatusOr<std::optional<SpendRecord>> Decode(std::string_view payload);

 private:
  std::unordered_map<uint64_t, SpendRecord> contexts_;
};

// Makes every text field (and tag) valid UTF-8 without NUL bytes, which PostgreSQL requires and
// JSON needs: invalid bytes become U+FFFD, NULs are dropped. Returns true if anything changed.
// The store applies it to every record it inserts, so a client's odd request id cannot poison a
// batch.
bool SanitizeSpendRecord(SpendRecord* record);
// True when SanitizeSpendRecord would change nothing (no copy needed).
bool SpendRecordIsClean(const SpendRecord& record);
// The same, given `clean`, a record known to be clean: when `record` has clean's configuration
// texts and tags (a key's requests come in runs), only its request id is checked.
bool SpendRecordIsClean(const SpendRecord& record, const SpendRecord& clean);

// Canonical JSON of a tag map ({"app":"x","team":"y"}, keys sorted): equal maps give equal text.
std::string CanonicalTagsJson(const std::map<std::string, std::string>& tags);

}  // namespace bursar::ledger
