#include "coordinator/metrics_server.h"

#include <chrono>
#include <istream>
#include <string_view>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "common/error.h"
#include "wire/tls_context.h"

namespace edgefl::coordinator {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

constexpr size_t kMaxRequestHead = 8192;
constexpr std::chrono::seconds kRequestTimeout{5};

std::string Response(int status, std::string_view reason, std::string_view content_type,
                     const std::string& body, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out.append(reason).append("\r\nContent-Type: ").append(content_type);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  out.append("\r\nConnection: close\r\n");
  if (status == 405) out.append("Allow: GET, HEAD\r\n");
  out.append("\r\n");
  if (!head_only) out.append(body);
  return out;
}

// One scrape: read the request head, answer, close.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<const std::function<std::string()>> body,
             std::shared_ptr<std::atomic<int>> open)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        request_(kMaxRequestHead),
        body_(std::move(body)),
        open_(std::move(open)) {}
  ~Connection() { open_->fetch_sub(1); }

  void Start() {
    timer_.expires_after(kRequestTimeout);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec != asio::error::operation_aborted) {
        error_code ignored;
        self->socket_.close(ignored);
      }
    });
    asio::async_read_until(
        socket_, request_, "\r\n\r\n",
        [self = shared_from_this()](const error_code& ec, size_t) { self->OnRequest(ec); });
  }

 private:
  void OnRequest(const error_code& ec) {
    if (ec == asio::error::not_found) {  // the head is over kMaxRequestHead
      Answer(Response(400, "Bad Request", "text/plain", "request head too large\n", false));
      return;
    }
    if (ec) {
      timer_.cancel();
      return;
    }
    std::string line;
    std::istream in(&request_);
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || line.compare(sp2 + 1, 5, "HTTP/") != 0) {
      Answer(Response(400, "Bad Request", "text/plain", "not an HTTP request\n", false));
      return;
    }
    const std::string method = line.substr(0, sp1);
    std::string path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (const size_t q = path.find('?'); q != std::string::npos) path.resize(q);
    const bool head = method == "HEAD";
    if (method != "GET" && !head) {
      Answer(Response(405, "Method Not Allowed", "text/plain", "GET /metrics\n", false));
    } else if (path != "/metrics") {
      Answer(Response(404, "Not Found", "text/plain", "the metrics are at /metrics\n", head));
    } else {
      Answer(Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", (*body_)(), head));
    }
  }

  void Answer(std::string response) {
    response_ = std::move(response);
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](const error_code&, size_t) {
                        error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                        self->socket_.close(ignored);
                        self->timer_.cancel();
                      });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;  // closes a connection that sends no request in time
  asio::streambuf request_;   // the request head, at most kMaxRequestHead bytes
  std::string response_;
  std::shared_ptr<const std::function<std::string()>> body_;
  std::shared_ptr<std::atomic<int>> open_;
};

}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, const std::string& host, uint16_t port,
                             std::function<std::string()> body, Logger logger)
    : io_(io),
      acceptor_(asio::make_strand(io)),
      body_(std::make_shared<const std::function<std::string()>>(std::move(body))),
      open_(std::make_shared<std::atomic<int>>(0)),
      logger_(std::move(logger)) {
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    throw ConfigError("metrics_listen: '" + host +
                      "' is not an IP address (use 127.0.0.1, ::1, or 0.0.0.0 for all)");
  }
  const tcp::endpoint wanted(address, port);
  acceptor_.open(wanted.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(wanted, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) endpoint_ = acceptor_.local_endpoint(ec);
  if (ec) {
    throw IoError("metrics_listen: cannot listen on " + wire::FormatEndpoint(wanted) + ": " +
                  ec.message());
  }
}

MetricsServer::~MetricsServer() {
  error_code ignored;
  acceptor_.close(ignored);
}

std::string MetricsServer::address() const {
  return wire::FormatEndpoint(endpoint_);
}

void MetricsServer::Start() {
  asio::post(acceptor_.get_executor(), [this] { DoAccept(); });
}

void MetricsServer::Stop() {
  asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
  });
}

void MetricsServer::DoAccept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](const error_code& ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      logger_.Warn("metrics: accept failed: " + ec.message());
    } else if (open_->fetch_add(1) >= kMaxConnections) {
      open_->fetch_sub(1);
      error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Connection>(std::move(socket), body_, open_)->Start();
    }
    DoAccept();
  });
}

}  // namespace edgefl::coordinator
