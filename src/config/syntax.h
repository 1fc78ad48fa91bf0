// Parsers and checks for the scalar syntaxes of the desired state: durations, Kubernetes
// quantities, environment variable names, key hashes, secrets, URLs and time zones.
//
// All functions are pure (TimeZoneExists reads the file system) and never throw. Errors are
// InvalidArgument with a message that says what was expected.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bursar::config {

// "500ms", "30s", "5m", "1h", or a sum such as "1h30m". Integers only; at most 366 days.
StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

// A Kubernetes quantity ("500m", "1Gi", "2", "1.5", "100M", "1e3") scaled by 10^scale_digits and
// returned only when exact: ParseQuantity("500m", 3) == 500 (millicores),
// ParseQuantity("1Gi", 0) == 1073741824 (bytes). Negative quantities are errors.
StatusOr<int64_t> ParseQuantity(std::string_view text, int scale_digits);

// [A-Za-z_][A-Za-z0-9_]*, at most 255 characters.
bool IsValidEnvName(std::string_view name);

// "sha256:" followed by 64 lowercase hex digits. Returns the hex part or "".
std::string_view KeyHashHex(std::string_view text);

// Whether a value looks like a plaintext credential: OpenAI/Anthropic ("sk-...", "sk-ant-..."),
// AWS ("AKIA..."), GitHub ("ghp_...", "github_pat_...") or Slack ("xox?-...") tokens. Returns a
// short description of what it looks like, or "" when it does not.
std::string_view SecretKind(std::string_view value);

// Checks an http(s) URL: scheme, non-empty host, no user:password@. The error message says which.
Status CheckUrl(std::string_view url);

// An IANA time zone name present under /usr/share/zoneinfo (or "UTC").
bool TimeZoneExists(std::string_view name);

// "HH:MM-HH:MM", 24-hour clock.
bool IsValidTimeRange(std::string_view text);

// A resource name: 1..253 characters of [A-Za-z0-9._:/-], starting and ending with [A-Za-z0-9].
bool IsValidName(std::string_view name);

}  // namespace bursar::config
