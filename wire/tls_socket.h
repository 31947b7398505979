// A lean TLS connection: OpenSSL driven directly on a non-blocking TCP
// socket's descriptor (no memory BIO pair, no record buffers of its own), for
// the coordinator's many mostly idle sessions (BENCHMARKS.md, "10,000
// sessions"). An idle TlsSocket holds the TCP socket and OpenSSL's connection
// state only: SSL_MODE_RELEASE_BUFFERS frees OpenSSL's record buffers while
// nothing is buffered, and reads land in a per-thread scratch buffer.
//
// Operations (handshake, read-some, write, shutdown) try the OpenSSL call and,
// when it says SSL_ERROR_WANT_READ/WANT_WRITE, wait for the socket with
// async_wait(wait_read/wait_write) and try again. Everything runs on the
// socket's executor (make it a strand when several threads run the
// io_context); handlers are never called from inside the initiating call.
// At most one operation of each kind (read, write) may be pending, as with
// Asio's ssl::stream; a handshake or shutdown is not combined with others.
//
// Errors are the boost::system::error_code values Asio's ssl::stream gives,
// so wire::DescribeTlsError and RefusalMessage read them unchanged: a TLS
// failure is ERR_get_error() in the ssl category, a close without a TLS
// close_notify is asio::ssl::error::stream_truncated, a close_notify is
// asio::error::eof, a socket error is its errno (connection_reset, ...), and
// closing the socket while an operation waits gives operation_aborted.
//
// Bytes are sent with send(MSG_NOSIGNAL) (a custom BIO over the descriptor):
// writing to a connection the peer has closed is an error, never SIGPIPE.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

namespace edgefl::wire {

class TlsSocket {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using executor_type = Socket::executor_type;
  using Handler = std::function<void(const boost::system::error_code&)>;
  using WriteHandler = std::function<void(const boost::system::error_code&, size_t)>;
  // `data` is valid only during the call (it is a per-thread scratch buffer):
  // copy what you need before returning. Empty exactly when `ec` is set.
  using ReadHandler =
      std::function<void(const boost::system::error_code&, std::span<const uint8_t> data)>;

  // Most plaintext one ReadSome delivers: one TLS record's.
  static constexpr size_t kMaxReadBytes = 16 << 10;

  // REQUIRES: `socket` is open (connected); `context` outlives this object
  // (the SSL object takes a reference to its SSL_CTX, and the context's
  // verify settings apply). Throws edgefl::Error if OpenSSL cannot make the
  // connection object.
  TlsSocket(Socket socket, boost::asio::ssl::context& context);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  // The TCP socket (options, endpoints, shutdown, close). Closing it aborts
  // the pending operations with operation_aborted.
  Socket& socket() { return socket_; }
  // The connection's SSL object: for PeerClientId, DescribeTlsError, ...
  SSL* native_handle() { return ssl_.get(); }

  // Runs the TLS handshake as server or client.
  void AsyncHandshake(boost::asio::ssl::stream_base::handshake_type type, Handler handler);
  // Waits for application data and calls `handler` with what one SSL_read
  // gives (1 to kMaxReadBytes bytes), read into the calling I/O thread's
  // scratch buffer: a connection waiting for data holds no read buffer.
  void AsyncReadSome(ReadHandler handler);
  // Writes all of `data` (which must stay valid until the handler runs), in
  // as many TLS records as it needs.
  void AsyncWrite(std::span<const uint8_t> data, WriteHandler handler);
  // Sends close_notify and waits for the peer's.
  void AsyncShutdown(Handler handler);
  // Sends close_notify and completes once it is written, without waiting
  // for the peer's (reads go on until it arrives, as eof). Call it when no
  // write is in progress.
  void AsyncSendCloseNotify(Handler handler);

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  // One attempt of an operation: returns the OpenSSL call's result (> 0 done).
  using Attempt = std::function<int()>;
  // Called with the error of a failed attempt (none when it succeeded) and
  // the attempt's result.
  using Completion = std::function<void(const boost::system::error_code&, int)>;

  // Tries `attempt`; waits and retries on WANT_READ/WANT_WRITE; else
  // completes. Runs on the executor.
  void Drive(Attempt attempt, Completion done);
  void WriteFrom(std::span<const uint8_t> data, size_t written, WriteHandler handler);

  Socket socket_;                      // the TCP connection
  std::unique_ptr<SSL, SslFree> ssl_;  // OpenSSL's connection, reading/writing socket_'s fd
};

}  // namespace edgefl::wire
