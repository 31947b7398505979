#include "wire/tls_socket.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <sys/socket.h>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>

#include "common/error.h"

namespace edgefl::wire {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// ---- A BIO over the socket's descriptor that never raises SIGPIPE ----
// (OpenSSL's socket BIO writes with write(2); a peer that has closed would
// kill the process.) The descriptor is the BIO's data; the socket owns it.

int Descriptor(BIO* bio) {
  return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
}

bool WouldBlock(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

int BioWrite(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(Descriptor(bio), data, static_cast<size_t>(length), MSG_NOSIGNAL);
  if (n < 0 && WouldBlock(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int BioRead(BIO* bio, char* data, int length) {
  if (data == nullptr) return 0;
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(Descriptor(bio), data, static_cast<size_t>(length), 0);
  if (n < 0 && WouldBlock(errno)) BIO_set_retry_read(bio);
  if (n == 0) BIO_set_flags(bio, BIO_FLAGS_IN_EOF);  // OpenSSL then reports an unexpected EOF
  return static_cast<int>(n);
}

long BioControl(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

int BioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// Built once, immutable afterwards, shared by every connection.
const BIO_METHOD* SocketMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "edgefl socket");
    if (m == nullptr || BIO_meth_set_write(m, BioWrite) != 1 ||
        BIO_meth_set_read(m, BioRead) != 1 || BIO_meth_set_ctrl(m, BioControl) != 1 ||
        BIO_meth_set_create(m, BioCreate) != 1) {
      throw Error("OpenSSL: cannot create the socket BIO method");
    }
    return m;
  }();
  return method;
}

// The calling I/O thread's read buffer: every connection served by the
// thread shares it, as each read's data is consumed inside its handler.
std::span<uint8_t> ReadScratch() {
  thread_local std::unique_ptr<uint8_t[]> buffer;
  if (!buffer) buffer = std::make_unique_for_overwrite<uint8_t[]>(TlsSocket::kMaxReadBytes);
  return {buffer.get(), TlsSocket::kMaxReadBytes};
}

// The error_code Asio's ssl::stream gives for a failed OpenSSL call
// (boost/asio/ssl/detail/impl/engine.ipp and io.hpp): the first queued
// OpenSSL error in the ssl category; an EOF without close_notify (OpenSSL
// 3: "unexpected eof while reading", or a syscall error with nothing queued
// and errno 0) is stream_truncated; a socket error is its errno.
error_code FailureCode(int ssl_error, int saved_errno) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();  // the rest of the queue would leak into the thread's next connection
  if (code != 0) {
    if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
        ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      return asio::ssl::error::stream_truncated;
    }
    if (ERR_GET_LIB(code) == ERR_LIB_SYS) {
      return {ERR_GET_REASON(code), boost::system::system_category()};
    }
    return {static_cast<int>(code), asio::error::get_ssl_category()};
  }
  if (ssl_error == SSL_ERROR_SYSCALL) {
    if (saved_errno != 0) return {saved_errno, boost::system::system_category()};
    return asio::ssl::error::stream_truncated;
  }
  return asio::ssl::error::unspecified_system_error;
}

}  // namespace

TlsSocket::TlsSocket(Socket socket, asio::ssl::context& context)
    : socket_(std::move(socket)), ssl_(SSL_new(context.native_handle())) {
  if (!ssl_) throw Error("OpenSSL: SSL_new failed (out of memory?)");
  BIO* bio = BIO_new(SocketMethod());
  if (bio == nullptr) throw Error("OpenSSL: BIO_new failed (out of memory?)");
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(socket_.native_handle())));
  SSL_set_bio(ssl_.get(), bio, bio);  // the SSL object owns the BIO now
  // Free the record buffers whenever nothing is buffered (most sessions
  // are idle most of the time); writes may complete record by record.
  SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE);
  error_code ignored;
  socket_.non_blocking(true, ignored);
}

TlsSocket::~TlsSocket() = default;

void TlsSocket::Drive(Attempt attempt, Completion done) {
  // A closed socket's descriptor number may already belong to another
  // connection: never touch it.
  if (!socket_.is_open()) {
    done(asio::error::operation_aborted, 0);
    return;
  }
  ERR_clear_error();
  errno = 0;
  const int result = attempt();
  const int saved_errno = errno;
  if (result > 0) {
    done({}, result);
    return;
  }
  const int ssl_error = SSL_get_error(ssl_.get(), result);
  if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
    socket_.async_wait(
        ssl_error == SSL_ERROR_WANT_READ ? Socket::wait_read : Socket::wait_write,
        [this, attempt = std::move(attempt), done = std::move(done)](const error_code& ec) mutable {
          if (ec) {
            done(ec, 0);
          } else {
            Drive(std::move(attempt), std::move(done));
          }
        });
    return;
  }
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    ERR_clear_error();
    done(asio::error::eof, 0);
    return;
  }
  done(FailureCode(ssl_error, saved_errno), 0);
}

void TlsSocket::AsyncHandshake(asio::ssl::stream_base::handshake_type type, Handler handler) {
  if (type == asio::ssl::stream_base::server) {
    SSL_set_accept_state(ssl_.get());
  } else {
    SSL_set_connect_state(ssl_.get());
  }
  asio::post(get_executor(), [this, handler = std::move(handler)]() mutable {
    Drive([this] { return SSL_do_handshake(ssl_.get()); },
          [handler = std::move(handler)](const error_code& ec, int) { handler(ec); });
  });
}

void TlsSocket::AsyncReadSome(ReadHandler handler) {
  // Reads once the socket is readable (or at once, see below); the data
  // lands in the scratch of the thread that makes the attempt, and the
  // completion runs on that thread right after it.
  auto read = [this, handler = std::move(handler)](const error_code& wait_error) mutable {
    Completion done = [handler = std::move(handler)](const error_code& ec, int n) {
      if (ec) {
        handler(ec, {});
      } else {
        handler(ec, ReadScratch().first(static_cast<size_t>(n)));
      }
    };
    if (wait_error) {
      done(wait_error, 0);
      return;
    }
    Drive(
        [this] {
          const std::span<uint8_t> scratch = ReadScratch();
          return SSL_read(ssl_.get(), scratch.data(), static_cast<int>(scratch.size()));
        },
        std::move(done));
  };
  if (SSL_has_pending(ssl_.get()) == 1) {
    // OpenSSL already holds bytes read from the socket (a record, or part of
    // one): try first, the socket may have nothing more to say.
    asio::post(get_executor(), [read = std::move(read)]() mutable { read(error_code()); });
  } else {
    socket_.async_wait(Socket::wait_read, std::move(read));
  }
}

void TlsSocket::AsyncWrite(std::span<const uint8_t> data, WriteHandler handler) {
  asio::post(get_executor(), [this, data, handler = std::move(handler)]() mutable {
    WriteFrom(data, 0, std::move(handler));
  });
}

void TlsSocket::WriteFrom(std::span<const uint8_t> data, size_t written, WriteHandler handler) {
  if (written == data.size()) {
    handler({}, written);
    return;
  }
  // A retry after WANT_WRITE repeats exactly this call (OpenSSL requires it).
  const int length = static_cast<int>(std::min<size_t>(data.size() - written, INT_MAX / 2));
  const uint8_t* from = data.data() + written;
  Drive([this, from, length] { return SSL_write(ssl_.get(), from, length); },
        [this, data, written, handler = std::move(handler)](const error_code& ec, int n) mutable {
          if (ec) {
            handler(ec, written);
          } else {
            WriteFrom(data, written + static_cast<size_t>(n), std::move(handler));
          }
        });
}

void TlsSocket::AsyncShutdown(Handler handler) {
  asio::post(get_executor(), [this, handler = std::move(handler)]() mutable {
    Drive(
        [this] {
          // 0: our close_notify is out, the peer's not yet in; call again
          // to read it (WANT_READ until it arrives).
          const int result = SSL_shutdown(ssl_.get());
          return result == 0 ? SSL_shutdown(ssl_.get()) : result;
        },
        [handler = std::move(handler)](const error_code& ec, int) { handler(ec); });
  });
}

void TlsSocket::AsyncSendCloseNotify(Handler handler) {
  asio::post(get_executor(), [this, handler = std::move(handler)]() mutable {
    Drive(
        [this] {
          // 0: our close_notify is out (the peer's not yet in); 1: both.
          const int result = SSL_shutdown(ssl_.get());
          return result == 0 ? 1 : result;
        },
        [handler = std::move(handler)](const error_code& ec, int) { handler(ec); });
  });
}

}  // namespace edgefl::wire
