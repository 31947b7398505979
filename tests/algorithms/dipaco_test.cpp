// DiPaCo's module grid and strategy (algorithms/dipaco.h): a task carries
// exactly its path, a module shared by two paths gets the mean of both, one
// path is FedAvgM with Nesterov bit for bit, the state survives a restart,
// and the routed evaluation sends each sample through its route's path.
#include "algorithms/dipaco.h"

#include <numeric>

#include <doctest/doctest.h>

#include "algorithms/fedavg.h"
#include "algorithms/module_grid.h"
#include "common/error.h"
#include "common/random.h"
#include "tests/algorithms/normal_vector.h"

namespace edgefl::algorithms {
namespace {

Eigen::VectorXf Iota(Eigen::Index n) {
  Eigen::VectorXf v(n);
  for (Eigen::Index i = 0; i < n; ++i)
    v[i] = static_cast<float>(i);
  return v;
}

DiPaCoOptions DipacoOptions(const std::string& model, size_t levels, size_t modules) {
  DiPaCoOptions o;
  o.model = model;
  o.levels = levels;
  o.modules = modules;
  o.inner.seed = 5;
  o.outer.kind = ServerOptimizerKind::kMomentum;
  o.outer.learning_rate = 0.7;
  o.outer.momentum = 0.9;
  o.outer.nesterov = true;
  return o;
}

std::vector<ClientInfo> DipacoCohort(std::initializer_list<const char*> ids) {
  std::vector<ClientInfo> cohort;
  for (const char* id : ids) {
    ClientInfo c;
    c.id = id;
    c.num_samples = 10;
    cohort.push_back(c);
  }
  return cohort;
}

train::FitResult DipacoResult(const std::string& client, Eigen::VectorXf parameters,
                              size_t samples) {
  train::FitResult r;
  r.client = client;
  r.train.parameters = std::move(parameters);
  r.train.num_samples = samples;
  return r;
}

}  // namespace

TEST_CASE("module grid lays out levels of K modules and gathers a path") {
  // Path of 5 values: level 0 = [0, 2), level 1 = [2, 5); K = 2.
  const ModuleGrid grid({0, 2, 5}, 2);
  CHECK(grid.paths() == 4);
  CHECK(grid.path_size() == 5);
  CHECK(grid.grid_size() == 10);
  CHECK(grid.ModuleOffset(0, 1) == 2);
  CHECK(grid.ModuleOffset(1, 0) == 4);
  CHECK(grid.ModuleOffset(1, 1) == 7);
  // Path 2 = module 0 at level 0, module 1 at level 1.
  CHECK(grid.ModuleOf(2, 0) == 0);
  CHECK(grid.ModuleOf(2, 1) == 1);
  const Eigen::VectorXf path = grid.Gather(Iota(10), 2);
  CHECK(std::vector<float>(path.begin(), path.end()) == std::vector<float>{0, 1, 7, 8, 9});
  Eigen::VectorXf one(5);
  one << 1, 2, 3, 4, 5;
  const Eigen::VectorXf rep = grid.Replicate(one);
  CHECK(std::vector<float>(rep.begin(), rep.end()) ==
        std::vector<float>{1, 2, 1, 2, 3, 4, 5, 3, 4, 5});
}

TEST_CASE("module grid of a model splits its parameter layers into levels") {
  // mlp:4-3-2: dense 4→3 (15 values), ReLU, dense 3→2 (8 values).
  const ModuleGrid two = ModuleGrid::ForModel("mlp:4-3-2", 2, 4);
  CHECK(two.level_begin(1) == 15);
  CHECK(two.path_size() == 23);
  CHECK(two.grid_size() == 92);
  CHECK(two.paths() == 16);
  CHECK_THROWS_AS(ModuleGrid::ForModel("mlp:4-3-2", 3, 2), ConfigError);
  CHECK_THROWS_AS(ModuleGrid({0, 2, 2}, 2), ConfigError);
}

TEST_CASE("a client's path is the number its id ends with modulo the paths") {
  CHECK(PathOfClient("sim-0007", 4) == 3);
  CHECK(PathOfClient("client-5", 4) == 1);
  CHECK(PathOfClient("client-12", 16) == 12);
  CHECK(PathOfClient("probe", 4) < 4);
  CHECK(PathOfClient("probe", 4) == PathOfClient("probe", 4));
}

TEST_CASE("dipaco task carries exactly its path's parameters") {
  DiPaCo dipaco(DipacoOptions("mlp:4-3-2", 2, 2));
  const Eigen::VectorXf global = Iota(dipaco.grid().grid_size());  // 46 values
  const std::vector<ClientInfo> cohort =
      DipacoCohort({"client-0", "client-2", "client-6", "client-3"});
  const std::vector<train::FitInstructions> tasks = dipaco.ConfigureFitFrom(1, cohort, global);
  REQUIRE(tasks.size() == 4);
  for (size_t i = 0; i < tasks.size(); ++i) {
    REQUIRE(tasks[i].start_parameters != nullptr);
    CHECK(tasks[i].start_parameters->size() == 23);
    const size_t path = PathOfClient(cohort[i].id, 4);
    CHECK((tasks[i].start_parameters->array() == dipaco.grid().Gather(global, path).array()).all());
  }
  // Path 3 = module 1 at both levels: values [15, 30) then [38, 46).
  CHECK((*tasks[3].start_parameters)[0] == 15.0f);
  CHECK((*tasks[3].start_parameters)[15] == 38.0f);
  // client-2 and client-6 share path 2: one copy.
  CHECK(tasks[1].start_parameters == tasks[2].start_parameters);
  // Without the global model (the client-keys probe) no path is attached.
  CHECK(dipaco.ConfigureFit(1, cohort)[0].start_parameters == nullptr);
}

TEST_CASE("dipaco module shared by two paths gets the mean of both paths") {
  DiPaCoOptions o = DipacoOptions("mlp:4-3-2", 2, 2);
  o.outer = ServerOptimizerConfig{};  // plain outer step, lr 1: the module becomes the mean
  DiPaCo dipaco(o);
  const ModuleGrid& grid = dipaco.grid();
  const Eigen::VectorXf global = Eigen::VectorXf::Zero(grid.grid_size());
  // Path 0 = (0, 0) and path 1 = (1, 0): they share module 0 of level 1.
  const Eigen::VectorXf a = Eigen::VectorXf::Constant(23, 2.0f);
  const Eigen::VectorXf b = Eigen::VectorXf::Constant(23, 6.0f);
  // Two clients on path 0 (weights 1 and 3: their FedAvg mean is 2·¼ + 4·¾ = 3.5).
  const std::vector<train::FitResult> results = {
      DipacoResult("client-0", a, 1),
      DipacoResult("client-4", Eigen::VectorXf::Constant(23, 4.0f), 3),
      DipacoResult("client-1", b, 5)};
  const AggregateOutcome out = dipaco.AggregateFit(1, global, results, {});
  REQUIRE(out.parameters);
  const Eigen::VectorXf& next = *out.parameters;
  CHECK(next[grid.ModuleOffset(0, 0)] == 3.5f);               // path 0's level 0
  CHECK(next[grid.ModuleOffset(0, 1)] == 6.0f);               // path 1's level 0
  CHECK(next[grid.ModuleOffset(1, 0)] == (3.5f + 6.0f) / 2);  // shared: mean of both paths
  CHECK(next[grid.ModuleOffset(1, 1)] == 0.0f);               // no path took it
  CHECK(out.metrics.at("paths_trained") == 2.0);
  CHECK(out.metrics.at("modules_updated") == 3.0);

  // With outer lr 0.5 the shared module moves half its mean delta.
  o.outer.learning_rate = 0.5;
  DiPaCo half(o);
  const Eigen::VectorXf moved = *half.AggregateFit(1, global, results, {}).parameters;
  CHECK(moved[grid.ModuleOffset(1, 0)] == doctest::Approx(4.75 / 2));
  // An update of the grid's size instead of a path's is rejected.
  const AggregateOutcome wrong = dipaco.AggregateFit(
      1, global, std::vector<train::FitResult>{DipacoResult("client-2", global, 1)}, {});
  CHECK(wrong.rejected.size() == 1);
  CHECK(!wrong.parameters);
}

TEST_CASE("dipaco with one module per level is FedAvgM with Nesterov bit for bit") {
  DiPaCoOptions o = DipacoOptions("mlp:4-3-2", 2, 1);
  DiPaCo dipaco(o);
  FedAvgOptions f;
  f.name = "fedavgm";
  f.seed = 5;
  f.server = o.outer;
  FedAvg fedavgm(f);
  Rng rng(9);
  Eigen::VectorXf w_d = dipaco.InitialGlobal(testing::NormalVector(rng, 23));
  Eigen::VectorXf w_f = w_d;
  REQUIRE(w_d.size() == 23);
  const std::vector<ClientInfo> cohort = DipacoCohort({"sim-0000", "sim-0001", "sim-0002"});
  for (int64_t round = 1; round <= 4; ++round) {
    const auto tasks = dipaco.ConfigureFitFrom(round, cohort, w_d);
    CHECK((tasks[0].start_parameters->array() == w_d.array()).all());
    CHECK(tasks[1].recipe.seed == fedavgm.ConfigureFit(round, cohort)[1].recipe.seed);
    std::vector<train::FitResult> results;
    for (size_t k = 0; k < cohort.size(); ++k) {
      results.push_back(
          DipacoResult(cohort[k].id, w_d + 0.1f * testing::NormalVector(rng, 23), 10 + 7 * k));
    }
    w_d = *dipaco.AggregateFit(round, w_d, results, {}).parameters;
    w_f = *fedavgm.AggregateFit(round, w_f, results, {}).parameters;
    REQUIRE((w_d.array() == w_f.array()).all());
  }
}

TEST_CASE("dipaco outer state survives a restart") {
  const DiPaCoOptions o = DipacoOptions("mlp:4-3-2", 2, 2);
  DiPaCo first(o), second(o);
  Rng rng(4);
  const Eigen::VectorXf w = first.InitialGlobal(testing::NormalVector(rng, 23));
  const std::vector<train::FitResult> results = {
      DipacoResult("client-0", testing::NormalVector(rng, 23), 3),
      DipacoResult("client-3", testing::NormalVector(rng, 23), 2)};
  CHECK(first.SaveState().size() == 0);
  const Eigen::VectorXf w1 = *first.AggregateFit(1, w, results, {}).parameters;
  second.RestoreState(first.SaveState());
  const Eigen::VectorXf a = *first.AggregateFit(2, w1, results, {}).parameters;
  const Eigen::VectorXf b = *second.AggregateFit(2, w1, results, {}).parameters;
  CHECK((a.array() == b.array()).all());
  Eigen::VectorXf bad = first.SaveState();
  bad[0] = 3.0f;
  CHECK_THROWS_AS(second.RestoreState(bad), ConfigError);
}

TEST_CASE("dipaco routed evaluation sends each sample through its route's path") {
  // Two blobs; one level (a single dense layer) of 2 modules = 2 paths.
  datasets::Dataset data;
  data.name = "blobs";
  data.num_classes = 2;
  data.features.resize(40, 2);
  Rng rng(2);
  for (Eigen::Index i = 0; i < 40; ++i) {
    const float centre = i < 20 ? -5.0f : 5.0f;
    data.features(i, 0) = centre + 0.1f * static_cast<float>(rng.Normal());
    data.features(i, 1) = centre + 0.1f * static_cast<float>(rng.Normal());
    data.labels.push_back(i < 20 ? 0 : 1);
  }
  DiPaCo dipaco(DipacoOptions("mlp:2-2", 1, 2));
  CHECK_THROWS_AS(dipaco.EvaluateGlobal(Eigen::VectorXf::Zero(12), data), Error);
  dipaco.Prepare(data);
  REQUIRE(dipaco.router());
  const size_t low = dipaco.router()->Route(std::vector<float>{-5.0f, -5.0f});
  const size_t high = dipaco.router()->Route(std::vector<float>{5.0f, 5.0f});
  REQUIRE(low != high);
  // Path parameters (W 2×2 = 0, b): the low blob's path always says class 0,
  // the other always class 1. Each alone is right on half the data.
  const ModuleGrid& grid = dipaco.grid();
  Eigen::VectorXf global = Eigen::VectorXf::Zero(grid.grid_size());
  global[grid.ModuleOffset(0, low) + 4] = 1.0f;   // b[0] on the low path
  global[grid.ModuleOffset(0, high) + 5] = 1.0f;  // b[1] on the high path
  const train::EvalResult eval = *dipaco.EvaluateGlobal(global, data);
  CHECK(eval.num_samples == 40);
  CHECK(eval.accuracy == 1.0);
  CHECK(eval.per_class_accuracy == std::vector<double>{1.0, 1.0});
}

}  // namespace edgefl::algorithms
