// The messages of D-SGD between real processes (docs/protocol.md, "D-SGD
// peer messages", types 32-39): the rendezvous with the coordinator and the
// model exchange between neighbouring nodes. They travel in ordinary frames
// (frame.h) of protocol version 2 and have their own decoder, so the
// coordinator/client session messages (messages.h) are untouched.
//
//   node -> coordinator (TLS, node's peer certificate as client):
//     PeerJoin -> PeerAssignment -> MetricsPlan -> ( [GlobalMetrics] NodeReport )* -> Bye
//   node <-> node (mutual TLS, peer certificates; the lower index dials):
//     PeerHello (dialler) -> PeerHello (acceptor) -> ( PeerModel )* (both ways)
//   the global metrics (docs/algorithms.md, "D-SGD between processes"): at
//   evaluation rounds every node sends MetricsModel to the metrics node, on
//   their graph link if they are neighbours, else on a metrics-only link
//   (mutual TLS as above; the other node dials the metrics node); the
//   metrics node sends GlobalMetrics to the coordinator (scalars only).
//
// Bye and Error (messages.h) end either kind of connection.
//
// Decoding checks the encoding only (lengths, limits, no trailing bytes), as
// DecodeMessage does; the node checks the meaning (a neighbour it expects, a
// parameter vector of its model's size).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <Eigen/Core>

#include "wire/frame.h"
#include "wire/messages.h"

namespace edgefl::wire {

inline constexpr size_t kMaxNeighbours = 4096;  // entries of PeerAssignment.neighbours

// Node -> coordinator, the first message: where the node listens for its
// neighbours. The node id is the CN of its certificate, never a field.
struct PeerJoin {
  uint16_t protocol_version = kProtocolVersion;
  std::string agent;        // "edgefl-client 0.1"
  std::string listen_host;  // as neighbours dial it ("127.0.0.1")
  uint16_t listen_port = 0;
  uint64_t dataset_size = 0;  // local training samples
};

// One neighbour of the assigned node.
struct PeerAddress {
  std::string node_id;  // the CN its certificate must carry
  uint32_t index = 0;   // its node index (the lower index of an edge dials)
  std::string host;
  uint16_t port = 0;
};

// Coordinator -> node: the run, the node's place in the graph and what to
// train. No model: every node starts from nn::Model(spec).Initialize(seed).
struct PeerAssignment {
  std::string run_id;
  uint32_t node_index = 0;
  uint32_t num_nodes = 0;
  int64_t rounds = 0;
  uint64_t seed = 0;     // the run seed (model init, per-round client seeds)
  std::string topology;  // "ring", ... (algorithms/topology.h), for the record
  double beta = 1.0;     // D-SGD consensus weight c_β
  double tau_alpha = 0.75;
  double tau_beta = 0.25;
  std::string update = "atc";         // "atc" | "dgd"
  std::string schedule = "constant";  // "constant" | "paper"
  // How long a node waits in a round for its neighbours' models before
  // treating the missing ones as dropped.
  double round_timeout_seconds = 10.0;
  int64_t eval_every = 1;   // rounds between test evaluations (and the last)
  int64_t test_subset = 0;  // > 0: the first N test samples
  // What to train each round: model_spec, recipe (c_α as the learning rate)
  // and local algorithm; round, versions, deadline and parameters unused
  // (encoded as a TrainTask payload with no parameters).
  TrainTask task;
  std::vector<PeerAddress> neighbours;  // ascending index
};

// Node -> coordinator after each round: what it did and measured.
// Numbers that were not measured are NaN.
struct NodeReport {
  int64_t round = 0;
  uint64_t num_samples = 0;
  int64_t local_steps = 0;
  double loss_before = 0.0;
  double loss_after = 0.0;
  double compute_seconds = 0.0;
  double test_loss = 0.0;      // its model x_i after the mix, on the test split
  double test_accuracy = 0.0;  // NaN when not an evaluation round
  uint64_t test_samples = 0;
  // The plain mean of the models the node mixed (its own and its live
  // neighbours', before the mix) on the test split, and their spread
  // (1/m) Σ ‖x_j − mean‖² over those m models.
  double neighbourhood_loss = 0.0;
  double neighbourhood_accuracy = 0.0;
  double local_consensus = 0.0;
  uint64_t bytes_sent = 0;        // model frames to neighbours this round
  uint64_t bytes_received = 0;    // model frames from neighbours this round
  uint32_t live_neighbours = 0;   // links up when it sent its model (its degree d_i)
  uint32_t mixed_neighbours = 0;  // neighbours whose model it mixed in
};

// Node <-> node, first on a peer link, both ways: who it is (must equal the
// CN of its certificate) and for which run.
struct PeerHello {
  std::string node_id;
  std::string run_id;
  uint16_t protocol_version = kProtocolVersion;
};

// Node <-> node: the sender's vector for a round (y_i for "atc", x_i for
// "dgd") and its live degree that round, for the Metropolis–Hastings weight
// 1/(1 + max(d_i, d_j)).
struct PeerModel {
  int64_t round = 0;
  uint32_t degree = 0;
  Eigen::VectorXf parameters;
};

// Coordinator -> node, right after its PeerAssignment: which node gathers
// the models at evaluation rounds to measure the average model x̄ and the
// consensus distance (the coordinator never does). `metrics_node.node_id`
// empty: no global metrics in this run. `members`: for the metrics node
// itself, every other node of the run (id and index; it accepts a
// metrics-only link from those that are not its neighbours); empty for the
// others.
struct MetricsPlan {
  PeerAddress metrics_node;
  std::vector<PeerAddress> members;  // ascending index
};

// Node -> metrics node, at an evaluation round: the sender's model x_i after
// the round's mix.
struct MetricsModel {
  int64_t round = 0;
  Eigen::VectorXf parameters;
};

// Metrics node -> coordinator, at an evaluation round: over the `nodes`
// models it gathered (its own included), the average model x̄ = (1/m) Σ x_i
// on its test split and the consensus distance (1/m) Σ ‖x_i − x̄‖², computed
// as the simulator computes them (algorithms/dsgd.h, in ascending node
// index).
struct GlobalMetrics {
  int64_t round = 0;
  uint32_t nodes = 0;
  double average_loss = 0.0;
  double average_accuracy = 0.0;  // NaN when the metrics node has no test data
  uint64_t test_samples = 0;
  double consensus_distance = 0.0;
};

using PeerMessage = std::variant<PeerJoin, PeerAssignment, NodeReport, PeerHello, PeerModel,
                                 MetricsPlan, MetricsModel, GlobalMetrics>;

// True for types 32-39.
bool IsPeerMessageType(MessageType type);

MessageType TypeOf(const PeerMessage& message);

// A complete frame (version 2).
std::vector<uint8_t> EncodePeerMessage(const PeerMessage& message);

// Decodes the payload of a frame of a peer type. Throws ProtocolError naming
// the message and field, as DecodeMessage does, also for a non-peer type.
PeerMessage DecodePeerMessage(MessageType type, std::span<const uint8_t> payload);

}  // namespace edgefl::wire
