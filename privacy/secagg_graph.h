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

// Whom the parameter choice defends against (Bell et al. CCS'20; Google's
// federated-compute HararyGraphParameterFinder, AdversaryClass):
// kCuriousServer = a semi-honest server colluding with the corrupt clients
// (the threat model of docs/security.md); kSemiMaliciousServer = a server
// that may also lie about who dropped out, so t must exceed (k + corrupt
// neighbours)/2 and a server cannot collect t shares of both kinds.
enum class SecAggAdversary { kCuriousServer, kSemiMaliciousServer };

// What the parameter choice is for: n clients, of which at most a fraction
// `dropout_rate` drops out during the round and at most a fraction
// `corrupt_fraction` colludes with the server; targets: the security
// failure probability ≤ 2^-security_bits, the correctness failure (an
// aborted round) ≤ 2^-failure_bits.
struct SecAggParamRequest {
  uint32_t n = 0;
  double dropout_rate = 0.1;
  double corrupt_fraction = 0.05;
  double security_bits = 40;
  double failure_bits = 20;
  SecAggAdversary adversary = SecAggAdversary::kCuriousServer;
};

struct SecAggParams {
  uint32_t k = 0;  // degree; n − 1 = complete graph
  uint32_t t = 0;  // Shamir threshold, 2 ≤ t ≤ k (t = k when k = 1)
  // log2 of the union bounds reached (−inf when the event is impossible).
  double log2_security_failure = 0;
  double log2_correctness_failure = 0;
  bool meets_targets = false;  // false: the complete graph, best effort
};

// The search of federated-compute's HararyGraphParameterFinder (Bell et
// al.'s parameter choice, written by the SecAgg+ authors' team; read, not
// copied: google-parfait/federated-compute@bdbd822
// fcp/secagg/server/graph_parameter_finder.cc), with A = ⌈γn⌉ corrupt and
// D = ⌈δn⌉ dropped clients (γ = corrupt_fraction, δ = dropout_rate), the
// security budget split evenly over two events (σ + 1 bits each):
//   disconnection: n(n−k−1)/2 · (A+D)!(n−k)! / (n!(A+D−k)!) < 2^-(σ+1)
//     (the honest survivors of H(n, k) fall apart only when two runs of
//     k/2 consecutive ring positions are all corrupt or dropped);
//   t1 = the smallest x with n·P[Hyp(n, A, k) > x] ≤ 2^-(σ+1)
//     (no honest client has more than t1 corrupt neighbours; for
//     kSemiMaliciousServer t1 ← ⌈(t1 + k − 1.25)/2⌉);
//   t2 = the largest x with n·P[Hyp(n, n − D, k) < x] ≤ 2^-η
//     (every client keeps ≥ t2 surviving neighbours);
// the smallest even k < n − 1 with t = max(t1 + 1, 2) ≤ t2 is returned.
// Deviations from that code: ⌈·⌉ instead of ⌊·⌋ for A and D (equal when γn
// and δn are integers; at least one drop-out when δ > 0 in a small cohort),
// t ≤ t2 is required (its max(·, 2) may exceed t2 for n ≲ 10), and when no
// k < n − 1 qualifies the complete graph k = n − 1 with the smallest t
// meeting the security target (else ⌊(n−1)/2⌋ + 1) is returned, with
// meets_targets by its bounds, instead of an error. Throws Error for n < 2
// or rates outside [0, 1).
SecAggParams ChooseSecAggParams(const SecAggParamRequest& request);

}  // namespace edgefl::privacy
