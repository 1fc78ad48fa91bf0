#include "gateway/http_types.h"

#include <cstdio>

namespace bursar::gateway {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

std::string ErrorJson(std::string_view message, std::string_view type, std::string_view code) {
  std::string out = R"({"error":{"message":")";
  AppendJsonEscaped(out, message);
  out += R"(","type":")";
  AppendJsonEscaped(out, type);
  out += R"(","param":null,"code":)";
  if (code.empty()) {
    out += "null";
  } else {
    out += '"';
    AppendJsonEscaped(out, code);
    out += '"';
  }
  out += "}}";
  return out;
}

}  // namespace bursar::gateway
