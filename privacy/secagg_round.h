// One SecAgg+ round run in-process between n SecAggClients and a
// SecAggServer, with drop-outs at chosen stages: what the simulator, the
// tests and the benchmark drive. It passes each stage's messages exactly as
// a transport would and counts their wire bytes per client.
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "privacy/secagg_messages.h"
#include "privacy/secagg_server.h"

namespace edgefl::privacy {

// Who drops out, by the stage they never answer (client ids 0 … n−1).
struct SecAggDropouts {
  std::set<uint32_t> before_advertise;  // never sends keys
  std::set<uint32_t> before_sharing;    // sent keys, never shares
  std::set<uint32_t> before_masking;    // shared, never sends its masked input
  std::set<uint32_t> before_unmasking;  // sent its masked input, never answers
};

struct SecAggRoundResult {
  bool ok = false;
  std::string failure;  // the SecAggError's text when !ok ("secagg: <stage>: ...")
  SecAggOutcome outcome;
  // Wire bytes per client (index = id): sent to and received from the server.
  std::vector<int64_t> bytes_up;
  std::vector<int64_t> bytes_down;
  // Wall seconds spent in client calls (all clients) and server calls:
  // indicative only (benchmark), never for tests.
  double client_seconds = 0;
  double server_seconds = 0;
};

// `inputs[u]` is client u's QuantizeUpdate vector (d + 1 values). A stage
// that cannot go on ends the round with ok = false and the reason; errors
// other than SecAggError (OpenSSL failures) propagate.
SecAggRoundResult RunSecAggRound(const SecAggConfig& config,
                                 std::span<const std::vector<uint32_t>> inputs,
                                 const SecAggDropouts& dropouts);

}  // namespace edgefl::privacy
