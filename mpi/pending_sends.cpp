#include "mpi/pending_sends.h"

#include <utility>

namespace edgefl::mpi {

void PendingSends::Start(int rank, int tag, std::vector<uint8_t> bytes) {
  Send& send = sends_.emplace_back();
  send.bytes = std::move(bytes);
  MPI_Isend(send.bytes.data(), static_cast<int>(send.bytes.size()), MPI_BYTE, rank, tag,
            MPI_COMM_WORLD, &send.request);
}

bool PendingSends::Test() {
  bool any = false;
  for (auto it = sends_.begin(); it != sends_.end();) {
    int done = 0;
    MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
    if (done != 0) {
      it = sends_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  return any;
}

void PendingSends::Abandon() {
  for (Send& send : sends_)
    MPI_Request_free(&send.request);
  sends_.clear();
}

}  // namespace edgefl::mpi
