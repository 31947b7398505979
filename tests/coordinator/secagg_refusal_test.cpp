// A malicious coordinator against real edgefl-client processes over mutual
// TLS: the coordinator's own TlsServer and ClientRegistry in-process, four
// edgefl-client processes, and the real driver (RunSecureAggregation) whose
// unmasking request to one client names a neighbour both as a survivor and
// as dropped — asking for both its self-mask share and its mask-key share,
// which together would unmask that neighbour's input. The honest client
// refuses by name (Error bad_task, it leaves the round) and reveals
// neither; the round still ends with the other clients' shares (k = 3,
// t = 2: every secret keeps two honest holders).
#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <doctest/doctest.h>

#include "algorithms/secure_aggregation.h"
#include "coordinator/client_registry.h"
#include "coordinator/log.h"
#include "coordinator/tls_client_session.h"
#include "coordinator/tls_server.h"
#include "tests/coordinator/federation_util.h"
#include "wire/tls_context.h"

namespace edgefl::coordinator {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using edgefl::testing::Contains;
using edgefl::testing::Federation;

constexpr int kSecaggRefusalClients = 4;
constexpr int kSecaggRefusalParams = 784 * 10 + 10;  // mlp:784-10

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Forwards every stage to the client's TLS session; the unmasking request
// also names its first survivor as dropped (the double request).
class DoubleRequestParty final : public algorithms::SecAggParty {
 public:
  explicit DoubleRequestParty(algorithms::SecAggParty& inner) : inner_(inner) {}

  std::future<privacy::PublicKeys> AdvertiseKeys(const algorithms::SecAggSetup& setup) override {
    return inner_.AdvertiseKeys(setup);
  }
  std::future<privacy::ShareKeys> ShareKeys(const privacy::NeighbourKeys& keys) override {
    return inner_.ShareKeys(keys);
  }
  std::future<privacy::MaskedInput> MaskedInput(const privacy::RoutedShares& shares) override {
    return inner_.MaskedInput(shares);
  }
  std::future<privacy::UnmaskResponse> Unmask(const privacy::UnmaskRequest& request) override {
    privacy::UnmaskRequest both = request;
    REQUIRE_FALSE(both.survivors.empty());
    victim = both.survivors.front();
    both.dropped.push_back(victim);
    return inner_.Unmask(both);
  }
  void Finish(int64_t round, bool ok, const std::string& reason) override {
    inner_.Finish(round, ok, reason);
  }

  uint32_t victim = 0;

 private:
  algorithms::SecAggParty& inner_;
};

}  // namespace

TEST_CASE("secagg over TLS: edgefl-client refuses a request for both shares of one neighbour") {
  Federation fed(kSecaggRefusalClients);
  std::mutex log_mutex;
  std::vector<std::string> lines;
  Logger logger([&](LogLevel level, const std::string& line) {
    const std::lock_guard<std::mutex> lock(log_mutex);
    lines.push_back(std::string(1, static_cast<char>(level)) + " " + line);
  });
  asio::io_context io;
  asio::ssl::context tls = wire::MakeServerContext(wire::TlsFiles{
      fed.dir() / "certs/server.crt", fed.dir() / "certs/server.key", fed.dir() / "certs/ca.crt"});
  ClientRegistry registry(kSecaggRefusalClients, logger);
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.session.run_id = "refusal";
  options.session.model_spec = "mlp:784-10";
  options.session.num_parameters = kSecaggRefusalParams;
  options.session.heartbeat_interval = 1s;
  TlsServer server(io, tls, options, registry, logger);
  server.Start();
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&] { io.run(); });
  struct Stop {
    TlsServer& server;
    asio::io_context& io;
    decltype(work)& guard;
    std::vector<std::thread>& threads;
    ~Stop() {
      server.Stop("test over", false);
      server.WaitClosed(10s);
      guard.reset();
      io.stop();
      for (auto& t : threads)
        t.join();
    }
  } stop{server, io, work, threads};

  for (int k = 0; k < kSecaggRefusalClients; ++k)
    fed.StartClient(k, server.port());
  auto joined = std::async(std::launch::async, [&] { return registry.ClientsForRound(1); });
  if (joined.wait_for(60s) != std::future_status::ready) {
    registry.RequestStop();
    FAIL("the clients never joined:\n" << fed.Logs());
  }
  const auto clients = joined.get();
  REQUIRE(clients.size() == kSecaggRefusalClients);

  // Round 1: every client trains and keeps its update (no parameters sent).
  const auto global =
      std::make_shared<const Eigen::VectorXf>(Eigen::VectorXf::Zero(kSecaggRefusalParams));
  train::FitInstructions instructions;
  instructions.model_version = 0;
  instructions.recipe.epochs = 0;
  instructions.recipe.local_steps = 2;
  instructions.recipe.measure_loss = false;
  instructions.secure_aggregation = true;
  std::vector<std::future<train::FitResult>> fits;
  for (const auto& c : clients)
    fits.push_back(c->Fit(global, instructions));
  std::vector<train::FitResult> results;
  for (auto& f : fits) {
    REQUIRE(f.wait_for(60s) == std::future_status::ready);
    results.push_back(f.get());
    CHECK(results.back().train.parameters.size() == 0);
  }

  // The stages, with client 0 asked for both shares of one neighbour.
  DoubleRequestParty malicious(*clients[0]->secagg_party());
  std::vector<algorithms::SecAggParty*> parties = {&malicious};
  for (int k = 1; k < kSecaggRefusalClients; ++k)
    parties.push_back(clients[k]->secagg_party());
  algorithms::SecureAggregationOptions sa;
  sa.max_weight = 100000;
  const algorithms::SecureAggregationResult out =
      algorithms::RunSecureAggregation(1, *global, results, parties, sa);
  CHECK(out.k == 3);
  CHECK(out.t == 2);
  // Client 0's masked input is in the sum and the others rebuilt its self
  // mask and the victim's from their shares: the round ends despite the
  // refusal.
  CHECK_MESSAGE(out.ok, out.failure);

  const std::string refusal =
      "refused: the server asked client 0 for both the self-mask share "
      "and the mask-key share of client " +
      std::to_string(malicious.victim);
  const std::filesystem::path client_log =
      fed.ClientLog(std::stoi(results[0].client.substr(std::string("client-").size())));
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    refused = Contains(client_log, refusal);
    if (!refused) std::this_thread::sleep_for(50ms);
  }
  CHECK_MESSAGE(refused, ReadFile(client_log));
  CHECK(Contains(client_log, "secure aggregation refused"));
}

}  // namespace edgefl::coordinator
