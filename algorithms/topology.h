// Communication graphs for decentralized training (D-SGD, dsgd.h): who
// exchanges models with whom. Undirected, no self-loops, nodes 0..n-1; each
// node's neighbours are sorted ascending, so every walk over them is in a
// fixed order and a run is bit-identical for a seed.
//
//   ring         i ~ i±1 (mod n)
//   torus        a rows x cols 2-D torus, rows the largest divisor of n that
//                is <= sqrt(n) (a prime n gives a 1 x n torus, i.e. a ring)
//   exponential  i ~ i ± 2^k (mod n) for 2^k < n: the static exponential graph
//                of Ying et al. (NeurIPS'21), made undirected so that
//                Metropolis–Hastings weights apply (their weights are for the
//                directed one)
//   erdos_renyi  each pair an edge with probability p, drawn from
//                Rng::Derive(seed, {stream, attempt}); redrawn (attempt + 1)
//                until connected
//   complete     every pair (W = 11ᵀ/n: centralised averaging)
//
// Errors: an unknown name, n = 0, or p outside (0, 1] throw ConfigError; an
// Erdős–Rényi graph still disconnected after 1000 draws throws ConfigError
// naming p.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace edgefl::algorithms {

struct Graph {
  std::vector<std::vector<size_t>> neighbors;  // sorted, no self, symmetric

  size_t size() const { return neighbors.size(); }
  size_t degree(size_t i) const { return neighbors[i].size(); }
  bool HasEdge(size_t i, size_t j) const;
};

enum class TopologyKind { kRing, kTorus, kExponential, kErdosRenyi, kComplete };

// Parses "ring", "torus", "exponential", "erdos_renyi", "complete";
// ConfigError naming `key` and the accepted values otherwise.
TopologyKind ParseTopology(const std::string& name, const std::string& key = "topology");
std::string TopologyName(TopologyKind kind);

struct TopologyOptions {
  TopologyKind kind = TopologyKind::kRing;
  double edge_probability = 0.3;  // erdos_renyi: p in (0, 1]
  uint64_t seed = 0;              // erdos_renyi: the run seed
};

Graph MakeTopology(const TopologyOptions& options, size_t n);

// Whether the nodes with live[i] (all nodes when `live` is empty) form one
// connected component over the edges between live nodes. No live node:
// true.
bool IsConnected(const Graph& graph, const std::vector<bool>& live = {});

}  // namespace edgefl::algorithms
