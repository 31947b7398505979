// SecAgg+ cost (issue 19): per-client bytes next to plain FedAvg, and
// indicative compute times, for n ∈ {100, 1000} clients, d ∈ {200k (the
// mlp:784-200-200-10), 1M} parameters, 0/10/30% drop-out after sharing.
//
// Bytes are exact and deterministic: the key stages run for real (the full
// protocol with d = 1, real OpenSSL keys and shares, drop-outs included),
// and the masked input's size is (d + 1)·⌈b/8⌉ + 12 bytes by its layout
// (privacy/secagg_messages.h); plain FedAvg moves the float32 model down and
// the update up, 8d bytes. Times (shared machine: indicative only): one
// client's mask expansion (k + 1 AES-CTR streams of d + 1 words) and key
// agreements; and the server's real work at full size, nothing
// extrapolated: a SecAggServer of dimension d runs the stages with the
// clients (whose own inputs are d = 1: their masked inputs are replaced by
// vectors of d + 1 words), sums the survivors' inputs and runs
// FinishUnmask — rebuilding every needed secret from real shares, the key
// agreements of the dropped clients' pairs and every mask expansion — on
// --threads threads; its CPU seconds (all threads) are printed too: on an
// otherwise idle machine the wall time would be about CPU / threads.
//
// Usage: secagg_cost [--quick] [--threads N]   (--quick: n = 100 only;
// N = 0: the hardware's threads, the default)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <numeric>
#include <optional>
#include <set>
#include <vector>

#include "common/random.h"
#include "privacy/secagg_client.h"
#include "privacy/secagg_crypto.h"
#include "privacy/secagg_graph.h"
#include "privacy/secagg_quantize.h"
#include "privacy/secagg_round.h"
#include "privacy/secagg_server.h"

using namespace edgefl::privacy;

namespace {

// CPU seconds of the whole process (every thread), CLOCK_PROCESS_CPUTIME_ID:
// unlike wall time, not inflated by other processes taking the cores.
double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The server's unmasking at full size: `config` with dimension `d`, the
// clients at d = 1, `drop` the clients that never send a masked input.
struct UnmaskTiming {
  double sum_seconds = 0;         // adding the survivors' masked inputs
  double unmask_seconds = 0;      // FinishUnmask, wall
  double unmask_cpu_seconds = 0;  // FinishUnmask, CPU of all the process's threads
  size_t masks = 0;               // mask vectors expanded by FinishUnmask
};

UnmaskTiming TimeUnmask(SecAggConfig config, uint64_t d, const std::set<uint32_t>& drop,
                        unsigned threads) {
  SecAggConfig big = config;
  big.dimension = d;
  SecAggServer server(big, threads);
  std::vector<std::optional<SecAggClient>> clients(config.n);
  for (uint32_t u = 0; u < config.n; ++u) {
    clients[u].emplace(config, u);
    server.ReceiveKeys(clients[u]->AdvertiseKeys());
  }
  for (auto& [u, message] : server.FinishAdvertise())
    server.ReceiveShares(clients[u]->ShareSecrets(message));
  UnmaskTiming timing;
  MaskedInput full;
  full.masked.assign(d + 1, 0x9e3779b9u);
  const std::vector<uint32_t> tiny(2, 1);
  for (auto& [u, message] : server.FinishShareKeys()) {
    if (drop.count(u) != 0) continue;
    clients[u]->MaskInput(message, tiny);  // the client's stage; its d = 1 vector is dropped
    full.client = u;
    const auto start = std::chrono::steady_clock::now();
    server.ReceiveMaskedInput(full);
    timing.sum_seconds += Seconds(start);
  }
  for (auto& [u, message] : server.FinishMaskedInput())
    server.ReceiveUnmask(clients[u]->Unmask(message));
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = ProcessCpuSeconds();
  const SecAggOutcome outcome = server.FinishUnmask();
  timing.unmask_cpu_seconds = ProcessCpuSeconds() - cpu_start;
  timing.unmask_seconds = Seconds(start);
  const SecAggGraph graph(config.n, config.k, config.graph_seed);
  const std::set<uint32_t> contributors(outcome.contributors.begin(), outcome.contributors.end());
  timing.masks = outcome.contributors.size();
  for (uint32_t v : outcome.dropped) {
    for (uint32_t w : graph.Neighbours(v))
      timing.masks += contributors.count(w);
  }
  return timing;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  unsigned threads = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = static_cast<unsigned>(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: secagg_cost [--quick] [--threads N]\n");
      return 2;
    }
  }
  std::printf(
      "| n | d | drop-out | k | t | client bytes (mean) | plain FedAvg bytes | ratio | "
      "client CPU s | masks expanded | server sum s | server unmask s | unmask CPU s |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
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
      c.min_survivors = std::max<uint32_t>(2, p.t);
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
        // One client's compute at full size (indicative).
        std::vector<uint32_t> acc(d + 1, 0);
        Key256 seed{};
        const auto start = std::chrono::steady_clock::now();
        EcdhKeyPair a = EcdhKeyPair::Generate();
        EcdhKeyPair b = EcdhKeyPair::Generate();
        for (uint32_t j = 0; j < 3 * p.k; ++j)
          seed = a.Agree(b.PublicKey(), "bench");
        for (uint32_t j = 0; j <= p.k; ++j)
          AddMask(seed, +1, acc);
        const double client_seconds = Seconds(start);
        // The server's real unmasking at full size.
        const UnmaskTiming server = TimeUnmask(c, d, drops.before_masking, threads);
        std::printf(
            "| %u | %llu | %.0f%% | %u | %u | %.0f | %.0f | %.4f | %.2f | %zu | %.2f | %.2f | %.2f "
            "|\n",
            n, static_cast<unsigned long long>(d), drop * 100, p.k, p.t, client_bytes, plain,
            client_bytes / plain, client_seconds, server.masks, server.sum_seconds,
            server.unmask_seconds, server.unmask_cpu_seconds);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
