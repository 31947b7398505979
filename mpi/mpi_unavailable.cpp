// mpi/mpi_simulation.h in a build without MPI (EDGEFL_MPI=OFF): `edgefl sim`
// under mpirun says so instead of running R independent copies.
#include "common/error.h"
#include "mpi/mpi_simulation.h"

namespace edgefl::mpi {

bool Available() {
  return false;
}

std::optional<sim::SimulationResult> RunMpiSimulation(const engine::ExperimentConfig&, std::FILE*,
                                                      const std::atomic<bool>*) {
  throw ConfigError(
      "this edgefl was built without MPI (EDGEFL_MPI=OFF): install libopenmpi-dev and "
      "rebuild to run `mpirun -n R edgefl sim`");
}

}  // namespace edgefl::mpi
