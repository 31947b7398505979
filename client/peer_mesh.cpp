#include "client/peer_mesh.h"

#include <algorithm>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>

#include "wire/messages.h"
#include "wire/protocol_error.h"

namespace edgefl::client {

namespace asio = boost::asio;
using asio::ip::tcp;

struct PeerMesh::Neighbour {
  std::shared_ptr<wire::FramedLink> link;  // the link that is up, if any
  bool up = false;
  uint64_t generation = 0;  // links that came up so far
  double backoff = 0.2;     // seconds before the next dial (dialling side)
  int failures = 0;         // dial failures since the last link (logged sparingly)
  bool said_bye = false;    // the current link ended with the neighbour's Bye
  std::unique_ptr<asio::steady_timer> timer;
};

PeerMesh::PeerMesh(asio::io_context& io, const wire::TlsFiles& files, tcp::acceptor acceptor,
                   MeshOptions options, LogFn log)
    : io_(io),
      accept_context_(wire::MakePeerContext(files, wire::PeerEnd::kAccept)),
      dial_context_(wire::MakePeerContext(files, wire::PeerEnd::kDial)),
      acceptor_(std::move(acceptor)),
      options_(std::move(options)),
      log_(std::move(log)) {
  slots_ = options_.neighbours;
  for (const wire::PeerAddress& a : options_.neighbours)
    dials_.push_back(a.index > options_.index);
  for (const wire::PeerAddress& a : options_.metrics_peers) {
    slots_.push_back(a);
    dials_.push_back(!options_.metrics_node);
  }
  for (size_t k = 0; k < slots_.size(); ++k) {
    neighbours_.push_back(std::make_unique<Neighbour>());
    neighbours_.back()->timer = std::make_unique<asio::steady_timer>(io_);
  }
}

PeerMesh::~PeerMesh() = default;

void PeerMesh::Start() {
  asio::post(io_, [this] {
    DoAccept();
    for (size_t k = 0; k < slots_.size(); ++k) {
      if (dials_[k]) Dial(k);
    }
  });
}

void PeerMesh::Stop(const std::string& reason) {
  std::vector<std::shared_ptr<wire::FramedLink>> links;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& n : neighbours_) {
      if (n->link) links.push_back(n->link);
    }
  }
  for (auto& link : links)
    link->Close(wire::EncodeMessage(wire::Bye{reason}));
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& n : neighbours_)
      n->timer->cancel();
  });
  changed_.notify_all();
}

bool PeerMesh::Up(size_t k) const {
  std::lock_guard lock(mutex_);
  return neighbours_[k]->up;
}

uint64_t PeerMesh::SendTo(size_t k, const std::vector<uint8_t>& frame) {
  std::shared_ptr<wire::FramedLink> link;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (!neighbours_[k]->up) return 0;
    link = neighbours_[k]->link;
    generation = neighbours_[k]->generation;
  }
  link->Send(frame);
  return generation;
}

std::map<size_t, wire::PeerModel> PeerMesh::Collect(int64_t round, std::vector<uint64_t>& sent,
                                                    std::chrono::steady_clock::time_point deadline,
                                                    const std::function<void(size_t)>& on_up) {
  std::unique_lock lock(mutex_);
  const size_t graph = options_.neighbours.size();
  for (;;) {
    for (size_t k = 0; k < graph; ++k) {
      if (neighbours_[k]->up && sent[k] != neighbours_[k]->generation && !stopping_) {
        lock.unlock();
        on_up(k);
        lock.lock();
      }
    }
    const auto& arrived = mailbox_[round];
    bool waiting = false;
    for (size_t k = 0; k < graph; ++k) {
      const Neighbour& n = *neighbours_[k];
      if (n.up && sent[k] == n.generation && arrived.count(k) == 0) waiting = true;
    }
    if (!waiting || stopping_) break;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) break;
  }
  std::map<size_t, wire::PeerModel> models = std::move(mailbox_[round]);
  mailbox_.erase(mailbox_.begin(), mailbox_.upper_bound(round));
  oldest_round_ = round + 1;
  return models;
}

std::map<size_t, wire::MetricsModel> PeerMesh::CollectMetrics(
    int64_t round, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto& arrived = metrics_mailbox_[round];
    bool waiting = false;
    for (size_t k = 0; k < neighbours_.size(); ++k) {
      if (neighbours_[k]->up && arrived.count(k) == 0) waiting = true;
    }
    if (!waiting || stopping_) break;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) break;
  }
  std::map<size_t, wire::MetricsModel> models = std::move(metrics_mailbox_[round]);
  metrics_mailbox_.erase(metrics_mailbox_.begin(), metrics_mailbox_.upper_bound(round));
  oldest_metrics_round_ = round + 1;
  return models;
}

void PeerMesh::DoAccept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      log_('W', "peer accept failed: " + ec.message());
      DoAccept();
      return;
    }
    OnAccepted(std::make_shared<wire::TlsStream>(std::move(socket), accept_context_));
    DoAccept();
  });
}

void PeerMesh::OnAccepted(std::shared_ptr<wire::TlsStream> stream) {
  boost::system::error_code ec;
  const tcp::endpoint remote = stream->lowest_layer().remote_endpoint(ec);
  auto timer = std::make_shared<asio::steady_timer>(io_, options_.handshake_timeout);
  timer->async_wait([stream](const boost::system::error_code& e) {
    boost::system::error_code ignored;
    if (!e) stream->lowest_layer().close(ignored);
  });
  stream->async_handshake(asio::ssl::stream_base::server, [this, stream, timer, remote](
                                                              const boost::system::error_code& e) {
    timer->cancel();
    if (e) {
      // Logged by name: "no certificate", "certificate from an unknown
      // CA (...)", "not TLS", ...
      log_('W', "peer " + wire::FormatEndpoint(remote) +
                    " refused: " + wire::DescribeTlsError(e, stream->native_handle()));
      boost::system::error_code ignored;
      stream->lowest_layer().close(ignored);
      return;
    }
    Attach(std::make_shared<wire::FramedLink>(std::move(*stream), options_.max_frame_bytes),
           slots_.size());
  });
}

void PeerMesh::Dial(size_t k) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || neighbours_[k]->up) return;
  }
  const wire::PeerAddress& address = slots_[k];
  boost::system::error_code ec;
  tcp::endpoint endpoint;
  const asio::ip::address ip = asio::ip::make_address(address.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(ip, address.port);
  } else {
    tcp::resolver resolver(io_);
    const auto found = resolver.resolve(address.host, std::to_string(address.port), ec);
    if (ec || found.empty()) {
      log_('W', "peer " + address.node_id + ": cannot resolve " + address.host);
      RedialLater(k);
      return;
    }
    endpoint = *found.begin();
  }
  auto stream = std::make_shared<wire::TlsStream>(io_, dial_context_);
  auto timer = std::make_shared<asio::steady_timer>(io_, options_.handshake_timeout);
  timer->async_wait([stream](const boost::system::error_code& e) {
    boost::system::error_code ignored;
    if (!e) stream->lowest_layer().close(ignored);
  });
  stream->lowest_layer().async_connect(endpoint, [this, k, stream, timer,
                                                  endpoint](const boost::system::error_code& e) {
    if (e) {
      timer->cancel();
      if (++neighbours_[k]->failures == 1) {
        log_('W', "peer " + slots_[k].node_id + " at " + wire::FormatEndpoint(endpoint) + ": " +
                      e.message() + "; retrying with back-off");
      }
      RedialLater(k);
      return;
    }
    stream->async_handshake(
        asio::ssl::stream_base::client,
        [this, k, stream, timer, endpoint](const boost::system::error_code& h) {
          timer->cancel();
          if (h) {
            log_('W', "peer " + slots_[k].node_id + " at " + wire::FormatEndpoint(endpoint) +
                          ": TLS handshake failed: " +
                          wire::DescribeTlsError(h, stream->native_handle()));
            boost::system::error_code ignored;
            stream->lowest_layer().close(ignored);
            RedialLater(k);
            return;
          }
          Attach(std::make_shared<wire::FramedLink>(std::move(*stream), options_.max_frame_bytes),
                 k);
        });
  });
}

void PeerMesh::RedialLater(size_t k) {
  Neighbour& n = *neighbours_[k];
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
  }
  n.timer->expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(n.backoff)));
  n.backoff = std::min(n.backoff * 2.0, 2.0);
  n.timer->async_wait([this, k](const boost::system::error_code& ec) {
    if (!ec) Dial(k);
  });
}

void PeerMesh::Attach(const std::shared_ptr<wire::FramedLink>& link, size_t dialled) {
  auto slot = std::make_shared<size_t>(dialled);
  std::weak_ptr<wire::FramedLink> weak = link;
  link->Start(
      [this, slot, weak](wire::Frame frame) {
        if (auto l = weak.lock()) OnFrame(slot, l, frame);
      },
      [this, slot, weak](const std::string& why) {
        if (auto l = weak.lock()) OnClosed(*slot, l, why);
      });
  if (dialled < slots_.size()) {
    link->Send(wire::EncodePeerMessage(
        wire::PeerHello{options_.node_id, options_.run_id, wire::kProtocolVersion}));
  }
}

void PeerMesh::Refuse(const std::shared_ptr<wire::FramedLink>& link, const std::string& why) {
  log_('W', "peer " + link->remote() + " (CN '" + link->peer_name() + "') refused: " + why);
  link->Close(wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kUnauthorized, why}));
}

void PeerMesh::OnFrame(const std::shared_ptr<size_t>& slot,
                       const std::shared_ptr<wire::FramedLink>& link, const wire::Frame& frame) {
  const size_t k = *slot;
  const bool known = k < slots_.size();
  try {
    if (!wire::IsPeerMessageType(frame.type)) {
      const wire::Message message = wire::DecodeMessage(frame);
      if (const auto* error = std::get_if<wire::ErrorMessage>(&message)) {
        log_('W', "peer " + (known ? slots_[k].node_id : link->remote()) +
                      " sent an error: " + error->message);
      } else if (const auto* bye = std::get_if<wire::Bye>(&message); bye != nullptr && known) {
        std::lock_guard lock(mutex_);
        if (neighbours_[k]->link == link) neighbours_[k]->said_bye = true;
      }
      link->Close();  // Bye, Error or anything else: the link ends
      return;
    }
    const wire::PeerMessage message = wire::DecodePeerMessage(frame.type, frame.payload);
    if (const auto* hello = std::get_if<wire::PeerHello>(&message)) {
      OnHello(slot, link, *hello);
      return;
    }
    const auto* model = std::get_if<wire::PeerModel>(&message);
    const auto* gathered = std::get_if<wire::MetricsModel>(&message);
    bool up = false;
    if (known) {
      std::lock_guard lock(mutex_);
      up = neighbours_[k]->up && neighbours_[k]->link == link;
    }
    // PeerModels on graph links only; MetricsModels only to the metrics node.
    const bool expected = (model != nullptr && k < options_.neighbours.size()) ||
                          (gathered != nullptr && options_.metrics_node);
    if (!expected || !up) {
      Refuse(link, std::string("unexpected ") + std::string(wire::MessageTypeName(frame.type)));
      return;
    }
    {
      std::lock_guard lock(mutex_);
      if (model != nullptr && model->round >= oldest_round_) mailbox_[model->round][k] = *model;
      if (gathered != nullptr && gathered->round >= oldest_metrics_round_) {
        metrics_mailbox_[gathered->round][k] = *gathered;
      }
    }
    changed_.notify_all();
  } catch (const wire::ProtocolError& e) {
    Refuse(link, std::string("protocol error: ") + e.what());
  }
}

void PeerMesh::OnHello(const std::shared_ptr<size_t>& slot,
                       const std::shared_ptr<wire::FramedLink>& link,
                       const wire::PeerHello& hello) {
  if (hello.node_id != link->peer_name()) {
    Refuse(link, "PeerHello says node '" + hello.node_id + "' but its certificate is '" +
                     link->peer_name() + "'");
    return;
  }
  if (hello.run_id != options_.run_id) {
    Refuse(link, "it is in run '" + hello.run_id + "', this node in '" + options_.run_id + "'");
    return;
  }
  const size_t n = slots_.size();
  if (*slot < n) {  // we dialled: the answer must come from the node we dialled
    if (hello.node_id != slots_[*slot].node_id) {
      Refuse(link,
             "dialled node '" + slots_[*slot].node_id + "' but '" + hello.node_id + "' answered");
      return;
    }
    MarkUp(*slot, link, true);
    return;
  }
  const size_t k = Find(hello.node_id);
  if (k == n) {
    Refuse(link, "node '" + hello.node_id + "' is not a neighbour of this node");
    return;
  }
  if (dials_[k]) {
    Refuse(link, "node '" + hello.node_id + "' is dialled by this node, not the other way");
    return;
  }
  *slot = k;
  link->Send(wire::EncodePeerMessage(
      wire::PeerHello{options_.node_id, options_.run_id, wire::kProtocolVersion}));
  MarkUp(k, link, false);
}

void PeerMesh::MarkUp(size_t k, const std::shared_ptr<wire::FramedLink>& link, bool dialled) {
  std::shared_ptr<wire::FramedLink> old;
  {
    std::lock_guard lock(mutex_);
    Neighbour& n = *neighbours_[k];
    if (n.link && n.link != link) old = n.link;
    n.link = link;
    n.up = true;
    ++n.generation;
    n.backoff = 0.2;
    n.failures = 0;
    n.said_bye = false;
  }
  if (old) old->Close();
  log_('I', "peer " + slots_[k].node_id + " linked (" + link->remote() +
                (dialled ? ", dialled" : ", accepted") +
                (k < options_.neighbours.size() ? ")" : ", metrics only)"));
  changed_.notify_all();
}

void PeerMesh::OnClosed(size_t k, const std::shared_ptr<wire::FramedLink>& link,
                        const std::string& why) {
  if (k >= slots_.size()) return;
  bool was_current = false;
  bool stopping = false;
  bool up = false;
  bool said_bye = false;
  {
    std::lock_guard lock(mutex_);
    Neighbour& n = *neighbours_[k];
    said_bye = n.said_bye;
    if (n.link == link) {
      n.link.reset();
      n.up = false;
      was_current = true;
    }
    stopping = stopping_;
    up = n.up;
  }
  changed_.notify_all();
  if (stopping) return;
  if (was_current) {
    if (said_bye) {
      log_('I', "peer " + slots_[k].node_id + " said bye");
    } else {
      log_('W', "peer " + slots_[k].node_id + " link down: " + why);
    }
  }
  // The dialling side dials again (also after a dialled link that closed
  // before it came up).
  if (!up && dials_[k]) RedialLater(k);
}

size_t PeerMesh::Find(const std::string& id) const {
  for (size_t k = 0; k < slots_.size(); ++k) {
    if (slots_[k].node_id == id) return k;
  }
  return slots_.size();
}

}  // namespace edgefl::client
