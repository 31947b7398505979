// edgefl-coordinator with mode = "decentralized": the rendezvous of D-SGD
// between processes (docs/algorithms.md, "D-SGD between processes"). It
// never sees a model.
//
//   1. Accepts node connections over TLS (the coordinator's server context:
//      a node presents its peer certificate of the project CA; any other is
//      refused in the handshake and logged by name, "node 127.0.0.1:5301
//      refused: certificate from an unknown CA ..."). The first frame must
//      be a PeerJoin (where the node listens for its neighbours); the node
//      id is its certificate's CN. A second connection with a joined id
//      replaces the first (Error replaced); a join after the assignment is
//      refused (Error unauthorized), also from a node of the run that left
//      (killed and restarted with the same certificate: "node X left run R
//      after round k and D-SGD nodes cannot rejoin a running run ...") or
//      that is still connected.
//   2. Once `clients` nodes have joined: indexes them by id (ascending),
//      builds the graph from `topology` and the seed (algorithms/topology.h)
//      and sends each its PeerAssignment: run, index, the training task
//      (the dsgd strategy's recipe and local algorithm), its neighbours'
//      ids and addresses, then a MetricsPlan naming the metrics node (index
//      0; to it, the list of every node).
//   3. Receives NodeReports and commits round k to the SQLite log once
//      every node has reported k or gone (connection closed), or after
//      3 x the round timeout + 30 s with no news. Per round:
//        rounds          completed = nodes that reported, dropped = the
//                        others, train_loss = mean loss after local steps,
//                        metrics (rounds.metrics): node_accuracy,
//                        neighbourhood_accuracy, local_consensus,
//                        bytes_per_node (mean of bytes sent + received),
//                        mixed_neighbours (mean)
//        client_updates  one row per node: bytes_out / bytes_in = PeerModel
//                        bytes it sent to / received from its neighbours,
//                        losses; dropped with a reason if it did not report
//        evaluations     when the nodes evaluated: "node_mean" (mean of the
//                        nodes' x_i test loss and accuracy, as the
//                        simulator's) and "neighbourhood_mean" (mean of each
//                        node's neighbourhood-average accuracy); every round
//                        "local_consensus" (loss = mean over nodes of the
//                        spread of the models each mixed; accuracy NaN)
//        the global metrics, at evaluation rounds, from the metrics node
//        (node index 0; MetricsPlan, GlobalMetrics): "test" = the average
//        model x̄ of the models it gathered (loss, accuracy), "consensus" =
//        (1/m) Σ ‖x_i − x̄‖² (accuracy NaN, num_samples = m), as the
//        simulator names them; rounds.metrics average_accuracy,
//        consensus_distance, gathered_nodes. The nodes' models go to the
//        metrics node, never here.
//      No checkpoint: there is no global model.
//   4. After the last round (or on stop): Bye to every node, run ended.
//
// Not resumable: a run_name already in the log is a ConfigError.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "coordinator/log.h"
#include "engine/experiment_config.h"

namespace edgefl::coordinator {

struct RendezvousResult {
  int64_t run_id = 0;
  int64_t last_round = 0;  // last round committed
  bool interrupted = false;
  double final_node_accuracy = 0.0;     // NaN when the nodes did not evaluate
  double final_average_accuracy = 0.0;  // the average model x̄'s; NaN when not measured
  double seconds = 0.0;
};

// Runs the rendezvous of `config` (mode decentralized, strategy dsgd).
// `on_listening(address)` is called once the port is bound
// ("127.0.0.1:7443"). `stop` ends the run after the round being committed.
// Throws ConfigError for a config that is not decentralized D-SGD or a
// run_name already in the log, IoError for a port that cannot be bound.
RendezvousResult RunRendezvous(const engine::ExperimentConfig& config,
                               boost::asio::ssl::context& tls, const Logger& logger,
                               const std::atomic<bool>& stop,
                               const std::function<void(const std::string&)>& on_listening);

}  // namespace edgefl::coordinator
