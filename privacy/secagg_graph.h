// SecAgg+'s communication graph and the choice of its degree k and Shamir
// threshold t (Bell et al., CCS'20, "Secure Single-Server Aggregation with
// (Poly)Logarithmic Overhead", §3–4: a Harary graph H(n, k) whose nodes are
// given to the clients by a random permutation; each client masks with and
// shares its secrets among its k neighbours only).
//
// k ≥ n − 1 is the complete graph: SecAgg of Bonawitz et al. (CCS'17).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace edgefl::privacy {

// H(n, k) for even k (k < n − 1): the node at ring position i is joined to
// the positions i ± 1, …, i ± k/2 (mod n); clients sit at the positions of
// a uniform random permutation drawn from `seed` (common/random.h). A
// client's neighbours are therefore a uniform random k-subset of the others.
class SecAggGraph {
 public:
  // Throws Error when n < 2, or k is odd and below n − 1, or k < 1. k is
  // capped at n − 1 (complete graph).
  SecAggGraph(uint32_t n, uint32_t k, uint64_t seed);

  uint32_t size() const { return n_; }
  uint32_t degree() const { return k_; }
  bool complete() const { return k_ == n_ - 1; }
  // The neighbours of client u (0 ≤ u < n), ascending, without u.
  const std::vector<uint32_t>& Neighbours(uint32_t u) const { return neighbours_.at(u); }
  bool Adjacent(uint32_t u, uint32_t v) const;

 private:
  uint32_t n_;
  uint32_t k_;
  std::vector<std::vector<uint32_t>> neighbours_;
};

// What the parameter choice is for: n clients, of which a fraction
// `dropout_rate` is expected to drop out (independently) during the round
// and a fraction `corrupt_fraction` colludes with the (semi-honest) server;
// targets: the security failure probability ≤ 2^-security_bits, the
// correctness failure (an aborted round) ≤ 2^-failure_bits.
struct SecAggParamRequest {
  uint32_t n = 0;
  double dropout_rate = 0.1;
  double corrupt_fraction = 0.05;
  double security_bits = 40;
  double failure_bits = 20;
};

struct SecAggParams {
  uint32_t k = 0;  // degree; n − 1 = complete graph
  uint32_t t = 0;  // Shamir threshold, t > k/2
  // log2 of the union bounds reached (−inf when the event is impossible).
  double log2_security_failure = 0;
  double log2_correctness_failure = 0;
  bool meets_targets = false;  // false: the complete graph, best effort
};

// The smallest even k (then the smallest t > k/2 for it) whose bounds meet
// both targets, where, with δ = dropout_rate, γ = corrupt_fraction and
// C = ⌈γn⌉ corrupt clients:
//   security  ≤ n·P[Hyp(n−1, C, k) ≥ t]        (an honest client has t
//                                               corrupt neighbours, who can
//                                               rebuild both its secrets)
//             + n²/2 · q^k, q = γ + δ − γδ      (the honest survivors fall
//                                               apart: H(n, k) loses
//                                               connectivity only when two
//                                               runs of k/2 ring positions
//                                               are all removed)
//   failure   ≤ n·P[Bin(k, 1−δ) < t]            (a client keeps fewer than
//                                               t surviving neighbours: its
//                                               secret cannot be rebuilt)
// Hyp and Bin are computed exactly (log space). When no k < n − 1 meets
// them, the complete graph k = n − 1 with the smallest t meeting the
// security target (or ⌊(n−1)/2⌋ + 1) is returned with meets_targets set
// by its bounds. Throws Error for n < 2 or rates outside [0, 1).
SecAggParams ChooseSecAggParams(const SecAggParamRequest& request);

}  // namespace edgefl::privacy
