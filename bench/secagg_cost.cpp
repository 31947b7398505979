// SecAgg+ cost (issue 19): per-client bytes next to plain FedAvg, and
// indicative compute times, for n ∈ {100, 1000} clients, d ∈ {200k (the
// mlp:784-200-200-10), 1M} parameters, 0/10/30% drop-out after sharing.
//
// Bytes are exact and deterministic: the key stages run for real (the full
// protocol with d = 1, real OpenSSL keys and shares, drop-outs included),
// and the masked input's size is (d + 1)·⌈b/8⌉ + 12 bytes by its layout
// (privacy/secagg_messages.h); plain FedAvg moves the float32 model down and
// the update up, 8d bytes. Times (shared machine: indicative only) are
// measured on the dominant work at full size: one client's mask expansion
// (k + 1 AES-CTR streams of d + 1 words) and key agreements, and the server's
// unmasking (summing n vectors, removing n self-masks and the pairwise masks
// of the dropped clients' neighbours).
//
// Usage: secagg_cost [--quick]   (--quick: n = 100 only)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

#include "common/random.h"
#include "privacy/secagg_client.h"
#include "privacy/secagg_crypto.h"
#include "privacy/secagg_graph.h"
#include "privacy/secagg_quantize.h"
#include "privacy/secagg_round.h"

using namespace edgefl::privacy;

namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  std::printf(
      "| n | d | drop-out | k | t | client bytes (mean) | plain FedAvg bytes | ratio | "
      "client CPU s | server unmask s |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (uint32_t n : {100u, 1000u}) {
    if (quick && n > 100) break;
    for (double drop : {0.0, 0.1, 0.3}) {
      const SecAggParams p =
          ChooseSecAggParams(SecAggParamRequest{n, std::max(drop, 0.1), 0.05, 40, 20});
      // The key stages for real, d = 1.
      SecAggConfig c;
      c.round = 1;
      c.n = n;
      c.k = p.k;
      c.t = p.t;
      c.graph_seed = 7;
      c.bits = 32;
      c.dimension = 1;
      c.max_weight = 1000;
      c.levels = SecAggLevels(32, n, 1000);
      c.min_survivors = p.t;
      std::vector<std::vector<uint32_t>> inputs(n, std::vector<uint32_t>(2, 1));
      SecAggDropouts drops;
      edgefl::Rng rng(static_cast<uint64_t>(drop * 100) + n);
      for (uint32_t u = 0; u < n; ++u) {
        if (rng.Uniform() < drop) drops.before_masking.insert(u);
      }
      const SecAggRoundResult r = RunSecAggRound(c, inputs, drops);
      if (!r.ok) {
        std::printf("| %u | - | %.0f%% | %u | %u | round failed: %s |\n", n, drop * 100, p.k, p.t,
                    r.failure.c_str());
        continue;
      }
      double key_bytes = 0;
      for (uint32_t u = 0; u < n; ++u)
        key_bytes += static_cast<double>(r.bytes_up[u] + r.bytes_down[u]);
      const double survivors = static_cast<double>(r.outcome.contributors.size());
      // Minus the d = 1 masked input (2 values, 4 bytes each) of the survivors.
      key_bytes -= survivors * 8;
      for (uint64_t d : {uint64_t{199210}, uint64_t{1000000}}) {
        const double masked = static_cast<double>((d + 1) * 4);
        // Per client, averaged over all n: everyone gets the model (4d) and
        // the key stages; survivors upload a masked input.
        const double client_bytes =
            (static_cast<double>(n) * 4.0 * d + key_bytes + survivors * masked) / n;
        const double plain = (static_cast<double>(n) * 4.0 * d + survivors * 4.0 * d) / n;
        // Indicative times at full size.
        std::vector<uint32_t> acc(d + 1, 0);
        Key256 seed{};
        auto start = std::chrono::steady_clock::now();
        EcdhKeyPair a = EcdhKeyPair::Generate();
        EcdhKeyPair b = EcdhKeyPair::Generate();
        for (uint32_t j = 0; j < 3 * p.k; ++j)
          seed = a.Agree(b.PublicKey(), "bench");
        for (uint32_t j = 0; j <= p.k; ++j)
          AddMask(seed, +1, acc);
        const double client_seconds = Seconds(start);
        start = std::chrono::steady_clock::now();
        std::vector<uint32_t> one(d + 1, 3);
        std::fill(acc.begin(), acc.end(), 0);
        for (size_t v = 0; v < r.outcome.contributors.size(); ++v) {
          for (size_t i = 0; i <= d; ++i)
            acc[i] += one[i];
          seed[0] = static_cast<uint8_t>(v);
          AddMask(seed, -1, acc);
        }
        // The dropped clients' pairwise masks: the first 200 expansions are
        // timed, the rest extrapolated at that rate (marked with *).
        const SecAggGraph graph(n, p.k, 7);
        size_t pairwise = 0;
        for (uint32_t v : r.outcome.dropped)
          pairwise += graph.Neighbours(v).size();
        const size_t timed = std::min<size_t>(pairwise, 200);
        for (size_t j = 0; j < timed; ++j) {
          seed[1] = static_cast<uint8_t>(j);
          AddMask(seed, -1, acc);
        }
        double server_seconds = Seconds(start);
        const bool extrapolated = timed < pairwise;
        if (extrapolated) {
          const auto mark = std::chrono::steady_clock::now();
          AddMask(seed, -1, acc);
          server_seconds += Seconds(mark) * static_cast<double>(pairwise - timed - 1);
        }
        std::printf("| %u | %llu | %.0f%% | %u | %u | %.0f | %.0f | %.4f | %.2f | %.2f%s |\n", n,
                    static_cast<unsigned long long>(d), drop * 100, p.k, p.t, client_bytes, plain,
                    client_bytes / plain, client_seconds, server_seconds, extrapolated ? "*" : "");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
