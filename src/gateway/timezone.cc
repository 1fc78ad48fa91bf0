#include "gateway/timezone.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace bursar::gateway {

using std::chrono::days;
using std::chrono::seconds;

// POSIX TZ rule from a TZif footer, e.g. "CET-1CEST,M3.5.0,M10.5.0/3".
struct TimeZone::Rule {
  struct When {
    char kind = 'M';  // 'M' (month.week.day), 'J' (1..365, no Feb 29), 'n' (0..365)
    int month = 0, week = 0, wday = 0, day = 0;
    int32_t time = 7200;  // seconds after local midnight (may be negative or > 24h)
  };
  int32_t std_offset = 0;  // local - UTC
  bool has_dst = false;
  int32_t dst_offset = 0;
  When start, end;
};

namespace {

struct Reader {
  std::string_view s;
  size_t i = 0;
  bool Need(size_t n) const { return i + n <= s.size(); }
  uint32_t U32() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<uint8_t>(s[i++]);
    return v;
  }
  int64_t I64() {
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v = (v << 8) | static_cast<uint8_t>(s[i++]);
    return static_cast<int64_t>(v);
  }
};

// Parses [+-]hh[:mm[:ss]]; returns seconds.
bool ParseHms(std::string_view s, size_t& i, int32_t* out) {
  int sign = 1;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
  int32_t parts[3] = {0, 0, 0};
  for (int p = 0; p < 3; ++p) {
    if (p > 0) {
      if (i >= s.size() || s[i] != ':') break;
      ++i;
    }
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    int v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && v < 1000) v = v * 10 + (s[i++] - '0');
    parts[p] = v;
  }
  *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

bool ParseName(std::string_view s, size_t& i) {
  if (i < s.size() && s[i] == '<') {
    const size_t close = s.find('>', i);
    if (close == std::string_view::npos) return false;
    i = close + 1;
    return true;
  }
  const size_t begin = i;
  while (i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'))) ++i;
  return i - begin >= 3;
}

bool ParseInt(std::string_view s, size_t& i, int* out) {
  if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
  int v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && v < 100000) v = v * 10 + (s[i++] - '0');
  *out = v;
  return true;
}

bool ParseWhen(std::string_view s, size_t& i, TimeZone::Rule::When* w) {
  if (i < s.size() && s[i] == 'M') {
    ++i;
    w->kind = 'M';
    if (!ParseInt(s, i, &w->month) || i >= s.size() || s[i++] != '.') return false;
    if (!ParseInt(s, i, &w->week) || i >= s.size() || s[i++] != '.') return false;
    if (!ParseInt(s, i, &w->wday)) return false;
    if (w->month < 1 || w->month > 12 || w->week < 1 || w->week > 5 || w->wday > 6) return false;
  } else if (i < s.size() && s[i] == 'J') {
    ++i;
    w->kind = 'J';
    if (!ParseInt(s, i, &w->day) || w->day < 1 || w->day > 365) return false;
  } else {
    w->kind = 'n';
    if (!ParseInt(s, i, &w->day) || w->day > 365) return false;
  }
  if (i < s.size() && s[i] == '/') {
    ++i;
    if (!ParseHms(s, i, &w->time)) return false;
  }
  return true;
}

std::shared_ptr<const TimeZone::Rule> ParseRule(std::string_view s) {
  auto r = std::make_shared<TimeZone::Rule>();
  size_t i = 0;
  if (!ParseName(s, i)) return nullptr;
  int32_t off = 0;
  if (!ParseHms(s, i, &off)) return nullptr;
  r->std_offset = -off;  // POSIX offsets are UTC - local
  if (i == s.size()) return r;
  if (!ParseName(s, i)) return nullptr;
  r->has_dst = true;
  r->dst_offset = r->std_offset + 3600;
  if (i < s.size() && s[i] != ',') {
    if (!ParseHms(s, i, &off)) return nullptr;
    r->dst_offset = -off;
  }
  if (i >= s.size() || s[i++] != ',') return nullptr;
  if (!ParseWhen(s, i, &r->start)) return nullptr;
  if (i >= s.size() || s[i++] != ',') return nullptr;
  if (!ParseWhen(s, i, &r->end)) return nullptr;
  return i == s.size() ? r : nullptr;
}

// Local midnight (as days since epoch) of a rule's day in `year`.
std::chrono::sys_days RuleDay(const TimeZone::Rule::When& w, int year) {
  using namespace std::chrono;
  const std::chrono::year y{year};
  if (w.kind == 'M') {
    const month m{static_cast<unsigned>(w.month)};
    const weekday wd{static_cast<unsigned>(w.wday)};
    if (w.week == 5) return sys_days{y / m / wd[last]};
    return sys_days{y / m / wd[static_cast<unsigned>(w.week)]};
  }
  const sys_days jan1{y / January / 1};
  if (w.kind == 'J') {
    int d = w.day - 1;  // Feb 29 is never counted
    if (y.is_leap() && w.day >= 60) ++d;
    return jan1 + days{d};
  }
  return jan1 + days{w.day};
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int32_t RuleOffset(const TimeZone::Rule& r, int64_t t) {
  if (!r.has_dst) return r.std_offset;
  using namespace std::chrono;
  const sys_days day{days{FloorDiv(t + r.std_offset, 86400)}};
  const int year = static_cast<int>(year_month_day{day}.year());
  // DST starts at start.time local standard time, ends at end.time local daylight time.
  const int64_t start =
      RuleDay(r.start, year).time_since_epoch().count() * 86400 + r.start.time - r.std_offset;
  const int64_t end =
      RuleDay(r.end, year).time_since_epoch().count() * 86400 + r.end.time - r.dst_offset;
  const bool dst = start < end ? (t >= start && t < end) : (t < end || t >= start);
  return dst ? r.dst_offset : r.std_offset;
}

}  // namespace

NowFn SystemNow() {
  return [] { return std::chrono::system_clock::now(); };
}

StatusOr<std::shared_ptr<const TimeZone>> TimeZone::Parse(std::string name, std::string_view tzif) {
  auto bad = [&name](std::string_view what) {
    return InvalidArgumentError("time zone " + name + ": " + std::string(what));
  };
  Reader r{tzif};
  if (!r.Need(44) || tzif.substr(0, 4) != "TZif") return bad("not a TZif file");
  const char version = tzif[4];
  auto read_counts = [&r](uint32_t c[6]) {
    r.i += 20;
    for (int k = 0; k < 6; ++k) c[k] = r.U32();
  };
  uint32_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  read_counts(c);
  size_t time_size = 4;
  auto block_size = [&time_size](const uint32_t* c) {
    return static_cast<uint64_t>(c[3]) * time_size + c[3] + uint64_t{c[4]} * 6 + c[5] +
           uint64_t{c[2]} * (time_size + 4) + c[1] + c[0];
  };
  if (version >= '2') {
    const uint64_t skip = block_size(c);
    if (!r.Need(skip + 44)) return bad("truncated");
    r.i += skip;
    if (tzif.substr(r.i, 4) != "TZif") return bad("missing second header");
    read_counts(c);
    time_size = 8;
  }
  if (c[4] == 0 || c[4] > 256 || c[3] > 100000) return bad("bad counts");
  if (!r.Need(block_size(c))) return bad("truncated");
  std::vector<int64_t> times(c[3]);
  for (auto& t : times) t = time_size == 8 ? r.I64() : static_cast<int32_t>(r.U32());
  std::vector<uint8_t> idx(c[3]);
  for (auto& x : idx) x = static_cast<uint8_t>(tzif[r.i++]);
  std::vector<int32_t> offsets(c[4]);
  for (auto& o : offsets) {
    o = static_cast<int32_t>(r.U32());
    r.i += 2;
  }
  r.i += c[5] + uint64_t{c[2]} * (time_size + 4) + c[1] + c[0];
  auto tz = std::shared_ptr<TimeZone>(new TimeZone());
  tz->name_ = std::move(name);
  tz->initial_offset_ = offsets[0];
  tz->transitions_.reserve(times.size());
  for (size_t k = 0; k < times.size(); ++k) {
    if (idx[k] >= offsets.size()) return bad("bad type index");
    if (k > 0 && times[k] <= times[k - 1]) return bad("transitions out of order");
    tz->transitions_.push_back({times[k], offsets[idx[k]]});
  }
  if (version >= '2' && r.i < tzif.size() && tzif[r.i] == '\n') {
    const size_t end = tzif.find('\n', r.i + 1);
    if (end != std::string_view::npos && end > r.i + 1) {
      tz->footer_ = ParseRule(tzif.substr(r.i + 1, end - r.i - 1));
      if (!tz->footer_) return bad("unsupported POSIX TZ footer");
    }
  }
  return std::shared_ptr<const TimeZone>(std::move(tz));
}

std::shared_ptr<const TimeZone> TimeZone::Utc() {
  static const std::shared_ptr<const TimeZone> utc = [] {
    auto tz = std::shared_ptr<TimeZone>(new TimeZone());
    tz->name_ = "UTC";
    return std::shared_ptr<const TimeZone>(std::move(tz));
  }();
  return utc;
}

std::chrono::seconds TimeZone::OffsetAt(SysSeconds t) const {
  const int64_t s = t.time_since_epoch().count();
  if (transitions_.empty() || s < transitions_.front().at) {
    if (transitions_.empty() && footer_) return seconds{RuleOffset(*footer_, s)};
    return seconds{initial_offset_};
  }
  if (s >= transitions_.back().at && footer_) return seconds{RuleOffset(*footer_, s)};
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), s,
                             [](int64_t v, const Transition& tr) { return v < tr.at; });
  return seconds{std::prev(it)->utc_offset};
}

SysSeconds TimeZone::LocalToUtc(std::chrono::local_seconds local) const {
  const SysSeconds as_utc{local.time_since_epoch()};
  const seconds before = OffsetAt(as_utc - days{1});
  const seconds after = OffsetAt(as_utc + days{1});
  const SysSeconds ua = as_utc - before;
  const SysSeconds ub = as_utc - after;
  const bool va = OffsetAt(ua) == before;
  const bool vb = OffsetAt(ub) == after;
  if (va && vb) return std::min(ua, ub);
  if (vb) return ub;
  return ua;  // valid, or in a gap: shifted by the offset before the gap
}

StatusOr<std::shared_ptr<const TimeZone>> LoadTimeZone(std::string_view name,
                                                       std::string_view zoneinfo_dir) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '/' || c == '_' || c == '-' || c == '+';
      })) {
    return InvalidArgumentError("time zone \"" + std::string(name) + "\" is not an IANA name");
  }
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>> cache;
  std::string path = std::string(zoneinfo_dir) + "/" + std::string(name);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(path); it != cache.end()) return it->second;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (name == "UTC" || name == "Etc/UTC") return TimeZone::Utc();
    return NotFoundError("time zone \"" + std::string(name) + "\" not found in " +
                         std::string(zoneinfo_dir));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  BURSAR_ASSIGN_OR_RETURN(auto tz, TimeZone::Parse(std::string(name), ss.str()));
  std::lock_guard<std::mutex> lock(mu);
  cache.emplace(path, tz);
  return tz;
}

Period PeriodContaining(config::BudgetPeriod period, const TimeZone& tz, SysSeconds t) {
  using namespace std::chrono;
  const local_seconds local{(t + tz.OffsetAt(t)).time_since_epoch()};
  const local_days day = floor<days>(local);
  local_days start = day, end = day + days{1};
  if (period == config::BudgetPeriod::kWeek) {
    const weekday wd{day};
    start = day - days{wd.iso_encoding() - 1};
    end = start + days{7};
  } else if (period == config::BudgetPeriod::kMonth) {
    const year_month_day ymd{day};
    const year_month ym = ymd.year() / ymd.month();
    start = local_days{ym / 1};
    end = local_days{(ym + months{1}) / 1};
  }
  return {tz.LocalToUtc(local_seconds{start}), tz.LocalToUtc(local_seconds{end})};
}

std::string FormatUtc(SysSeconds t) {
  using namespace std::chrono;
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace bursar::gateway
