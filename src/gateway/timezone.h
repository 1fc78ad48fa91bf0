// Time for the gateway: a clock seam, IANA time zones read from TZif files, and budget periods.
//
// libstdc++ 12 lacks std::chrono::tzdb and setenv("TZ") + localtime_r is not thread-safe, so a
// small reader of /usr/share/zoneinfo TZif files (v1-v3; the POSIX-TZ footer is used for
// instants after the last transition) is written here.
//
// Threads: TimeZone is immutable after Load and safe to share. LoadTimeZone caches zones in a
// process-wide map under a mutex (called at configuration time, not per request).
// Errors: NotFound for an unknown zone name; InvalidArgument for a malformed file.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/model.h"

namespace bursar::gateway {

using SysSeconds = std::chrono::sys_seconds;
using SysTime = std::chrono::system_clock::time_point;

// The clock seam: returns "now". Tests pass a function reading a variable they control.
using NowFn = std::function<SysTime()>;
NowFn SystemNow();

class TimeZone {
 public:
  // Parses TZif content. `name` is kept for messages.
  static StatusOr<std::shared_ptr<const TimeZone>> Parse(std::string name, std::string_view tzif);
  static std::shared_ptr<const TimeZone> Utc();

  const std::string& name() const { return name_; }
  // UTC offset (local - UTC) in effect at instant t.
  std::chrono::seconds OffsetAt(SysSeconds t) const;
  // The UTC instant of a local wall-clock time. In a gap (spring forward) the instant after the
  // gap's start by the same distance; when ambiguous (fall back), the earlier instant.
  SysSeconds LocalToUtc(std::chrono::local_seconds local) const;

  struct Transition {
    int64_t at;          // UTC seconds since epoch
    int32_t utc_offset;  // seconds, in effect from `at`
  };
  struct Rule;  // parsed POSIX TZ footer (private detail)

 private:
  TimeZone() = default;
  std::string name_;
  int32_t initial_offset_ = 0;
  std::vector<Transition> transitions_;
  std::shared_ptr<const Rule> footer_;  // null: keep the last offset
};

// Loads `name` ("UTC", "Europe/Berlin", ...) from `zoneinfo_dir`, cached per (dir, name).
StatusOr<std::shared_ptr<const TimeZone>> LoadTimeZone(
    std::string_view name, std::string_view zoneinfo_dir = "/usr/share/zoneinfo");

// A budget period [start, end) in UTC instants.
struct Period {
  SysSeconds start;
  SysSeconds end;
  friend bool operator==(const Period&, const Period&) = default;
};

// The day (local midnight to midnight), week (Monday 00:00 to the next Monday) or month (the
// 1st 00:00 to the next 1st) in zone `tz` that contains instant `t`.
Period PeriodContaining(config::BudgetPeriod period, const TimeZone& tz, SysSeconds t);

// "2026-11-27T00:00:00Z"
std::string FormatUtc(SysSeconds t);

}  // namespace bursar::gateway
