#include "client/coordinator_address.h"

#include <exception>
#include <stdexcept>

#include "common/error.h"

namespace edgefl::client {

std::pair<std::string, uint16_t> ParseCoordinatorAddress(const std::string& address,
                                                         const std::string& what) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw ConfigError(what + ": expected HOST:PORT, got '" + address + "'");
  }
  try {
    size_t used = 0;
    const std::string port_text = address.substr(colon + 1);
    const int port = std::stoi(port_text, &used);
    if (used != port_text.size() || port <= 0 || port > 65535) throw std::out_of_range("port");
    return {address.substr(0, colon), static_cast<uint16_t>(port)};
  } catch (const std::exception&) {
    throw ConfigError(what + ": bad port in '" + address + "'");
  }
}

}  // namespace edgefl::client
