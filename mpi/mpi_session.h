// MPI for the life of an object: MPI_Init_thread on construction,
// MPI_Finalize on destruction, this process's rank and the number of ranks
// in MPI_COMM_WORLD. At most one per process, made after
// tools::StopSignals (MPI starts threads, which must inherit its blocked
// signals). Rank 0's dispatcher thread makes MPI calls while the main
// thread does not, so the session asks for MPI_THREAD_SERIALIZED.
#pragma once

namespace edgefl::mpi {

class MpiSession {
 public:
  // Throws edgefl::Error when MPI cannot be initialised or does not offer
  // MPI_THREAD_SERIALIZED.
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace edgefl::mpi
