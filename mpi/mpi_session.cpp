#include "mpi/mpi_session.h"

#include <mpi.h>
#include <string>

#include "common/error.h"

namespace edgefl::mpi {

MpiSession::MpiSession() {
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    throw Error("MPI_Init_thread failed");
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    throw Error("this MPI library offers thread level " + std::to_string(provided) +
                ", below MPI_THREAD_SERIALIZED, which edgefl's rank 0 needs");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  MPI_Finalize();
}

}  // namespace edgefl::mpi
