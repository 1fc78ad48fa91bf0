#include "common/money.h"

#include <limits>
#include <string>

namespace bursar {
namespace {

// Parses into digits/exponent then scales. `round` decides what happens to excess precision.
StatusOr<int64_t> Parse(std::string_view text, int scale_digits, bool round) {
  std::string_view original = text;
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("invalid decimal \"" + std::string(original) +
                                "\": " + std::string(why));
  };
  if (text.empty()) return bad("empty");
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  std::string digits;  // significant digits without the point
  int exponent = 0;    // value = digits * 10^exponent
  bool seen_point = false, seen_digit = false;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      seen_digit = true;
      if (digits.empty() && c == '0') {
        if (seen_point) --exponent;
        continue;
      }
      digits.push_back(c);
      if (seen_point) --exponent;
      if (digits.size() > 60) return bad("too many digits");
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!seen_digit) return bad("no digits");
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') return bad("unexpected character");
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      exp_negative = text[i] == '-';
      ++i;
    }
    if (i >= text.size()) return bad("missing exponent");
    int e = 0;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (c < '0' || c > '9') return bad("unexpected character in exponent");
      e = e * 10 + (c - '0');
      if (e > 400) return bad("exponent out of range");
    }
    exponent += exp_negative ? -e : e;
  }
  // value * 10^scale = digits * 10^(exponent + scale)
  int shift = exponent + scale_digits;
  if (digits.empty()) return 0;
  __int128 v = 0;
  constexpr __int128 kMax = std::numeric_limits<int64_t>::max();
  size_t keep = digits.size();
  bool round_up = false;
  if (shift < 0) {
    size_t drop = static_cast<size_t>(-shift);
    if (drop > digits.size()) {
      // all digits are below the scale
      if (!round) return bad("more than " + std::to_string(scale_digits) + " fraction digits");
      round_up = drop == digits.size() && digits[0] >= '5';
      keep = 0;
    } else {
      keep = digits.size() - drop;
      bool nonzero_dropped = digits.find_first_not_of('0', keep) != std::string::npos;
      if (nonzero_dropped && !round) {
        return bad("more than " + std::to_string(scale_digits) + " fraction digits");
      }
      round_up = digits[keep] >= '5';
    }
    shift = 0;
  }
  for (size_t k = 0; k < keep; ++k) {
    v = v * 10 + (digits[k] - '0');
    if (v > kMax) return bad("out of range");
  }
  for (int k = 0; k < shift; ++k) {
    v *= 10;
    if (v > kMax) return bad("out of range");
  }
  if (round_up) ++v;
  if (v > kMax) return bad("out of range");
  return static_cast<int64_t>(negative ? -v : v);
}

}  // namespace

StatusOr<int64_t> ParseScaledDecimal(std::string_view text, int scale_digits) {
  return Parse(text, scale_digits, false);
}

StatusOr<int64_t> ParseScaledDecimalRounded(std::string_view text, int scale_digits) {
  return Parse(text, scale_digits, true);
}

std::string FormatScaled(int64_t value, int scale_digits, int min_fraction) {
  bool negative = value < 0;
  unsigned __int128 mag = negative ? -static_cast<__int128>(value) : value;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(mag % 10)));
    mag /= 10;
  } while (mag > 0);
  while (static_cast<int>(digits.size()) <= scale_digits) digits.insert(digits.begin(), '0');
  std::string whole = digits.substr(0, digits.size() - scale_digits);
  std::string frac = digits.substr(digits.size() - scale_digits);
  while (static_cast<int>(frac.size()) > min_fraction && !frac.empty() && frac.back() == '0') {
    frac.pop_back();
  }
  std::string out = negative ? "-" : "";
  out += whole;
  if (!frac.empty()) out += "." + frac;
  return out;
}

Micros PicosToMicros(__int128 picos) {
  constexpr __int128 kDiv = 1'000'000;
  bool negative = picos < 0;
  __int128 mag = negative ? -picos : picos;
  if (mag <= std::numeric_limits<int64_t>::max() - kDiv / 2) {  // the usual case: 64-bit division
    const int64_t q = (static_cast<int64_t>(mag) + 500'000) / 1'000'000;
    return negative ? -q : q;
  }
  __int128 q = (mag + kDiv / 2) / kDiv;
  return static_cast<Micros>(negative ? -q : q);
}

}  // namespace bursar
