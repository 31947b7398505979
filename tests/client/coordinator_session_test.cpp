// What the device does with the coordinator's Error codes: the decision
// behind edgefl-client's reconnect loop.
#include "client/coordinator_session.h"

#include <doctest/doctest.h>

namespace edgefl::client {

TEST_CASE("a coordinator Error with code replaced ends the client instead of a reconnect") {
  using Kind = SessionEnd::Kind;
  CHECK(KindOfCoordinatorError(wire::ErrorCode::kReplaced) == Kind::kReplaced);
  CHECK(KindOfCoordinatorError(wire::ErrorCode::kUnauthorized) == Kind::kRefused);
  CHECK(KindOfCoordinatorError(wire::ErrorCode::kUnsupportedVersion) == Kind::kRefused);
  // Transient: reconnect with back-off.
  CHECK(KindOfCoordinatorError(wire::ErrorCode::kBusy) == Kind::kDisconnected);
  CHECK(KindOfCoordinatorError(wire::ErrorCode::kProtocol) == Kind::kDisconnected);
  CHECK(KindOfCoordinatorError(wire::ErrorCode::kInternal) == Kind::kDisconnected);
  CHECK(KindOfCoordinatorError(static_cast<wire::ErrorCode>(99)) == Kind::kDisconnected);
}

TEST_CASE("a Welcome choosing a version this client does not speak is a refusal naming both") {
  CHECK(ChosenVersionProblem(wire::kProtocolVersion).empty());
  CHECK(ChosenVersionProblem(1) ==
        "the coordinator chose protocol version 1 but this client speaks 2 to 2: run an "
        "edgefl-coordinator and edgefl-client of the same release");
  CHECK_FALSE(ChosenVersionProblem(3).empty());
}

TEST_CASE("the replaced client's exit message names the cause and the client id") {
  const std::string message = ReplacedExitMessage("client-3");
  CHECK(message.find("another device is using this client's certificate (client id client-3); "
                     "each device needs its own certificate") != std::string::npos);
}

}  // namespace edgefl::client
