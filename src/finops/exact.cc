#include "finops/exact.h"

#include <cstdio>

namespace bursar::finops {
namespace {

constexpr Picos128 kMaxPicos = static_cast<Picos128>(1) << 120;

bool Digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at s[*i]; false when they are not there.
bool ReadInt(std::string_view s, size_t* i, int n, int* out) {
  if (*i + n > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    char c = s[*i + k];
    if (!Digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

}  // namespace

const char* ParsePicos(std::string_view text, Picos128* out) {
  static const char* kNotDecimal = "is not a decimal";
  size_t i = 0, n = text.size();
  if (n == 0) return kNotDecimal;
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    i = 1;
  }
  // Fast path: digits [. digits] with at most 12 fraction digits and no exponent.
  Picos128 whole = 0;
  bool any = false;
  for (; i < n && Digit(text[i]); ++i) {
    whole = whole * 10 + (text[i] - '0');
    if (whole > kMaxPicos / 1'000'000'000'000) return "is out of range";
    any = true;
  }
  Picos128 frac = 0;
  int frac_digits = 0;
  bool excess_nonzero = false;
  if (i < n && text[i] == '.') {
    ++i;
    for (; i < n && Digit(text[i]); ++i) {
      any = true;
      if (frac_digits < 12) {
        frac = frac * 10 + (text[i] - '0');
        ++frac_digits;
      } else if (text[i] != '0') {
        excess_nonzero = true;
      }
    }
  }
  if (!any) return kNotDecimal;
  int exponent = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) eneg = text[i++] == '-';
    if (i >= n) return kNotDecimal;
    for (; i < n && Digit(text[i]); ++i) {
      exponent = exponent * 10 + (text[i] - '0');
      if (exponent > 60) return "is out of range";
    }
    if (eneg) exponent = -exponent;
  }
  if (i != n) return kNotDecimal;
  for (int k = frac_digits; k < 12; ++k) frac *= 10;
  Picos128 v = whole * 1'000'000'000'000 + frac;
  if (exponent != 0) {
    // Rare: redo with the exponent applied to the full digit string.
    if (excess_nonzero) return "has more than 12 fraction digits";
    for (; exponent > 0; --exponent) {
      v *= 10;
      if (v > kMaxPicos) return "is out of range";
    }
    for (; exponent < 0; ++exponent) {
      if (v % 10 != 0) return "has more than 12 fraction digits";
      v /= 10;
    }
  } else if (excess_nonzero) {
    return "has more than 12 fraction digits";
  }
  *out = negative ? -v : v;
  return nullptr;
}

bool IsDecimal(std::string_view text) {
  size_t i = 0, n = text.size();
  if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
  bool any = false;
  for (; i < n && Digit(text[i]); ++i) any = true;
  if (i < n && text[i] == '.') {
    for (++i; i < n && Digit(text[i]); ++i) any = true;
  }
  if (!any) return false;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    bool exp_digits = false;
    for (; i < n && Digit(text[i]); ++i) exp_digits = true;
    if (!exp_digits) return false;
  }
  return i == n;
}

std::string FormatPicos(Picos128 picos, int min_fraction) {
  bool negative = picos < 0;
  unsigned __int128 mag = negative ? static_cast<unsigned __int128>(-picos) : picos;
  char digits[64];
  int len = 0;
  do {
    digits[len++] = static_cast<char>('0' + static_cast<int>(mag % 10));
    mag /= 10;
  } while (mag > 0);
  while (len <= 12) digits[len++] = '0';
  std::string out;
  if (negative) out.push_back('-');
  for (int k = len - 1; k >= 12; --k) out.push_back(digits[k]);
  int last = 0;  // lowest fraction digit index to keep (0 = the 12th)
  while (last < 12 && digits[last] == '0' && 12 - last > min_fraction) ++last;
  if (last < 12) {
    out.push_back('.');
    for (int k = 11; k >= last; --k) out.push_back(digits[k]);
  }
  return out;
}

bool SplitPicos(Picos128 picos, int64_t* micros_floor, int64_t* pico_rem) {
  Picos128 q = picos / kPicosPerMicro;
  Picos128 r = picos % kPicosPerMicro;
  if (r < 0) {
    r += kPicosPerMicro;
    q -= 1;
  }
  if (q > INT64_MAX || q < INT64_MIN) return false;
  *micros_floor = static_cast<int64_t>(q);
  *pico_rem = static_cast<int64_t>(r);
  return true;
}

int64_t RoundPicosToMicros(Picos128 picos) {
  bool negative = picos < 0;
  Picos128 mag = negative ? -picos : picos;
  Picos128 q = (mag + kPicosPerMicro / 2) / kPicosPerMicro;
  return static_cast<int64_t>(negative ? -q : q);
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool ParseTimestamp(std::string_view s, int64_t* unix_micros) {
  size_t i = 0;
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!ReadInt(s, &i, 4, &y) || i >= s.size() || s[i++] != '-' || !ReadInt(s, &i, 2, &mo) ||
      i >= s.size() || s[i++] != '-' || !ReadInt(s, &i, 2, &d)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1) return false;
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap)) return false;
  int64_t micros = 0;
  int64_t offset_s = 0;
  if (i < s.size()) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
    ++i;
    if (!ReadInt(s, &i, 2, &h) || i >= s.size() || s[i++] != ':' || !ReadInt(s, &i, 2, &mi)) {
      return false;
    }
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!ReadInt(s, &i, 2, &sec)) return false;
      if (i < s.size() && s[i] == '.') {
        ++i;
        int digits = 0;
        int64_t scale = 100000;
        for (; i < s.size() && Digit(s[i]); ++i, ++digits) {
          if (digits < 6) micros += (s[i] - '0') * scale;
          scale /= 10;
        }
        if (digits == 0) return false;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return false;
    if (i < s.size()) {
      char c = s[i];
      if (c == 'Z' || c == 'z') {
        ++i;
      } else if (c == '+' || c == '-') {
        ++i;
        int oh, om = 0;
        if (!ReadInt(s, &i, 2, &oh)) return false;
        if (i < s.size() && s[i] == ':') ++i;
        if (i < s.size() && !ReadInt(s, &i, 2, &om)) return false;
        if (oh > 23 || om > 59) return false;
        offset_s = (int64_t{oh} * 3600 + int64_t{om} * 60) * (c == '-' ? -1 : 1);
      } else {
        return false;
      }
    }
    if (i != s.size()) return false;
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t seconds = days * 86400 + int64_t{h} * 3600 + int64_t{mi} * 60 + sec - offset_s;
  *unix_micros = seconds * 1'000'000 + micros;
  return true;
}

std::string FormatTimestamp(int64_t unix_micros) {
  int64_t day = DayOf(unix_micros);
  int64_t rem = unix_micros - day * 86'400'000'000;
  int64_t y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  int64_t secs = rem / 1'000'000, us = rem % 1'000'000;
  char buf[64];
  if (us == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                  static_cast<long long>(us));
  }
  return buf;
}

}  // namespace bursar::finops
