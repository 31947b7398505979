// D-SGD's graph, gossip matrix and step (algorithms/topology.h,
// mixing_matrix.h, dsgd.h): the shapes of the topologies, Metropolis–
// Hastings weights on hand examples, W doubly stochastic after any set of
// drop-outs, consensus to the mean with α = 0 on every connected graph, and
// the complete graph's step equal to FedAvg's aggregate bit for bit.
#include "algorithms/dsgd.h"

#include <vector>

#include <doctest/doctest.h>

#include "algorithms/fedavg.h"
#include "algorithms/mixing_matrix.h"
#include "algorithms/strategy_registry.h"
#include "algorithms/topology.h"
#include "common/error.h"
#include "common/random.h"

namespace edgefl::algorithms {
namespace {

Graph DsgdMake(TopologyKind kind, size_t n, double p = 0.3, uint64_t seed = 1) {
  TopologyOptions options;
  options.kind = kind;
  options.edge_probability = p;
  options.seed = seed;
  return MakeTopology(options, n);
}

constexpr TopologyKind kDsgdAll[] = {TopologyKind::kRing, TopologyKind::kTorus,
                                     TopologyKind::kExponential, TopologyKind::kErdosRenyi,
                                     TopologyKind::kComplete};

std::vector<Eigen::VectorXf> RandomModels(size_t n, Eigen::Index size, uint64_t seed) {
  Rng rng(seed);
  std::vector<Eigen::VectorXf> models(n, Eigen::VectorXf(size));
  for (auto& x : models) {
    for (Eigen::Index i = 0; i < size; ++i)
      x[i] = static_cast<float>(rng.Uniform() * 2.0 - 1.0);
  }
  return models;
}

}  // namespace

TEST_CASE("topology: degrees of ring - torus - exponential - complete") {
  const Graph ring = DsgdMake(TopologyKind::kRing, 5);
  for (size_t i = 0; i < 5; ++i)
    CHECK(ring.degree(i) == 2);
  CHECK(ring.HasEdge(0, 4));
  CHECK(ring.HasEdge(4, 0));
  CHECK_FALSE(ring.HasEdge(0, 2));

  const Graph torus = DsgdMake(TopologyKind::kTorus, 16);  // 4 x 4
  for (size_t i = 0; i < 16; ++i)
    CHECK(torus.degree(i) == 4);
  CHECK(torus.neighbors[5] == std::vector<size_t>{1, 4, 6, 9});
  const Graph torus6 = DsgdMake(TopologyKind::kTorus, 6);  // 2 x 3: one vertical neighbour
  CHECK(torus6.neighbors[0] == std::vector<size_t>{1, 2, 3});

  // 16 nodes: hops ±1, ±2, ±4 and 8 (= −8).
  const Graph expo = DsgdMake(TopologyKind::kExponential, 16);
  CHECK(expo.neighbors[0] == std::vector<size_t>{1, 2, 4, 8, 12, 14, 15});

  const Graph complete = DsgdMake(TopologyKind::kComplete, 6);
  for (size_t i = 0; i < 6; ++i)
    CHECK(complete.degree(i) == 5);
  CHECK(DsgdMake(TopologyKind::kRing, 1).degree(0) == 0);
  CHECK(DsgdMake(TopologyKind::kRing, 2).neighbors[0] == std::vector<size_t>{1});
}

TEST_CASE("topology: Erdos-Renyi is connected and the same for a seed") {
  const Graph a = DsgdMake(TopologyKind::kErdosRenyi, 20, 0.2, 7);
  const Graph b = DsgdMake(TopologyKind::kErdosRenyi, 20, 0.2, 7);
  const Graph c = DsgdMake(TopologyKind::kErdosRenyi, 20, 0.2, 8);
  CHECK(IsConnected(a));
  CHECK(a.neighbors == b.neighbors);
  CHECK(a.neighbors != c.neighbors);
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j : a.neighbors[i])
      CHECK(a.HasEdge(j, i));
  }
  CHECK_THROWS_WITH_AS(DsgdMake(TopologyKind::kErdosRenyi, 200, 1e-6),
                       doctest::Contains("raise topology_p"), ConfigError);
  CHECK_THROWS_WITH_AS(ParseTopology("star"), doctest::Contains("accepted: ring"), ConfigError);
}

TEST_CASE("Metropolis-Hastings: the complete graph is exactly 11T/n") {
  for (size_t n : {4, 8, 10, 16}) {
    CAPTURE(n);
    const Eigen::MatrixXd w = Dense(MetropolisHastings(DsgdMake(TopologyKind::kComplete, n)));
    const double expected = 1.0 / static_cast<double>(n);
    CHECK((w.array() == expected).all());
  }
}

TEST_CASE("Metropolis-Hastings: hand example of a ring of 4 with node 0 dropped") {
  // Live nodes 1 - 2 - 3 form a path: live degrees 1, 2, 1.
  const Graph ring = DsgdMake(TopologyKind::kRing, 4);
  CHECK(Dense(MetropolisHastings(ring))(0, 1) == 1.0 / 3.0);  // all live: 1/3 everywhere
  const std::vector<bool> live = {false, true, true, true};
  const Eigen::MatrixXd w = Dense(MetropolisHastings(ring, live));
  Eigen::MatrixXd expected(4, 4);
  expected << 1, 0, 0, 0,            //
      0, 2.0 / 3, 1.0 / 3, 0,        //
      0, 1.0 / 3, 1.0 / 3, 1.0 / 3,  //
      0, 0, 1.0 / 3, 2.0 / 3;
  CHECK((w - expected).cwiseAbs().maxCoeff() < 1e-15);
}

TEST_CASE("Metropolis-Hastings: W is doubly stochastic after any set of drop-outs") {
  Rng rng(42);
  for (TopologyKind kind : kDsgdAll) {
    for (size_t n : {5, 8, 16}) {
      const Graph g = DsgdMake(kind, n);
      for (int trial = 0; trial < 40; ++trial) {
        CAPTURE(TopologyName(kind));
        CAPTURE(n);
        std::vector<bool> live(n);
        for (size_t i = 0; i < n; ++i)
          live[i] = rng.Uniform() < 0.6;
        const MixingMatrix m = MetropolisHastings(g, live);
        CHECK(DoublyStochasticError(m) < 1e-12);
        CHECK(DoublyStochasticError(WithConsensusWeight(m, 0.3)) < 1e-12);
        const Eigen::MatrixXd w = Dense(m);
        for (size_t i = 0; i < n; ++i) {
          for (size_t j = 0; j < n; ++j) {
            const auto a = static_cast<Eigen::Index>(i), b = static_cast<Eigen::Index>(j);
            if (i != j && (!live[i] || !live[j] || !g.HasEdge(i, j))) CHECK(w(a, b) == 0.0);
            if (i != j && live[i] && live[j] && g.HasEdge(i, j)) CHECK(w(a, b) > 0.0);
          }
          if (!live[i]) CHECK(w(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(i)) == 1.0);
        }
      }
    }
  }
}

TEST_CASE("D-SGD: with alpha = 0 the consensus distance decays to 0 on every connected graph") {
  for (TopologyKind kind : kDsgdAll) {
    CAPTURE(TopologyName(kind));
    DsgdOptions options;
    options.topology.kind = kind;
    options.topology.seed = 3;
    options.recipe.optimizer.learning_rate = 0.0f;
    const Dsgd dsgd(options, 9);
    std::vector<Eigen::VectorXf> models = RandomModels(9, 50, 5);
    const Eigen::VectorXf mean = AverageModel(models);
    const double start = ConsensusDistance(models);
    REQUIRE(start > 0.1);
    const std::vector<bool> all(9, true);
    std::vector<bool> some = all;
    some[4] = false;  // a drop-out in every third round
    double previous = start;
    for (int64_t round = 1; round <= 400; ++round) {
      // α = 0: local training leaves every model where it is.
      const std::vector<bool>& live = round % 3 == 0 ? some : all;
      models = dsgd.Step(round, models, models, live);
      const double now = ConsensusDistance(models);
      CHECK(now <= previous * (1.0 + 1e-9) + 1e-12);  // never grows
      previous = now;
    }
    CHECK(previous < 1e-10 * start);
    // Doubly stochastic: the mean is kept (to float rounding).
    CHECK((AverageModel(models) - mean).cwiseAbs().maxCoeff() < 1e-5f);
  }
}

TEST_CASE("D-SGD: the complete graph equals FedAvg's aggregate bit for bit") {
  // Equal sample counts: FedAvg's p_k = n_k / N is then exactly W's 1/n.
  const size_t n = 10;
  StrategyConfig config;
  config.name = "fedavg";
  config.recipe.local_steps = 1;
  config.recipe.optimizer.learning_rate = 0.1f;
  config.seed = 9;
  auto fedavg = MakeStrategy(config);
  DsgdOptions options;
  options.topology.kind = TopologyKind::kComplete;
  options.recipe = config.recipe;
  options.seed = config.seed;
  const Dsgd dsgd(options, n);

  const Eigen::VectorXf global = RandomModels(1, 1000, 1)[0];
  const std::vector<Eigen::VectorXf> trained = RandomModels(n, 1000, 2);
  std::vector<train::FitResult> results(n);
  std::vector<ClientInfo> cohort(n);
  for (size_t k = 0; k < n; ++k) {
    cohort[k].id = "sim-" + std::to_string(k);
    cohort[k].num_samples = 40;
    results[k].client = cohort[k].id;
    results[k].train.parameters = trained[k];
    results[k].train.num_samples = 40;
  }
  // The same instructions: learning rate, seed, step offset.
  const auto instructions = fedavg->ConfigureFit(3, cohort);
  for (size_t k = 0; k < n; ++k) {
    const train::FitInstructions mine = dsgd.Instructions(3, cohort[k]);
    CHECK(mine.recipe.seed == instructions[k].recipe.seed);
    CHECK(mine.recipe.optimizer.learning_rate == instructions[k].recipe.optimizer.learning_rate);
    CHECK(mine.recipe.step_offset == instructions[k].recipe.step_offset);
  }
  const AggregateOutcome outcome = fedavg->AggregateFit(3, global, results, {});
  REQUIRE(outcome.parameters);
  const std::vector<Eigen::VectorXf> models(n, global);
  const std::vector<bool> live(n, true);
  const std::vector<Eigen::VectorXf> next = dsgd.Step(3, models, trained, live);
  for (size_t k = 0; k < n; ++k)
    CHECK(next[k] == *outcome.parameters);
}

TEST_CASE("D-SGD: the dgd update is x_i <- sum_j W_ij x_j + (y_i - x_i)") {
  DsgdOptions options;
  options.topology.kind = TopologyKind::kRing;
  options.update = DsgdUpdate::kDgd;
  const Dsgd dsgd(options, 3);  // a ring of 3 is complete: W = 1/3 everywhere
  std::vector<Eigen::VectorXf> x = {Eigen::VectorXf::Constant(1, 3.0f),
                                    Eigen::VectorXf::Constant(1, 6.0f),
                                    Eigen::VectorXf::Constant(1, 9.0f)};
  std::vector<Eigen::VectorXf> y = x;
  y[0][0] -= 1.0f;  // node 0 stepped by −1
  const std::vector<bool> live(3, true);
  const auto next = dsgd.Step(1, x, y, live);
  CHECK(next[0][0] == doctest::Approx(5.0));
  CHECK(next[1][0] == doctest::Approx(6.0));
  CHECK(next[2][0] == doctest::Approx(6.0));
}

TEST_CASE("D-SGD: the paper schedule and its window") {
  DsgdOptions options;
  options.schedule = DsgdSchedule::kPaper;
  options.recipe.optimizer.learning_rate = 0.8f;
  options.tau_alpha = 1.0;
  options.beta = 0.5;
  options.tau_beta = 0.5;
  const Dsgd dsgd(options, 4);
  CHECK(dsgd.Alpha(1) == doctest::Approx(0.8));
  CHECK(dsgd.Alpha(4) == doctest::Approx(0.2));
  CHECK(dsgd.Beta(4) == doctest::Approx(0.25));
  options.tau_alpha = 0.5;  // not > 1/2
  CHECK_THROWS_WITH_AS(Dsgd(options, 4), doctest::Contains("dsgd_tau_alpha"), ConfigError);
  options.tau_alpha = 0.6;
  options.tau_beta = 0.6;  // consensus may not decay as fast as the step
  CHECK_THROWS_WITH_AS(Dsgd(options, 4), doctest::Contains("dsgd_tau_beta"), ConfigError);
}

TEST_CASE("D-SGD registry: keys - and dsgd refused as a server strategy") {
  StrategyConfig config;
  config.name = "dsgd";
  config.params["topology"] = std::string("torus");
  config.params["dsgd_update"] = std::string("dgd");
  const DsgdOptions options = ReadDsgdOptions(config);
  CHECK(options.topology.kind == TopologyKind::kTorus);
  CHECK(options.update == DsgdUpdate::kDgd);
  CHECK_THROWS_WITH_AS(MakeStrategy(config), doctest::Contains("mode = \"decentralized\""),
                       ConfigError);
  config.params["topolgy"] = std::string("ring");
  CHECK_THROWS_AS(ReadDsgdOptions(config), ConfigError);
  config.name = "fedavg";
  config.params.clear();
  CHECK_THROWS_WITH_AS(ReadDsgdOptions(config), doctest::Contains("dsgd"), ConfigError);
}

}  // namespace edgefl::algorithms

namespace edgefl::algorithms {

TEST_CASE("Metropolis-Hastings row from local degrees equals the matrix row bit for bit") {
  Rng rng(7);
  for (TopologyKind kind : kDsgdAll) {
    for (size_t n : {5, 8}) {
      const Graph g = DsgdMake(kind, n);
      for (int trial = 0; trial < 20; ++trial) {
        std::vector<bool> live(n);
        for (size_t i = 0; i < n; ++i)
          live[i] = rng.Uniform() < 0.7;
        std::vector<size_t> degree(n, 0);
        for (size_t i = 0; i < n; ++i)
          for (size_t j : g.neighbors[i])
            degree[i] += live[i] && live[j] ? 1 : 0;
        for (double beta : {1.0, 0.4}) {
          const MixingMatrix m = WithConsensusWeight(MetropolisHastings(g, live), beta);
          for (size_t i = 0; i < n; ++i) {
            if (!live[i]) continue;
            std::vector<std::pair<size_t, size_t>> known;
            for (size_t j : g.neighbors[i])
              if (live[j]) known.emplace_back(j, degree[j]);
            const MixingRow row = MetropolisHastingsRow(i, degree[i], known, beta);
            CAPTURE(TopologyName(kind));
            CAPTURE(i);
            CHECK(row.nodes == m[i].nodes);
            CHECK(row.weights == m[i].weights);
          }
        }
      }
    }
  }
}

TEST_CASE(
    "Metropolis-Hastings row: a neighbour counted but not delivered leaves its weight to self") {
  // Ring of 4, node 1 with degree 2 hears only from node 2 (degree 2):
  // W_12 = 1/3, W_11 = 1 - 1/3 (node 0's 1/3 stays with node 1).
  const std::vector<std::pair<size_t, size_t>> known = {{2, 2}};
  const MixingRow row = MetropolisHastingsRow(1, 2, known);
  CHECK(row.nodes == std::vector<size_t>{1, 2});
  CHECK(row.weights[0] == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
  CHECK(row.weights[1] == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
  CHECK_THROWS_AS(MetropolisHastingsRow(1, 2, known, 1.5), ConfigError);
}

}  // namespace edgefl::algorithms
