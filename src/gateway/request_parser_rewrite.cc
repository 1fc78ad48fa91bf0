// RewriteRequestBody: validate with simdjson, find byte spans with a small scanner.
#include <algorithm>
#include <bit>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/swar.h"
#include "gateway/request_parser.h"
#include "gateway/request_parser_internal.h"

namespace bursar::gateway {
namespace {

namespace dom = simdjson::dom;
using dom::element;
using internal::AppendJsonString;
using internal::DomParser;

// Scanner over JSON text already validated by simdjson (so it need not check syntax).
bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipWs(std::string_view s, size_t i) {
  while (i < s.size() && IsWs(s[i])) ++i;
  return i;
}

// The high bit of each byte of `w` that is '"' or '\\' is set in the result, and no bit below
// the first such byte (a borrow only runs upwards), so its lowest set bit finds the first one.
uint64_t QuoteOrBackslashMask(uint64_t w) {
  return swar::EqualMask(w, '"') | swar::EqualMask(w, '\\');
}

// i at the opening quote; returns the index after the closing quote. Looks at 8 bytes at a time
// for the next quote or backslash.
size_t SkipString(std::string_view s, size_t i) {
  for (++i; i < s.size();) {
    if (i + 8 <= s.size()) {
      const uint64_t m = QuoteOrBackslashMask(swar::Load8(s.data() + i));
      if (m == 0) {
        i += 8;
        continue;
      }
      i += swar::FirstFlagged(m);
    }
    if (s[i] == '"') return i + 1;
    i += s[i] == '\\' ? 2 : 1;
  }
  return s.size();
}

// i at the first byte of a value; returns the index after it.
size_t SkipValue(std::string_view s, size_t i) {
  if (i >= s.size()) return i;
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = SkipString(s, i);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < s.size() && !IsWs(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
  return i;
}

struct Member;
// A JSON object's members, inline (no allocation) for up to 16.
using Members = boost::container::small_vector<Member, 16>;

struct Member {
  size_t key_begin;  // the key's text between its quotes (raw, escapes not undone)
  size_t key_end;
  size_t value_begin;
  size_t value_end;
};

// i at '{'; returns the members in document order and sets *end after the closing '}'.
Members ScanObject(std::string_view s, size_t i, size_t* end) {
  Members out;
  i = SkipWs(s, i + 1);
  while (i < s.size() && s[i] != '}') {
    const size_t key_begin = i + 1;
    const size_t key_end = SkipString(s, i) - 1;
    i = SkipWs(s, key_end + 1);  // ':'
    i = SkipWs(s, i + 1);
    const size_t begin = i;
    i = SkipValue(s, i);
    out.push_back({key_begin, key_end, begin, i});
    i = SkipWs(s, i);
    if (i < s.size() && s[i] == ',') i = SkipWs(s, i + 1);
  }
  *end = i + 1;
  return out;
}

}  // namespace

namespace {

struct Edit {
  size_t offset;
  size_t length;
  std::string text;
};

// The edits for one top-level member, given its (unescaped) key and, for stream_options, the
// members of its object value. `so_key(j)` is the j-th stream_options key, `so_is` tells
// whether the value is null or an object.
struct Rewriter {
  std::string_view body;
  std::string_view upstream_model;
  bool ensure_include_usage;
  std::vector<Edit> edits;
  bool have_model = false, have_stream_options = false;

  void Model(const Member& m) {
    std::string repl;
    AppendJsonString(&repl, upstream_model);
    edits.push_back({m.value_begin, m.value_end - m.value_begin, std::move(repl)});
    have_model = true;
  }
  // stream_options's value: null, or an object whose members and keys are given.
  template <typename KeyAt>
  void StreamOptions(const Member& m, bool is_null, const Members& so_members, KeyAt key_at) {
    have_stream_options = true;
    if (is_null) {
      edits.push_back({m.value_begin, m.value_end - m.value_begin, "{\"include_usage\":true}"});
      return;
    }
    bool found = false;
    for (size_t j = 0; j < so_members.size(); ++j) {
      const Member& sm = so_members[j];
      if (key_at(j) != "include_usage") continue;
      found = true;
      if (body.substr(sm.value_begin, sm.value_end - sm.value_begin) != "true") {
        edits.push_back({sm.value_begin, sm.value_end - sm.value_begin, "true"});
      }
    }
    if (!found) {
      edits.push_back({m.value_begin + 1, 0,
                       so_members.empty() ? "\"include_usage\":true" : "\"include_usage\":true,"});
    }
  }
  StatusOr<std::string> Finish(const Members& members, size_t top_end) {
    if (!have_model) return InvalidArgumentError("model: required field is missing");
    if (ensure_include_usage && !have_stream_options) {
      edits.push_back({top_end - 1, 0,
                       members.empty() ? "\"stream_options\":{\"include_usage\":true}"
                                       : ",\"stream_options\":{\"include_usage\":true}"});
    }
    std::sort(edits.begin(), edits.end(),
              [](const Edit& a, const Edit& b) { return a.offset < b.offset; });
    std::string out;
    out.reserve(body.size() + 64 + upstream_model.size());
    size_t pos = 0;
    for (const Edit& e : edits) {
      out.append(body.substr(pos, e.offset - pos));
      out.append(e.text);
      pos = e.offset + e.length;
    }
    out.append(body.substr(pos));
    return out;
  }
};

std::string_view RawKey(std::string_view body, const Member& m) {
  return body.substr(m.key_begin, m.key_end - m.key_begin);
}

// The rewrite from the scanner alone, for a body already validated as a JSON object; nullopt
// when a key it must read is escaped (then the DOM path unescapes it).
std::optional<StatusOr<std::string>> RewriteValidated(std::string_view body,
                                                      std::string_view upstream_model,
                                                      bool ensure_include_usage) {
  const size_t open = SkipWs(body, 0);
  if (open >= body.size() || body[open] != '{') return std::nullopt;
  size_t top_end = 0;
  const Members members = ScanObject(body, open, &top_end);
  Rewriter w{body, upstream_model, ensure_include_usage, {}};
  for (const Member& m : members) {
    if (RawKey(body, m).find('\\') != std::string_view::npos) return std::nullopt;
  }
  for (const Member& m : members) {
    std::string_view key = RawKey(body, m);
    if (key == "model") {
      w.Model(m);
    } else if (key == "stream_options" && ensure_include_usage) {
      const char first = body[m.value_begin];
      if (first != '{' && body.substr(m.value_begin, m.value_end - m.value_begin) != "null") {
        return StatusOr<std::string>(InvalidArgumentError("stream_options: expected an object"));
      }
      Members so_members;
      if (first == '{') {
        size_t so_end = 0;
        so_members = ScanObject(body, m.value_begin, &so_end);
        for (const Member& sm : so_members) {
          if (RawKey(body, sm).find('\\') != std::string_view::npos) return std::nullopt;
        }
      }
      w.StreamOptions(m, first != '{', so_members,
                      [&](size_t j) { return RawKey(body, so_members[j]); });
    }
  }
  return w.Finish(members, top_end);
}

}  // namespace

StatusOr<std::string> RewriteRequestBody(std::string_view body, std::string_view upstream_model,
                                         bool ensure_include_usage, bool validated) {
  if (body.size() > kMaxRequestBodyBytes) {
    return ResourceExhaustedError("body: " + std::to_string(body.size()) +
                                  " bytes exceeds the limit of " +
                                  std::to_string(kMaxRequestBodyBytes));
  }
  if (validated) {
    if (auto done = RewriteValidated(body, upstream_model, ensure_include_usage)) {
      return std::move(*done);
    }
  }
  // Validate (and read the keys, unescaped) with simdjson; then find the byte spans with a
  // scanner that may assume valid JSON (the DOM keeps no source offsets).
  DomParser parser;
  element doc;
  if (auto e = parser.Parse(body, &doc)) {
    return InvalidArgumentError(std::string("body: invalid JSON (") + simdjson::error_message(e) +
                                ")");
  }
  dom::object obj;
  if (doc.get_object().get(obj)) return InvalidArgumentError("body: expected an object");
  const size_t open = SkipWs(body, 0);
  if (open >= body.size() || body[open] != '{') {
    return InvalidArgumentError("body: expected a JSON object starting with '{'");
  }
  size_t top_end = 0;
  const Members members = ScanObject(body, open, &top_end);
  if (members.size() != obj.size()) return InternalError("body: scanner and parser disagree");
  Rewriter w{body, upstream_model, ensure_include_usage, {}};
  size_t k = 0;
  for (dom::key_value_pair field : obj) {
    const Member& m = members[k++];
    if (field.key == "model") {
      w.Model(m);
    } else if (field.key == "stream_options" && ensure_include_usage) {
      if (field.value.is_null()) {
        w.StreamOptions(m, true, {}, [](size_t) { return std::string_view(); });
        continue;
      }
      dom::object so;
      if (field.value.get_object().get(so)) {
        return InvalidArgumentError("stream_options: expected an object");
      }
      size_t so_end = 0;
      const Members so_members = ScanObject(body, m.value_begin, &so_end);
      if (so_members.size() != so.size()) {
        return InternalError("stream_options: scanner and parser disagree");
      }
      std::vector<std::string_view> so_keys;
      for (dom::key_value_pair sf : so) so_keys.push_back(sf.key);
      w.StreamOptions(m, false, so_members, [&](size_t j) { return so_keys[j]; });
    }
  }
  return w.Finish(members, top_end);
}

}  // namespace bursar::gateway
