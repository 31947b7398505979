#include "client/reconnect_backoff.h"

#include <algorithm>

namespace edgefl::client {
namespace {

// Rng stream of the reconnect jitter ("rcn").
constexpr uint64_t kReconnectStream = 0x72636e;

}  // namespace

ReconnectBackoff::ReconnectBackoff(const std::string& client_id)
    : rng_(Rng::Derive(HashText(client_id), {kReconnectStream})) {}

double ReconnectBackoff::NextWait() {
  const double wait = backoff_ * (0.5 + 0.5 * rng_.Uniform());
  backoff_ = std::min(backoff_ * 2, kMaxSeconds);
  return wait;
}

}  // namespace edgefl::client
