#include "algorithms/topology.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::algorithms {
namespace {

// Rng stream of the Erdős–Rényi draws ("topo").
constexpr uint64_t kErdosRenyiStream = 0x746f706fULL;
constexpr int kErdosRenyiAttempts = 1000;

void AddEdge(Graph& g, size_t i, size_t j) {
  if (i == j) return;
  g.neighbors[i].push_back(j);
  g.neighbors[j].push_back(i);
}

// Sorts every list and drops repeated edges (small rings and tori reach the
// same neighbour both ways).
void Normalize(Graph& g) {
  for (auto& list : g.neighbors) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
}

Graph Ring(size_t n) {
  Graph g{std::vector<std::vector<size_t>>(n)};
  for (size_t i = 0; i < n; ++i)
    AddEdge(g, i, (i + 1) % n);
  return g;
}

Graph Torus(size_t n) {
  size_t rows = 1;
  for (size_t r = 1; r * r <= n; ++r) {
    if (n % r == 0) rows = r;
  }
  const size_t cols = n / rows;
  Graph g{std::vector<std::vector<size_t>>(n)};
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const size_t i = r * cols + c;
      AddEdge(g, i, r * cols + (c + 1) % cols);
      AddEdge(g, i, ((r + 1) % rows) * cols + c);
    }
  }
  return g;
}

Graph Exponential(size_t n) {
  Graph g{std::vector<std::vector<size_t>>(n)};
  for (size_t i = 0; i < n; ++i) {
    for (size_t hop = 1; hop < n; hop *= 2)
      AddEdge(g, i, (i + hop) % n);
  }
  return g;
}

Graph Complete(size_t n) {
  Graph g{std::vector<std::vector<size_t>>(n)};
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j)
      AddEdge(g, i, j);
  }
  return g;
}

Graph ErdosRenyi(size_t n, double p, uint64_t seed) {
  for (int attempt = 0; attempt < kErdosRenyiAttempts; ++attempt) {
    Rng rng = Rng::Derive(seed, {kErdosRenyiStream, static_cast<uint64_t>(attempt)});
    Graph g{std::vector<std::vector<size_t>>(n)};
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = i + 1; j < n; ++j) {
        if (rng.Uniform() < p) AddEdge(g, i, j);
      }
    }
    Normalize(g);
    if (IsConnected(g)) return g;
  }
  throw ConfigError("topology erdos_renyi: no connected graph of " + std::to_string(n) +
                    " nodes in " + std::to_string(kErdosRenyiAttempts) +
                    " draws with topology_p = " + std::to_string(p) + "; raise topology_p");
}

}  // namespace

bool Graph::HasEdge(size_t i, size_t j) const {
  const auto& list = neighbors.at(i);
  return std::binary_search(list.begin(), list.end(), j);
}

TopologyKind ParseTopology(const std::string& name, const std::string& key) {
  if (name == "ring") return TopologyKind::kRing;
  if (name == "torus") return TopologyKind::kTorus;
  if (name == "exponential") return TopologyKind::kExponential;
  if (name == "erdos_renyi") return TopologyKind::kErdosRenyi;
  if (name == "complete") return TopologyKind::kComplete;
  throw ConfigError(key + ": unknown topology \"" + name +
                    "\" (accepted: ring, torus, exponential, erdos_renyi, complete)");
}

std::string TopologyName(TopologyKind kind) {
  switch (kind) {
    case TopologyKind::kRing:
      return "ring";
    case TopologyKind::kTorus:
      return "torus";
    case TopologyKind::kExponential:
      return "exponential";
    case TopologyKind::kErdosRenyi:
      return "erdos_renyi";
    case TopologyKind::kComplete:
      return "complete";
  }
  return "?";
}

Graph MakeTopology(const TopologyOptions& options, size_t n) {
  if (n == 0) throw ConfigError("topology: a graph needs at least one node");
  Graph g;
  switch (options.kind) {
    case TopologyKind::kRing:
      g = Ring(n);
      break;
    case TopologyKind::kTorus:
      g = Torus(n);
      break;
    case TopologyKind::kExponential:
      g = Exponential(n);
      break;
    case TopologyKind::kComplete:
      g = Complete(n);
      break;
    case TopologyKind::kErdosRenyi:
      if (!(options.edge_probability > 0.0 && options.edge_probability <= 1.0)) {
        throw ConfigError("topology erdos_renyi: topology_p must be in (0, 1], got " +
                          std::to_string(options.edge_probability));
      }
      return ErdosRenyi(n, options.edge_probability, options.seed);
  }
  Normalize(g);
  return g;
}

bool IsConnected(const Graph& graph, const std::vector<bool>& live) {
  const size_t n = graph.size();
  auto is_live = [&](size_t i) { return live.empty() || live[i]; };
  size_t start = n;
  size_t live_count = 0;
  for (size_t i = 0; i < n; ++i) {
    if (is_live(i)) {
      ++live_count;
      if (start == n) start = i;
    }
  }
  if (live_count == 0) return true;
  std::vector<bool> seen(n, false);
  std::vector<size_t> stack{start};
  seen[start] = true;
  size_t reached = 1;
  while (!stack.empty()) {
    const size_t i = stack.back();
    stack.pop_back();
    for (size_t j : graph.neighbors[i]) {
      if (!seen[j] && is_live(j)) {
        seen[j] = true;
        ++reached;
        stack.push_back(j);
      }
    }
  }
  return reached == live_count;
}

}  // namespace edgefl::algorithms
