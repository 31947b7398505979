// What mpirun/mpiexec tells a process it started, read from the environment
// before MPI is initialised (in any build, with or without MPI): the tool
// needs it to decide how to run and which rank prints.
#pragma once

namespace edgefl::mpi {

// Whether mpirun/mpiexec started this process: Open MPI's
// OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_RANK (MPICH's Hydra, PMIx).
bool LaunchedByMpirun();
// The rank the launcher gave this process (0 when not launched by it).
int LaunchRank();
// The number of ranks it started (1 when not launched by it).
int LaunchSize();

}  // namespace edgefl::mpi
