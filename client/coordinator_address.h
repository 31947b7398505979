// "HOST:PORT" as edgefl-client's --coordinator and the C API take it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace edgefl::client {

// The host and port of `address`; throws ConfigError naming `what` (e.g.
// "--coordinator") for a missing host or a port outside 1..65535.
std::pair<std::string, uint16_t> ParseCoordinatorAddress(const std::string& address,
                                                         const std::string& what);

}  // namespace edgefl::client
