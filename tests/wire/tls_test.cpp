// Real TLS over loopback: an in-test Asio server with the coordinator's
// context accepts or refuses clients, and says why. Every wait is bounded, so
// a broken handshake fails a test instead of hanging it.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include "common/error.h"
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

// How long any single wait in these tests may take (scaled for sanitizer
// builds, tests/test_util.h).
const std::chrono::milliseconds kWait =
    std::chrono::duration_cast<std::chrono::milliseconds>(edgefl::testing::Scaled(10s));

using testing::Pki;

// A client context built by hand, as a client that is not edgefl would:
// trusts `ca_file`, presents `cert`/`key` when given (any, even expired).
ssl::context RawClientContext(const std::filesystem::path& ca_file,
                              const std::optional<TlsFiles>& own = std::nullopt) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(ca_file.string());
  ctx.set_verify_mode(ssl::verify_peer);
  if (own) {
    ctx.use_certificate_chain_file(own->certificate.string());
    ctx.use_private_key_file(own->private_key.string(), ssl::context::pem);
  }
  return ctx;
}

// What the server saw on one connection.
struct ServerOutcome {
  error_code ec;                         // the handshake's result
  std::string message;                   // RefusalMessage when refused
  std::optional<std::string> client_id;  // PeerClientId when accepted
  std::string version;                   // negotiated version when accepted
  int ssl_version = 0;                   // SSL_version when accepted
};

// What a client saw.
struct ClientOutcome {
  error_code handshake;  // async_handshake's result
  error_code read;       // reading the server's greeting (when the handshake succeeded)
  std::string line;      // the greeting: "welcome <client id>"
  std::string reason;    // DescribeTlsError of the first failure
};

// A TLS server on 127.0.0.1:<ephemeral> with the coordinator's context,
// run by two io_context threads; a client may be started on the same
// io_context. Each accepted connection gets its own strand and a handshake
// deadline; after a successful handshake the server writes
// "welcome <client id>\n" and closes.
class Loopback {
 public:
  explicit Loopback(ssl::context& server_ctx,
                    std::chrono::milliseconds handshake_timeout = std::chrono::seconds(5))
      : server_ctx_(server_ctx),
        handshake_timeout_(handshake_timeout),
        acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
        work_(asio::make_work_guard(io_)) {
    Accept();
    for (int i = 0; i < 2; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }

  ~Loopback() {
    io_.stop();
    for (std::thread& t : threads_)
      t.join();
  }

  Loopback(const Loopback&) = delete;
  Loopback& operator=(const Loopback&) = delete;

  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

  // The outcome of the next connection the server finished with; fails the
  // test when none arrives within kWait.
  ServerOutcome NextServerOutcome() {
    std::unique_lock lock(mu_);
    const bool arrived = cv_.wait_for(lock, kWait, [this] { return !outcomes_.empty(); });
    REQUIRE_MESSAGE(arrived, "the server saw no connection finish within 10 s");
    ServerOutcome out = std::move(outcomes_.front());
    outcomes_.pop_front();
    return out;
  }

  // Connects a TLS client with `ctx`, handshakes and reads the greeting.
  ClientOutcome ConnectTls(ssl::context& ctx) {
    auto promise = std::make_shared<std::promise<ClientOutcome>>();
    std::future<ClientOutcome> future = promise->get_future();
    auto client = std::make_shared<TlsClient>(asio::make_strand(io_), ctx, std::move(promise));
    client->Start(endpoint());
    REQUIRE_MESSAGE(future.wait_for(kWait) == std::future_status::ready,
                    "the TLS client did not finish within 10 s");
    return future.get();
  }

  // Connects over plain TCP, writes `bytes` (may be empty), reads until the
  // server closes; returns what it read.
  std::string ConnectRaw(const std::string& bytes, bool close_at_once = false) {
    tcp::socket socket(io_);
    socket.connect(endpoint());
    if (!bytes.empty()) asio::write(socket, asio::buffer(bytes));
    if (close_at_once) return {};
    std::string reply;
    error_code ec;
    asio::read(socket, asio::dynamic_buffer(reply), ec);  // ends at EOF or reset
    return reply;
  }

 private:
  // One server-side connection.
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(tcp::socket socket, ssl::context& ctx, Loopback* owner,
            std::chrono::milliseconds timeout)
        : stream_(std::move(socket), ctx), timer_(stream_.get_executor()), owner_(owner) {
      timer_.expires_after(timeout);
    }

    void Start() {
      error_code ignored;
      peer_ = stream_.lowest_layer().remote_endpoint(ignored);
      timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->stream_.lowest_layer().close();  // deadline: abandon the handshake
      });
      stream_.async_handshake(ssl::stream_base::server,
                              [self = shared_from_this()](error_code ec) { self->Done(ec); });
    }

   private:
    void Done(error_code ec) {
      timer_.cancel();
      ServerOutcome out;
      out.ec = ec;
      if (ec) {
        out.message = RefusalMessage(peer_, ec, stream_.native_handle());
        owner_->Record(std::move(out));
        return;
      }
      out.client_id = PeerClientId(stream_.native_handle());
      out.version = NegotiatedTlsVersion(stream_.native_handle());
      out.ssl_version = SSL_version(stream_.native_handle());
      greeting_ = "welcome " + out.client_id.value_or("?") + "\n";
      owner_->Record(std::move(out));
      asio::async_write(stream_, asio::buffer(greeting_),
                        [self = shared_from_this()](error_code, size_t) {
                          error_code ignored;
                          self->stream_.lowest_layer().close(ignored);
                        });
    }

    ssl::stream<tcp::socket> stream_;  // the connection
    asio::steady_timer timer_;         // the handshake deadline
    Loopback* owner_;                  // receives the outcome
    tcp::endpoint peer_;               // the client's address, for messages
    std::string greeting_;             // kept alive during the write
  };

  // One client connection, on its own strand.
  class TlsClient : public std::enable_shared_from_this<TlsClient> {
   public:
    TlsClient(asio::strand<asio::io_context::executor_type> strand, ssl::context& ctx,
              std::shared_ptr<std::promise<ClientOutcome>> promise)
        : stream_(strand, ctx), timer_(strand), promise_(std::move(promise)) {
      timer_.expires_after(kWait);
    }

    void Start(const tcp::endpoint& server) {
      timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->stream_.lowest_layer().close();
      });
      stream_.lowest_layer().async_connect(server, [self = shared_from_this()](error_code ec) {
        if (ec) return self->Finish(ec, {});
        self->stream_.async_handshake(ssl::stream_base::client,
                                      [self](error_code hs) { self->Handshaken(hs); });
      });
    }

   private:
    void Handshaken(error_code ec) {
      out_.handshake = ec;
      if (ec) return Finish(ec, ec);
      asio::async_read_until(stream_, asio::dynamic_buffer(buffer_), '\n',
                             [self = shared_from_this()](error_code read, size_t n) {
                               if (!read) {
                                 self->out_.line = self->buffer_.substr(0, n - 1);
                               }
                               self->out_.read = read;
                               self->Finish(read, {});
                             });
    }

    void Finish(error_code first_error, error_code handshake) {
      timer_.cancel();
      if (handshake) out_.handshake = handshake;
      if (first_error) out_.reason = DescribeTlsError(first_error, stream_.native_handle());
      error_code ignored;
      stream_.lowest_layer().close(ignored);
      promise_->set_value(out_);
    }

    ssl::stream<tcp::socket> stream_;                       // the connection
    asio::steady_timer timer_;                              // overall deadline
    std::shared_ptr<std::promise<ClientOutcome>> promise_;  // gets the outcome
    ClientOutcome out_;                                     // built up as it goes
    std::string buffer_;                                    // bytes read
  };

  void Accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](error_code ec, tcp::socket socket) {
      if (ec) return;  // the acceptor was closed
      std::make_shared<Session>(std::move(socket), server_ctx_, this, handshake_timeout_)->Start();
      Accept();
    });
  }

  void Record(ServerOutcome out) {
    {
      std::lock_guard lock(mu_);
      outcomes_.push_back(std::move(out));
    }
    cv_.notify_all();
  }

  ssl::context& server_ctx_;                     // the coordinator's policy
  std::chrono::milliseconds handshake_timeout_;  // per-connection handshake deadline
  asio::io_context io_;                          // runs everything
  tcp::acceptor acceptor_;                       // 127.0.0.1:<ephemeral>
  asio::executor_work_guard<asio::io_context::executor_type> work_;  // keeps run() going
  std::mutex mu_;                                                    // guards outcomes_
  std::condition_variable cv_;                                       // signalled by Record
  std::deque<ServerOutcome> outcomes_;                               // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;  // io_ threads; last, so joined first
};

using edgefl::testing::HasSubstr;

}  // namespace

TEST_CASE("a client with a valid certificate is accepted and the server sees its CN as client id") {
  Pki pki;
  ssl::context server_ctx = MakeServerContext(pki.Server());
  ssl::context client_ctx = MakeClientContext(pki.Client("alice"), "127.0.0.1");
  Loopback loop(server_ctx);

  const ClientOutcome client = loop.ConnectTls(client_ctx);
  INFO(client.reason);
  CHECK(!client.handshake);
  CHECK(!client.read);
  CHECK(client.line == "welcome alice");

  const ServerOutcome server = loop.NextServerOutcome();
  INFO(server.message);
  REQUIRE(!server.ec);
  CHECK(server.client_id == std::optional<std::string>("alice"));
  // Both ends are OpenSSL 3: the highest common version, TLS 1.3, is used.
  CHECK(server.ssl_version >= TLS1_2_VERSION);
  CHECK(server.ssl_version == TLS1_3_VERSION);
  CHECK(server.version == "TLSv1.3");
}

TEST_CASE("a client dialling localhost by name verifies the server certificate's DNS name") {
  Pki pki;
  ssl::context server_ctx = MakeServerContext(pki.Server());
  ssl::context client_ctx = MakeClientContext(pki.Client("bob"), "localhost");
  Loopback loop(server_ctx);
  const ClientOutcome client = loop.ConnectTls(client_ctx);
  INFO(client.reason);
  CHECK(client.line == "welcome bob");
  CHECK(loop.NextServerOutcome().client_id == std::optional<std::string>("bob"));
}

TEST_CASE("a client limited to TLS 1.2 is accepted with TLS 1.2") {
  Pki pki;
  ssl::context server_ctx = MakeServerContext(pki.Server());
  ssl::context client_ctx = MakeClientContext(pki.Client("carol"), "127.0.0.1");
  REQUIRE(SSL_CTX_set_max_proto_version(client_ctx.native_handle(), TLS1_2_VERSION) == 1);
  Loopback loop(server_ctx);
  const ClientOutcome client = loop.ConnectTls(client_ctx);
  INFO(client.reason);
  CHECK(client.line == "welcome carol");
  const ServerOutcome server = loop.NextServerOutcome();
  CHECK(server.version == "TLSv1.2");
  CHECK(server.client_id == std::optional<std::string>("carol"));
}

TEST_CASE("a client offering only TLS 1.1 is refused") {
  Pki pki;
  ssl::context server_ctx = MakeServerContext(pki.Server());
  ssl::context client_ctx = RawClientContext(pki.ca_file(), pki.Client("old"));
  SSL_CTX* native = client_ctx.native_handle();
  SSL_CTX_set_security_level(native, 0);
  REQUIRE(SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0") == 1);
  REQUIRE(SSL_CTX_set_min_proto_version(native, TLS1_VERSION) == 1);
  REQUIRE(SSL_CTX_set_max_proto_version(native, TLS1_1_VERSION) == 1);
  Loopback loop(server_ctx);
  const ClientOutcome client = loop.ConnectTls(client_ctx);
  CHECK(client.handshake);
  const ServerOutcome server = loop.NextServerOutcome();
  INFO(server.message);
  CHECK(server.ec);
  CHECK(HasSubstr(server.message, "TLS version not supported"));
}

TEST_CASE("a client without a certificate is refused with the reason no certificate") {
  Pki pki;
  ssl::context server_ctx = MakeServerContext(pki.Server());
  ssl::context client_ctx = RawClientContext(pki.ca_file());
  Loopback loop(server_ctx);

  const ClientOutcome client = loop.ConnectTls(client_ctx);
  // TLS 1.3: the client's handshake may complete; the refusal arrives as an
  // alert on its first read. Either way it never gets the greeting.
  CHECK(client.line.empty());
  INFO(client.reason);
  CHECK(HasSubstr(client.reason, "requires a certificate"));

  const ServerOutcome server = loop.NextServerOutcome();
  CHECK(server.ec);
  const std::string prefix = "client 127.0.0.1:";
  CHECK(server.message.substr(0, prefix.size()) == prefix);
  CHECK(HasSubstr(server.message, " refused: no certificate"));
}

TEST_CASE("a client certificate from another CA is refused as unknown CA") {
  Pki pki;
  Pki foreign;               // another CA with a different name
  Pki lookalike("test CA");  // another CA with the same name as the project's
  ssl::context server_ctx = MakeServerContext(pki.Server());
  Loopback loop(server_ctx);

  for (const Pki* other : {&foreign, &lookalike}) {
    // The intruder trusts the project CA, so it gets as far as presenting its
    // own certificate.
    ssl::context client_ctx = RawClientContext(pki.ca_file(), other->Client("mallory"));
    const ClientOutcome client = loop.ConnectTls(client_ctx);
    CHECK(client.line.empty());
    INFO(client.reason);
    CHECK(HasSubstr(client.reason, "the peer refused our certificate"));

    const ServerOutcome server = loop.NextServerOutcome();
    INFO(server.message);
    CHECK(server.ec);
    CHECK(HasSubstr(server.message, "refused: certificate from an unknown CA"));
  }
}

TEST_CASE("an expired client certificate is refused as expired") {
  Pki pki;
  ssl::context server_ctx = MakeServerContext(pki.Server());
  Validity expired;
  expired.start_offset = -std::chrono::hours(48);
  expired.duration = std::chrono::hours(24);
  const TlsFiles old = pki.Client("dave", expired);
  // edgefl's own client refuses to start with it...
  CHECK_THROWS_AS(MakeClientContext(old, "127.0.0.1"), ConfigError);
  // ...a client built otherwise is refused by the coordinator.
  ssl::context client_ctx = RawClientContext(pki.ca_file(), old);
  Loopback loop(server_ctx);
  const ClientOutcome client = loop.ConnectTls(client_ctx);
  CHECK(client.line.empty());
  INFO(client.reason);
  CHECK(HasSubstr(client.reason, "expired"));
  const ServerOutcome server = loop.NextServerOutcome();
  INFO(server.message);
  CHECK(server.ec);
  CHECK(HasSubstr(server.message, "refused: certificate expired"));
}

TEST_CASE("a context refuses its own certificate of the other role, naming file and role") {
  Pki pki;
  const TlsFiles alice = pki.Client("alice");
  const TlsFiles server = pki.Server();
  const std::string client_role =
      "certificate " + alice.certificate.string() +
      " is a client certificate (CN 'alice', extendedKeyUsage clientAuth), but the coordinator "
      "needs a server certificate";
  CHECK_THROWS_WITH_AS(MakeServerContext(alice), doctest::Contains(client_role.c_str()),
                       ConfigError);
  const std::string server_role =
      "certificate " + server.certificate.string() +
      " is a server certificate (CN 'localhost', extendedKeyUsage serverAuth), but edgefl-client "
      "needs a client certificate";
  CHECK_THROWS_WITH_AS(MakeClientContext(server, "127.0.0.1"),
                       doctest::Contains(server_role.c_str()), ConfigError);
  CHECK_NOTHROW(MakeServerContext(server));
  CHECK_NOTHROW(MakeClientContext(alice, "127.0.0.1"));
}

TEST_CASE("a server certificate presented by a client is refused") {
  Pki pki;
  const TlsFiles server_files = pki.Server();
  ssl::context server_ctx = MakeServerContext(server_files);
  ssl::context client_ctx = RawClientContext(pki.ca_file(), server_files);
  Loopback loop(server_ctx);
  const ClientOutcome client = loop.ConnectTls(client_ctx);
  CHECK(client.line.empty());
  const ServerOutcome server = loop.NextServerOutcome();
  INFO(server.message);
  CHECK(server.ec);
  CHECK(HasSubstr(server.message, "not issued for this role"));
}

TEST_CASE("plain TCP clients sending garbage are refused and the server keeps serving") {
  Pki pki;
  ssl::context server_ctx = MakeServerContext(pki.Server());
  ssl::context client_ctx = MakeClientContext(pki.Client("erin"), "127.0.0.1");
  Loopback loop(server_ctx);

  loop.ConnectRaw("GET / HTTP/1.0\r\n\r\n");
  ServerOutcome server = loop.NextServerOutcome();
  INFO(server.message);
  CHECK(server.ec);
  CHECK(HasSubstr(server.message, "refused: not TLS"));

  std::string noise;
  for (int i = 0; i < 256; ++i)
    noise.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  loop.ConnectRaw(noise);
  server = loop.NextServerOutcome();
  CHECK(server.ec);
  CHECK(HasSubstr(server.message, "refused: "));

  // A handshake record cut short, then the connection closed.
  loop.ConnectRaw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
                  /*close_at_once=*/true);
  server = loop.NextServerOutcome();
  CHECK(server.ec);
  CHECK(HasSubstr(server.message, "refused: "));

  // The server still serves a real client.
  const ClientOutcome client = loop.ConnectTls(client_ctx);
  CHECK(client.line == "welcome erin");
  CHECK(loop.NextServerOutcome().client_id == std::optional<std::string>("erin"));
}

TEST_CASE("a connection that never starts its handshake is dropped at the deadline") {
  Pki pki;
  ssl::context server_ctx = MakeServerContext(pki.Server());
  Loopback loop(server_ctx, std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  loop.ConnectRaw("");  // connects, sends nothing, waits for the server to close
  const ServerOutcome server = loop.NextServerOutcome();
  CHECK(std::chrono::steady_clock::now() - start < kWait);
  INFO(server.message);
  CHECK(server.ec);
  CHECK(HasSubstr(server.message, "refused: "));
}

TEST_CASE("the client refuses a server whose certificate does not name the dialled host") {
  Pki pki;
  ssl::context server_ctx = MakeServerContext(pki.Server());
  ssl::context client_ctx = MakeClientContext(pki.Client("frank"), "coordinator.example");
  Loopback loop(server_ctx);
  const ClientOutcome client = loop.ConnectTls(client_ctx);
  CHECK(client.handshake);
  INFO(client.reason);
  CHECK(HasSubstr(client.reason, "does not name the host"));
}

TEST_CASE("the client refuses a server with a certificate from another CA") {
  Pki pki;
  Pki rogue;
  ssl::context server_ctx = MakeServerContext(rogue.Server());
  ssl::context client_ctx = MakeClientContext(pki.Client("grace"), "127.0.0.1");
  Loopback loop(server_ctx);
  const ClientOutcome client = loop.ConnectTls(client_ctx);
  CHECK(client.handshake);
  INFO(client.reason);
  CHECK(HasSubstr(client.reason, "certificate from an unknown CA"));
  // And the rogue server learns nothing about the client: it is refused.
  CHECK(loop.NextServerOutcome().ec);
}

// ---- D-SGD peer links ----------------------------------------------------------

TEST_CASE("peer link: two nodes of the project CA connect and see each other's node id") {
  Pki pki;
  ssl::context accept_ctx = MakePeerContext(pki.Peer("node-1"), PeerEnd::kAccept);
  ssl::context dial_ctx = MakePeerContext(pki.Peer("node-2"), PeerEnd::kDial);
  Loopback loop(accept_ctx);
  const ClientOutcome dialer = loop.ConnectTls(dial_ctx);
  INFO(dialer.reason);
  CHECK(!dialer.handshake);
  CHECK(dialer.line == "welcome node-2");
  const ServerOutcome acceptor = loop.NextServerOutcome();
  INFO(acceptor.message);
  REQUIRE(!acceptor.ec);
  CHECK(acceptor.client_id == std::optional<std::string>("node-2"));
  CHECK(acceptor.version == "TLSv1.3");
}

TEST_CASE("peer link: a node never accepts a peer whose certificate is not from the CA") {
  Pki pki;
  Pki foreign;
  Pki lookalike("test CA");
  ssl::context accept_ctx = MakePeerContext(pki.Peer("node-1"), PeerEnd::kAccept);
  Loopback loop(accept_ctx);
  for (const Pki* other : {&foreign, &lookalike}) {
    // The intruder trusts the project CA and presents a peer certificate of its own CA.
    ssl::context dial_ctx = RawClientContext(pki.ca_file(), other->Peer("node-9"));
    const ClientOutcome dialer = loop.ConnectTls(dial_ctx);
    CHECK(dialer.line.empty());
    const ServerOutcome acceptor = loop.NextServerOutcome();
    INFO(acceptor.message);
    CHECK(acceptor.ec);
    CHECK(HasSubstr(acceptor.message, "refused: certificate from an unknown CA"));
  }
  // Nor one without a certificate.
  ssl::context anonymous = RawClientContext(pki.ca_file());
  CHECK(loop.ConnectTls(anonymous).line.empty());
  CHECK(loop.NextServerOutcome().ec);
}

TEST_CASE("peer link: a client or server certificate of the project CA is not a peer") {
  Pki pki;
  ssl::context accept_ctx = MakePeerContext(pki.Peer("node-1"), PeerEnd::kAccept);
  Loopback loop(accept_ctx);
  // An edgefl-client certificate (clientAuth only) dialling a node.
  ssl::context client_ctx = RawClientContext(pki.ca_file(), pki.Client("alice"));
  CHECK(loop.ConnectTls(client_ctx).line.empty());
  const ServerOutcome refused = loop.NextServerOutcome();
  INFO(refused.message);
  CHECK(refused.ec);
  CHECK(HasSubstr(refused.message, "not issued for this role"));

  // A node dialling something with the coordinator's certificate (serverAuth only).
  ssl::context server_ctx = MakeServerContext(pki.Server());
  Loopback coordinator(server_ctx);
  ssl::context dial_ctx = MakePeerContext(pki.Peer("node-2"), PeerEnd::kDial);
  const ClientOutcome dialer = coordinator.ConnectTls(dial_ctx);
  CHECK(dialer.handshake);
  INFO(dialer.reason);
  CHECK(HasSubstr(dialer.reason, "not issued for this role"));

  // And a node's own certificate must be a peer certificate.
  CHECK_THROWS_WITH_AS(MakePeerContext(pki.Client("bob"), PeerEnd::kAccept),
                       doctest::Contains("needs a peer certificate"), ConfigError);
  CHECK_THROWS_WITH_AS(MakePeerContext(pki.Server(), PeerEnd::kDial),
                       doctest::Contains("needs a peer certificate"), ConfigError);
}

TEST_CASE("peer link: a dialling node refuses an acceptor from another CA") {
  Pki pki;
  Pki rogue;
  ssl::context accept_ctx = MakePeerContext(rogue.Peer("node-1"), PeerEnd::kAccept);
  ssl::context dial_ctx = MakePeerContext(pki.Peer("node-2"), PeerEnd::kDial);
  Loopback loop(accept_ctx);
  const ClientOutcome dialer = loop.ConnectTls(dial_ctx);
  CHECK(dialer.handshake);
  INFO(dialer.reason);
  CHECK(HasSubstr(dialer.reason, "certificate from an unknown CA"));
  CHECK(loop.NextServerOutcome().ec);
}

// ---- Building contexts: bad files --------------------------------------------

TEST_CASE("building a context names a missing file") {
  Pki pki;
  TlsFiles files = pki.Client("henry");
  files.certificate = "/nonexistent/henry.crt";
  CHECK_THROWS_WITH_AS(MakeClientContext(files, "localhost"),
                       doctest::Contains("/nonexistent/henry.crt"), IoError);
  files = pki.Client("henry");
  files.private_key = "/nonexistent/henry.key";
  CHECK_THROWS_WITH_AS(MakeServerContext(files), doctest::Contains("/nonexistent/henry.key"),
                       IoError);
  files = pki.Client("henry");
  files.ca_certificate = "/nonexistent/ca.crt";
  CHECK_THROWS_WITH_AS(MakeServerContext(files), doctest::Contains("/nonexistent/ca.crt"), IoError);
}

TEST_CASE("building a context refuses a private key readable by group or others") {
  Pki pki;
  const TlsFiles files = pki.Client("ivan");
  for (const mode_t mode : {0640, 0644, 0604, 0660}) {
    REQUIRE(::chmod(files.private_key.c_str(), mode) == 0);
    CHECK_THROWS_WITH_AS(MakeClientContext(files, "localhost"), doctest::Contains("chmod 600"),
                         ConfigError);
  }
  REQUIRE(::chmod(files.private_key.c_str(), 0400) == 0);
  CHECK_NOTHROW(MakeClientContext(files, "localhost"));
}

TEST_CASE("building a context refuses a key that does not match the certificate") {
  Pki pki;
  TlsFiles files = pki.Client("judy");
  files.private_key = pki.Client("kim").private_key;
  CHECK_THROWS_WITH_AS(MakeServerContext(files), doctest::Contains("does not match"), ConfigError);
}

TEST_CASE("building a context refuses a certificate not issued by the CA file") {
  Pki pki;
  Pki other;
  TlsFiles files = other.Client("leo");
  files.ca_certificate = pki.ca_file();
  CHECK_THROWS_WITH_AS(MakeClientContext(files, "localhost"),
                       doctest::Contains("was not issued by the CA"), ConfigError);
}

TEST_CASE("building a context refuses files without PEM content naming the file") {
  Pki pki;
  edgefl::testing::TempDir dir;
  edgefl::testing::WriteFile(dir / "junk.crt", "not a certificate\n");
  TlsFiles files = pki.Client("mia");
  files.certificate = dir / "junk.crt";
  CHECK_THROWS_WITH_AS(MakeServerContext(files), doctest::Contains("junk.crt"), ConfigError);
  files = pki.Client("mia");
  files.ca_certificate = dir / "junk.crt";
  CHECK_THROWS_WITH_AS(MakeServerContext(files), doctest::Contains("junk.crt"), ConfigError);
  CHECK_THROWS_AS(MakeClientContext(pki.Client("mia"), ""), ConfigError);
}

TEST_CASE("DescribeTlsError and FormatEndpoint give short readable text") {
  CHECK(DescribeTlsError(asio::error::operation_aborted, nullptr) ==
        "cancelled (timeout or shutdown)");
  CHECK(DescribeTlsError(asio::error::eof, nullptr) == "connection closed by the peer");
  CHECK(DescribeTlsError(error_code(), nullptr) == "no error");
  CHECK(FormatEndpoint(tcp::endpoint(asio::ip::make_address("::1"), 7000)) == "[::1]:7000");
  CHECK(RefusalMessage(tcp::endpoint(asio::ip::make_address("10.0.0.2"), 53422), asio::error::eof,
                       nullptr) == "client 10.0.0.2:53422 refused: connection closed by the peer");
}

}  // namespace edgefl::wire
