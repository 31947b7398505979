// The registry's decision on a duplicate client id, with in-memory clients:
// the newer connection wins, the older one is told it was replaced, and the
// operator gets a warning naming both addresses and a per-id count.
#include "coordinator/client_registry.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "coordinator/log.h"

namespace edgefl::coordinator {
namespace {

// A RemoteClient that records what the registry asked of it.
class FakeClient final : public RemoteClient {
 public:
  FakeClient(std::string id, std::string peer) : id_(std::move(id)), peer_(std::move(peer)) {}
  const std::string& client_id() const override { return id_; }
  const std::string& peer() const override { return peer_; }
  void SetRound(int64_t) override {}
  void Stop(const std::string& reason, bool) override { stopped_with = reason; }
  void StopReplaced(const std::string& message) override { replaced_with = message; }
  std::string ProfileJson() const override { return "{}"; }
  algorithms::ClientInfo& info() override { return info_; }
  std::future<train::FitResult> Fit(engine::SharedParameters,
                                    const train::FitInstructions&) override {
    return {};
  }
  std::future<train::EvalResult> Evaluate(engine::SharedParameters) override { return {}; }

  std::string stopped_with;
  std::string replaced_with;

 private:
  std::string id_;
  std::string peer_;
  algorithms::ClientInfo info_;
};

struct ClientRegistryLines {
  std::mutex mutex;
  std::vector<std::string> lines;
  Logger logger() {
    return Logger([this](LogLevel level, const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(std::string(1, static_cast<char>(level)) + " " + line);
    });
  }
};

}  // namespace

TEST_CASE("Ordinal counts replacements as an operator reads them") {
  CHECK(Ordinal(1) == "1st");
  CHECK(Ordinal(2) == "2nd");
  CHECK(Ordinal(3) == "3rd");
  CHECK(Ordinal(4) == "4th");
  CHECK(Ordinal(11) == "11th");
  CHECK(Ordinal(12) == "12th");
  CHECK(Ordinal(13) == "13th");
  CHECK(Ordinal(21) == "21st");
  CHECK(Ordinal(102) == "102nd");
  CHECK(Ordinal(111) == "111th");
}

TEST_CASE(
    "ClientRegistry: each replacement of a live session is a counted warning with both peers") {
  ClientRegistryLines log;
  ClientRegistry registry(1, log.logger());
  auto first = std::make_shared<FakeClient>("client-3", "10.0.0.1:5000");
  auto second = std::make_shared<FakeClient>("client-3", "10.0.0.2:6000");
  auto third = std::make_shared<FakeClient>("client-3", "10.0.0.1:5001");
  auto other = std::make_shared<FakeClient>("client-4", "10.0.0.9:7000");
  registry.Add(first);
  registry.Add(other);
  CHECK(log.lines.empty());
  CHECK(registry.replacements("client-3") == 0);

  registry.Add(second);  // the newer connection wins at once
  CHECK(registry.size() == 2);
  CHECK(registry.replacements("client-3") == 1);
  CHECK(first->stopped_with.empty());
  CHECK(first->replaced_with.find("client-3 replaced by a new connection from 10.0.0.2:6000") !=
        std::string::npos);
  CHECK(first->replaced_with.find(
            "another device is using this client's certificate (client id client-3); each "
            "device needs its own certificate") != std::string::npos);
  REQUIRE(log.lines.size() == 1);
  CHECK(log.lines[0].rfind("W client-3: new connection from 10.0.0.2:6000 replaces the live "
                           "session from 10.0.0.1:5000 (1st replacement in this run)",
                           0) == 0);

  registry.Add(third);
  CHECK(registry.replacements("client-3") == 2);
  CHECK(second->replaced_with.find("10.0.0.1:5001") != std::string::npos);
  REQUIRE(log.lines.size() == 2);
  CHECK(log.lines[1].find("from 10.0.0.1:5001 replaces the live session from 10.0.0.2:6000 (2nd "
                          "replacement in this run)") != std::string::npos);

  // A client that left and comes back is not a replacement.
  registry.Remove(other.get());
  registry.Add(std::make_shared<FakeClient>("client-4", "10.0.0.9:7001"));
  CHECK(registry.replacements("client-4") == 0);
  CHECK(log.lines.size() == 2);
  CHECK(registry.replacements("unknown") == 0);
}

}  // namespace edgefl::coordinator
