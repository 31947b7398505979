// edgefl-client as a D-SGD node (docs/algorithms.md, "D-SGD between
// processes"): the coordinator is only the rendezvous; the models travel
// between graph neighbours over peer links (peer_mesh.h).
//
//   1. Listens for its neighbours on listen_host:listen_port (bound first,
//      so the port it announces is taken).
//   2. Joins the coordinator over TLS with its peer certificate (as a
//      client): PeerJoin, then waits for its PeerAssignment (the run, its
//      node index, the training task and its neighbours' addresses) and
//      MetricsPlan (which node gathers the models for the global metrics).
//   3. Links to its neighbours (waits up to the round timeout for all of
//      them before round 1), then for each round k:
//        trains its model x_i with the task's recipe as the simulator does
//        (Dsgd::Instructions: learning rate α_k, seed ClientSeed(seed, k, id)),
//        giving y_i; sends PeerModel{k, d_i, y_i (atc) or x_i (dgd)} to every
//        neighbour whose link is up (d_i = their number); waits for their
//        PeerModels of round k until each has delivered or its link dropped,
//        or the round timeout; mixes with the Metropolis–Hastings row
//        MetropolisHastingsRow(i, d_i, {(j, d_j)}, β_k) over the models that
//        arrived; at an evaluation round (every eval_every rounds and the
//        last) sends its model x_i to the metrics node (MetricsPlan; index
//        0), or, at the metrics node, gathers them, computes the average
//        model x̄ and the consensus distance as the simulator does and sends
//        GlobalMetrics (scalars) to the coordinator; evaluates its own x_i
//        and sends its NodeReport.
//   4. After the last round: Bye to its neighbours, waits for the
//      coordinator's Bye (up to 30 s), and ends.
//
// A neighbour that is killed, or silent past the timeout, is left out of
// that round's mix; the node trains on (never an error). Losing the
// coordinator after the assignment is logged and the node trains on; its
// reports are then lost.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "client/coordinator_session.h"
#include "datasets/dataset.h"
#include "wire/tls_context.h"

namespace edgefl::client {

struct NodeOptions {
  std::string host = "127.0.0.1";  // the coordinator, as its certificate names it
  uint16_t port = 7443;
  wire::TlsFiles tls;                     // a PEER certificate (edgefl certs issue-peer), key, CA
  std::string node_id;                    // the CN of the certificate
  std::string listen_host = "127.0.0.1";  // where neighbours dial this node (an IP literal)
  uint16_t listen_port = 0;               // 0 = an ephemeral port
  uint32_t max_frame_bytes = 256u << 20;
  double retry_for = 60.0;  // seconds to keep trying to reach the coordinator
};

struct NodeEnd {
  enum class Kind {
    kFinished,  // every round done
    kRefused,   // the coordinator refused the node (certificate, run already assigned)
    kFailed,    // no coordinator, or it went away before the assignment
  } kind = Kind::kFailed;
  std::string reason;
  int64_t rounds_done = 0;
};

// The node's test data for evaluation (the first `test_subset` samples when
// > 0), or nullopt when it has none (then it reports NaN accuracies).
using TestLoader = std::function<std::optional<datasets::Dataset>(int64_t test_subset)>;

// Runs the node to its end. Throws edgefl::Error for local problems (TLS
// files that are not a peer certificate of the CA, a port that cannot be
// bound, a task that does not fit the data).
NodeEnd RunDecentralizedNode(const NodeOptions& options, const datasets::Dataset& data,
                             const TestLoader& load_test, const LogFn& log);

}  // namespace edgefl::client
