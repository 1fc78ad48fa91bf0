#include "gateway/http_types.h"

#include "common/json_text.h"

namespace bursar::gateway {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
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
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
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
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:  // any other code: the class's generic phrase (RFC 9110 section 15)
      return status >= 500   ? "Server Error"
             : status >= 400 ? "Client Error"
             : status >= 300 ? "Redirection"
             : status >= 200 ? "Success"
                             : "Informational";
  }
}

std::string ErrorJson(std::string_view message, std::string_view type, std::string_view code) {
  std::string out = R"({"error":{"message":")";
  AppendJsonEscaped(&out, message);
  out += R"(","type":")";
  AppendJsonEscaped(&out, type);
  out += R"(","param":null,"code":)";
  if (code.empty()) {
    out += "null";
  } else {
    out += '"';
    AppendJsonEscaped(&out, code);
    out += '"';
  }
  out += "}}";
  return out;
}

}  // namespace bursar::gateway
