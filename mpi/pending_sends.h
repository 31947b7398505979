// Nonblocking MPI sends in progress. MPI reads a message's bytes until its
// request completes, so they live here until then. Used by one thread.
#pragma once

#include <cstdint>
#include <list>
#include <mpi.h>
#include <vector>

namespace edgefl::mpi {

class PendingSends {
 public:
  PendingSends() = default;
  PendingSends(const PendingSends&) = delete;
  PendingSends& operator=(const PendingSends&) = delete;

  // Starts sending `bytes` to `rank` with `tag` on MPI_COMM_WORLD.
  void Start(int rank, int tag, std::vector<uint8_t> bytes);

  // Drops the sends that completed; true when any did.
  bool Test();

  bool empty() const { return sends_.empty(); }

  // Gives up on the sends still in flight (their receiver is gone, so
  // nothing will read them): their requests are freed.
  void Abandon();

 private:
  struct Send {
    std::vector<uint8_t> bytes;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  std::list<Send> sends_;
};

}  // namespace edgefl::mpi
