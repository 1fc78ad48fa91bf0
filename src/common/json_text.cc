#include "common/json_text.h"

#include <bit>
#include <cstdint>
#include <cstring>

#include "common/swar.h"

namespace bursar {

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&s](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
  for (size_t k = 1; k < len; ++k) cp = cp << 6 | (b(i + k) & 0x3f);
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return len;
}

namespace {

// The high bit of each byte of `w` that is below 0x20, '"', '\\' or 0x80 and above (the bytes
// the loop below must look at one by one). No bit is set below the first such byte (a borrow
// only runs upwards), so the lowest set bit finds it.
uint64_t SpecialMask(uint64_t w) {
  return swar::BelowMask(w, 0x20) | swar::EqualMask(w, '"') | swar::EqualMask(w, '\\') |
         swar::HighMask(w);
}

}  // namespace

void AppendJsonEscaped(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t plain = 0;  // start of the run of bytes that need no escaping
  for (size_t i = 0; i < s.size();) {
    while (i + 8 <= s.size()) {  // plain ASCII, 8 bytes at a time, up to the first special byte
      const uint64_t m = SpecialMask(swar::Load8(s.data() + i));
      if (m != 0) {
        i += swar::FirstFlagged(m);
        break;
      }
      i += 8;
    }
    if (i == s.size()) break;
    const auto u = static_cast<uint8_t>(s[i]);
    if (u >= 0x20 && u < 0x80 && u != '"' && u != '\\') {
      ++i;
      continue;
    }
    if (u >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n > 0) {
        i += n;
        continue;
      }
    }
    out->append(s.data() + plain, i - plain);
    switch (u) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (u < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 15]);
        } else {
          out->append("\xEF\xBF\xBD");  // invalid UTF-8 byte: U+FFFD
        }
    }
    plain = ++i;
  }
  out->append(s.data() + plain, s.size() - plain);
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  AppendJsonEscaped(out, s);
  out->push_back('"');
}

}  // namespace bursar
