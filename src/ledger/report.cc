#include "ledger/report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "common/money.h"

namespace bursar::ledger {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
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

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

unsigned DaysInMonth(int y, int m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

std::string Cell(const std::string& v) { return v.empty() ? "(none)" : v; }

nlohmann::ordered_json TotalsJson(const SpendTotals& t) {
  nlohmann::ordered_json j;
  j["requests"] = t.requests;
  j["cost"] = FormatMicros(t.cost_micros);
  j["cost_micros"] = t.cost_micros;
  j["saved"] = FormatMicros(t.saved_micros);
  j["saved_micros"] = t.saved_micros;
  j["cache_hits"] = t.cache_hits;
  j["prompt_tokens"] = t.prompt_tokens;
  j["cached_tokens"] = t.cached_tokens;
  j["completion_tokens"] = t.completion_tokens;
  j["reasoning_tokens"] = t.reasoning_tokens;
  j["image_tokens"] = t.image_tokens;
  j["images"] = t.images;
  j["audio_input_tokens"] = t.audio_input_tokens;
  j["audio_output_tokens"] = t.audio_output_tokens;
  j["audio_millis"] = t.audio_millis;
  return j;
}

}  // namespace

StatusOr<int64_t> ParseTimestamp(std::string_view s) {
  auto bad = [&s] {
    return InvalidArgumentError("bad time '" + std::string(s) +
                                "': want RFC 3339 (2026-01-31T12:00:00Z) or a date (2026-01-31)");
  };
  int y, mo, d;
  if (s.size() < 10 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > DaysInMonth(y, mo)) return bad();
  int64_t micros = DaysFromCivil(y, mo, d) * 86'400'000'000;
  if (s.size() == 10) return micros;
  int h, mi, sec;
  if (s.size() < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &sec)) {
    return bad();
  }
  if (h > 23 || mi > 59 || sec > 60) return bad();
  micros += (h * 3600LL + mi * 60LL + sec) * 1'000'000;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t frac = 0;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) frac = frac * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 6; ++i) frac *= 10;
    micros += frac;
  }
  if (pos == s.size()) return micros;  // no zone: UTC
  if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return micros;
  int oh, om;
  if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && Digits(s, pos + 1, 2, &oh) &&
      s[pos + 3] == ':' && Digits(s, pos + 4, 2, &om) && oh <= 23 && om <= 59) {
    int64_t offset = (oh * 3600LL + om * 60LL) * 1'000'000;
    return s[pos] == '+' ? micros - offset : micros + offset;
  }
  return bad();
}

std::string FormatTimestamp(int64_t t) {
  int64_t days = t / 86'400'000'000;
  int64_t rem = t % 86'400'000'000;
  if (rem < 0) {
    rem += 86'400'000'000;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  int64_t secs = rem / 1'000'000;
  int64_t frac = rem % 1'000'000;
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                        static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (frac != 0) {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
    std::string f(buf);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::vector<SpendGroup> ReportTotals(const std::vector<SpendGroup>& groups) {
  std::map<std::string, SpendTotals> by_currency;
  for (const SpendGroup& g : groups) by_currency[g.currency].Add(g.totals);
  std::vector<SpendGroup> out;
  out.reserve(by_currency.size());
  for (const auto& [currency, t] : by_currency) out.push_back(SpendGroup{{}, currency, t});
  return out;
}

std::string FormatReportTable(const Report& report) {
  std::vector<std::string> header = report.by;
  for (const char* h :
       {"currency", "requests", "prompt_tokens", "completion_tokens", "images", "cost", "saved"}) {
    header.push_back(h);
  }
  const size_t ndim = report.by.size();
  std::vector<std::vector<std::string>> rows;
  auto add = [&](std::vector<std::string> keys, const SpendGroup& g) {
    std::vector<std::string> row = std::move(keys);
    row.push_back(g.currency);
    row.push_back(std::to_string(g.totals.requests));
    row.push_back(std::to_string(g.totals.prompt_tokens));
    row.push_back(std::to_string(g.totals.completion_tokens));
    row.push_back(std::to_string(g.totals.images));
    row.push_back(FormatMicros(g.totals.cost_micros));
    row.push_back(FormatMicros(g.totals.saved_micros));
    rows.push_back(std::move(row));
  };
  for (const SpendGroup& g : report.groups) {
    std::vector<std::string> keys;
    for (size_t i = 0; i < ndim; ++i) keys.push_back(Cell(i < g.keys.size() ? g.keys[i] : ""));
    add(std::move(keys), g);
  }
  const size_t body = rows.size();
  for (const SpendGroup& t : ReportTotals(report.groups)) {
    std::vector<std::string> keys(ndim, "");
    if (ndim > 0) keys[0] = "TOTAL";
    add(std::move(keys), t);
  }
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  const size_t first_number = ndim + 1;  // right-align the numbers
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t c = 0; c < r.size(); ++c) {
      std::string pad(width[c] - r[c].size(), ' ');
      s += c >= first_number ? pad + r[c] : r[c] + (c + 1 < r.size() ? pad : "");
      if (c + 1 < r.size()) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line(header);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i == body && ndim > 0) {
      size_t total = 0;
      for (size_t w : width) total += w + 2;
      out += std::string(total - 2, '-') + "\n";
    }
    out += line(rows[i]);
  }
  if (report.groups.empty()) out += "(no spend in range)\n";
  return out;
}

std::string FormatReportJson(const Report& report) {
  nlohmann::ordered_json j;
  j["by"] = report.by;
  j["since"] = report.since_us ? nlohmann::ordered_json(FormatTimestamp(*report.since_us))
                               : nlohmann::ordered_json(nullptr);
  j["until"] = report.until_us ? nlohmann::ordered_json(FormatTimestamp(*report.until_us))
                               : nlohmann::ordered_json(nullptr);
  nlohmann::ordered_json groups = nlohmann::ordered_json::array();
  for (const SpendGroup& g : report.groups) {
    nlohmann::ordered_json row;
    for (size_t i = 0; i < report.by.size(); ++i) {
      row[report.by[i]] = i < g.keys.size() ? g.keys[i] : "";
    }
    row["currency"] = g.currency;
    const nlohmann::ordered_json totals = TotalsJson(g.totals);
    for (const auto& [k, v] : totals.items()) row[k] = v;
    groups.push_back(std::move(row));
  }
  j["groups"] = std::move(groups);
  nlohmann::ordered_json totals = nlohmann::ordered_json::array();
  for (const SpendGroup& t : ReportTotals(report.groups)) {
    nlohmann::ordered_json row;
    row["currency"] = t.currency;
    const nlohmann::ordered_json sums = TotalsJson(t.totals);
    for (const auto& [k, v] : sums.items()) row[k] = v;
    totals.push_back(std::move(row));
  }
  j["totals"] = std::move(totals);
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace bursar::ledger
