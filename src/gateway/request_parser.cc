#include "gateway/request_parser.h"

#include <simdjson.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "gateway/audio.h"

namespace bursar::gateway {
namespace {

namespace od = simdjson::ondemand;

// True when the whole document was consumed (document::at_end is not public in 3.0).
bool AtEnd(od::document& doc) { return doc.current_location().error() == simdjson::OUT_OF_BOUNDS; }
using simdjson::error_code;

// A JSON path built only when an error is reported.
class Path {
 public:
  void Push(std::string_view key) { elems_.push_back({key, -1}); }
  void Push(int64_t index) { elems_.push_back({{}, index}); }
  void Pop() { elems_.pop_back(); }
  std::string ToString() const {
    std::string out;
    for (const auto& e : elems_) {
      if (e.index >= 0) {
        out += '[';
        out += std::to_string(e.index);
        out += ']';
      } else {
        if (!out.empty()) out += '.';
        out += e.key;
      }
    }
    return out.empty() ? "body" : out;
  }

 private:
  struct Elem {
    std::string_view key;
    int64_t index;
  };
  std::vector<Elem> elems_;
};

class Scope {
 public:
  template <typename T>
  Scope(Path& p, T elem) : p_(p) {
    p_.Push(elem);
  }
  ~Scope() { p_.Pop(); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Path& p_;
};

int64_t CountChars(std::string_view s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

class RequestParser {
 public:
  explicit RequestParser(ParsedRequest* out) : out_(out) {}

  Status Parse(RequestKind kind, std::string_view body) {
    out_->kind = kind;
    if (body.size() > kMaxRequestBodyBytes) {
      return ResourceExhaustedError("body: " + std::to_string(body.size()) +
                                    " bytes exceeds the limit of " +
                                    std::to_string(kMaxRequestBodyBytes));
    }
    simdjson::padded_string padded(body);
    thread_local od::parser parser;
    od::document doc;
    if (auto e = parser.iterate(padded).get(doc)) return JsonError(e);
    od::object obj;
    if (auto e = doc.get_object().get(obj)) return TypeError(e, "an object");
    bool have_model = false;
    bool have_messages = false;
    bool have_input = false;
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return JsonError(e);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return JsonError(e);
      od::value v = field.value();
      if (key == "model") {
        Scope s(path_, "model");
        BURSAR_RETURN_IF_ERROR(GetString(v, &out_->model));
        have_model = true;
      } else if (key == "user") {
        Scope s(path_, "user");
        BURSAR_RETURN_IF_ERROR(GetString(v, &out_->user));
      } else if (kind == RequestKind::kChatCompletions) {
        if (key == "messages") {
          Scope s(path_, "messages");
          BURSAR_RETURN_IF_ERROR(ParseMessages(v));
          have_messages = true;
        } else if (key == "stream") {
          Scope s(path_, "stream");
          BURSAR_RETURN_IF_ERROR(GetOptionalBool(v, &out_->stream));
        } else if (key == "stream_options") {
          Scope s(path_, "stream_options");
          BURSAR_RETURN_IF_ERROR(ParseStreamOptions(v));
        } else if (key == "max_tokens" || key == "max_completion_tokens") {
          Scope s(path_, key);
          std::optional<int64_t> n;
          BURSAR_RETURN_IF_ERROR(GetOptionalCount(v, 0, &n));
          // max_completion_tokens wins over the deprecated max_tokens.
          if (n && (key == "max_completion_tokens" || !seen_max_completion_)) out_->max_tokens = n;
          if (key == "max_completion_tokens" && n) seen_max_completion_ = true;
        } else if (key == "n") {
          Scope s(path_, "n");
          std::optional<int64_t> n;
          BURSAR_RETURN_IF_ERROR(GetOptionalCount(v, 1, &n));
          out_->n = n.value_or(1);
        } else if (key == "tools" || key == "functions" || key == "response_format") {
          // Tool and schema definitions are sent to the model as text.
          Scope s(path_, key);
          BURSAR_RETURN_IF_ERROR(CountRawAsText(v));
        }
      } else if (key == "input") {
        Scope s(path_, "input");
        BURSAR_RETURN_IF_ERROR(ParseEmbeddingInput(v));
        have_input = true;
      }
    }
    if (!AtEnd(doc)) return InvalidArgumentError("body: unexpected content after the object");
    if (!have_model) return InvalidArgumentError("model: required field is missing");
    if (kind == RequestKind::kChatCompletions && !have_messages) {
      return InvalidArgumentError("messages: required field is missing");
    }
    if (kind == RequestKind::kEmbeddings && !have_input) {
      return InvalidArgumentError("input: required field is missing");
    }
    return OkStatus();
  }

 private:
  Status JsonError(error_code e) const {
    return InvalidArgumentError(path_.ToString() + ": invalid JSON (" + simdjson::error_message(e) +
                                ")");
  }
  Status TypeError(error_code e, std::string_view expected) const {
    if (e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_OUT_OF_RANGE ||
        e == simdjson::NUMBER_ERROR) {
      return InvalidArgumentError(path_.ToString() + ": expected " + std::string(expected));
    }
    return JsonError(e);
  }
  Status Error(std::string_view msg) const {
    return InvalidArgumentError(path_.ToString() + ": " + std::string(msg));
  }

  Status GetStringView(od::value& v, std::string_view* out) {
    if (auto e = v.get_string().get(*out)) return TypeError(e, "a string");
    return OkStatus();
  }
  Status GetString(od::value& v, std::string* out) {
    std::string_view sv;
    BURSAR_RETURN_IF_ERROR(GetStringView(v, &sv));
    out->assign(sv);
    return OkStatus();
  }
  Status Type(od::value& v, od::json_type* t) {
    if (auto e = v.type().get(*t)) return JsonError(e);
    return OkStatus();
  }
  Status GetOptionalBool(od::value& v, bool* out) {
    od::json_type t{};
    BURSAR_RETURN_IF_ERROR(Type(v, &t));
    if (t == od::json_type::null) return OkStatus();
    if (auto e = v.get_bool().get(*out)) return TypeError(e, "a boolean");
    return OkStatus();
  }
  Status GetOptionalCount(od::value& v, int64_t min, std::optional<int64_t>* out) {
    od::json_type t{};
    BURSAR_RETURN_IF_ERROR(Type(v, &t));
    if (t == od::json_type::null) return OkStatus();
    int64_t n = 0;
    if (auto e = v.get_int64().get(n)) return TypeError(e, "an integer");
    if (n < min) return Error("must be at least " + std::to_string(min));
    *out = n;
    return OkStatus();
  }
  void AddText(std::string_view s) {
    out_->text_bytes += static_cast<int64_t>(s.size());
    out_->text_chars += CountChars(s);
  }
  Status CountRawAsText(od::value& v) {
    od::json_type t{};
    BURSAR_RETURN_IF_ERROR(Type(v, &t));
    std::string_view raw;
    if (t == od::json_type::object) {
      od::object o;
      if (auto e = v.get_object().get(o)) return JsonError(e);
      if (auto e = o.raw_json().get(raw)) return JsonError(e);
    } else if (t == od::json_type::array) {
      od::array a;
      if (auto e = v.get_array().get(a)) return JsonError(e);
      if (auto e = a.raw_json().get(raw)) return JsonError(e);
    } else if (t == od::json_type::string) {
      return GetStringView(v, &raw).ok() ? (AddText(raw), OkStatus()) : Error("invalid string");
    } else {
      return OkStatus();
    }
    AddText(raw);
    return OkStatus();
  }

  Status ParseStreamOptions(od::value& v) {
    od::json_type t{};
    BURSAR_RETURN_IF_ERROR(Type(v, &t));
    if (t == od::json_type::null) return OkStatus();
    od::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    for (auto fr : o) {
      od::field f;
      if (auto e = std::move(fr).get(f)) return JsonError(e);
      std::string_view key;
      if (auto e = f.unescaped_key().get(key)) return JsonError(e);
      if (key == "include_usage") {
        Scope s(path_, "include_usage");
        od::value fv = f.value();
        BURSAR_RETURN_IF_ERROR(GetOptionalBool(fv, &out_->include_usage));
      }
    }
    return OkStatus();
  }

  Status ParseMessages(od::value& v) {
    od::array arr;
    if (auto e = v.get_array().get(arr)) return TypeError(e, "an array");
    int64_t i = 0;
    for (auto er : arr) {
      Scope s(path_, i);
      if (static_cast<size_t>(i) >= kMaxMessages) {
        return ResourceExhaustedError("messages: more than " + std::to_string(kMaxMessages) +
                                      " messages");
      }
      od::value m;
      if (auto e = er.get(m)) return JsonError(e);
      BURSAR_RETURN_IF_ERROR(ParseMessage(m));
      ++i;
    }
    out_->message_count = i;
    return OkStatus();
  }

  Status ParseMessage(od::value& v) {
    od::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    bool have_role = false;
    for (auto fr : o) {
      od::field f;
      if (auto e = std::move(fr).get(f)) return JsonError(e);
      std::string_view key;
      if (auto e = f.unescaped_key().get(key)) return JsonError(e);
      od::value fv = f.value();
      if (key == "role") {
        Scope s(path_, "role");
        std::string_view role;
        BURSAR_RETURN_IF_ERROR(GetStringView(fv, &role));
        have_role = true;
      } else if (key == "content") {
        Scope s(path_, "content");
        BURSAR_RETURN_IF_ERROR(ParseContent(fv));
      } else if (key == "name") {
        Scope s(path_, "name");
        std::string_view name;
        BURSAR_RETURN_IF_ERROR(GetStringView(fv, &name));
        AddText(name);
      } else if (key == "tool_calls" || key == "function_call") {
        Scope s(path_, key);
        BURSAR_RETURN_IF_ERROR(CountRawAsText(fv));
      }
    }
    if (!have_role) return Error("role: required field is missing");
    return OkStatus();
  }

  Status ParseContent(od::value& v) {
    od::json_type t{};
    BURSAR_RETURN_IF_ERROR(Type(v, &t));
    if (t == od::json_type::null) return OkStatus();
    if (t == od::json_type::string) {
      std::string_view text;
      BURSAR_RETURN_IF_ERROR(GetStringView(v, &text));
      AddText(text);
      return OkStatus();
    }
    od::array arr;
    if (auto e = v.get_array().get(arr)) return TypeError(e, "a string or an array of parts");
    int64_t i = 0;
    for (auto pr : arr) {
      Scope s(path_, i);
      if (static_cast<size_t>(i) >= kMaxPartsPerMessage) {
        return ResourceExhaustedError(path_.ToString() + ": more than " +
                                      std::to_string(kMaxPartsPerMessage) + " content parts");
      }
      od::value p;
      if (auto e = pr.get(p)) return JsonError(e);
      BURSAR_RETURN_IF_ERROR(ParsePart(p));
      ++i;
    }
    return OkStatus();
  }

  Status ParsePart(od::value& v) {
    od::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    std::string type;
    bool have_text = false, have_image = false, have_audio = false;
    for (auto fr : o) {
      od::field f;
      if (auto e = std::move(fr).get(f)) return JsonError(e);
      std::string_view key;
      if (auto e = f.unescaped_key().get(key)) return JsonError(e);
      od::value fv = f.value();
      if (key == "type") {
        Scope s(path_, "type");
        BURSAR_RETURN_IF_ERROR(GetString(fv, &type));
      } else if (key == "text" || key == "refusal") {
        Scope s(path_, key);
        std::string_view text;
        BURSAR_RETURN_IF_ERROR(GetStringView(fv, &text));
        AddText(text);
        have_text = true;
      } else if (key == "image_url") {
        Scope s(path_, "image_url");
        BURSAR_RETURN_IF_ERROR(ParseImageUrl(fv));
        have_image = true;
      } else if (key == "input_audio") {
        Scope s(path_, "input_audio");
        BURSAR_RETURN_IF_ERROR(ParseInputAudio(fv));
        have_audio = true;
      }
    }
    if (type.empty()) return Error("type: required field is missing");
    if (type == "text" && !have_text) return Error("text: required for a text part");
    if (type == "image_url" && !have_image) return Error("image_url: required for an image part");
    if (type == "input_audio" && !have_audio) {
      return Error("input_audio: required for an audio part");
    }
    return OkStatus();
  }

  Status ParseImageUrl(od::value& v) {
    od::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    if (out_->images.size() >= kMaxImagesPerRequest) {
      return ResourceExhaustedError(path_.ToString() + ": more than " +
                                    std::to_string(kMaxImagesPerRequest) +
                                    " images in one request");
    }
    ImageInput img;
    bool have_url = false;
    for (auto fr : o) {
      od::field f;
      if (auto e = std::move(fr).get(f)) return JsonError(e);
      std::string_view key;
      if (auto e = f.unescaped_key().get(key)) return JsonError(e);
      od::value fv = f.value();
      if (key == "url") {
        Scope s(path_, "url");
        std::string_view url;
        BURSAR_RETURN_IF_ERROR(GetStringView(fv, &url));
        BURSAR_RETURN_IF_ERROR(ReadImageUrl(url, &img));
        have_url = true;
      } else if (key == "detail") {
        Scope s(path_, "detail");
        std::string_view d;
        BURSAR_RETURN_IF_ERROR(GetStringView(fv, &d));
        if (d == "low") {
          img.detail = ImageDetail::kLow;
        } else if (d == "high") {
          img.detail = ImageDetail::kHigh;
        } else if (d == "auto") {
          img.detail = ImageDetail::kAuto;
        } else {
          return Error("expected \"low\", \"high\" or \"auto\"");
        }
      }
    }
    if (!have_url) return Error("url: required field is missing");
    out_->images.push_back(std::move(img));
    return OkStatus();
  }

  Status ReadImageUrl(std::string_view url, ImageInput* img) {
    if (StartsWithNoCase(url, "data:")) {
      auto data = ParseDataUrl(url, kMaxImageBytes);
      if (!data.ok())
        return Status(data.status().code(), path_.ToString() + ": " + data.status().message());
      auto info = DecodeImageHeader(data->data);
      if (!info.ok()) return Error(info.status().message());
      img->inline_data = true;
      img->media_type = std::move(data->media_type);
      img->data_bytes = data->data.size();
      img->info = *info;
      return OkStatus();
    }
    if (StartsWithNoCase(url, "https://") || StartsWithNoCase(url, "http://")) {
      img->url.assign(url);
      return OkStatus();
    }
    return Error("expected an https:// or data: URL");
  }

  Status ParseInputAudio(od::value& v) {
    od::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    std::string data;
    bool have_data = false;
    AudioInput audio;
    for (auto fr : o) {
      od::field f;
      if (auto e = std::move(fr).get(f)) return JsonError(e);
      std::string_view key;
      if (auto e = f.unescaped_key().get(key)) return JsonError(e);
      od::value fv = f.value();
      if (key == "data") {
        Scope s(path_, "data");
        std::string_view b64;
        BURSAR_RETURN_IF_ERROR(GetStringView(fv, &b64));
        auto decoded = DecodeBase64(b64, kMaxAudioBytes);
        if (!decoded.ok()) {
          return Status(decoded.status().code(),
                        path_.ToString() + ": " + decoded.status().message());
        }
        data = std::move(decoded).value();
        have_data = true;
      } else if (key == "format") {
        Scope s(path_, "format");
        BURSAR_RETURN_IF_ERROR(GetString(fv, &audio.format));
      }
    }
    if (!have_data) return Error("data: required field is missing");
    if (audio.format.empty()) return Error("format: required field is missing");
    audio.data_bytes = data.size();
    if (audio.format == "wav" || audio.format == "mp3") {
      auto ms = AudioDurationMillis(audio.format, data);
      if (!ms.ok()) {
        Scope s(path_, "data");
        return Error(ms.status().message());
      }
      audio.duration_ms = *ms;
    }
    out_->audio.push_back(std::move(audio));
    return OkStatus();
  }

  Status ParseEmbeddingInput(od::value& v) {
    od::json_type t{};
    BURSAR_RETURN_IF_ERROR(Type(v, &t));
    if (t == od::json_type::string) {
      std::string_view text;
      BURSAR_RETURN_IF_ERROR(GetStringView(v, &text));
      AddText(text);
      out_->input_count = 1;
      return OkStatus();
    }
    od::array arr;
    if (auto e = v.get_array().get(arr)) {
      return TypeError(e, "a string, an array of strings or an array of token arrays");
    }
    int64_t i = 0;
    for (auto er : arr) {
      Scope s(path_, i);
      od::value item;
      if (auto e = er.get(item)) return JsonError(e);
      od::json_type it{};
      BURSAR_RETURN_IF_ERROR(Type(item, &it));
      if (it == od::json_type::number) {
        // A single input given as token ids.
        int64_t tok = 0;
        if (auto e = item.get_int64().get(tok)) return TypeError(e, "an integer token id");
        ++out_->input_token_ids;
        out_->input_count = 1;
      } else if (it == od::json_type::string) {
        std::string_view text;
        BURSAR_RETURN_IF_ERROR(GetStringView(item, &text));
        AddText(text);
        ++out_->input_count;
      } else if (it == od::json_type::array) {
        od::array toks;
        if (auto e = item.get_array().get(toks)) return JsonError(e);
        int64_t j = 0;
        for (auto tr : toks) {
          Scope s2(path_, j);
          int64_t tok = 0;
          if (auto e = tr.get_int64().get(tok)) return TypeError(e, "an integer token id");
          ++out_->input_token_ids;
          ++j;
        }
        ++out_->input_count;
      } else {
        return Error("expected a string, a token id or an array of token ids");
      }
      ++i;
      if (static_cast<size_t>(out_->input_count) > kMaxEmbeddingInputs) {
        return ResourceExhaustedError("input: more than " + std::to_string(kMaxEmbeddingInputs) +
                                      " inputs");
      }
    }
    if (i == 0) return Error("must not be empty");
    return OkStatus();
  }

  ParsedRequest* out_;
  Path path_;
  bool seen_max_completion_ = false;
};

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

StatusOr<ParsedRequest> ParseRequest(RequestKind kind, std::string_view body) {
  ParsedRequest out;
  RequestParser parser(&out);
  BURSAR_RETURN_IF_ERROR(parser.Parse(kind, body));
  return out;
}

StatusOr<ParsedRequest> ParseChatRequest(std::string_view body) {
  return ParseRequest(RequestKind::kChatCompletions, body);
}

StatusOr<ParsedRequest> ParseEmbeddingsRequest(std::string_view body) {
  return ParseRequest(RequestKind::kEmbeddings, body);
}

StatusOr<std::string> RewriteRequestBody(std::string_view body, std::string_view upstream_model,
                                         bool ensure_include_usage) {
  if (body.size() > kMaxRequestBodyBytes) {
    return ResourceExhaustedError("body: too large");
  }
  struct Edit {
    size_t offset;
    size_t length;
    std::string text;
  };
  std::vector<Edit> edits;
  simdjson::padded_string padded(body);
  const char* base = padded.data();
  thread_local od::parser parser;
  od::document doc;
  auto bad = [](std::string_view where, error_code e) {
    return InvalidArgumentError(std::string(where) + ": invalid JSON (" +
                                simdjson::error_message(e) + ")");
  };
  if (auto e = parser.iterate(padded).get(doc)) return bad("body", e);
  od::object obj;
  if (auto e = doc.get_object().get(obj)) return bad("body", e);
  bool have_model = false, have_stream_options = false;
  size_t fields = 0;
  for (auto fr : obj) {
    ++fields;
    od::field f;
    if (auto e = std::move(fr).get(f)) return bad("body", e);
    std::string_view key;
    if (auto e = f.unescaped_key().get(key)) return bad("body", e);
    od::value v = f.value();
    if (key == "model") {
      std::string_view tok;
      tok = v.raw_json_token();
      tok = TrimRight(tok);
      std::string repl;
      AppendJsonString(&repl, upstream_model);
      edits.push_back({static_cast<size_t>(tok.data() - base), tok.size(), std::move(repl)});
      have_model = true;
    } else if (key == "stream_options" && ensure_include_usage) {
      have_stream_options = true;
      std::string_view tok;
      tok = v.raw_json_token();
      od::json_type t{};
      if (auto e = v.type().get(t)) return bad("stream_options", e);
      if (t == od::json_type::null) {
        tok = TrimRight(tok);
        edits.push_back(
            {static_cast<size_t>(tok.data() - base), tok.size(), "{\"include_usage\":true}"});
        continue;
      }
      od::object so;
      if (v.get_object().get(so) != simdjson::SUCCESS) {
        return InvalidArgumentError("stream_options: expected an object");
      }
      const size_t open = static_cast<size_t>(tok.data() - base);  // the '{'
      bool found = false;
      size_t so_fields = 0;
      for (auto sfr : so) {
        ++so_fields;
        od::field sf;
        if (auto e = std::move(sfr).get(sf)) return bad("stream_options", e);
        std::string_view skey;
        if (auto e = sf.unescaped_key().get(skey)) return bad("stream_options", e);
        if (skey != "include_usage") continue;
        od::value sv = sf.value();
        std::string_view stok;
        stok = sv.raw_json_token();
        stok = TrimRight(stok);
        if (stok != "true") {
          edits.push_back({static_cast<size_t>(stok.data() - base), stok.size(), "true"});
        }
        found = true;
      }
      if (!found) {
        edits.push_back(
            {open + 1, 0, so_fields ? "\"include_usage\":true," : "\"include_usage\":true"});
      }
    }
  }
  if (!AtEnd(doc)) return InvalidArgumentError("body: unexpected content after the object");
  if (!have_model) return InvalidArgumentError("model: required field is missing");
  if (ensure_include_usage && !have_stream_options) {
    const std::string_view trimmed = TrimRight(body);
    if (trimmed.empty() || trimmed.back() != '}') {
      return InvalidArgumentError("body: expected an object");
    }
    edits.push_back({trimmed.size() - 1, 0,
                     fields ? ",\"stream_options\":{\"include_usage\":true}"
                            : "\"stream_options\":{\"include_usage\":true}"});
  }
  std::sort(edits.begin(), edits.end(),
            [](const Edit& a, const Edit& b) { return a.offset < b.offset; });
  std::string out;
  out.reserve(body.size() + 64 + upstream_model.size());
  size_t pos = 0;
  for (const Edit& e : edits) {
    if (e.offset < pos || e.offset + e.length > body.size()) {
      return InvalidArgumentError("body: overlapping fields");  // duplicate keys
    }
    out.append(body.substr(pos, e.offset - pos));
    out.append(e.text);
    pos = e.offset + e.length;
  }
  out.append(body.substr(pos));
  return out;
}

}  // namespace bursar::gateway
