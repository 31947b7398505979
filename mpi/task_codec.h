// The bytes rank 0 and the client ranks of an MPI simulation exchange
// (mpi/rank_dispatcher.h, mpi/client_host.h): a task for one simulated
// client and its result. The task's FitInstructions travel as the wire
// protocol's TrainTask payload (wire/messages.h: recipe, local algorithm,
// preconditioning, pseudo-data), behind a fixed header; the result is every
// field of a FitResult, floats and doubles bit for bit, so the engine on
// rank 0 aggregates exactly what an in-process client would have returned.
//
// The global model is sent to a rank once per version: a task whose
// parameters are the ones the rank received last says so instead of
// carrying them again (ParametersMode::kSameGlobal).
//
// No MPI here: plain bytes, tested without mpirun.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "train/fit.h"

namespace edgefl::mpi {

// MPI message tags: rank 0 -> client rank, and back.
inline constexpr int kTaskTag = 1;
inline constexpr int kResultTag = 2;

enum class TaskKind : uint8_t { kFit = 1, kStop = 2 };

enum class ParametersMode : uint8_t {
  kSameGlobal = 0,  // start from the global model the rank received last
  kNewGlobal = 1,   // the task carries the new global model
  kStart = 2,       // the task carries start parameters (a DiPaCo path)
};

struct Task {
  TaskKind kind = TaskKind::kFit;
  uint64_t request = 0;  // matches the result to the task
  uint32_t client = 0;   // index of the client in the simulation's fleet
  ParametersMode mode = ParametersMode::kNewGlobal;
  // Decoded: the parameters the task carries (empty with kSameGlobal).
  Eigen::VectorXf parameters;
  train::FitInstructions instructions;  // start_parameters travel as `parameters`
};

// A task for `client`; `parameters` (the global model, or the
// instructions' start parameters) are left out with kSameGlobal.
std::vector<uint8_t> EncodeFitTask(uint64_t request, uint32_t client, ParametersMode mode,
                                   const Eigen::VectorXf* parameters,
                                   const train::FitInstructions& instructions);
std::vector<uint8_t> EncodeStopTask();
// Throws wire::ProtocolError (an edgefl::Error) for malformed bytes.
Task DecodeTask(std::span<const uint8_t> bytes);

// A client's answer: its FitResult, or the message of the exception its
// training threw (which the engine records as the reason it was dropped).
struct TaskResult {
  uint64_t request = 0;
  bool ok = false;
  train::FitResult result;  // when ok
  std::string error;        // when !ok
};

std::vector<uint8_t> EncodeResult(uint64_t request, const train::FitResult& result);
std::vector<uint8_t> EncodeFailure(uint64_t request, const std::string& error);
TaskResult DecodeResult(std::span<const uint8_t> bytes);

}  // namespace edgefl::mpi
