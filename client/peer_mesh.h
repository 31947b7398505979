// A D-SGD node's links to its graph neighbours (docs/security.md, "Peer
// links"; docs/protocol.md, "D-SGD peer messages"): mutual TLS with peer
// certificates of the project CA (wire::MakePeerContext) both ways. For each
// edge the node with the lower index dials, with back-off (0.2 s doubling to
// 2 s) and again after a drop, until Stop(); the other accepts. A link is up
// once both PeerHellos are exchanged: the acceptor requires the dialler's
// certificate CN to equal its PeerHello node_id, to be a neighbour that
// should dial it, and the run id to be its own; anything else is refused
// with Error(unauthorized) and logged ("W peer 127.0.0.1:5301 refused:
// ..."), as is a failed handshake (no certificate, another CA, not a peer
// certificate: wire::DescribeTlsError's words).
//
// PeerModels arriving on a link go to a mailbox by round; Collect waits on
// it. A neighbour whose link is down is not waited for.
//
// Metrics links (the global metrics' gather, docs/algorithms.md): besides
// its graph neighbours (slots 0 .. size()-1) a mesh has metrics-only slots
// (size() .. slots()-1). At the metrics node they are the nodes of the run
// that are not its neighbours, which dial it; at any other node that is not
// a neighbour of the metrics node, the one slot of the metrics node, which it
// dials. Metrics-only links carry MetricsModels only, never PeerModels; the
// metrics node also takes MetricsModels on its graph links.
//
// Threading: the links live on an io_context run by ONE thread the caller
// owns; every public method may be called from another thread (the node's
// training thread). Stop() before destroying; the io thread must be joined
// before the mesh is destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "client/coordinator_session.h"
#include "wire/framed_link.h"
#include "wire/peer_messages.h"
#include "wire/tls_context.h"

namespace edgefl::client {

struct MeshOptions {
  std::string node_id;  // this node (its certificate's CN)
  uint32_t index = 0;   // its node index
  std::string run_id;
  std::vector<wire::PeerAddress> neighbours;  // ascending index
  // Metrics-only slots (not graph neighbours), and whether this node is the
  // metrics node (it accepts them; otherwise it dials its one entry).
  std::vector<wire::PeerAddress> metrics_peers;
  bool metrics_node = false;
  uint32_t max_frame_bytes = 256u << 20;
  std::chrono::milliseconds handshake_timeout{10'000};
};

class PeerMesh {
 public:
  // `acceptor` is open and listening (bound before the node joined, so its
  // port could be announced). Throws ConfigError when the TLS files are not
  // a peer certificate of the CA (MakePeerContext).
  PeerMesh(boost::asio::io_context& io, const wire::TlsFiles& files,
           boost::asio::ip::tcp::acceptor acceptor, MeshOptions options, LogFn log);
  ~PeerMesh();
  PeerMesh(const PeerMesh&) = delete;
  PeerMesh& operator=(const PeerMesh&) = delete;

  // Starts accepting and dialling.
  void Start();
  // Closes every link (Bye first) and stops accepting and dialling.
  void Stop(const std::string& reason);

  // Graph neighbours (slots 0 .. size()-1).
  size_t size() const { return options_.neighbours.size(); }
  // Every slot, the metrics-only ones included.
  size_t slots() const { return slots_.size(); }
  const wire::PeerAddress& neighbour(size_t k) const { return slots_[k]; }
  // Whether slot k's link is up now.
  bool Up(size_t k) const;
  // Queues `frame` on neighbour k's link. Returns the link's generation
  // (counts the times neighbour k's link came up, from 1), or 0 when it is
  // not up and nothing was sent.
  uint64_t SendTo(size_t k, const std::vector<uint8_t>& frame);

  // Waits until every neighbour k whose current link got our model
  // (sent[k] == its generation) has delivered its PeerModel for `round` or
  // its link is down, or until `deadline`. Meanwhile, for a link that is up
  // but did not get our model (a neighbour that (re)connected during the
  // round), calls on_up(k), which sends and stores the generation in
  // sent[k]. Returns the models of `round` received, by neighbour position,
  // and drops that round and older ones from the mailbox.
  std::map<size_t, wire::PeerModel> Collect(int64_t round, std::vector<uint64_t>& sent,
                                            std::chrono::steady_clock::time_point deadline,
                                            const std::function<void(size_t)>& on_up);

  // At the metrics node: waits until every slot whose link is up has
  // delivered its MetricsModel for `round`, or until `deadline`. Returns them
  // by slot and drops that round and older ones from the metrics mailbox.
  std::map<size_t, wire::MetricsModel> CollectMetrics(
      int64_t round, std::chrono::steady_clock::time_point deadline);

 private:
  struct Neighbour;
  void DoAccept();
  void OnAccepted(std::shared_ptr<wire::TlsStream> stream);
  void Dial(size_t k);
  void RedialLater(size_t k);
  // Starts `link`'s read loop; `dialled` = the neighbour position it was
  // dialled for (then sends our PeerHello), size() for an accepted link.
  void Attach(const std::shared_ptr<wire::FramedLink>& link, size_t dialled);
  void OnFrame(const std::shared_ptr<size_t>& slot, const std::shared_ptr<wire::FramedLink>& link,
               const wire::Frame& frame);
  void OnHello(const std::shared_ptr<size_t>& slot, const std::shared_ptr<wire::FramedLink>& link,
               const wire::PeerHello& hello);
  void MarkUp(size_t k, const std::shared_ptr<wire::FramedLink>& link, bool dialled);
  void OnClosed(size_t k, const std::shared_ptr<wire::FramedLink>& link, const std::string& why);
  void Refuse(const std::shared_ptr<wire::FramedLink>& link, const std::string& why);
  // The neighbour position of node `id`, or size() if it is none.
  size_t Find(const std::string& id) const;

  boost::asio::io_context& io_;
  boost::asio::ssl::context accept_context_;
  boost::asio::ssl::context dial_context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  const MeshOptions options_;
  const LogFn log_;
  std::vector<wire::PeerAddress> slots_;  // neighbours, then metrics_peers
  std::vector<bool> dials_;               // this node dials slot k

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Neighbour>> neighbours_;  // GUARDED_BY(mutex_) (state fields)
  std::map<int64_t, std::map<size_t, wire::PeerModel>> mailbox_;             // GUARDED_BY(mutex_)
  int64_t oldest_round_ = 0;                                                 // GUARDED_BY(mutex_)
  std::map<int64_t, std::map<size_t, wire::MetricsModel>> metrics_mailbox_;  // GUARDED_BY(mutex_)
  int64_t oldest_metrics_round_ = 0;                                         // GUARDED_BY(mutex_)
  bool stopping_ = false;                                                    // GUARDED_BY(mutex_)
};

}  // namespace edgefl::client
