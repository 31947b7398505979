// The client task every asynchronous strategy hands out: the recipe
// template with a per-(client, task) seed, and with DyLU the local step
// count scaled by the client's speed (dylu.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "algorithms/client_info.h"
#include "train/fit.h"
#include "train/train_recipe.h"

namespace edgefl::algorithms {

struct AsyncTaskOptions {
  // Copied into every task. Its reset_optimizer (registry key
  // `reset_optimizer`) says whether the worker starts each task with a fresh
  // optimizer or carries its state (momentum, moments) over from its previous
  // task; the trainer keeps it per client (sim/simulated_client_proxy.h; in
  // edgefl-client for the life of one connection).
  train::TrainRecipe recipe;
  train::LocalAlgorithm local;
  // Scale recipe.local_steps (H, which must then be > 0) by speed / fastest.
  bool dylu = false;
  uint64_t seed = 0;  // the run seed
};

// Throws ConfigError (prefixed by `context`) for an invalid recipe, or DyLU
// without local_steps.
void ValidateAsyncTask(const AsyncTaskOptions& options, const std::string& context);

// The instructions of `client`'s task number `task` (from 1) on `version`:
// seed = ClientSeed(run seed, task, id) (so with equal speeds task t of a
// client is seeded like sync round t), local_steps by DyLU when enabled,
// step_offset = the client's local steps of its tasks 1..task−1 (each of
// this task's step count: local_steps, or epochs·⌈n/batch⌉ from its size).
train::FitInstructions MakeAsyncTask(const AsyncTaskOptions& options, int64_t version,
                                     const ClientInfo& client, int64_t task,
                                     std::span<const ClientInfo> fleet);

}  // namespace edgefl::algorithms
