// Private to request_parser*.cc: the simdjson DOM parser wrapper and JSON string escaping.
// Threads: DomParser uses a per-thread simdjson parser and buffer; one parse at a time a thread.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/json_text.h"

namespace bursar::gateway::internal {

// Parses into a DOM with the runtime-dispatched (SIMD) kernel; validates the whole document.
// The ondemand API is not used: in a portable build it runs simdjson's fallback kernel (about
// 6x slower here) and does not validate the parts it skips.
class DomParser {
 public:
  // The element stays valid until the next Parse on this thread or this object's end.
  simdjson::error_code Parse(std::string_view body, simdjson::dom::element* out);

 private:
  std::unique_ptr<simdjson::dom::parser> big_;
  std::string big_buf_;
};

// Appends `s` as a JSON string literal (common/json_text.h).
using bursar::AppendJsonString;

}  // namespace bursar::gateway::internal
