// The TLS server's settings from the config keys that shape it, read in one
// place for the root coordinator and the edge aggregator alike: listen,
// port, max_connections, handshake_timeout, heartbeat, max_frame_bytes,
// max_frames_per_second, deadline (the task deadline sent to clients), and
// run_name and model for Welcome. Each role adds its own Welcome fields
// (session.run_config) and hooks.
#pragma once

#include <chrono>
#include <cstdint>

#include "coordinator/tls_server.h"
#include "engine/experiment_config.h"

namespace edgefl::coordinator {

ServerOptions ServerOptionsFrom(const engine::ExperimentConfig& config, uint64_t num_parameters);

// A duration key in seconds as milliseconds, rounded to the nearest.
std::chrono::milliseconds Milliseconds(double seconds);

}  // namespace edgefl::coordinator
