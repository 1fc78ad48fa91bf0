// The gateway's HTTP/1.1 server (Boost.Asio + Beast's parser), Envoy-style threading.
//
// N worker threads each run their own io_context and their own SO_REUSEPORT acceptor on the same
// address; the kernel spreads connections over them, and a connection stays on the worker that
// accepted it for life. Each worker gets its own RequestHandler (from the factory, called on the
// starting thread) so per-worker state (upstream pools, metric shards) needs no lock.
//
// Limits: request header and body sizes (413 when exceeded), an idle timeout between requests on a
// keep-alive connection, a read timeout for a started request, a write timeout.
// Shutdown(): stops accepting, closes idle connections, lets in-flight requests finish until the
// drain deadline, then stops the workers and joins them. Thread safety: Start/Shutdown/port from
// one controlling thread; RequestHandler::Handle runs on its worker's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "gateway/asio.h"
#include "gateway/http_types.h"

namespace bursar::gateway {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (see HttpServer::port())
  int workers = 2;
  size_t max_header_bytes = 64 << 10;
  size_t max_body_bytes = 32 << 20;
  std::chrono::milliseconds idle_timeout{60000};   // between requests on a connection
  std::chrono::milliseconds read_timeout{30000};   // for one request once it started
  std::chrono::milliseconds write_timeout{60000};  // for one write to the client
};

// How a handler answers. Each method returns false when the client went away (the handler should
// stop; the connection is closed). Either Send once, or BeginChunked, WriteChunk*, EndChunked.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual Awaitable<bool> Send(int status, HeaderFields headers, std::string_view content_type,
                               std::string_view body) = 0;
  virtual Awaitable<bool> BeginChunked(int status, HeaderFields headers,
                                       std::string_view content_type) = 0;
  virtual Awaitable<bool> WriteChunk(std::string_view data) = 0;
  virtual Awaitable<bool> EndChunked() = 0;
  // True once the status line went out (an error can no longer change it).
  virtual bool started() const = 0;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Answers one request through `out`. Must not throw.
  virtual Awaitable<void> Handle(HttpRequest& req, ResponseWriter& out) = 0;
};

using HandlerFactory =
    std::function<std::unique_ptr<RequestHandler>(asio::io_context& ioc, int worker_index)>;

class HttpServer {
 public:
  // Binds every worker's acceptor and starts the worker threads. Unavailable when the address
  // cannot be bound.
  static StatusOr<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                     const HandlerFactory& factory);
  ~HttpServer();  // Shutdown(0) if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Requests being handled right now, over all workers.
  int InFlight() const;
  // Stops accepting, drains in-flight requests for at most `drain`, stops and joins the workers.
  // Returns the number of requests still in flight when it gave up (0 on a clean drain).
  int Shutdown(std::chrono::milliseconds drain);

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bursar::gateway
