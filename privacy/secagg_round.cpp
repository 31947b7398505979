#include "privacy/secagg_round.h"

#include <chrono>
#include <map>
#include <optional>

#include "privacy/secagg_client.h"

namespace edgefl::privacy {
namespace {

class Stopwatch {
 public:
  explicit Stopwatch(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~Stopwatch() {
    total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

SecAggRoundResult RunSecAggRound(const SecAggConfig& config,
                                 std::span<const std::vector<uint32_t>> inputs,
                                 const SecAggDropouts& dropouts) {
  SecAggRoundResult result;
  result.bytes_up.assign(config.n, 0);
  result.bytes_down.assign(config.n, 0);
  if (inputs.size() != config.n) throw Error("secagg round: one input per client is needed");
  try {
    std::optional<SecAggServer> server;
    {
      Stopwatch watch(result.server_seconds);
      server.emplace(config);
    }
    std::vector<std::optional<SecAggClient>> clients(config.n);
    for (uint32_t u = 0; u < config.n; ++u) {
      result.bytes_down[u] += static_cast<int64_t>(WireBytes(config));
      if (dropouts.before_advertise.count(u) != 0) continue;
      PublicKeys keys;
      {
        Stopwatch watch(result.client_seconds);
        clients[u].emplace(config, u);
        keys = clients[u]->AdvertiseKeys();
      }
      result.bytes_up[u] += static_cast<int64_t>(WireBytes(keys));
      Stopwatch watch(result.server_seconds);
      server->ReceiveKeys(keys);
    }
    std::map<uint32_t, NeighbourKeys> stage1;
    {
      Stopwatch watch(result.server_seconds);
      stage1 = server->FinishAdvertise();
    }
    for (auto& [u, message] : stage1) {
      result.bytes_down[u] += static_cast<int64_t>(WireBytes(message));
      if (dropouts.before_sharing.count(u) != 0) continue;
      ShareKeys shares;
      {
        Stopwatch watch(result.client_seconds);
        shares = clients[u]->ShareSecrets(message);
      }
      result.bytes_up[u] += static_cast<int64_t>(WireBytes(shares));
      Stopwatch watch(result.server_seconds);
      server->ReceiveShares(shares);
    }
    std::map<uint32_t, RoutedShares> stage2;
    {
      Stopwatch watch(result.server_seconds);
      stage2 = server->FinishShareKeys();
    }
    for (auto& [u, message] : stage2) {
      result.bytes_down[u] += static_cast<int64_t>(WireBytes(message));
      if (dropouts.before_masking.count(u) != 0) continue;
      MaskedInput masked;
      {
        Stopwatch watch(result.client_seconds);
        masked = clients[u]->MaskInput(message, inputs[u]);
      }
      result.bytes_up[u] += static_cast<int64_t>(WireBytes(masked, config.bits));
      Stopwatch watch(result.server_seconds);
      server->ReceiveMaskedInput(masked);
    }
    std::map<uint32_t, UnmaskRequest> stage3;
    {
      Stopwatch watch(result.server_seconds);
      stage3 = server->FinishMaskedInput();
    }
    for (auto& [u, message] : stage3) {
      result.bytes_down[u] += static_cast<int64_t>(WireBytes(message));
      if (dropouts.before_unmasking.count(u) != 0) continue;
      UnmaskResponse response;
      {
        Stopwatch watch(result.client_seconds);
        response = clients[u]->Unmask(message);
      }
      result.bytes_up[u] += static_cast<int64_t>(WireBytes(response));
      Stopwatch watch(result.server_seconds);
      server->ReceiveUnmask(response);
    }
    Stopwatch watch(result.server_seconds);
    result.outcome = server->FinishUnmask();
    result.ok = true;
  } catch (const SecAggError& e) {
    result.ok = false;
    result.failure = e.what();
  }
  return result;
}

}  // namespace edgefl::privacy
