#include "mpi/rank_dispatcher.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <list>
#include <mpi.h>
#include <set>
#include <string>
#include <utility>

#include "common/error.h"
#include "mpi/pending_sends.h"
#include "mpi/task_codec.h"

namespace edgefl::mpi {
namespace {

using namespace std::chrono_literals;

}  // namespace

RankDispatcher::RankDispatcher(int ranks, const std::atomic<bool>* stop)
    : ranks_(ranks), stop_(stop), last_global_(static_cast<size_t>(std::max(ranks, 1))) {
  thread_ = std::thread([this] { Loop(); });
}

RankDispatcher::~RankDispatcher() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (auto& [request, owed] : owed_) {
    owed.promise.set_exception(std::make_exception_ptr(
        Error("MPI rank " + std::to_string(owed.rank) + ": the simulation stopped first")));
  }
}

std::future<train::FitResult> RankDispatcher::Fit(int rank, uint32_t client,
                                                  engine::SharedParameters global,
                                                  const train::FitInstructions& instructions) {
  if (rank <= 0 || rank >= ranks_) {
    throw Error("no MPI rank " + std::to_string(rank) + " of " + std::to_string(ranks_));
  }
  std::promise<train::FitResult> promise;
  std::future<train::FitResult> future = promise.get_future();
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t request = next_request_++;
    ParametersMode mode = ParametersMode::kNewGlobal;
    const Eigen::VectorXf* parameters = global.get();
    if (instructions.start_parameters) {
      mode = ParametersMode::kStart;
      parameters = instructions.start_parameters.get();
    } else if (last_global_[static_cast<size_t>(rank)] == global) {
      mode = ParametersMode::kSameGlobal;
    } else {
      last_global_[static_cast<size_t>(rank)] = global;
    }
    outbox_.push_back({rank, EncodeFitTask(request, client, mode, parameters, instructions)});
    owed_.emplace(request, Owed{rank, std::move(promise)});
  }
  wake_.notify_all();
  return future;
}

void RankDispatcher::Loop() {
  PendingSends in_flight;
  auto idle = 50us;
  for (;;) {
    std::deque<Outgoing> out;
    bool closing = false;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      out.swap(outbox_);
      closing = closing_;
    }
    bool progress = !out.empty();
    for (Outgoing& o : out)
      in_flight.Start(o.rank, kTaskTag, std::move(o.bytes));
    progress |= in_flight.Test();
    for (;;) {
      int arrived = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, kResultTag, MPI_COMM_WORLD, &arrived, &status);
      if (arrived == 0) break;
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      std::vector<uint8_t> bytes(static_cast<size_t>(count));
      MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, kResultTag, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      progress = true;
      TaskResult result = DecodeResult(bytes);
      const std::lock_guard<std::mutex> lock(mutex_);
      auto it = owed_.find(result.request);
      if (it == owed_.end()) continue;  // not asked for: ignored
      if (result.ok) {
        it->second.promise.set_value(std::move(result.result));
      } else {
        it->second.promise.set_exception(std::make_exception_ptr(Error(result.error)));
      }
      owed_.erase(it);
    }
    if (closing) {
      // Every client rank leaves its loop; a small message completes at
      // once, so a rank that already left does not hold this up for long.
      for (int rank = 1; rank < ranks_; ++rank)
        in_flight.Start(rank, kTaskTag, EncodeStopTask());
      const auto give_up = std::chrono::steady_clock::now() + 10s;
      while (!in_flight.empty() && std::chrono::steady_clock::now() < give_up) {
        if (!in_flight.Test()) std::this_thread::sleep_for(200us);
      }
      in_flight.Abandon();  // a rank that took 10 s is gone: nothing reads them
      return;
    }
    if (stop_ != nullptr && stop_->load()) {
      bool owing = false;
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        owing = !owed_.empty();
      }
      if (owing) Abort();
    }
    if (progress) {
      idle = 50us;
      continue;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, idle, [this] { return !outbox_.empty() || closing_; });
    idle = std::min<std::chrono::microseconds>(idle * 2, 2000us);
  }
}

void RankDispatcher::Abort() {
  std::set<int> ranks;
  size_t owed = 0;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [request, o] : owed_)
      ranks.insert(o.rank);
    owed = owed_.size();
  }
  std::string names;
  for (int rank : ranks)
    names += std::string(names.empty() ? "" : ", ") + std::to_string(rank);
  std::fprintf(stderr,
               "edgefl sim: MPI rank 0 was stopped while rank(s) %s still owed %zu client "
               "update(s): a rank died, or mpirun was interrupted (it then stops every rank). "
               "The round in progress is not committed; the log keeps every round before it. "
               "Run the same mpirun command again to resume the run.\n",
               names.c_str(), owed);
  std::fflush(stderr);
  std::_Exit(kExitIoError);
}

}  // namespace edgefl::mpi
