// Writing JSON text by hand, for the hot paths that must not build a DOM (the spend log line, the
// rewritten request body, error bodies): string escaping and UTF-8 checks.
//
// AppendJsonString writes `s` as a JSON string (with the quotes); AppendJsonEscaped writes only
// the escaped contents. Both always produce valid JSON: '"', '\\' and control characters are
// escaped (\n, \r, \t by name, the rest as \u00XX), and every byte that is not part of a valid
// UTF-8 sequence becomes U+FFFD, as nlohmann::json's error_handler_t::replace does.
// Utf8SequenceLength gives the length of the valid sequence starting at s[i], or 0 (overlong
// forms, surrogates and code points past U+10FFFF are invalid).
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bursar {

void AppendJsonEscaped(std::string* out, std::string_view s);
void AppendJsonString(std::string* out, std::string_view s);

size_t Utf8SequenceLength(std::string_view s, size_t i);

}  // namespace bursar
