#include "gateway/request_parser.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gateway/audio.h"
#include "gateway/request_parser_internal.h"

namespace bursar::gateway {
namespace {

namespace dom = simdjson::dom;
using simdjson::error_code;

// A JSON path built only when an error is reported.
class Path {
 public:
  Path() { elems_.reserve(8); }
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

// Unicode code points in UTF-8 text (validated by simdjson): bytes that are not continuation
// bytes (10xxxxxx), counted eight at a time.
int64_t CountChars(std::string_view s) {
  int64_t continuation = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const uint64_t marks = (w & ~(w << 1) & 0x8080808080808080ull) >> 7;  // one bit a byte
    continuation += static_cast<int64_t>((marks * 0x0101010101010101ull) >> 56);
  }
  for (; i < s.size(); ++i) continuation += (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80;
  return static_cast<int64_t>(s.size()) - continuation;
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

using dom::element;
using dom::element_type;
using internal::DomParser;

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
    DomParser parser;
    element doc;
    if (auto e = parser.Parse(body, &doc)) return JsonError(e);
    dom::object obj;
    if (auto e = doc.get_object().get(obj)) return TypeError(e, "an object");
    bool have_model = false;
    bool have_messages = false;
    bool have_input = false;
    for (dom::key_value_pair field : obj) {
      const std::string_view key = field.key;
      element v = field.value;
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
          CountAsText(v);
        }
      } else if (key == "input") {
        Scope s(path_, "input");
        BURSAR_RETURN_IF_ERROR(ParseEmbeddingInput(v));
        have_input = true;
      }
    }
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

  Status GetStringView(element v, std::string_view* out) {
    if (auto e = v.get_string().get(*out)) return TypeError(e, "a string");
    return OkStatus();
  }
  Status GetString(element v, std::string* out) {
    std::string_view sv;
    BURSAR_RETURN_IF_ERROR(GetStringView(v, &sv));
    out->assign(sv);
    return OkStatus();
  }
  Status GetOptionalBool(element v, bool* out) {
    if (v.is_null()) return OkStatus();
    if (auto e = v.get_bool().get(*out)) return TypeError(e, "a boolean");
    return OkStatus();
  }
  Status GetOptionalCount(element v, int64_t min, std::optional<int64_t>* out) {
    if (v.is_null()) return OkStatus();
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
  // Counts every string (keys and values) of a JSON value as text.
  void CountAsText(element v) {
    switch (v.type()) {
      case element_type::STRING:
        AddText(v.get_string().value_unsafe());
        break;
      case element_type::ARRAY: {
        const dom::array a = v.get_array().value_unsafe();
        for (element item : a) CountAsText(item);
        break;
      }
      case element_type::OBJECT: {
        const dom::object o = v.get_object().value_unsafe();
        for (dom::key_value_pair kv : o) {
          AddText(kv.key);
          CountAsText(kv.value);
        }
        break;
      }
      default:
        out_->text_bytes += 1;  // a number, boolean or null: about one token's worth
        out_->text_chars += 1;
        break;
    }
  }

  Status ParseStreamOptions(element v) {
    if (v.is_null()) return OkStatus();
    dom::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    for (dom::key_value_pair f : o) {
      if (f.key == "include_usage") {
        Scope s(path_, "include_usage");
        BURSAR_RETURN_IF_ERROR(GetOptionalBool(f.value, &out_->include_usage));
      }
    }
    return OkStatus();
  }

  Status ParseMessages(element v) {
    dom::array arr;
    if (auto e = v.get_array().get(arr)) return TypeError(e, "an array");
    if (arr.size() > kMaxMessages) {
      return ResourceExhaustedError("messages: more than " + std::to_string(kMaxMessages) +
                                    " messages");
    }
    int64_t i = 0;
    for (element m : arr) {
      Scope s(path_, i);
      BURSAR_RETURN_IF_ERROR(ParseMessage(m));
      ++i;
    }
    out_->message_count = i;
    return OkStatus();
  }

  Status ParseMessage(element v) {
    dom::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    bool have_role = false;
    for (dom::key_value_pair f : o) {
      const std::string_view key = f.key;
      if (key == "role") {
        Scope s(path_, "role");
        std::string_view role;
        BURSAR_RETURN_IF_ERROR(GetStringView(f.value, &role));
        have_role = true;
      } else if (key == "content") {
        Scope s(path_, "content");
        BURSAR_RETURN_IF_ERROR(ParseContent(f.value));
      } else if (key == "name") {
        Scope s(path_, "name");
        std::string_view name;
        BURSAR_RETURN_IF_ERROR(GetStringView(f.value, &name));
        AddText(name);
      } else if (key == "tool_calls" || key == "function_call") {
        CountAsText(f.value);
      }
    }
    if (!have_role) return Error("role: required field is missing");
    return OkStatus();
  }

  Status ParseContent(element v) {
    if (v.is_null()) return OkStatus();
    if (v.type() == element_type::STRING) {
      AddText(v.get_string().value_unsafe());
      return OkStatus();
    }
    dom::array arr;
    if (auto e = v.get_array().get(arr)) return TypeError(e, "a string or an array of parts");
    if (arr.size() > kMaxPartsPerMessage) {
      return ResourceExhaustedError(path_.ToString() + ": more than " +
                                    std::to_string(kMaxPartsPerMessage) + " content parts");
    }
    int64_t i = 0;
    for (element p : arr) {
      Scope s(path_, i);
      BURSAR_RETURN_IF_ERROR(ParsePart(p));
      ++i;
    }
    return OkStatus();
  }

  Status ParsePart(element v) {
    dom::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    std::string_view type;
    bool have_type = false, have_text = false, have_image = false, have_audio = false;
    for (dom::key_value_pair f : o) {
      const std::string_view key = f.key;
      if (key == "type") {
        Scope s(path_, "type");
        BURSAR_RETURN_IF_ERROR(GetStringView(f.value, &type));
        have_type = true;
      } else if (key == "text" || key == "refusal") {
        Scope s(path_, key);
        std::string_view text;
        BURSAR_RETURN_IF_ERROR(GetStringView(f.value, &text));
        AddText(text);
        have_text = true;
      } else if (key == "image_url") {
        Scope s(path_, "image_url");
        BURSAR_RETURN_IF_ERROR(ParseImageUrl(f.value));
        have_image = true;
      } else if (key == "input_audio") {
        Scope s(path_, "input_audio");
        BURSAR_RETURN_IF_ERROR(ParseInputAudio(f.value));
        have_audio = true;
      }
    }
    if (!have_type) return Error("type: required field is missing");
    if (type == "text" && !have_text) return Error("text: required for a text part");
    if (type == "image_url" && !have_image) return Error("image_url: required for an image part");
    if (type == "input_audio" && !have_audio) {
      return Error("input_audio: required for an audio part");
    }
    return OkStatus();
  }

  Status ParseImageUrl(element v) {
    dom::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    if (out_->images.size() >= kMaxImagesPerRequest) {
      return ResourceExhaustedError(path_.ToString() + ": more than " +
                                    std::to_string(kMaxImagesPerRequest) +
                                    " images in one request");
    }
    ImageInput img;
    bool have_url = false;
    for (dom::key_value_pair f : o) {
      if (f.key == "url") {
        Scope s(path_, "url");
        std::string_view url;
        BURSAR_RETURN_IF_ERROR(GetStringView(f.value, &url));
        BURSAR_RETURN_IF_ERROR(ReadImageUrl(url, &img));
        have_url = true;
      } else if (f.key == "detail") {
        Scope s(path_, "detail");
        std::string_view d;
        BURSAR_RETURN_IF_ERROR(GetStringView(f.value, &d));
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
      // Decode only the start of the image; a JPEG whose frame header lies further (large
      // EXIF or ICC segments) is decoded whole on a second try.
      constexpr size_t kHeaderPrefix = 64 << 10;
      size_t decoded_size = 0;
      auto data = ParseDataUrlPrefix(url, kMaxImageBytes, kHeaderPrefix, &decoded_size);
      if (!data.ok()) {
        return Status(data.status().code(), path_.ToString() + ": " + data.status().message());
      }
      auto info = DecodeImageHeader(data->data);
      if (!info.ok() && decoded_size > data->data.size()) {
        data = ParseDataUrl(url, kMaxImageBytes);
        if (data.ok()) info = DecodeImageHeader(data->data);
      }
      if (!info.ok()) return Error(info.status().message());
      img->inline_data = true;
      img->media_type = std::move(data->media_type);
      img->data_bytes = decoded_size;
      img->info = *info;
      return OkStatus();
    }
    if (StartsWithNoCase(url, "https://") || StartsWithNoCase(url, "http://")) {
      img->url.assign(url);
      return OkStatus();
    }
    return Error("expected an https:// or data: URL");
  }

  Status ParseInputAudio(element v) {
    dom::object o;
    if (auto e = v.get_object().get(o)) return TypeError(e, "an object");
    std::string data;
    bool have_data = false;
    AudioInput audio;
    for (dom::key_value_pair f : o) {
      if (f.key == "data") {
        Scope s(path_, "data");
        std::string_view b64;
        BURSAR_RETURN_IF_ERROR(GetStringView(f.value, &b64));
        auto decoded = DecodeBase64(b64, kMaxAudioBytes);
        if (!decoded.ok()) {
          return Status(decoded.status().code(),
                        path_.ToString() + ": " + decoded.status().message());
        }
        data = std::move(decoded).value();
        have_data = true;
      } else if (f.key == "format") {
        Scope s(path_, "format");
        BURSAR_RETURN_IF_ERROR(GetString(f.value, &audio.format));
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

  Status ParseEmbeddingInput(element v) {
    if (v.type() == element_type::STRING) {
      AddText(v.get_string().value_unsafe());
      out_->input_count = 1;
      return OkStatus();
    }
    dom::array arr;
    if (auto e = v.get_array().get(arr)) {
      return TypeError(e, "a string, an array of strings or an array of token arrays");
    }
    if (arr.size() == 0) return Error("must not be empty");
    int64_t i = 0;
    for (element item : arr) {
      Scope s(path_, i);
      const element_type t = item.type();
      if (t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE) {
        // A single input given as token ids.
        int64_t tok = 0;
        if (auto e = item.get_int64().get(tok)) return TypeError(e, "an integer token id");
        ++out_->input_token_ids;
        out_->input_count = 1;
      } else if (t == element_type::STRING) {
        AddText(item.get_string().value_unsafe());
        ++out_->input_count;
      } else if (t == element_type::ARRAY) {
        int64_t j = 0;
        const dom::array toks = item.get_array().value_unsafe();
        for (element tok_el : toks) {
          Scope s2(path_, j);
          int64_t tok = 0;
          if (auto e = tok_el.get_int64().get(tok)) return TypeError(e, "an integer token id");
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
    return OkStatus();
  }

  ParsedRequest* out_;
  Path path_;
  bool seen_max_completion_ = false;
};

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

namespace internal {

simdjson::error_code DomParser::Parse(std::string_view body, simdjson::dom::element* out) {
  // Larger bodies use a parser of their own so that a thread keeps at most about 60 MB of
  // parser capacity (simdjson reserves ~14 bytes a byte, mostly untouched).
  constexpr size_t kKeepBelow = 4 << 20;
  thread_local simdjson::dom::parser shared_parser;
  thread_local std::string shared_buffer;
  simdjson::dom::parser& p = body.size() < kKeepBelow
                                 ? shared_parser
                                 : (big_ = std::make_unique<simdjson::dom::parser>(), *big_);
  std::string& buf = body.size() < kKeepBelow ? shared_buffer : big_buf_;
  buf.assign(body);
  buf.append(simdjson::SIMDJSON_PADDING, '\0');
  return p.parse(reinterpret_cast<const uint8_t*>(buf.data()), body.size(), false).get(*out);
}

}  // namespace internal

}  // namespace bursar::gateway
