#include "config/decode.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>

#include "common/money.h"
#include "config/syntax.h"

namespace bursar::config::internal {

Path Path::Field(std::string_view f) const {
  Path p = *this;
  if (!p.path.empty()) p.path += '.';
  p.path += f;
  if (!p.table.empty()) p.table += '.';
  p.table += f;
  return p;
}

Path Path::Index(size_t i) const {
  Path p = *this;
  p.path += "[" + std::to_string(i) + "]";
  p.table += "[]";
  return p;
}

Path Path::MapValue(std::string_view key) const {
  Path p = *this;
  p.path += ".";
  p.path += Printable(key, 60);
  p.table += "{}";
  return p;
}

std::string Path::Describe() const { return path.empty() ? subject : subject + " " + path; }

std::string Printable(std::string_view s, size_t max_chars) {
  // Messages end up in terminals and JSON: keep valid UTF-8, escape everything else.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size();) {
    if (++chars > max_chars) {
      out += "...";
      break;
    }
    auto byte = static_cast<unsigned char>(s[i]);
    size_t len = byte < 0x80           ? 1
                 : (byte >> 5) == 0x6  ? 2
                 : (byte >> 4) == 0xe  ? 3
                 : (byte >> 3) == 0x1e ? 4
                                       : 0;
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    }
    if (valid && len == 1 && (byte < 0x20 || byte == 0x7f)) valid = false;
    if (!valid) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string text = Printable(s, 60);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool IsNearMiss(std::string_view a, std::string_view b) {
  // Optimal string alignment distance (a transposition counts once), capped early.
  if (a == b) return false;
  size_t n = a.size(), m = b.size();
  if (n > 64 || m > 64 || (n > m ? n - m : m - n) > 2) return false;
  std::vector<std::vector<int>> dist(n + 1, std::vector<int>(m + 1));
  for (size_t i = 0; i <= n; ++i) dist[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= m; ++j) dist[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      int cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                         std::tolower(static_cast<unsigned char>(b[j - 1]))
                     ? 0
                     : 1;
      dist[i][j] = std::min({dist[i - 1][j] + 1, dist[i][j - 1] + 1, dist[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        dist[i][j] = std::min(dist[i][j], dist[i - 2][j - 2] + 1);
      }
    }
  }
  int limit = std::min<size_t>(n, m) <= 4 ? 1 : 2;
  return dist[n][m] <= limit;
}

std::string JoinNames(const std::vector<std::string>& names, size_t max) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i == max) return out + ", ...";
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out.empty() ? "(none defined)" : out;
}

void Decoder::Error(const YamlNode& at, const std::string& message) {
  Error(at.line, at.column, message);
}

void Decoder::Error(int line, int column, const std::string& message) {
  Error(SourceLocation{file_, line, column}, message);
}

void Decoder::Error(const SourceLocation& where, const std::string& message) {
  // Values are quoted through Printable already; this catches text from elsewhere (yaml-cpp,
  // URL checks). Idempotent: escapes are plain ASCII.
  out_->push_back(Diagnostic{where, Printable(message, std::string::npos)});
}

void Decoder::Declare(std::string kind, std::string name, const YamlNode& at) {
  registry_->names.push_back({std::move(kind), std::move(name), Where(at)});
}

void Decoder::Refer(std::string target_kind, std::string name, const YamlNode& at,
                    const Path& from) {
  registry_->refs.push_back(
      {std::move(target_kind), std::move(name), Where(at), from.Describe(), ""});
}

void Decoder::WrongType(const YamlNode& n, const Path& p, std::string_view expect) {
  std::string got(n.TypeName());
  if (n.IsScalar()) got += " " + Quote(n.value);
  Error(n, "wrong type for " + p.Describe() + ": got " + got + "; expected " + std::string(expect));
}

void Decoder::Missing(const YamlNode& parent, const Path& p, std::string_view field,
                      std::string_view expect) {
  Error(parent, "missing required field " + Quote(field) + " in " + p.Describe() + "; expected " +
                    std::string(expect));
}

bool Decoder::ReadString(const YamlNode* n, const Path& p, std::string_view expect,
                         std::string* out) {
  if (n == nullptr) return false;
  if (n->IsNull()) {
    Error(*n, "missing value for " + p.Describe() + "; expected " + std::string(expect));
    return false;
  }
  if (!n->IsScalar()) {
    WrongType(*n, p, expect);
    return false;
  }
  std::string_view secret = SecretKind(n->value);
  if (!secret.empty()) {
    Error(*n, "plaintext secret in " + p.Describe() + ": the value looks like " +
                  std::string(secret) +
                  "; expected no secrets in the repository (reference an environment variable, "
                  "e.g. apiKeyEnv, or store a keyHash)");
    return false;
  }
  *out = n->value;
  return true;
}

bool Decoder::ReadInt(const YamlNode* n, const Path& p, int64_t min, int64_t max, int64_t* out) {
  if (n == nullptr) return false;
  std::string expect = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!n->IsScalar() || !n->plain) {
    WrongType(*n, p, expect);
    return false;
  }
  std::string_view v = n->value;
  size_t i = (!v.empty() && (v[0] == '-' || v[0] == '+')) ? 1 : 0;
  bool negative = !v.empty() && v[0] == '-';
  if (i == v.size()) {
    WrongType(*n, p, expect);
    return false;
  }
  __int128 value = 0;
  for (; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') {
      WrongType(*n, p, expect);
      return false;
    }
    value = value * 10 + (v[i] - '0');
    if (value > (static_cast<__int128>(1) << 64)) break;
  }
  if (negative) value = -value;
  if (i < v.size() || value < min || value > max) {
    Error(*n, "value " + Quote(n->value) + " out of range for " + p.Describe() + "; expected " +
                  expect);
    return false;
  }
  *out = static_cast<int64_t>(value);
  return true;
}

bool Decoder::ReadInt(const YamlNode* n, const Path& p, int min, int max, int* out) {
  int64_t v = 0;
  if (!ReadInt(n, p, int64_t{min}, int64_t{max}, &v)) return false;
  *out = static_cast<int>(v);
  return true;
}

bool Decoder::ReadBool(const YamlNode* n, const Path& p, bool* out) {
  if (n == nullptr) return false;
  if (n->IsScalar() && n->plain && (n->value == "true" || n->value == "false")) {
    *out = n->value == "true";
    return true;
  }
  WrongType(*n, p, "true or false");
  return false;
}

bool Decoder::ReadDecimal(const YamlNode* n, const Path& p, int digits, bool allow_negative,
                          int64_t* out) {
  if (n == nullptr) return false;
  std::string what = digits == kPicoDigits ? "price" : "amount";
  std::string expect = "a decimal " + what +
                       (digits == kPicoDigits ? " such as 0.00000015 or \"1.5e-07\""
                                              : " such as 5000 or \"1250.50\"") +
                       " (at most " + std::to_string(digits) + " fraction digits)";
  if (!n->IsScalar()) {
    WrongType(*n, p, expect);
    return false;
  }
  StatusOr<int64_t> v = ParseScaledDecimal(n->value, digits);
  if (!v.ok()) {
    std::string why = v.status().message();
    size_t colon = why.rfind(": ");
    if (colon != std::string::npos) why = why.substr(colon + 2);
    Error(*n, "invalid decimal " + Quote(n->value) + " for " + p.Describe() + " (" + why +
                  "); expected " + expect);
    return false;
  }
  if (*v < 0 && !allow_negative) {
    Error(*n, "negative " + what + " " + Quote(n->value) + " for " + p.Describe() +
                  "; expected a " + what + " >= 0");
    return false;
  }
  *out = *v;
  return true;
}

bool Decoder::ReadDuration(const YamlNode* n, const Path& p, bool allow_zero,
                           std::chrono::milliseconds* out) {
  if (n == nullptr) return false;
  constexpr std::string_view kExpect =
      "a duration: an integer with a unit, such as 500ms, 30s, 5m or 1h";
  if (!n->IsScalar()) {
    WrongType(*n, p, kExpect);
    return false;
  }
  StatusOr<std::chrono::milliseconds> d = ParseDuration(n->value);
  if (!d.ok()) {
    Error(*n, "invalid duration " + Quote(n->value) + " for " + p.Describe() + "; expected " +
                  std::string(kExpect));
    return false;
  }
  if (d->count() == 0 && !allow_zero) {
    Error(*n, "zero duration for " + p.Describe() + "; expected a duration greater than 0");
    return false;
  }
  *out = *d;
  return true;
}

bool Decoder::ReadSeconds(const YamlNode* n, const Path& p, std::chrono::seconds* out) {
  std::chrono::milliseconds ms{};
  if (!ReadDuration(n, p, false, &ms)) return false;
  if (ms.count() % 1000 != 0) {
    Error(*n, "duration " + Quote(n->value) + " for " + p.Describe() +
                  " is not whole seconds; expected a multiple of 1s, such as 30s, 5m or 1h");
    return false;
  }
  *out = std::chrono::duration_cast<std::chrono::seconds>(ms);
  return true;
}

bool Decoder::ReadEnum(const YamlNode* n, const Path& p, int* out) {
  if (n == nullptr) return false;
  const EnumTable* table = FindEnumTable(p.kind, p.table);
  if (table == nullptr) {
    Error(*n, "internal error: no enum table for " + p.kind + " " + p.table +
                  "; expected one in config/fields.cc");
    return false;
  }
  std::vector<std::string> names(table->values.begin(), table->values.end());
  if (!n->IsScalar()) {
    WrongType(*n, p, "one of: " + JoinNames(names));
    return false;
  }
  int i = 0;
  for (std::string_view v : table->values) {
    if (n->value == v) {
      *out = i;
      return true;
    }
    ++i;
  }
  Error(*n, "unknown value " + Quote(n->value) + " for " + p.Describe() +
                "; expected one of: " + JoinNames(names));
  return false;
}

bool Decoder::ReadStringList(const YamlNode* n, const Path& p, std::string_view expect,
                             std::vector<std::string>* out, std::vector<const YamlNode*>* nodes) {
  if (n == nullptr || n->IsNull()) return true;
  if (!n->IsSequence()) {
    WrongType(*n, p, "a list of " + std::string(expect));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < n->items.size(); ++i) {
    std::string v;
    if (ReadString(n->items[i], p.Index(i), expect, &v)) {
      out->push_back(std::move(v));
      if (nodes != nullptr) nodes->push_back(n->items[i]);
    } else {
      ok = false;
    }
  }
  return ok;
}

bool Decoder::ReadStringMap(const YamlNode* n, const Path& p,
                            std::map<std::string, std::string>* out) {
  if (n == nullptr || n->IsNull()) return true;
  Fields f(*this, n, p, "", /*strict=*/false);
  if (!f.ok()) return false;
  bool ok = true;
  for (const auto& [key, value] : f.entries()) {
    std::string v;
    if (ReadString(value, p.MapValue(key->value), "a string", &v)) {
      (*out)[key->value] = std::move(v);
    } else {
      ok = false;
    }
  }
  return ok;
}

bool Decoder::ReadCurrency(const YamlNode* n, const Path& p, std::string* out) {
  std::string v;
  if (!ReadString(n, p, "an ISO 4217 currency code such as USD", &v)) return false;
  bool ok =
      v.size() == 3 && std::all_of(v.begin(), v.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!ok) {
    Error(*n, "invalid currency " + Quote(v) + " for " + p.Describe() +
                  "; expected an ISO 4217 code of 3 capital letters such as USD or EUR");
    return false;
  }
  *out = v;
  return true;
}

bool Decoder::ReadName(const YamlNode* n, const Path& p, std::string* out) {
  std::string v;
  constexpr std::string_view kExpect =
      "a name of 1 to 253 letters, digits, '.', '_', '-', ':' or '/', starting and ending with "
      "a letter or digit";
  if (!ReadString(n, p, kExpect, &v)) return false;
  if (!IsValidName(v)) {
    Error(*n, "invalid name " + Quote(v) + " for " + p.Describe() + "; expected " +
                  std::string(kExpect));
    return false;
  }
  *out = v;
  return true;
}

Fields::Fields(Decoder& d, const YamlNode* node, const Path& path, std::string_view kind,
               bool strict, std::initializer_list<std::string_view> secret_fields,
               std::string_view secret_hint)
    : d_(d), node_(node), path_(path) {
  if (node == nullptr) return;
  if (node->IsNull()) {
    ok_ = true;
    return;
  }
  if (!node->IsMapping()) {
    d.WrongType(*node, path, "a mapping");
    return;
  }
  ok_ = true;
  const FieldTable* table = strict ? FindFieldTable(kind, path.table) : nullptr;
  std::vector<std::string> allowed;
  if (table != nullptr) allowed.assign(table->fields.begin(), table->fields.end());
  std::string where = path.Describe();
  std::unordered_set<std::string_view> seen;  // keys live in the YamlFile, which outlives this
  for (const auto& entry : node->entries) {
    const YamlNode* key = entry.first;  // not a structured binding: lambdas below capture it
    const YamlNode* value = entry.second;
    if (!key->IsScalar()) {
      d.Error(*key, "a " + std::string(key->TypeName()) + " used as a key in " + where +
                        "; expected a field name");
      continue;
    }
    if (!seen.insert(key->value).second) {
      d.Error(*key, "duplicate field " + Quote(key->value) + " in " + where +
                        "; expected each field at most once");
      continue;
    }
    if (table != nullptr &&
        std::find(table->fields.begin(), table->fields.end(), key->value) == table->fields.end()) {
      bool secret =
          std::find(secret_fields.begin(), secret_fields.end(), key->value) != secret_fields.end();
      if (secret) {
        d.Error(*key, "plaintext secret field " + Quote(key->value) + " in " + where +
                          "; expected " + std::string(secret_hint));
      } else {
        std::string message = "unknown field " + Quote(key->value) + " in " + where +
                              "; expected one of: " + JoinNames(allowed, 100);
        for (const std::string& candidate : allowed) {
          if (IsNearMiss(key->value, candidate)) {
            message += " (did you mean " + Quote(candidate) + "?)";
            break;
          }
        }
        d.Error(*key, message);
        unknown_.push_back(key->value);
      }
      continue;
    }
    entries_.emplace_back(key, value);
  }
}

const YamlNode* Fields::Get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k->value == key) return v;
  }
  return nullptr;
}

const YamlNode* Fields::Key(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k->value == key) return k;
  }
  return nullptr;
}

const YamlNode* Fields::Require(std::string_view key, std::string_view expect) const {
  const YamlNode* v = Get(key);
  // A misspelt field was already reported as unknown, with this one as the suggestion.
  bool misspelt = std::any_of(unknown_.begin(), unknown_.end(),
                              [&](const std::string& u) { return IsNearMiss(u, key); });
  if (v == nullptr && ok_ && node_ != nullptr && !misspelt) d_.Missing(*node_, path_, key, expect);
  return v;
}

const std::vector<std::pair<const YamlNode*, const YamlNode*>>& Fields::entries() const {
  return entries_;
}

}  // namespace bursar::config::internal
