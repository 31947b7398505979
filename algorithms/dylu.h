// Dynamic local updates (DyLU; Liu et al. 2024, "Asynchronous Local-SGD
// Training for Language Modeling", arXiv 2401.09135): a worker's number of
// local steps is scaled by its speed so that every worker finishes a task in
// about the same wall-clock time.
#pragma once

#include <cstdint>
#include <span>

#include "algorithms/client_info.h"

namespace edgefl::algorithms {

// H_w = max(1, floor(H · v_w / v_max)), v_max the fastest speed in `fleet`
// (ClientInfo::samples_per_second). When a speed is unknown (<= 0), H.
// REQUIRES: base_steps >= 1.
int64_t DyluLocalSteps(int64_t base_steps, double speed, std::span<const ClientInfo> fleet);

}  // namespace edgefl::algorithms
