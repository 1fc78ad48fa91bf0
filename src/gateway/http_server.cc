#include "gateway/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstring>
#include <list>
#include <thread>
#include <vector>

#include "common/thread_name.h"
#include "gateway/deadline.h"
#include "gateway/http_parser.h"
#include "gateway/socket_io.h"

namespace bursar::gateway {

// Literals with their length known at compile time: appended without a strlen.
using namespace std::string_view_literals;

using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Worker;

// One accepted connection's state visible to its worker: for draining, and for the worker's
// deadline sweep (see gateway/deadline.h), ticking a few times per shortest timeout.
struct SessionState {
  TcpSocket* socket = nullptr;
  bool busy = false;
  OpDeadline deadline;
  std::string head;  // the response head being written (its capacity kept between requests)
};

struct Worker {
  int index = 0;
  // No reactor locking: every socket and timer of a worker is used only on its own thread (Shutdown
  // posts to the io_context and stops it, which keeps the scheduler's locking).
  asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::unique_ptr<RequestHandler> handler;
  std::unique_ptr<TcpAcceptor> acceptor;
  std::thread thread;
  std::list<SessionState*> sessions;  // worker thread only
  bool draining = false;              // worker thread only
  std::atomic<int> busy{0};
  std::atomic<int> open{0};
};

void AppendHeaderBlock(std::string& out, int status, HeaderFields headers,
                       std::string_view content_type, bool close) {
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, status);
  out += "HTTP/1.1 "sv;
  out.append(num, end);
  out += ' ';
  out += ReasonPhrase(status);
  out += "\r\n"sv;
  if (!content_type.empty()) {
    out += "Content-Type: "sv;
    out += content_type;
    out += "\r\n"sv;
  }
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": "sv;
    out += value;
    out += "\r\n"sv;
  }
  if (close) out += "Connection: close\r\n"sv;
}

class ConnectionWriter final : public ResponseWriter {
 public:
  ConnectionWriter(Worker& worker, SessionState& state, const ServerOptions& options,
                   bool keep_alive)
      : worker_(worker), state_(state), options_(options), keep_alive_(keep_alive) {}

  bool failed() const { return failed_; }
  bool keep_alive() const { return keep_alive_ && !failed_ && !worker_.draining; }
  bool completed() const { return completed_; }
  bool started() const override { return started_; }

  Awaitable<bool> Send(int status, HeaderFields headers, std::string_view content_type,
                       std::string_view body) override {
    if (started_ || failed_) co_return false;
    started_ = true;
    bool close = !keep_alive();
    std::string& head = state_.head;
    head.clear();
    AppendHeaderBlock(head, status, headers, content_type, close);
    char num[24];
    auto [end, ec] = std::to_chars(num, num + sizeof num, body.size());
    head += "Content-Length: "sv;
    head.append(num, end);
    head += "\r\n\r\n"sv;
    closing_ = close;
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
    boost::system::error_code write_error;
    if (!SendAllNow(*state_.socket, bufs, write_error)) co_await WriteRest(bufs, write_error);
    completed_ = WriteDone(write_error);
    co_return completed_;
  }

  Awaitable<bool> BeginChunked(int status, HeaderFields headers,
                               std::string_view content_type) override {
    if (started_ || failed_) co_return false;
    started_ = true;
    bool close = !keep_alive();
    closing_ = close;
    std::string& head = state_.head;
    head.clear();
    AppendHeaderBlock(head, status, headers, content_type, close);
    head += "Transfer-Encoding: chunked\r\n\r\n"sv;
    std::array<asio::const_buffer, 1> bufs{asio::buffer(head)};
    boost::system::error_code write_error;
    if (!SendAllNow(*state_.socket, bufs, write_error)) co_await WriteRest(bufs, write_error);
    co_return WriteDone(write_error);
  }

  Awaitable<bool> WriteChunk(std::string_view data) override {
    if (!started_ || failed_) co_return false;
    if (data.empty()) co_return true;
    char size[20];
    auto [end, ec] = std::to_chars(size, size + sizeof size - 2, data.size(), 16);
    *end++ = '\r';
    *end++ = '\n';
    std::array<asio::const_buffer, 3> bufs{asio::buffer(size, end - size), asio::buffer(data),
                                           asio::buffer("\r\n", 2)};
    boost::system::error_code write_error;
    if (!SendAllNow(*state_.socket, bufs, write_error)) co_await WriteRest(bufs, write_error);
    co_return WriteDone(write_error);
  }

  Awaitable<bool> EndChunked() override {
    if (!started_ || failed_) co_return false;
    std::array<asio::const_buffer, 1> bufs{asio::buffer("0\r\n\r\n", 5)};
    boost::system::error_code write_error;
    if (!SendAllNow(*state_.socket, bufs, write_error)) co_await WriteRest(bufs, write_error);
    completed_ = WriteDone(write_error);
    co_return completed_;
  }

  bool closing() const { return closing_; }

 private:
  // Writes all of `bufs`: `if (!SendAllNow(socket, bufs, ec)) co_await WriteRest(bufs, ec);`
  // (what the socket takes at once goes out without suspending), then `WriteDone(ec)` says
  // whether it went out. WriteRest writes the rest under the write timeout: the write operation
  // itself, not a coroutine around it (one coroutine frame fewer per response).
  template <size_t N>
  Awaitable<size_t> WriteRest(const std::array<asio::const_buffer, N>& bufs,
                              boost::system::error_code& ec) {
    state_.deadline.Arm(options_.write_timeout);
    return asio::async_write(*state_.socket, bufs, asio::redirect_error(use_awaitable, ec));
  }
  bool WriteDone(const boost::system::error_code& ec) {
    state_.deadline.Disarm();
    if (ec) failed_ = true;
    return !ec;
  }

  Worker& worker_;
  SessionState& state_;
  const ServerOptions& options_;
  bool keep_alive_;
  bool started_ = false;
  bool failed_ = false;
  bool completed_ = false;
  bool closing_ = false;
};

Awaitable<void> SendSimpleError(SessionState& state, int status, std::string_view message,
                                std::string_view code) {
  std::string body = ErrorJson(message, "invalid_request_error", code);
  std::string out;
  AppendHeaderBlock(out, status, {}, "application/json", true);
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  boost::system::error_code ec;
  state.deadline.Arm(std::chrono::seconds(5));
  co_await asio::async_write(*state.socket, asio::buffer(out),
                             asio::redirect_error(use_awaitable, ec));
  state.deadline.Disarm();
}

// After an early answer (413), reads and drops what the client still sends for a moment, so
// that closing the socket does not reset the connection before the client read the answer.
Awaitable<void> DiscardInput(SessionState& state, size_t max_bytes) {
  boost::system::error_code ec;
  state.socket->shutdown(tcp::socket::shutdown_send, ec);
  std::vector<char> scratch(64 << 10);
  size_t total = 0;
  state.deadline.Arm(std::chrono::seconds(2));
  while (!ec && total < max_bytes + (8 << 20)) {
    total += co_await state.socket->async_read_some(asio::buffer(scratch),
                                                    asio::redirect_error(use_awaitable, ec));
  }
  state.deadline.Disarm();
}

// The interim answer to "Expect: 100-continue", sent before reading a body still to come.
Awaitable<void> SendContinue(TcpSocket& socket, boost::system::error_code& ec) {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  co_await asio::async_write(socket, asio::buffer(kContinue),
                             asio::redirect_error(use_awaitable, ec));
}

bool IsQuietReadError(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset || ec == asio::error::bad_descriptor;
}

// Reads the rest of a chunked body: `decoder` was fed what the connection buffer held; more
// arrives in `scratch`, and what follows the body (a pipelined request) is left in `rest`.
// Returns the decoder's last result; on a read error, kNeedMore with `ec` set.
Awaitable<ChunkedDecoder::Result> ReadChunkedRest(SessionState& state, ChunkedDecoder& decoder,
                                                  size_t max_body, std::string& body,
                                                  std::string& rest, std::string& error,
                                                  boost::system::error_code& ec) {
  std::string scratch(16 << 10, '\0');
  for (;;) {
    size_t n = co_await state.socket->async_read_some(asio::buffer(scratch),
                                                      asio::redirect_error(use_awaitable, ec));
    if (ec) co_return ChunkedDecoder::Result::kNeedMore;
    size_t used = 0;
    auto r = decoder.Feed(std::string_view(scratch.data(), n), max_body, &body, &used, &error);
    if (r == ChunkedDecoder::Result::kNeedMore) continue;
    if (r == ChunkedDecoder::Result::kDone) rest.assign(scratch.data() + used, n - used);
    co_return r;
  }
}

Awaitable<void> Session(Worker& w, const ServerOptions& options, TcpSocket socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);  // for SendNow
  if (ec) co_return;
  SessionState state;
  state.socket = &socket;
  w.sessions.push_front(&state);
  auto self = w.sessions.begin();
  w.open.fetch_add(1, std::memory_order_relaxed);
  // The connection's read buffer: [0, have) holds bytes received and not yet consumed. A
  // request's head is parsed in place (HttpRequest's views point here while it is handled).
  std::string in(4 << 10, '\0');  // grows for a large head; bodies go to req.body
  size_t have = 0;
  RequestHead head;
  std::string error;
  bool first = true;
  while (!w.draining) {
    // The head: the idle timeout until a request starts, then the read timeout.
    state.deadline.Arm(first || have > 0 ? options.read_timeout : options.idle_timeout);
    first = false;
    size_t head_bytes = 0;
    HeadStatus status = HeadStatus::kIncomplete;
    bool armed_for_read = have > 0;
    for (;;) {
      if (have > 0) status = ParseRequestHead({in.data(), have}, &head, &head_bytes, &error);
      if (status != HeadStatus::kIncomplete) break;
      if (have >= options.max_header_bytes) break;
      if (in.size() - have < 4096)
        in.resize(std::min(in.size() * 2, options.max_header_bytes + (16 << 10)));
      size_t n = co_await socket.async_read_some(DrainBuffer(in.data() + have, in.size() - have),
                                                 asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      have += n;
      if (!armed_for_read) {
        state.deadline.Arm(options.read_timeout);
        armed_for_read = true;
      }
    }
    state.deadline.Disarm();
    if (status == HeadStatus::kComplete && head_bytes > options.max_header_bytes) {
      status = HeadStatus::kIncomplete;  // complete, but over the limit
      ec = {};
    }
    if (status != HeadStatus::kComplete) {
      if (status == HeadStatus::kIncomplete && !ec) {
        co_await SendSimpleError(state, 413, "request headers too large", "request_too_large");
      } else if (status == HeadStatus::kBad) {
        co_await SendSimpleError(state, 400, "malformed HTTP request: " + error, "bad_request");
      } else if (status == HeadStatus::kUnsupportedVersion) {
        co_await SendSimpleError(state, 505, error, "http_version_not_supported");
      } else if (status == HeadStatus::kUnsupportedCoding) {
        co_await SendSimpleError(state, 501, error, "not_implemented");
      } else if (have > 0 && !state.deadline.expired && !IsQuietReadError(ec)) {
        co_await SendSimpleError(state, 400, "malformed HTTP request: " + ec.message(),
                                 "bad_request");
      }
      break;
    }

    // The body: Content-Length bytes or a chunked body, read into req.body (never into `in`,
    // which the head's views point into).
    HttpRequest req;
    size_t consumed = head_bytes;  // bytes of `in` this request used
    std::string rest;              // bytes after a chunked body that arrived outside `in`
    bool rest_replaces = false;
    const std::string_view buffered(in.data() + head_bytes, have - head_bytes);
    if (head.has_content_length && head.content_length > options.max_body_bytes) {
      co_await SendSimpleError(state, 413, "request body too large", "request_too_large");
      co_await DiscardInput(state, options.max_body_bytes);
      break;
    }
    state.deadline.Arm(options.read_timeout);
    if (head.has_content_length && head.content_length > 0) {
      const size_t want = static_cast<size_t>(head.content_length);
      const size_t now = std::min(want, buffered.size());
      if (now < want && head.expect_continue) co_await SendContinue(socket, ec);
      req.body.assign(buffered.data(), now);
      consumed += now;
      // The body grows as it arrives (geometrically), not to the declared length at once: a
      // client announcing the maximum and sending nothing does not pin that much memory.
      while (!ec && req.body.size() < want) {
        const size_t got = req.body.size();
        const size_t room = std::min(want - got, std::max<size_t>(64 << 10, got));
        req.body.resize(got + room);
        size_t n = co_await socket.async_read_some(DrainBuffer(req.body.data() + got, room),
                                                   asio::redirect_error(use_awaitable, ec));
        req.body.resize(got + n);
      }
    } else if (head.chunked) {
      ChunkedDecoder decoder;
      size_t used = 0;
      auto r = decoder.Feed(buffered, options.max_body_bytes, &req.body, &used, &error);
      consumed += used;
      if (r == ChunkedDecoder::Result::kNeedMore) {
        consumed = have;  // all of it went into the body
        if (head.expect_continue) co_await SendContinue(socket, ec);
        if (!ec) {
          r = co_await ReadChunkedRest(state, decoder, options.max_body_bytes, req.body, rest,
                                       error, ec);
          rest_replaces = true;
        }
      }
      if (r == ChunkedDecoder::Result::kTooLarge) {
        co_await SendSimpleError(state, 413, "request body too large", "request_too_large");
        co_await DiscardInput(state, options.max_body_bytes);
        break;
      }
      if (r == ChunkedDecoder::Result::kBad) {
        co_await SendSimpleError(state, 400, "malformed HTTP request: " + error, "bad_request");
        break;
      }
    }
    state.deadline.Disarm();
    if (ec) break;  // the client went away or stalled mid-body

    req.method = head.method;
    req.target = head.target;
    req.authorization = head.authorization;
    req.request_id = head.request_id;
    req.content_type = head.content_type;
    if (req.target.substr(0, 7) == "/hooks/") {
      for (const auto& [name, value] : head.fields) req.headers.emplace_back(name, value);
    }
    state.busy = true;
    w.busy.fetch_add(1, std::memory_order_relaxed);
    ConnectionWriter writer(w, state, options, head.keep_alive);
    co_await w.handler->Handle(req, writer);
    if (!writer.started() && !writer.failed()) {
      co_await writer.Send(500, {}, "application/json",
                           ErrorJson("handler produced no response", "server_error", ""));
    }
    w.busy.fetch_sub(1, std::memory_order_relaxed);
    state.busy = false;
    if (!writer.completed() || writer.closing()) break;
    // Keep what follows this request (a pipelined next one) at the start of the buffer.
    if (rest_replaces) {
      if (rest.size() > in.size()) in.resize(rest.size());
      std::memcpy(in.data(), rest.data(), rest.size());
      have = rest.size();
    } else {
      std::memmove(in.data(), in.data() + consumed, have - consumed);
      have -= consumed;
    }
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
  w.sessions.erase(self);
  w.open.fetch_sub(1, std::memory_order_relaxed);
}

// Cancels the operation of every session whose deadline passed (see gateway/deadline.h).
Awaitable<void> SweepDeadlines(Worker& w, std::chrono::milliseconds tick) {
  SteadyTimer timer(w.ioc);
  for (;;) {
    timer.expires_after(tick);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    const Clock::time_point now = Clock::now();
    for (SessionState* s : w.sessions) {
      if (s->deadline.Expire(now)) s->socket->cancel(ec);
    }
  }
}

Awaitable<void> AcceptLoop(Worker& w, const ServerOptions& options) {
  for (;;) {
    boost::system::error_code ec;
    TcpSocket socket = co_await w.acceptor->async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) co_return;
      continue;  // EMFILE and friends: keep serving
    }
    asio::co_spawn(w.ioc, Session(w, options, std::move(socket)), asio::detached);
  }
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  std::vector<std::unique_ptr<Worker>> workers;
  uint16_t port = 0;
  bool stopped = false;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }
uint16_t HttpServer::port() const { return impl_->port; }

int HttpServer::InFlight() const {
  int n = 0;
  for (const auto& w : impl_->workers) n += w->busy.load(std::memory_order_relaxed);
  return n;
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                        const HandlerFactory& factory) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  int n = options.workers > 0 ? options.workers : 1;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return InvalidArgumentError("bad listen address \"" + options.host + "\"");
  uint16_t port = options.port;
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    w->handler = factory(w->ioc, i);
    w->acceptor = std::make_unique<TcpAcceptor>(w->ioc);
    tcp::endpoint endpoint(address, port);
    w->acceptor->open(endpoint.protocol(), ec);
    if (!ec) w->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(w->acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) !=
          0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec) w->acceptor->bind(endpoint, ec);
    if (!ec) w->acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return UnavailableError("cannot listen on " + options.host + ":" + std::to_string(port) +
                              ": " + ec.message());
    }
    port = w->acceptor->local_endpoint().port();
    impl->workers.push_back(std::move(w));
  }
  impl->port = port;
  for (auto& w : impl->workers) {
    Worker* raw = w.get();
    asio::co_spawn(raw->ioc, AcceptLoop(*raw, impl->options), asio::detached);
    // A few ticks per shortest timeout: a deadline is met within a quarter of its length.
    auto shortest = std::min(
        {impl->options.read_timeout, impl->options.idle_timeout, impl->options.write_timeout});
    auto tick =
        std::clamp(shortest / 4, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
    asio::co_spawn(raw->ioc, SweepDeadlines(*raw, tick), asio::detached);
    raw->thread = std::thread([raw] {
      SetThreadName("bursar-gw-" + std::to_string(raw->index));
      auto guard = asio::make_work_guard(raw->ioc);
      raw->ioc.run();
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::Shutdown(std::chrono::milliseconds drain) {
  if (impl_->stopped) return 0;
  impl_->stopped = true;
  // Stop accepting, and close connections that wait for their next request.
  for (auto& w : impl_->workers) {
    Worker* raw = w.get();
    asio::post(raw->ioc, [raw] {
      raw->draining = true;
      boost::system::error_code ec;
      raw->acceptor->close(ec);
      for (SessionState* s : raw->sessions) {
        if (!s->busy) s->socket->cancel(ec);
      }
    });
  }
  auto deadline = std::chrono::steady_clock::now() + drain;
  int left = 0;
  for (;;) {
    left = InFlight();
    if (left == 0 || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& w : impl_->workers) w->ioc.stop();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Handlers (and what they own) go on this thread, after their io_context stopped.
  for (auto& w : impl_->workers) w->handler.reset();
  return left;
}

}  // namespace bursar::gateway
