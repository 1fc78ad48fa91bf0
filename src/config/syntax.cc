#include "config/syntax.h"

#include <sys/stat.h>

#include <limits>

namespace bursar::config {
namespace {

constexpr __int128 kInt64Max = std::numeric_limits<int64_t>::max();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Counts characters of [A-Za-z0-9_-] from `from`.
size_t TokenRun(std::string_view s, size_t from) {
  size_t n = 0;
  for (size_t i = from; i < s.size() && (IsAlnum(s[i]) || s[i] == '_' || s[i] == '-'); ++i) ++n;
  return n;
}

}  // namespace

StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("invalid duration \"" + std::string(text) +
                                "\": " + std::string(why));
  };
  if (text.empty()) return bad("empty");
  constexpr int64_t kMaxMs = int64_t{366} * 24 * 3600 * 1000;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) return bad("expected digits");
    int64_t n = 0;
    while (i < text.size() && IsDigit(text[i])) {
      n = n * 10 + (text[i] - '0');
      if (n > kMaxMs) return bad("too long");
      ++i;
    }
    int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unit = 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit = 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      unit = 3'600'000;
      ++i;
    } else {
      return bad("missing or unknown unit");
    }
    if (n > kMaxMs / unit) return bad("too long");
    total += n * unit;
    if (total > kMaxMs) return bad("too long");
  }
  return std::chrono::milliseconds(total);
}

StatusOr<int64_t> ParseQuantity(std::string_view text, int scale_digits) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("invalid quantity \"" + std::string(text) +
                                "\": " + std::string(why));
  };
  std::string_view s = text;
  if (s.empty()) return bad("empty");
  if (s[0] == '-') return bad("negative");
  if (s[0] == '+') s.remove_prefix(1);
  std::string digits;
  int exp10 = 0;
  bool point = false, any = false;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (IsDigit(c)) {
      any = true;
      if (point) --exp10;
      if (digits.empty() && c == '0') continue;
      digits.push_back(c);
      if (digits.size() > 18) return bad("too many digits");
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (!any) return bad("expected a number");
  std::string_view suffix = s.substr(i);
  int bits = 0;
  if (suffix.empty()) {
  } else if (suffix == "Ki") {
    bits = 10;
  } else if (suffix == "Mi") {
    bits = 20;
  } else if (suffix == "Gi") {
    bits = 30;
  } else if (suffix == "Ti") {
    bits = 40;
  } else if (suffix == "Pi") {
    bits = 50;
  } else if (suffix == "Ei") {
    bits = 60;
  } else if (suffix == "n") {
    exp10 -= 9;
  } else if (suffix == "u") {
    exp10 -= 6;
  } else if (suffix == "m") {
    exp10 -= 3;
  } else if (suffix == "k") {
    exp10 += 3;
  } else if (suffix == "M") {
    exp10 += 6;
  } else if (suffix == "G") {
    exp10 += 9;
  } else if (suffix == "T") {
    exp10 += 12;
  } else if (suffix == "P") {
    exp10 += 15;
  } else if (suffix == "E") {
    exp10 += 18;
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    size_t j = 1;
    bool neg = false;
    if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) neg = suffix[j++] == '-';
    if (j >= suffix.size()) return bad("missing exponent");
    int e = 0;
    for (; j < suffix.size(); ++j) {
      if (!IsDigit(suffix[j])) return bad("bad exponent");
      e = e * 10 + (suffix[j] - '0');
      if (e > 100) return bad("exponent out of range");
    }
    exp10 += neg ? -e : e;
  } else {
    return bad("unknown suffix \"" + std::string(suffix) +
               "\" (expected one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei)");
  }
  if (digits.empty()) return 0;
  __int128 n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  n <<= bits;  // < 10^18 * 2^60 fits in 128 bits
  int k = exp10 + scale_digits;
  if (k >= 0) {
    for (int j = 0; j < k; ++j) {
      n *= 10;
      if (n > kInt64Max) return bad("too large");
    }
    if (n > kInt64Max) return bad("too large");
    return static_cast<int64_t>(n);
  }
  for (int j = 0; j < -k; ++j) {
    if (n % 10 != 0) return bad("finer than the smallest unit");
    n /= 10;
  }
  if (n > kInt64Max) return bad("too large");
  return static_cast<int64_t>(n);
}

bool IsValidEnvName(std::string_view name) {
  if (name.empty() || name.size() > 255 || IsDigit(name[0])) return false;
  for (char c : name) {
    if (!IsAlnum(c) && c != '_') return false;
  }
  return true;
}

std::string_view KeyHashHex(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (text.size() != kPrefix.size() + 64 || text.substr(0, kPrefix.size()) != kPrefix) return {};
  std::string_view hex = text.substr(kPrefix.size());
  for (char c : hex) {
    if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) return {};
  }
  return hex;
}

std::string_view SecretKind(std::string_view v) {
  auto starts = [&](std::string_view p) { return v.substr(0, p.size()) == p; };
  if (starts("sk-ant-") && TokenRun(v, 7) >= 16) return "an Anthropic API key (sk-ant-...)";
  if (starts("sk-") && TokenRun(v, 3) >= 16) return "an OpenAI-style API key (sk-...)";
  if (starts("AKIA") || starts("ASIA")) {
    if (v.size() >= 20) {
      bool ok = true;
      for (size_t i = 4; i < 20; ++i) ok = ok && (IsDigit(v[i]) || (v[i] >= 'A' && v[i] <= 'Z'));
      if (ok) return "an AWS access key id (AKIA...)";
    }
  }
  if ((starts("ghp_") || starts("gho_") || starts("ghs_") || starts("ghu_")) &&
      TokenRun(v, 4) >= 20) {
    return "a GitHub token (ghp_...)";
  }
  if (starts("github_pat_") && TokenRun(v, 11) >= 20) return "a GitHub token (github_pat_...)";
  if ((starts("xoxb-") || starts("xoxp-") || starts("xoxa-")) && TokenRun(v, 5) >= 10) {
    return "a Slack token (xox?-...)";
  }
  return {};
}

Status CheckUrl(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return InvalidArgumentError("not a URL; expected http://host/... or https://host/...");
  }
  std::string_view scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return InvalidArgumentError("unsupported scheme \"" + std::string(scheme) +
                                "\"; expected http or https");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError(
        "URL contains credentials (user:password@); expected a URL without credentials, with "
        "the secret in an environment variable");
  }
  if (authority.empty() || authority[0] == ':') {
    return InvalidArgumentError("URL has no host; expected http(s)://host[:port]/path");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return InvalidArgumentError(
          "URL contains whitespace or control characters; expected a URL-encoded URL");
    }
  }
  return OkStatus();
}

bool TimeZoneExists(std::string_view name) {
  if (name == "UTC") return true;
  if (name.empty() || name.size() > 64 || name[0] == '/' || name[0] == '.') return false;
  for (char c : name) {
    if (!IsAlnum(c) && c != '/' && c != '_' && c != '-' && c != '+') return false;
  }
  if (name.find("..") != std::string_view::npos) return false;
  std::string path = "/usr/share/zoneinfo/" + std::string(name);
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool IsValidTimeRange(std::string_view t) {
  auto hhmm = [](std::string_view s) {
    if (s.size() != 5 || s[2] != ':' || !IsDigit(s[0]) || !IsDigit(s[1]) || !IsDigit(s[3]) ||
        !IsDigit(s[4])) {
      return false;
    }
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    return h < 24 && m < 60;
  };
  return t.size() == 11 && t[5] == '-' && hhmm(t.substr(0, 5)) && hhmm(t.substr(6));
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  if (!IsAlnum(name.front()) || !IsAlnum(name.back())) return false;
  for (char c : name) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-' && c != ':' && c != '/') return false;
  }
  return true;
}

}  // namespace bursar::config
