// Plain TCP socket I/O for the data plane, with fewer system calls and scheduler rounds than
// Asio's defaults (both measured by bench/gateway; a system call costs about 1 us in a virtual
// machine):
// - SendNow: a write that the socket takes at once is done without suspending the coroutine.
// - DrainBuffer: a read that follows a write waits for epoll without a failing recv() first.
#pragma once

#include <algorithm>
#include <array>
#include <boost/version.hpp>

#include "gateway/asio.h"

namespace bursar::gateway {

// Sends what `socket` takes now, with one non-blocking sendmsg(), and returns the bytes sent;
// a full send buffer is not an error (0 bytes, `ec` clear). Asio's async_write sends at once too,
// but always resumes the coroutine through the io_context's queue: a scheduler round per write
// and, at low load, an epoll_wait() that finds nothing. The socket must be in non-blocking mode
// (`socket.non_blocking(true)`), or a full send buffer would block the worker thread.
template <typename Buffers>
size_t SendNow(TcpSocket& socket, const Buffers& buffers, boost::system::error_code& ec) {
  const size_t sent = socket.send(buffers, 0, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  return sent;
}

// Drops the first `n` bytes of `buffers` (what SendNow sent); true when nothing is left.
template <size_t N>
bool ConsumeSent(std::array<asio::const_buffer, N>& buffers, size_t n) {
  bool left = false;
  for (asio::const_buffer& b : buffers) {
    const size_t k = std::min(n, b.size());
    b += k;
    n -= k;
    left = left || b.size() > 0;
  }
  return !left;
}

// SendNow, then drops what went out from `buffers`: true when the write is over (all of it sent,
// or `ec` set); false when the rest has to go out with async_write.
template <size_t N>
bool SendAllNow(TcpSocket& socket, std::array<asio::const_buffer, N>& buffers,
                boost::system::error_code& ec) {
  return ConsumeSent(buffers, SendNow(socket, buffers, ec)) || ec;
}

// A read buffer for async_read_some on a plain TCP socket: DrainBuffer(data, size). A read into
// it that comes back short tells Asio's reactor that the socket is empty, so that the next read
// waits for epoll instead of first trying a recv() that can only fail.
//
// Asio 1.74 starts every socket read with a speculative recv() and queues the operation for
// epoll only when that fails with EAGAIN. On a keep-alive connection the read that follows a
// write (the next request after a response, the upstream's answer after its request) nearly
// always fails: bench/gateway measured 3.24 recvfrom per proxied request against nginx's 2.00.
// The reactor already keeps a per-socket "try a speculative read" flag for this: a read that
// reports `done_and_exhausted` clears it, the next edge-triggered EPOLLIN event sets it again
// (both under the descriptor's lock, so no wake-up is lost), and with the flag clear a read is
// queued without any system call. Asio reports exhaustion only for end of stream; a read into a
// DrainBuffer also reports it when recv() returned less than the buffer holds. For TCP that
// means the receive queue was empty, and any byte arriving later raises a new edge. nginx keeps
// the same flag (`rev->ready`, cleared by a short read in ngx_unix_recv). One exception, as in
// nginx: a read also stops short at TCP urgent data (MSG_OOB), with bytes still queued, so a peer
// that sends urgent data stalls its own connection until the read timeout closes it.
//
// This is a specialisation of Asio's read operation for this one buffer type (below); every
// other read (TLS records, other buffer types) is untouched. It is written against Boost 1.74
// (Debian 12); with another Boost, a DrainBuffer is read as a plain mutable_buffer.
struct DrainBuffer : asio::mutable_buffer {
  DrainBuffer(void* data, std::size_t size) : asio::mutable_buffer(data, size) {}
};

// True when reads into a DrainBuffer report a short read as draining the socket.
inline constexpr bool kDrainReadsSupported = BOOST_VERSION == 107400;

}  // namespace bursar::gateway

#if BOOST_VERSION == 107400
#include <boost/asio/detail/reactive_socket_recv_op.hpp>

namespace boost::asio::detail {

// Asio's reactive_socket_recv_op_base (reactive_socket_recv_op.hpp, 1.74) for one buffer, with
// one difference: a short read is `done_and_exhausted`, not `done`.
template <>
class reactive_socket_recv_op_base<bursar::gateway::DrainBuffer> : public reactor_op {
 public:
  reactive_socket_recv_op_base(const boost::system::error_code& success_ec, socket_type socket,
                               socket_ops::state_type state,
                               const bursar::gateway::DrainBuffer& buffers,
                               socket_base::message_flags flags, func_type complete_func)
      : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
        socket_(socket),
        state_(state),
        buffers_(buffers),
        flags_(flags) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<reactive_socket_recv_op_base*>(base);
    const bool stream = (o->state_ & socket_ops::stream_oriented) != 0;
    if (!socket_ops::non_blocking_recv1(o->socket_, o->buffers_.data(), o->buffers_.size(),
                                        o->flags_, stream, o->ec_, o->bytes_transferred_)) {
      return not_done;  // EAGAIN: queued until epoll reports the socket readable
    }
    // Asio: a stream read of 0 bytes (end of stream, or an error) is exhausted. Here also a
    // short read: the receive queue held less than the buffer, and recv() took all of it.
    return stream && o->bytes_transferred_ < o->buffers_.size() ? done_and_exhausted : done;
  }

 private:
  socket_type socket_;
  socket_ops::state_type state_;
  asio::mutable_buffer buffers_;
  socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail
#endif
