#include "gateway/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace bursar::gateway {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class EchoHandler final : public RequestHandler {
 public:
  Awaitable<void> Handle(HttpRequest& req, ResponseWriter& out) override {
    co_await out.Send(200, {}, "text/plain", std::string(req.method) + " " + req.body);
  }
};

// A blocking loopback client socket.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(std::string_view data) {
    ASSERT_EQ(::write(fd_, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  // Reads until the peer closes or `limit` passes; returns what arrived and whether it closed.
  std::string ReadUntilClosed(milliseconds limit, bool* closed) {
    std::string got;
    *closed = false;
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      int left =
          static_cast<int>(std::chrono::duration_cast<milliseconds>(end - Clock::now()).count());
      if (::poll(&p, 1, left > 0 ? left : 0) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) {
        *closed = true;
        break;
      }
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }

 private:
  int fd_;
  bool connected_ = false;
};

// One worker answering with EchoHandler; `adjust` changes the options first.
template <typename Adjust>
std::unique_ptr<HttpServer> StartEchoServer(Adjust adjust) {
  ServerOptions options;
  options.workers = 1;
  adjust(options);
  auto server = HttpServer::Start(
      options, [](asio::io_context&, int) { return std::make_unique<EchoHandler>(); });
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(server).value() : nullptr;
}

std::unique_ptr<HttpServer> StartServer(milliseconds read_timeout, milliseconds idle_timeout) {
  return StartEchoServer([&](ServerOptions& o) {
    o.read_timeout = read_timeout;
    o.idle_timeout = idle_timeout;
  });
}

TEST(HttpServerTest, AnswersKeepAliveRequests) {
  auto server = StartServer(milliseconds(5000), milliseconds(5000));
  ASSERT_TRUE(server);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  c.Send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
  c.Send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye");
  bool closed = false;
  std::string got = c.ReadUntilClosed(milliseconds(3000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(got.find("POST hello"), std::string::npos) << got;
  EXPECT_NE(got.find("POST bye"), std::string::npos) << got;
  EXPECT_EQ(server->Shutdown(milliseconds(1000)), 0);
}

// A request that stops arriving is dropped after the read timeout, not before.
TEST(HttpServerTest, StalledRequestIsClosedAfterTheReadTimeout) {
  auto server = StartServer(milliseconds(300), milliseconds(10000));
  ASSERT_TRUE(server);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  auto start = Clock::now();
  c.Send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
  bool closed = false;
  std::string got = c.ReadUntilClosed(milliseconds(5000), &closed);
  auto waited = Clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_EQ(got, "");  // a timeout is not a malformed request: no answer
  EXPECT_GE(waited, milliseconds(290));
  EXPECT_LT(waited, milliseconds(2000));
  EXPECT_EQ(server->Shutdown(milliseconds(1000)), 0);
}

// An idle keep-alive connection is closed after the idle timeout; the served request is not cut.
TEST(HttpServerTest, IdleConnectionIsClosedAfterTheIdleTimeout) {
  auto server = StartServer(milliseconds(10000), milliseconds(300));
  ASSERT_TRUE(server);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  auto start = Clock::now();
  c.Send("GET /y HTTP/1.1\r\nHost: a\r\n\r\n");
  bool closed = false;
  std::string got = c.ReadUntilClosed(milliseconds(5000), &closed);
  auto waited = Clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_NE(got.find("200 OK"), std::string::npos) << got;
  EXPECT_GE(waited, milliseconds(290));
  EXPECT_LT(waited, milliseconds(2000));
  EXPECT_EQ(server->Shutdown(milliseconds(1000)), 0);
}

std::unique_ptr<HttpServer> StartServerWithLimits(size_t max_header, size_t max_body) {
  return StartEchoServer([&](ServerOptions& o) {
    o.max_header_bytes = max_header;
    o.max_body_bytes = max_body;
  });
}

// Requests sent back to back in one write (pipelined), with a chunked body between them, are
// answered in order; bytes after a chunked body start the next request.
TEST(HttpServerTest, PipelinedAndChunkedRequestsAreAnsweredInOrder) {
  auto server = StartServer(milliseconds(5000), milliseconds(5000));
  ASSERT_TRUE(server);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  c.Send(
      "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\none"
      "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n4\r\n-two\r\n0\r\n\r\n"
      "POST /c HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthree");
  bool closed = false;
  std::string got = c.ReadUntilClosed(milliseconds(3000), &closed);
  EXPECT_TRUE(closed);
  size_t a = got.find("POST one"), b = got.find("POST two-two"), d = got.find("POST three");
  ASSERT_NE(a, std::string::npos) << got;
  ASSERT_NE(b, std::string::npos) << got;
  ASSERT_NE(d, std::string::npos) << got;
  EXPECT_LT(a, b);
  EXPECT_LT(b, d);
}

// A chunked body that arrives in pieces, and a body announced with Expect: 100-continue.
TEST(HttpServerTest, BodiesArriveInPiecesAndExpectContinueIsAnswered) {
  auto server = StartServer(milliseconds(5000), milliseconds(5000));
  ASSERT_TRUE(server);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  c.Send("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab");
  std::this_thread::sleep_for(milliseconds(50));
  c.Send("cd\r\n2\r\nef\r\n0\r\n\r\n");
  c.Send(
      "POST /y HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  std::this_thread::sleep_for(milliseconds(50));
  c.Send("wxyz");
  bool closed = false;
  std::string got = c.ReadUntilClosed(milliseconds(3000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(got.find("POST abcdef"), std::string::npos) << got;
  EXPECT_NE(got.find("HTTP/1.1 100 Continue\r\n\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("POST wxyz"), std::string::npos) << got;
}

// A body larger than the read buffer, arriving in pieces, is read whole (it grows as it comes).
TEST(HttpServerTest, LargeBodyArrivingInPiecesIsReadWhole) {
  auto server = StartServer(milliseconds(5000), milliseconds(5000));
  ASSERT_TRUE(server);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  std::string body;
  for (int i = 0; body.size() < 300000; ++i) body += std::to_string(i) + ",";
  c.Send("POST /big HTTP/1.1\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  for (size_t at = 0; at < body.size(); at += 70000) {
    c.Send(std::string_view(body).substr(at, 70000));
    std::this_thread::sleep_for(milliseconds(20));
  }
  bool closed = false;
  std::string got = c.ReadUntilClosed(milliseconds(5000), &closed);
  EXPECT_TRUE(closed);
  size_t at = got.find("\r\n\r\n");
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(got.substr(at + 4), "POST " + body);
}

// An answer larger than the socket takes at once: the part sent without waiting, then the rest
// once the client reads, arrive whole and in order.
TEST(HttpServerTest, LargeAnswerToASlowReaderArrivesWhole) {
  auto server = StartServer(milliseconds(5000), milliseconds(5000));
  ASSERT_TRUE(server);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  std::string body;
  for (int i = 0; body.size() < (24 << 20); ++i) body += std::to_string(i) + ",";
  c.Send("POST /big HTTP/1.1\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  c.Send(body);
  std::this_thread::sleep_for(milliseconds(300));  // the server's send buffer fills up
  bool closed = false;
  std::string got = c.ReadUntilClosed(milliseconds(10000), &closed);
  EXPECT_TRUE(closed);
  size_t at = got.find("\r\n\r\n");
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(got.size() - at - 4, body.size() + 5);
  EXPECT_TRUE(got.compare(at + 4, std::string::npos, "POST " + body) == 0);
}

// A client that stops reading a large answer is dropped after the write timeout.
TEST(HttpServerTest, ClientThatStopsReadingIsDroppedAfterTheWriteTimeout) {
  auto server = StartEchoServer([](ServerOptions& o) { o.write_timeout = milliseconds(300); });
  ASSERT_TRUE(server);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  const std::string body(24 << 20, 'x');
  c.Send("POST /big HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  c.Send(body);
  std::this_thread::sleep_for(milliseconds(1500));
  bool closed = false;
  std::string got = c.ReadUntilClosed(milliseconds(5000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_GT(got.size(), 0u);
  EXPECT_LT(got.size(), body.size());  // cut off: not the whole answer
  EXPECT_EQ(server->Shutdown(milliseconds(1000)), 0);
}

TEST(HttpServerTest, OversizedAndMalformedRequestsGetTheirStatus) {
  auto server = StartServerWithLimits(1024, 64);
  ASSERT_TRUE(server);
  struct Case {
    std::string request;
    const char* status_line;
    const char* body_has;
  } cases[] = {
      {"POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", "HTTP/1.1 413 ", "body too large"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n" + std::string(65, 'x'),
       "HTTP/1.1 413 ", "body too large"},
      {"GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", "HTTP/1.1 413 ",
       "headers too large"},
      {"GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a'), "HTTP/1.1 413 ", "headers too large"},
      {"GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n", "HTTP/1.1 400 ", "malformed HTTP request"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 400 ",
       "malformed chunk size"},
      {"GET / HTTP/3.0\r\n\r\n", "HTTP/1.1 505 ", "not supported"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: br\r\n\r\n", "HTTP/1.1 501 ", "not supported"},
  };
  for (const Case& k : cases) {
    Client c(server->port());
    ASSERT_TRUE(c.connected());
    c.Send(k.request);
    bool closed = false;
    std::string got = c.ReadUntilClosed(milliseconds(3000), &closed);
    EXPECT_TRUE(closed) << k.request.substr(0, 40);
    EXPECT_EQ(got.substr(0, 13), k.status_line) << k.request.substr(0, 40) << " -> " << got;
    EXPECT_NE(got.find(k.body_has), std::string::npos) << got;
  }
}

}  // namespace
}  // namespace bursar::gateway
