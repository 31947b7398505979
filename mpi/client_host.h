// A client rank of an MPI simulation (rank > 0): runs the tasks rank 0's
// dispatcher sends (mpi/rank_dispatcher.h) on this rank's simulated clients
// and sends each result back as soon as it is ready. Tasks train in
// parallel on the clients' thread pool, exactly as in an in-process run.
//
// Returns when rank 0 sends its stop task. A SIGTERM (`stop`, set by
// tools::StopSignals) means mpirun is stopping the job: the rank ends at
// once (std::_Exit, exit 143) without waiting for its tasks.
#pragma once

#include <atomic>
#include <memory>
#include <span>

#include "engine/client_proxy.h"

namespace edgefl::mpi {

// `clients`: every client of the fleet, in fleet order (a task names its
// index); only those RankOfClient assigns to this rank are asked to train.
void HostClients(std::span<const std::shared_ptr<engine::ClientProxy>> clients,
                 const std::atomic<bool>* stop);

// The rank that hosts client `client` of a fleet run over `ranks` ranks:
// client mod ranks (rank 0 keeps its share in-process).
inline int RankOfClient(size_t client, int ranks) {
  return static_cast<int>(client % static_cast<size_t>(ranks));
}

}  // namespace edgefl::mpi
