// Rank 0's end of an MPI simulation: sends training tasks to the ranks that
// host the clients and hands their results back as futures, so a
// RemoteClientProxy looks to the round engine like any ClientProxy.
//
// One thread of its own makes every MPI call (Isend of tasks, Iprobe/Recv of
// results), so the engine's thread never blocks in MPI and a rank's tasks
// and results never wait on each other. It polls, sleeping 50 us to 2 ms
// when idle. The global model goes to each rank once per version
// (task_codec.h).
//
// A rank that dies cannot answer: Open MPI's mpirun then stops every rank
// with SIGTERM (and SIGKILL a second later). When `stop` is set while
// results are owed, the dispatcher prints what happened on stderr and ends
// the process at once (exit 4, std::_Exit): the round in progress is never
// committed, the log keeps every round before it, and the run's lease is
// released with the process, so the same command resumes it.
//
// Destruction sends every client rank a stop task (they leave their loop)
// and fails any result still owed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/client_proxy.h"
#include "train/fit.h"

namespace edgefl::mpi {

class RankDispatcher {
 public:
  // `ranks`: the size of MPI_COMM_WORLD (this is rank 0); `stop` may be null.
  RankDispatcher(int ranks, const std::atomic<bool>* stop);
  ~RankDispatcher();
  RankDispatcher(const RankDispatcher&) = delete;
  RankDispatcher& operator=(const RankDispatcher&) = delete;

  // Trains client `client` (fleet index) on rank `rank` (1..ranks-1) from
  // `global` (or the instructions' start_parameters). The future throws
  // edgefl::Error with the client's own message when its training threw.
  // Thread-safe; never blocks on MPI.
  std::future<train::FitResult> Fit(int rank, uint32_t client, engine::SharedParameters global,
                                    const train::FitInstructions& instructions);

 private:
  struct Outgoing {
    int rank = 0;
    std::vector<uint8_t> bytes;
  };
  struct Owed {
    int rank = 0;
    std::promise<train::FitResult> promise;
  };

  void Loop();
  // Prints why and ends the process (see the top comment).
  [[noreturn]] void Abort();

  const int ranks_;
  const std::atomic<bool>* stop_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Outgoing> outbox_;                        // GUARDED_BY(mutex_)
  std::map<uint64_t, Owed> owed_;                      // GUARDED_BY(mutex_)
  std::vector<engine::SharedParameters> last_global_;  // per rank; GUARDED_BY(mutex_)
  uint64_t next_request_ = 1;                          // GUARDED_BY(mutex_)
  bool closing_ = false;                               // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace edgefl::mpi
