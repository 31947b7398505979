// TlsSocket (OpenSSL on the socket's descriptor) against Asio's own
// ssl::stream as the other end, over loopback with the project's real
// contexts and certificates. One io_context run by the test thread; every
// wait is bounded, so a broken operation fails a test instead of hanging it.
#include "wire/tls_socket.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include "tests/test_util.h"
#include "tests/wire/test_pki.h"
#include "wire/certificates.h"
#include "wire/tls_context.h"

namespace edgefl::wire {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

const std::chrono::milliseconds kSocketWait =
    std::chrono::duration_cast<std::chrono::milliseconds>(edgefl::testing::Scaled(10s));

using testing::Pki;

// Deterministic bytes: 0, 1, ..., 250, 0, 1, ... (251 is prime, so no
// record boundary lines up with the pattern).
std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i)
    bytes[i] = static_cast<uint8_t>(i % 251);
  return bytes;
}

// A TlsSocket server end (the coordinator's context) and an Asio
// ssl::stream client end of one loopback TCP connection, not yet handshaken.
// `small_buffers` > 0: the client's receive and the server's send buffer
// are that small, so a big write fills them.
class Connection {
 public:
  Connection(const Pki& pki, ssl::context& client_ctx, int small_buffers = 0)
      : server_ctx_(MakeServerContext(pki.Server())), client_(io_, client_ctx) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    if (small_buffers > 0) {
      client_.lowest_layer().open(tcp::v4());
      client_.lowest_layer().set_option(asio::socket_base::receive_buffer_size(small_buffers));
    }
    client_.lowest_layer().connect(acceptor.local_endpoint());
    tcp::socket accepted = acceptor.accept();
    if (small_buffers > 0) {
      accepted.set_option(asio::socket_base::send_buffer_size(small_buffers));
    }
    server_ = std::make_unique<TlsSocket>(std::move(accepted), server_ctx_);
  }

  TlsSocket& server() { return *server_; }
  ssl::stream<tcp::socket>& client() { return client_; }

  // Runs handlers until done() (fails the test after kSocketWait).
  void RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kSocketWait;
    while (!done()) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      io_.run_one_for(50ms);
    }
  }
  // Runs the handlers that are ready, without waiting for more.
  void Poll() { io_.poll(); }

  // Both handshakes; returns the server's result (the client's in
  // *client_result).
  error_code Handshake(error_code* client_result = nullptr) {
    std::optional<error_code> server_ec, client_ec;
    server_->AsyncHandshake(ssl::stream_base::server,
                            [&](const error_code& ec) { server_ec = ec; });
    client_.async_handshake(ssl::stream_base::client,
                            [&](const error_code& ec) { client_ec = ec; });
    RunUntil([&] { return server_ec.has_value() && client_ec.has_value(); });
    if (client_result != nullptr) *client_result = *client_ec;
    return *server_ec;
  }

  // Reads at the server end until `n` bytes came or an error (in *error).
  std::vector<uint8_t> ServerRead(size_t n, error_code* error) {
    std::vector<uint8_t> got;
    error_code last;
    while (got.size() < n && !last) {
      bool done = false;
      server_->AsyncReadSome([&](const error_code& ec, std::span<const uint8_t> data) {
        done = true;
        last = ec;
        CHECK(data.size() <= TlsSocket::kMaxReadBytes);
        CHECK(ec.failed() == data.empty());
        got.insert(got.end(), data.begin(), data.end());
      });
      RunUntil([&] { return done; });
    }
    *error = last;
    return got;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  ssl::context server_ctx_;
  ssl::stream<tcp::socket> client_;
  std::unique_ptr<TlsSocket> server_;
};

ssl::context ClientContext(const Pki& pki, const std::string& name) {
  return MakeClientContext(pki.Client(name), "127.0.0.1");
}

}  // namespace

TEST_CASE(
    "TlsSocket: handshake with Asio's client stream then bytes both ways and a clean shutdown") {
  Pki pki;
  ssl::context client_ctx = ClientContext(pki, "alice");
  Connection c(pki, client_ctx);
  error_code client_ec;
  const error_code server_ec = c.Handshake(&client_ec);
  INFO(DescribeTlsError(server_ec, c.server().native_handle()));
  REQUIRE(!server_ec);
  REQUIRE(!client_ec);
  CHECK(PeerClientId(c.server().native_handle()) == std::optional<std::string>("alice"));
  CHECK(NegotiatedTlsVersion(c.server().native_handle()) == "TLSv1.3");

  // Client -> server: 100 KB arrive in pieces of at most one record.
  const std::vector<uint8_t> up = Pattern(100 * 1024 + 7);
  asio::write(c.client(), asio::buffer(up));
  error_code read_ec;
  CHECK(c.ServerRead(up.size(), &read_ec) == up);
  CHECK(!read_ec);

  // Server -> client: 1 MB + 3 (65 records of 16 KB) in one AsyncWrite.
  const std::vector<uint8_t> down = Pattern((1u << 20) + 3);
  std::optional<error_code> write_ec;
  size_t written = 0;
  c.server().AsyncWrite(down, [&](const error_code& ec, size_t n) {
    write_ec = ec;
    written = n;
  });
  std::vector<uint8_t> received(down.size());
  std::optional<error_code> client_read_ec;
  asio::async_read(c.client(), asio::buffer(received),
                   [&](const error_code& ec, size_t) { client_read_ec = ec; });
  c.RunUntil([&] { return write_ec.has_value() && client_read_ec.has_value(); });
  CHECK(!*write_ec);
  CHECK(written == down.size());
  CHECK(!*client_read_ec);
  CHECK(received == down);

  // Both send close_notify and see the other's.
  std::optional<error_code> server_shutdown, client_shutdown;
  c.server().AsyncShutdown([&](const error_code& ec) { server_shutdown = ec; });
  c.client().async_shutdown([&](const error_code& ec) { client_shutdown = ec; });
  c.RunUntil([&] { return server_shutdown.has_value() && client_shutdown.has_value(); });
  INFO(server_shutdown->message());
  CHECK(!*server_shutdown);
  CHECK(!*client_shutdown);
}

TEST_CASE("TlsSocket: a peer's close_notify reads as eof") {
  Pki pki;
  ssl::context client_ctx = ClientContext(pki, "bob");
  Connection c(pki, client_ctx);
  REQUIRE(!c.Handshake());
  const std::vector<uint8_t> last = Pattern(300);
  asio::write(c.client(), asio::buffer(last));
  std::optional<error_code> client_shutdown;
  c.client().async_shutdown([&](const error_code& ec) { client_shutdown = ec; });
  // The bytes before the close_notify still arrive, then eof.
  error_code read_ec;
  CHECK(c.ServerRead(1u << 20, &read_ec) == last);
  CHECK(read_ec == asio::error::eof);
  CHECK(DescribeTlsError(read_ec, c.server().native_handle()) == "connection closed by the peer");
  // Answering it completes the client's shutdown.
  std::optional<error_code> server_shutdown;
  c.server().AsyncShutdown([&](const error_code& ec) { server_shutdown = ec; });
  c.RunUntil([&] { return server_shutdown.has_value() && client_shutdown.has_value(); });
  CHECK(!*server_shutdown);
  CHECK(!*client_shutdown);
}

TEST_CASE("TlsSocket: a peer that closes TCP without close_notify reads as stream_truncated") {
  Pki pki;
  ssl::context client_ctx = ClientContext(pki, "carol");
  SUBCASE("after the handshake") {
    Connection c(pki, client_ctx);
    REQUIRE(!c.Handshake());
    c.client().lowest_layer().close();
    error_code read_ec;
    CHECK(c.ServerRead(1, &read_ec).empty());
    CHECK(read_ec == ssl::error::stream_truncated);
    CHECK(DescribeTlsError(read_ec, c.server().native_handle()) ==
          "connection closed without a TLS close_notify (truncated)");
  }
  SUBCASE("before the handshake: refused as Asio's stream would refuse it") {
    Connection c(pki, client_ctx);
    c.client().lowest_layer().close();
    std::optional<error_code> server_ec;
    c.server().AsyncHandshake(ssl::stream_base::server,
                              [&](const error_code& ec) { server_ec = ec; });
    c.RunUntil([&] { return server_ec.has_value(); });
    CHECK(*server_ec == ssl::error::stream_truncated);
  }
}

TEST_CASE("TlsSocket: refusals carry the reasons DescribeTlsError names") {
  Pki pki;
  SUBCASE("no client certificate") {
    ssl::context client_ctx(ssl::context::tls_client);
    client_ctx.load_verify_file(pki.ca_file().string());
    client_ctx.set_verify_mode(ssl::verify_peer);
    Connection c(pki, client_ctx);
    const error_code server_ec = c.Handshake();
    REQUIRE(server_ec);
    CHECK(server_ec.category() == asio::error::get_ssl_category());
    CHECK(DescribeTlsError(server_ec, c.server().native_handle()) == "no certificate");
  }
  SUBCASE("a certificate from another CA") {
    Pki other;
    ssl::context client_ctx(ssl::context::tls_client);
    client_ctx.load_verify_file(pki.ca_file().string());
    client_ctx.set_verify_mode(ssl::verify_peer);
    const TlsFiles foreign = other.Client("mallory");
    client_ctx.use_certificate_chain_file(foreign.certificate.string());
    client_ctx.use_private_key_file(foreign.private_key.string(), ssl::context::pem);
    Connection c(pki, client_ctx);
    const error_code server_ec = c.Handshake();
    REQUIRE(server_ec);
    const std::string why = DescribeTlsError(server_ec, c.server().native_handle());
    INFO(why);
    CHECK(why.find("unknown CA") != std::string::npos);
    // The alert reached the client: its first read says why.
    std::vector<uint8_t> buffer(64);
    std::optional<error_code> client_read;
    c.client().async_read_some(asio::buffer(buffer),
                               [&](const error_code& ec, size_t) { client_read = ec; });
    c.RunUntil([&] { return client_read.has_value(); });
    CHECK(DescribeTlsError(*client_read, c.client().native_handle()) ==
          "the peer refused our certificate: unknown CA");
  }
  SUBCASE("plain TCP") {
    ssl::context client_ctx = ClientContext(pki, "dave");
    Connection c(pki, client_ctx);
    const std::string garbage = "GET / HTTP/1.0\r\n\r\n";
    asio::write(c.client().next_layer(), asio::buffer(garbage));
    std::optional<error_code> server_ec;
    c.server().AsyncHandshake(ssl::stream_base::server,
                              [&](const error_code& ec) { server_ec = ec; });
    c.RunUntil([&] { return server_ec.has_value(); });
    CHECK(DescribeTlsError(*server_ec, c.server().native_handle()) ==
          "not TLS (plain TCP or another protocol)");
  }
}

TEST_CASE("TlsSocket: a write into a full socket buffer waits until the peer reads") {
  Pki pki;
  ssl::context client_ctx = ClientContext(pki, "erin");
  Connection c(pki, client_ctx, /*small_buffers=*/4096);
  REQUIRE(!c.Handshake());
  // 8 MB cannot sit in two 4 KB socket buffers: SSL_write must meet
  // WANT_WRITE and wait for writability.
  const std::vector<uint8_t> down = Pattern(8u << 20);
  std::optional<error_code> write_ec;
  c.server().AsyncWrite(down, [&](const error_code& ec, size_t) { write_ec = ec; });
  c.Poll();
  CHECK(!write_ec.has_value());
  std::vector<uint8_t> received(down.size());
  std::optional<error_code> client_read_ec;
  asio::async_read(c.client(), asio::buffer(received),
                   [&](const error_code& ec, size_t) { client_read_ec = ec; });
  c.RunUntil([&] { return write_ec.has_value() && client_read_ec.has_value(); });
  CHECK(!*write_ec);
  CHECK(!*client_read_ec);
  CHECK(received == down);
}

TEST_CASE("TlsSocket: closing the socket aborts a pending read") {
  Pki pki;
  ssl::context client_ctx = ClientContext(pki, "frank");
  Connection c(pki, client_ctx);
  REQUIRE(!c.Handshake());
  std::optional<error_code> read_ec;
  c.server().AsyncReadSome([&](const error_code& ec, std::span<const uint8_t>) { read_ec = ec; });
  c.Poll();
  CHECK(!read_ec.has_value());
  c.server().socket().close();
  c.RunUntil([&] { return read_ec.has_value(); });
  CHECK(*read_ec == asio::error::operation_aborted);
}

}  // namespace edgefl::wire
