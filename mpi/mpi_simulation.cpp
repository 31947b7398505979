#include "mpi/mpi_simulation.h"

#include <memory>
#include <vector>

#include "common/error.h"
#include "mpi/client_host.h"
#include "mpi/mpi_session.h"
#include "mpi/rank_dispatcher.h"
#include "mpi/remote_client_proxy.h"

namespace edgefl::mpi {

bool Available() {
  return true;
}

std::optional<sim::SimulationResult> RunMpiSimulation(const engine::ExperimentConfig& config,
                                                      std::FILE* progress,
                                                      const std::atomic<bool>* stop) {
  if (config.mode == "decentralized") {
    throw ConfigError(
        "mode = \"decentralized\" does not run over MPI ranks: run it as `edgefl sim` without "
        "mpirun");
  }
  const MpiSession session;
  if (session.rank() == 0) {
    // Declared before the simulation's proxies, so it outlives them; its
    // destructor lets the client ranks go however the run ends.
    RankDispatcher dispatcher(session.size(), stop);
    const sim::ClientPlacement place =
        [&](std::vector<std::shared_ptr<engine::ClientProxy>>& proxies) {
          for (size_t k = 0; k < proxies.size(); ++k) {
            const int rank = RankOfClient(k, session.size());
            if (rank == 0) continue;
            proxies[k] = std::make_shared<RemoteClientProxy>(
                std::move(proxies[k]), static_cast<uint32_t>(k), rank, dispatcher);
          }
          return true;
        };
    return sim::RunSimulation(config, progress, stop, place);
  }
  const sim::ClientPlacement host =
      [&](std::vector<std::shared_ptr<engine::ClientProxy>>& proxies) {
        HostClients(proxies, stop);
        return false;
      };
  sim::RunSimulation(config, nullptr, stop, host);
  return std::nullopt;
}

}  // namespace edgefl::mpi
