#include "coordinator/tls_server.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "common/error.h"
#include "wire/tls_context.h"

namespace edgefl::coordinator {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

tcp::endpoint ParseEndpoint(const std::string& host, uint16_t port) {
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    throw ConfigError("listen: '" + host +
                      "' is not an IP address (use 127.0.0.1, 0.0.0.0, ::1 or ::)");
  }
  return tcp::endpoint(address, port);
}

// Gives the heap's free pages back to the OS. glibc keeps what a burst of
// sessions freed (their TLS state, buffers) in its arenas; without this the
// coordinator's RSS stays at the peak of the largest storm it has seen.
void ReleaseFreedMemory() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

}  // namespace

TlsServer::TlsServer(asio::io_context& io, asio::ssl::context& context, ServerOptions options,
                     ClientRegistry& registry, Logger logger)
    : io_(io),
      options_(std::move(options)),
      registry_(registry),
      logger_(std::move(logger)),
      acceptor_(asio::make_strand(io)),
      trim_timer_(acceptor_.get_executor()),
      context_(&context) {
  const tcp::endpoint wanted = ParseEndpoint(options_.host, options_.port);
  const std::string where = wire::FormatEndpoint(wanted);
  error_code ec;
  acceptor_.open(wanted.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(wanted, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) endpoint_ = acceptor_.local_endpoint(ec);
  if (ec) throw IoError("cannot listen on " + where + ": " + ec.message());
}

TlsServer::~TlsServer() {
  error_code ignored;
  trim_timer_.cancel();
  acceptor_.close(ignored);
}

std::string TlsServer::address() const {
  return wire::FormatEndpoint(endpoint_);
}

void TlsServer::Start() {
  asio::post(acceptor_.get_executor(), [this] { DoAccept(); });
}

void TlsServer::DoAccept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](const error_code& ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void TlsServer::OnAccept(const error_code& ec, tcp::socket socket) {
  if (!acceptor_.is_open()) return;  // stopped
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    logger_.Warn("accept failed: " + ec.message());
    DoAccept();
    return;
  }
  std::shared_ptr<TlsClientSession> session;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (sessions_.size() >= options_.max_connections) {
      error_code peer_ec;
      const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
      logger_.Warn("client " + (peer_ec ? std::string("?") : wire::FormatEndpoint(peer)) +
                   " refused: connection limit " + std::to_string(options_.max_connections) +
                   " reached");
      if (options_.session.metrics) {
        options_.session.metrics->Refused(RefusalReason::kConnectionLimit);
      }
      error_code ignored;
      socket.close(ignored);
    } else {
      SessionHooks hooks;
      hooks.on_authenticated = [this](const std::shared_ptr<TlsClientSession>& s) {
        registry_.Add(s);
      };
      hooks.on_leaving = [this](TlsClientSession& s) { registry_.Remove(&s); };
      hooks.on_closed = [this](TlsClientSession& s) { OnSessionClosed(s); };
      session = std::make_shared<TlsClientSession>(std::move(socket), *context_, options_.session,
                                                   std::move(hooks), logger_);
      sessions_.emplace(session.get(), session);
    }
  }
  if (session) session->Start();
  DoAccept();
}

void TlsServer::OnSessionClosed(TlsClientSession& session) {
  registry_.Remove(&session);
  {
    std::lock_guard lock(mutex_);
    sessions_.erase(&session);
  }
  closed_.notify_all();
  ScheduleTrim();
}

void TlsServer::ScheduleTrim() {
  {
    std::lock_guard lock(mutex_);
    if (trim_pending_) return;
    trim_pending_ = true;
  }
  asio::post(acceptor_.get_executor(), [this] {
    trim_timer_.expires_after(options_.trim_delay);
    trim_timer_.async_wait([this](const error_code& ec) {
      if (ec == asio::error::operation_aborted) return;  // the server is going away
      {
        std::lock_guard lock(mutex_);
        trim_pending_ = false;
      }
      ReleaseFreedMemory();
    });
  });
}

void TlsServer::Stop(const std::string& reason, bool send_bye) {
  std::vector<std::shared_ptr<TlsClientSession>> open;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const auto& [key, weak] : sessions_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
  });
  for (const auto& s : open)
    s->Stop(reason, send_bye);
}

bool TlsServer::WaitClosed(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return closed_.wait_for(lock, timeout, [this] { return sessions_.empty(); });
}

void TlsServer::ReplaceContext(asio::ssl::context& context) {
  std::lock_guard lock(mutex_);
  context_ = &context;
}

size_t TlsServer::connections() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace edgefl::coordinator
