#include "coordinator/server_settings.h"

namespace edgefl::coordinator {

ServerOptions ServerOptionsFrom(const engine::ExperimentConfig& config, uint64_t num_parameters) {
  ServerOptions options;
  options.host = config.listen;
  options.port = static_cast<uint16_t>(config.port);
  options.max_connections = static_cast<size_t>(config.max_connections);
  SessionOptions& session = options.session;
  session.handshake_timeout = Milliseconds(config.handshake_timeout);
  session.heartbeat_interval = Milliseconds(config.heartbeat);
  session.max_frame_bytes = static_cast<uint32_t>(config.max_frame_bytes);
  session.max_frames_per_second = config.max_frames_per_second;
  session.run_id = config.run_name;
  session.model_spec = config.model;
  session.num_parameters = num_parameters;
  session.task_deadline_seconds = config.deadline;
  return options;
}

std::chrono::milliseconds Milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0 + 0.5));
}

}  // namespace edgefl::coordinator
