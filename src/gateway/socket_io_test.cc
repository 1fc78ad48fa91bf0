#include "gateway/socket_io.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

// recv() as the test binary sees it: counts the calls made on one descriptor, then calls the
// next definition (libc's, or the sanitizer's interceptor). Asio's reads call ::recv.
namespace {
std::atomic<int> g_counted_fd{-1};
std::atomic<int> g_recv_calls{0};
}  // namespace

extern "C" ssize_t recv(int fd, void* buf, size_t n, int flags) {
  using Recv = ssize_t (*)(int, void*, size_t, int);
  static const Recv next = reinterpret_cast<Recv>(dlsym(RTLD_NEXT, "recv"));
  if (fd == g_counted_fd.load()) g_recv_calls.fetch_add(1);
  return next(fd, buf, n, flags);
}

namespace bursar::gateway {
namespace {

using namespace std::chrono_literals;

// A loopback connection: `server` is the Asio socket under test, `client` a blocking descriptor.
class SocketIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TcpAcceptor acceptor(ioc_.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_ = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(client_, 0);
    asio::ip::tcp::endpoint at = acceptor.local_endpoint();
    ASSERT_EQ(::connect(client_, at.data(), static_cast<socklen_t>(at.size())), 0);
    server_.emplace(acceptor.accept());
    g_counted_fd = server_->native_handle();
  }
  void TearDown() override {
    g_counted_fd = -1;
    if (client_ >= 0) ::close(client_);
  }

  void ClientSend(std::string_view data) {
    ASSERT_EQ(::send(client_, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  }

  // One async_read_some into `buffer` (a DrainBuffer or a plain asio::buffer) on the io_context;
  // `during`, if set, runs on another thread once the read has started. Returns what was read
  // ("<error: ...>" on an error) and sets `recv_calls` to the recv() calls the read made.
  template <typename Buffer>
  std::string ReadOnce(Buffer buffer, int* recv_calls, std::function<void()> during = {}) {
    std::optional<std::string> got;
    g_recv_calls = 0;
    asio::co_spawn(
        ioc_,
        [&]() -> Awaitable<void> {
          boost::system::error_code ec;
          size_t n =
              co_await server_->async_read_some(buffer, asio::redirect_error(use_awaitable, ec));
          got = ec ? "<error: " + ec.message() + ">"
                   : std::string(static_cast<const char*>(buffer.data()), n);
        },
        asio::detached);
    std::thread other;
    if (during) other = std::thread(during);
    ioc_.restart();
    ioc_.run_for(5s);
    if (other.joinable()) other.join();
    *recv_calls = g_recv_calls;
    return got.value_or("<no completion>");
  }

  asio::io_context ioc_;
  std::optional<TcpSocket> server_;
  int client_ = -1;
  char buf_[64] = {};
};

// Sends `data` from the client 50 ms after the read has started.
#define LATER(data)                    \
  [this] {                             \
    std::this_thread::sleep_for(50ms); \
    ClientSend(data);                  \
  }

TEST_F(SocketIoTest, ReadAfterAShortReadWaitsForEpollWithoutTryingRecv) {
  // The first read tries recv (EAGAIN: nothing sent yet), then reads once epoll reports data.
  // (Data sent before the first read would leave a stale edge from the socket's registration.)
  int calls = 0;
  ASSERT_EQ(ReadOnce(DrainBuffer(buf_, sizeof buf_), &calls, LATER("hello")), "hello");
  EXPECT_EQ(calls, 2);
  // That read was short, so the socket is empty: the next read waits for epoll, then reads once.
  EXPECT_EQ(ReadOnce(DrainBuffer(buf_, sizeof buf_), &calls, LATER("world")), "world");
  EXPECT_EQ(calls, kDrainReadsSupported ? 1 : 2);
  EXPECT_EQ(ReadOnce(DrainBuffer(buf_, sizeof buf_), &calls, LATER("again")), "again");
  EXPECT_EQ(calls, kDrainReadsSupported ? 1 : 2);
}

TEST_F(SocketIoTest, APlainBufferStillTriesRecvFirst) {
  // The behaviour DrainBuffer avoids, so that the test above can tell the two apart.
  int calls = 0;
  ASSERT_EQ(ReadOnce(asio::buffer(buf_, sizeof buf_), &calls, LATER("hello")), "hello");
  EXPECT_EQ(ReadOnce(asio::buffer(buf_, sizeof buf_), &calls, LATER("world")), "world");
  EXPECT_EQ(calls, 2);  // one EAGAIN, then the read after epoll
}

TEST_F(SocketIoTest, BytesThatArriveBeforeTheNextReadStartsAreNotLost) {
  int calls = 0;
  ASSERT_EQ(ReadOnce(DrainBuffer(buf_, sizeof buf_), &calls, LATER("hello")), "hello");
  // Arrives after the short read and before the next read is queued: the edge it raises is
  // still waiting in epoll, and sets the reactor's flag again when the io_context polls.
  ClientSend("early");
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(ReadOnce(DrainBuffer(buf_, sizeof buf_), &calls), "early");
}

TEST_F(SocketIoTest, AFullBufferLeavesTheNextReadSpeculative) {
  ClientSend(std::string(sizeof buf_, 'a') + "tail");
  int calls = 0;
  ASSERT_EQ(ReadOnce(DrainBuffer(buf_, sizeof buf_), &calls), std::string(sizeof buf_, 'a'));
  // More may be queued after a full read, so the next read tries recv at once and finds it.
  EXPECT_EQ(ReadOnce(DrainBuffer(buf_, sizeof buf_), &calls), "tail");
  EXPECT_EQ(calls, 1);
}

TEST_F(SocketIoTest, EndOfStreamAfterAShortReadIsReported) {
  int calls = 0;
  ASSERT_EQ(ReadOnce(DrainBuffer(buf_, sizeof buf_), &calls, LATER("bye")), "bye");
  auto close_later = [this] {
    std::this_thread::sleep_for(50ms);
    ::shutdown(client_, SHUT_WR);
  };
  std::string eof = ReadOnce(DrainBuffer(buf_, sizeof buf_), &calls, close_later);
  EXPECT_EQ(eof, "<error: " + boost::system::error_code(asio::error::eof).message() + ">");
}

TEST(ConsumeSentTest, DropsSentBytesAcrossBuffers) {
  std::string a = "head", b = "body";
  std::array<asio::const_buffer, 2> bufs{asio::buffer(a), asio::buffer(b)};
  EXPECT_FALSE(ConsumeSent(bufs, 0));
  EXPECT_FALSE(ConsumeSent(bufs, 6));  // all of "head" and "bo"
  EXPECT_EQ(bufs[0].size(), 0u);
  EXPECT_EQ(std::string_view(static_cast<const char*>(bufs[1].data()), bufs[1].size()), "dy");
  EXPECT_TRUE(ConsumeSent(bufs, 2));
}

TEST_F(SocketIoTest, SendNowSendsWhatFitsAndTheRestFollowsAsynchronously) {
  boost::system::error_code ec;
  server_->non_blocking(true, ec);
  ASSERT_FALSE(ec) << ec.message();
  std::string payload(16 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  std::array<asio::const_buffer, 2> bufs{asio::buffer(payload.data(), 100),
                                         asio::buffer(payload.data() + 100, payload.size() - 100)};
  const size_t sent = SendNow(*server_, bufs, ec);  // the client reads nothing yet
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_GT(sent, 0u);
  EXPECT_LT(sent, payload.size());  // the socket's buffers hold less than 16 MiB
  ASSERT_FALSE(ConsumeSent(bufs, sent));
  EXPECT_EQ(SendNow(*server_, bufs, ec), 0u);  // full: not an error
  EXPECT_FALSE(ec) << ec.message();

  std::string got;
  std::thread reader([&] {
    char chunk[1 << 16];
    while (got.size() < payload.size()) {
      ssize_t n = ::recv(client_, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      got.append(chunk, static_cast<size_t>(n));
    }
  });
  asio::co_spawn(
      ioc_,
      [&]() -> Awaitable<void> {
        co_await asio::async_write(*server_, bufs, asio::redirect_error(use_awaitable, ec));
      },
      asio::detached);
  ioc_.run_for(10s);
  reader.join();
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(got == payload) << got.size() << " of " << payload.size() << " bytes";
}

}  // namespace
}  // namespace bursar::gateway
