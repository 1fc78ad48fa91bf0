// Plain HTTP request/response types shared by the server, the handler and the upstream client,
// free of Boost so that the request flow compiles without Asio/Beast.
//
// An HttpRequest's string_views point into the connection's read buffer and are valid only until
// the handler's coroutine returns. Thread safety: values owned by one worker.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bursar::gateway {

struct HttpRequest {
  std::string_view method;         // "GET", "POST", ...
  std::string_view target;         // path and query, e.g. "/v1/chat/completions"
  std::string_view authorization;  // the Authorization header value ("" when absent)
  std::string_view request_id;     // the client's x-request-id ("" when absent)
  std::string_view content_type;
  std::string body;  // owned (moved out of the parser), so JSON parsers may pad a copy
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The status line's reason phrase for the codes the gateway uses.
std::string_view ReasonPhrase(int status);

// OpenAI's error JSON: {"error":{"message":..,"type":..,"param":null,"code":..}}.
std::string ErrorJson(std::string_view message, std::string_view type, std::string_view code);

// Escapes a string for inclusion between JSON double quotes.
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace bursar::gateway
