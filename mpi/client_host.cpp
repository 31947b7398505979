#include "mpi/client_host.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <future>
#include <list>
#include <mpi.h>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.h"
#include "mpi/pending_sends.h"
#include "mpi/task_codec.h"

namespace edgefl::mpi {
namespace {

using namespace std::chrono_literals;

struct Running {
  uint64_t request = 0;
  std::future<train::FitResult> result;
};

std::vector<uint8_t> Answer(Running& task) {
  try {
    return EncodeResult(task.request, task.result.get());
  } catch (const std::exception& e) {
    return EncodeFailure(task.request, e.what());
  }
}

}  // namespace

void HostClients(std::span<const std::shared_ptr<engine::ClientProxy>> clients,
                 const std::atomic<bool>* stop) {
  engine::SharedParameters global;  // the last global model rank 0 sent
  std::list<Running> running;
  PendingSends in_flight;
  bool stopping = false;
  std::chrono::steady_clock::time_point give_up;
  auto idle = 50us;
  while (!stopping || !in_flight.empty()) {
    if (stopping && std::chrono::steady_clock::now() > give_up) {
      // Results rank 0 stopped waiting for (it failed mid-round).
      in_flight.Abandon();
      break;
    }
    if (stop != nullptr && stop->load()) std::_Exit(128 + SIGTERM);
    bool progress = false;
    // Tasks, in the order rank 0 sent them.
    for (;;) {
      if (stopping) break;
      int arrived = 0;
      MPI_Status status;
      MPI_Iprobe(0, kTaskTag, MPI_COMM_WORLD, &arrived, &status);
      if (arrived == 0) break;
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      std::vector<uint8_t> bytes(static_cast<size_t>(count));
      MPI_Recv(bytes.data(), count, MPI_BYTE, 0, kTaskTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      progress = true;
      Task task = DecodeTask(bytes);
      if (task.kind == TaskKind::kStop) {
        stopping = true;
        give_up = std::chrono::steady_clock::now() + 10s;
        break;
      }
      engine::SharedParameters start;
      if (task.mode == ParametersMode::kNewGlobal) {
        global = std::make_shared<const Eigen::VectorXf>(std::move(task.parameters));
        start = global;
      } else if (task.mode == ParametersMode::kStart) {
        // The instructions' start parameters: the proxy starts from them as
        // it would from instructions.start_parameters.
        start = std::make_shared<const Eigen::VectorXf>(std::move(task.parameters));
      } else {
        start = global;
      }
      Running& r = running.emplace_back();
      r.request = task.request;
      if (task.client >= clients.size() || start == nullptr) {
        std::promise<train::FitResult> refused;
        refused.set_exception(std::make_exception_ptr(
            Error("MPI task for client " + std::to_string(task.client) + " of " +
                  std::to_string(clients.size()) + (start ? "" : " before any global model"))));
        r.result = refused.get_future();
      } else {
        r.result = clients[task.client]->Fit(std::move(start), task.instructions);
      }
    }
    // Results, as soon as each is ready.
    for (auto it = running.begin(); it != running.end();) {
      if (it->result.wait_for(0s) != std::future_status::ready) {
        ++it;
        continue;
      }
      in_flight.Start(0, kResultTag, Answer(*it));
      it = running.erase(it);
      progress = true;
    }
    if (in_flight.Test()) progress = true;
    if (progress) {
      idle = 50us;
    } else {
      std::this_thread::sleep_for(idle);
      idle = std::min<std::chrono::microseconds>(idle * 2, 2000us);
    }
  }
  // Tasks still training when rank 0 stopped: nobody waits for them; their
  // futures finish on the pool before the clients are destroyed.
  for (Running& r : running)
    r.result.wait();
}

}  // namespace edgefl::mpi
