// The asynchronous engine on the virtual clock: arrival order and staleness,
// FedBuff reducing to sync FedAvg, DyLU's local steps through a real run,
// and bit-identical repeats whatever the thread count.
#include "sim/async_engine.h"

#include <cstdio>
#include <memory>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/async_strategy_registry.h"
#include "algorithms/fedasync.h"
#include "algorithms/strategy_registry.h"
#include "algorithms/uniform_selector.h"
#include "datasets/synthetic.h"
#include "engine/round_engine.h"
#include "sim/simulated_client_proxy.h"
#include "sim/thread_pool.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using algorithms::ClientInfo;
using train::FitInstructions;
using train::FitResult;

// Answers at once with the global model plus one (the engine only cares
// about the timing the fleet assigns).
class InstantClient final : public engine::ClientProxy {
 public:
  InstantClient(std::string id, size_t samples) {
    info_.id = std::move(id);
    info_.num_samples = samples;
  }
  ClientInfo& info() override { return info_; }
  std::future<FitResult> Fit(engine::SharedParameters global, const FitInstructions& ins) override {
    FitResult r;
    r.client = info_.id;
    r.base_version = ins.model_version;
    r.train.parameters = global->array() + 1.0f;
    r.train.num_samples = info_.num_samples;
    r.train.steps = ins.recipe.local_steps;
    std::promise<FitResult> p;
    p.set_value(std::move(r));
    return p.get_future();
  }
  std::future<train::EvalResult> Evaluate(engine::SharedParameters) override {
    std::promise<train::EvalResult> p;
    p.set_value({});
    return p.get_future();
  }

 private:
  ClientInfo info_;
};

Fleet TraceFleet(const edgefl::testing::TempDir& dir, const std::string& speeds, size_t n) {
  edgefl::testing::WriteFile(dir / "speeds.csv", speeds);
  HeterogeneityOptions o;
  o.speed_dist = "trace";
  o.speed_trace = (dir / "speeds.csv").string();
  return Fleet(o, n);
}

// Two instant clients of 10 samples a task: a takes 1 s, b takes 4 s; a
// FedAsync server that takes each arriving model (one epoch a task).
struct TwoSpeedFleet {
  static algorithms::FedAsyncOptions OneEpoch() {
    algorithms::FedAsyncOptions o;
    o.task.recipe.epochs = 1;
    o.mixing = 1.0;  // α = 1, constant s: the new model is the client's
    return o;
  }
  edgefl::testing::TempDir dir;
  Fleet fleet = TraceFleet(dir, "10\n2.5\n", 2);
  InstantClient a{"a", 10}, b{"b", 10};
  algorithms::FedAsync strategy{OneEpoch()};
};

TEST_CASE("async engine: updates apply in virtual arrival order with the right staleness") {
  TwoSpeedFleet f;
  AsyncEngine engine(f.strategy, f.fleet, {&f.a, &f.b}, {}, Eigen::VectorXf::Zero(3));

  std::vector<double> times;
  std::vector<std::string> who;
  std::vector<int64_t> staleness;
  for (int i = 0; i < 5; ++i) {
    const std::optional<engine::AsyncUpdate> u = engine.NextUpdate();
    REQUIRE(u.has_value());
    CHECK(u->model_version == i + 1);
    REQUIRE(u->results.size() == 1);
    times.push_back(u->virtual_time);
    who.push_back(u->results[0].client);
    staleness.push_back(u->staleness[0]);
  }
  // a at 1, 2, 3, 4 (each from the newest model); b, sent version 0 at
  // t = 0, arrives at 4 after a's fourth update: 4 versions stale.
  CHECK(times == std::vector<double>{1.0, 2.0, 3.0, 4.0, 4.0});
  CHECK(who == std::vector<std::string>{"a", "a", "a", "a", "b"});
  CHECK(staleness == std::vector<int64_t>{0, 0, 0, 0, 4});
  CHECK(engine.tasks(0) == 5);  // a was re-sent at 4 after both arrivals
  CHECK(engine.tasks(1) == 2);
}

// A resumed run (AsyncStart): the next version is the last one + 1, the
// virtual clock and each client's task count continue, and the first tasks
// train from the resumed model (nothing was in flight).
TEST_CASE(
    "async engine: a resumed engine continues the version and the clock and the task counts") {
  TwoSpeedFleet f;
  engine::AsyncStart start;
  start.parameters = Eigen::VectorXf::Constant(3, 5.0f);
  start.version = 7;
  start.clock = 100.0;
  start.client_tasks = {{"a", 4}};  // b has no update in the log yet
  AsyncEngine engine(f.strategy, f.fleet, {&f.a, &f.b}, {}, std::move(start));
  CHECK(engine.model_version() == 7);
  CHECK(engine.now() == 100.0);

  const std::optional<engine::AsyncUpdate> first = engine.NextUpdate();
  REQUIRE(first.has_value());
  CHECK(first->model_version == 8);
  CHECK(first->virtual_time == 101.0);  // a's 1 s task, sent at 100
  REQUIRE(first->results.size() == 1);
  CHECK(first->results[0].base_version == 7);
  CHECK(first->staleness[0] == 0);
  CHECK(first->dispatched == 2);  // this version counts only the tasks sent since the start
  // FedAsync (α = 1, constant s) takes the client's model: 5 + 1.
  CHECK((*first->parameters).isApprox(Eigen::VectorXf::Constant(3, 6.0f)));
  CHECK(engine.tasks(0) == 6);  // tasks 5 (at 100) and 6 (re-sent at 101)
  CHECK(engine.tasks(1) == 1);
}

// Small real clients on the synthetic data's natural split.
struct RealFleet {
  explicit RealFleet(size_t threads, size_t n = 4) : pool(threads) {
    datasets::SyntheticOptions o;
    o.num_clients = n;
    o.max_samples_per_client = 200;
    o.seed = 5;
    data = datasets::GenerateSynthetic(o);
    for (size_t k = 0; k < n; ++k) {
      char id[32];
      std::snprintf(id, sizeof(id), "sim-%04zu", k);
      proxies.push_back(std::make_unique<SimulatedClientProxy>(
          id, datasets::Subset(data.train, data.train_partition.clients[k]), "mlp:60-10", pool));
      raw.push_back(proxies.back().get());
    }
  }
  ThreadPool pool;
  datasets::SyntheticFederated data;
  std::vector<std::unique_ptr<SimulatedClientProxy>> proxies;
  std::vector<engine::ClientProxy*> raw;
};

algorithms::StrategyConfig AsyncEngineConfig(const std::string& name, train::ParamMap params) {
  algorithms::StrategyConfig c;
  c.name = name;
  c.params = std::move(params);
  c.recipe.local_steps = 6;
  c.recipe.batch_size = 8;
  c.recipe.optimizer.learning_rate = 0.05f;
  c.seed = 11;
  return c;
}

TEST_CASE("async engine: FedBuff with equal speeds, K = cohort and sample weights equals FedAvg") {
  const size_t n = 4;
  const Eigen::VectorXf initial = Eigen::VectorXf::Constant(610, 0.01f);

  RealFleet sync_clients(2, n);
  std::unique_ptr<algorithms::Strategy> fedavg =
      algorithms::MakeStrategy(AsyncEngineConfig("fedavg", {}));
  algorithms::UniformSelector selector;
  engine::RoundOptions ro;
  ro.clients_per_round = n;
  engine::RoundEngine sync(*fedavg, selector, ro, initial);

  RealFleet async_clients(2, n);
  HeterogeneityOptions h;  // equal speeds
  Fleet fleet(h, n);
  std::unique_ptr<algorithms::AsyncStrategy> fedbuff = algorithms::MakeAsyncStrategy(
      AsyncEngineConfig("fedbuff", {{"buffer_size", int64_t{4}},
                                    {"staleness_weight", std::string("constant")},
                                    {"sample_weighting", true}}),
      n);
  AsyncEngine async(*fedbuff, fleet, async_clients.raw, {}, initial);

  for (int64_t round = 1; round <= 3; ++round) {
    const engine::RoundReport report = sync.RunRound(round, sync_clients.raw);
    REQUIRE(report.model_updated);
    const std::optional<engine::AsyncUpdate> update = async.NextUpdate();
    REQUIRE(update.has_value());
    CHECK(update->model_version == round);
    CHECK(update->results.size() == n);
    for (int64_t s : update->staleness)
      CHECK(s == 0);
    const Eigen::VectorXf diff = async.global() - sync.global();
    CHECK(diff.cwiseAbs().maxCoeff() < 1e-5f);
    CHECK((async.global() - initial).norm() > 1e-3f);  // it did train
  }
}

// Two tasks of one simulated client with Adam: with reset_optimizer off the
// second task starts from the moments the first left (it differs from the
// same task on a fresh client); with it on, it is the fresh client's bit for
// bit.
TEST_CASE("async engine: reset_optimizer = false carries a client's Adam moments across tasks") {
  for (const bool reset : {false, true}) {
    CAPTURE(reset);
    algorithms::StrategyConfig config = AsyncEngineConfig("async_dn", {{"reset_optimizer", reset}});
    config.recipe.optimizer.name = "adam";
    config.recipe.optimizer.learning_rate = 0.01f;
    std::unique_ptr<algorithms::AsyncStrategy> dn = algorithms::MakeAsyncStrategy(config, 1);
    RealFleet used(1, 1), fresh(1, 1);
    const ClientInfo& client = used.raw[0]->info();
    const std::vector<ClientInfo> fleet = {client};
    const FitInstructions first = dn->ConfigureFit(0, client, 1, fleet);
    const FitInstructions second = dn->ConfigureFit(0, client, 2, fleet);
    CHECK(second.recipe.reset_optimizer == reset);
    const auto start =
        std::make_shared<const Eigen::VectorXf>(Eigen::VectorXf::Constant(610, 0.01f));
    used.raw[0]->Fit(start, first).get();
    const FitResult carried = used.raw[0]->Fit(start, second).get();
    const FitResult alone = fresh.raw[0]->Fit(start, second).get();
    if (reset) {
      CHECK(carried.train.parameters == alone.train.parameters);
    } else {
      CHECK((carried.train.parameters - alone.train.parameters).norm() > 1e-4f);
    }
  }
}

TEST_CASE("async engine: DyLU gives a client 4x as fast 4x the local steps") {
  edgefl::testing::TempDir dir;
  Fleet fleet = TraceFleet(dir, "400\n100\n", 2);
  RealFleet clients(1, 2);
  for (size_t k = 0; k < 2; ++k)
    clients.raw[k]->info().samples_per_second = fleet.speed(k);
  algorithms::StrategyConfig config =
      AsyncEngineConfig("async_dn", {{"dylu", true}, {"buffer_size", int64_t{2}}});
  config.recipe.local_steps = 8;  // H: the fast client 8, the slow one 2
  std::unique_ptr<algorithms::AsyncStrategy> dn = algorithms::MakeAsyncStrategy(config, 2);
  AsyncEngine engine(*dn, fleet, clients.raw, {}, Eigen::VectorXf::Zero(610));
  int64_t fast_steps = 0, slow_steps = 0;
  for (int i = 0; i < 6; ++i) {
    const std::optional<engine::AsyncUpdate> u = engine.NextUpdate();
    REQUIRE(u.has_value());
    for (const FitResult& r : u->results) {
      (r.client == "sim-0000" ? fast_steps : slow_steps) += r.train.steps;
    }
  }
  // Both tasks take 8·8/400 = 2·8/100 s, so they arrive together: three
  // tasks each, 4x the steps per task.
  CHECK(fast_steps == 24);
  CHECK(slow_steps == 6);
  CHECK(slow_steps > 0);
}

std::vector<std::pair<double, int64_t>> Trace(size_t threads, Eigen::VectorXf* final_model) {
  RealFleet clients(threads, 6);
  HeterogeneityOptions h;
  h.speed_spread = 8.0;
  h.base_speed = 50.0;
  h.dropout = 0.2;
  h.availability = "onoff";
  h.on_seconds = 20.0;
  h.off_seconds = 5.0;
  h.seed = 9;
  Fleet fleet(h, 6);
  for (size_t k = 0; k < 6; ++k)
    clients.raw[k]->info().samples_per_second = fleet.speed(k);
  std::unique_ptr<algorithms::AsyncStrategy> dn = algorithms::MakeAsyncStrategy(
      AsyncEngineConfig("async_dn", {{"dylu", true}, {"buffer_size", int64_t{3}}}), 6);
  AsyncEngine engine(*dn, fleet, clients.raw, {}, Eigen::VectorXf::Constant(610, 0.02f));
  std::vector<std::pair<double, int64_t>> trace;
  for (int i = 0; i < 25; ++i) {
    const std::optional<engine::AsyncUpdate> u = engine.NextUpdate();
    REQUIRE(u.has_value());
    trace.emplace_back(u->virtual_time, u->staleness.at(0));
    trace.emplace_back(static_cast<double>(u->failures.size()), u->dispatched);
  }
  *final_model = engine.global();
  return trace;
}

TEST_CASE("async engine: a run repeats bit for bit with the same seed on 1 or 3 threads") {
  Eigen::VectorXf one, again, three;
  const auto t1 = Trace(1, &one);
  const auto t2 = Trace(1, &again);
  const auto t3 = Trace(3, &three);
  CHECK(t1 == t2);
  CHECK(t1 == t3);
  CHECK(one == again);
  CHECK(one == three);
  size_t lost = 0;
  for (size_t i = 1; i < t1.size(); i += 2)
    lost += static_cast<size_t>(t1[i].first);
  CHECK(lost > 0);  // dropout and off periods did happen
}

}  // namespace
}  // namespace edgefl::sim
