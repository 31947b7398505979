// The convex program of a two-layer ReLU network (convex_relu_admm.h) and
// its federated consensus ADMM (convex_relu.h, local_solver.h) on tiny
// problems: the federated objective equals the centralised one, both are at
// or below what gradient descent on the non-convex network reaches from 20
// random starts, the recovered ReLU network predicts what the convex model
// does, and bad shapes or parameters are clear errors.
#include "algorithms/convex_relu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/convex_relu_admm.h"
#include "algorithms/local_solver.h"
#include "common/error.h"
#include "common/random.h"
#include "datasets/dataset.h"
#include "nn/model.h"

namespace edgefl::algorithms {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// n rows of d features N(0, 1) (d = 1: evenly spread in [-1, 1]), labelled
// by a small random ReLU teacher into `classes` classes.
datasets::Dataset TinyDataset(Index n, Index d, int classes, uint64_t seed) {
  Rng rng(seed);
  datasets::Dataset data;
  data.features.resize(n, d);
  data.num_classes = classes;
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < d; ++c) {
      data.features(r, c) = d == 1 ? static_cast<float>(-1.0 + 2.0 * (r + 0.5) / n)
                                   : static_cast<float>(rng.Normal());
    }
  }
  MatrixXd teacher(d + 1, 3 * classes);
  for (Index i = 0; i < teacher.size(); ++i)
    teacher(i) = rng.Normal();
  for (Index r = 0; r < n; ++r) {
    VectorXd x(d + 1);
    for (Index c = 0; c < d; ++c)
      x(c) = data.features(r, c);
    x(d) = 1.0;
    const VectorXd h = (teacher.transpose() * x).cwiseMax(0.0);
    Index best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int k = 0; k < classes; ++k) {
      const double score = h.segment(3 * k, 3).sum() - 0.5 * h.sum() / classes;
      if (score > best_score) best_score = score, best = k;
    }
    data.labels.push_back(static_cast<int32_t>(best));
  }
  return data;
}

datasets::Dataset ConvexReluRows(const datasets::Dataset& data, Index begin, Index end) {
  datasets::Dataset out;
  out.features = data.features.middleRows(begin, end - begin);
  out.labels.assign(data.labels.begin() + begin, data.labels.begin() + end);
  out.num_classes = data.num_classes;
  return out;
}

// Every activation pattern of n points on a line with a bias: for each gap
// between neighbours (and beyond both ends) the two half-lines.
MatrixXd AllLinePatterns(const datasets::Dataset& data) {
  std::vector<double> x;
  for (Index r = 0; r < data.features.rows(); ++r)
    x.push_back(data.features(r, 0));
  std::sort(x.begin(), x.end());
  std::vector<double> cuts = {x.front() - 1.0};
  for (size_t i = 0; i + 1 < x.size(); ++i)
    cuts.push_back(0.5 * (x[i] + x[i + 1]));
  cuts.push_back(x.back() + 1.0);
  MatrixXd gates(2, static_cast<Index>(2 * cuts.size()));
  for (size_t i = 0; i < cuts.size(); ++i) {
    gates.col(static_cast<Index>(2 * i)) << 1.0, -cuts[i];      // x > cut
    gates.col(static_cast<Index>(2 * i + 1)) << -1.0, cuts[i];  // x < cut
  }
  return gates;
}

struct FederatedRun {
  MatrixXd z;
  Eigen::VectorXf global;
};

// Consensus ADMM with the strategy and the clients' local solvers, in
// process, with `gates` written into the initial model.
FederatedRun RunFederated(const std::string& spec, const std::vector<datasets::Dataset>& shares,
                          const MatrixXd& gates, ConvexReluOptions options, int rounds) {
  ConvexRelu strategy(spec, options);
  const nn::ConvexReluLayout& layout = strategy.layout();
  nn::Model model(spec);
  model.Initialize(7);
  Eigen::VectorXf global = model.parameters();
  if (gates.size() > 0) {
    REQUIRE(gates.rows() == layout.augmented());
    REQUIRE(gates.cols() == layout.patterns);
    global.head(gates.size()) =
        Eigen::Map<const VectorXd>(gates.data(), gates.size()).cast<float>();
  }
  std::vector<ClientInfo> cohort(shares.size());
  std::vector<std::unique_ptr<LocalSolver>> solvers;
  for (size_t k = 0; k < shares.size(); ++k) {
    cohort[k].id = "client-" + std::to_string(k);
    cohort[k].num_samples = shares[k].size();
  }
  for (int round = 1; round <= rounds; ++round) {
    const auto instructions = strategy.ConfigureFit(round, cohort);
    if (solvers.empty()) {
      for (size_t k = 0; k < shares.size(); ++k) {
        solvers.push_back(MakeLocalSolver(instructions[k].local, spec, shares[k]));
      }
    }
    std::vector<train::FitResult> results(shares.size());
    for (size_t k = 0; k < shares.size(); ++k) {
      results[k].client = cohort[k].id;
      results[k].train = solvers[k]->Solve(
          std::span<const float>(global.data(), static_cast<size_t>(global.size())),
          instructions[k].local);
    }
    const AggregateOutcome outcome = strategy.AggregateFit(round, global, results, {});
    REQUIRE(outcome.parameters.has_value());
    global = *outcome.parameters;
  }
  FederatedRun run;
  run.global = global;
  run.z = BlockOf(layout, std::span<const float>(global.data(), static_cast<size_t>(global.size())),
                  layout.z_offset());
  return run;
}

// ½‖Σ_j α_j relu(X̃ u_j) − Y‖² + (β/2)(‖U‖² + ‖α‖²), one-vs-all: class c
// has its own m neurons (columns c·m .. c·m+m−1 of U, entries of α).
double NonConvexObjective(const MatrixXd& x, const MatrixXd& y, const MatrixXd& u,
                          const VectorXd& alpha, Index m, double beta) {
  const MatrixXd h = (x * u).cwiseMax(0.0);
  double loss = 0.0;
  for (Index c = 0; c < y.cols(); ++c) {
    const VectorXd out = h.middleCols(c * m, m) * alpha.segment(c * m, m);
    loss += 0.5 * (out - y.col(c)).squaredNorm();
  }
  return loss + 0.5 * beta * (u.squaredNorm() + alpha.squaredNorm());
}

// Full-batch gradient descent on the non-convex objective from a random
// start (weights N(0, 0.5²)); the objective it ends at.
double GradientDescent(const MatrixXd& x, const MatrixXd& y, Index m, double beta, uint64_t seed,
                       int steps, double lr) {
  Rng rng(seed);
  const Index classes = y.cols();
  MatrixXd u(x.cols(), m * classes);
  VectorXd alpha(m * classes);
  for (Index i = 0; i < u.size(); ++i)
    u(i) = 0.5 * rng.Normal();
  for (Index i = 0; i < alpha.size(); ++i)
    alpha(i) = 0.5 * rng.Normal();
  for (int step = 0; step < steps; ++step) {
    const MatrixXd pre = x * u;
    const MatrixXd h = pre.cwiseMax(0.0);
    MatrixXd du = beta * u;
    VectorXd dalpha = beta * alpha;
    for (Index c = 0; c < classes; ++c) {
      const VectorXd r = h.middleCols(c * m, m) * alpha.segment(c * m, m) - y.col(c);
      dalpha.segment(c * m, m) += h.middleCols(c * m, m).transpose() * r;
      for (Index j = 0; j < m; ++j) {
        const Index col = c * m + j;
        const VectorXd gate = (pre.col(col).array() > 0.0).cast<double>();
        du.col(col) += x.transpose() * (gate.cwiseProduct(r) * alpha(col));
      }
    }
    u -= lr * du;
    alpha -= lr * dalpha;
  }
  return NonConvexObjective(x, y, u, alpha, m, beta);
}

}  // namespace

TEST_CASE("convex relu: federated objective equals the centralised one and beats 20 GD starts") {
  // 16 points on a line, 2 classes, every activation pattern (P = 34), so
  // the convex program is exactly the non-convex training problem.
  const datasets::Dataset data = TinyDataset(16, 1, 2, 11);
  const MatrixXd gates = AllLinePatterns(data);
  REQUIRE(gates.cols() == 34);
  const double beta = 0.05;
  for (const bool gated : {false, true}) {
    CAPTURE(gated);
    const ConvexReluData all = ConvexReluDataFrom(data, gates, 2);
    ConvexAdmmOptions central;
    central.formulation = gated ? ConvexFormulation::kGated : ConvexFormulation::kCone;
    central.beta = beta;
    central.rho = 0.1;
    central.iterations = 20000;
    const ConvexAdmmResult solved = SolveConvexReluAdmm(all, central);
    const double central_objective = ConvexObjective(all, solved.z, beta);
    // Three clients with disjoint rows.
    const std::vector<datasets::Dataset> shares = {
        ConvexReluRows(data, 0, 6), ConvexReluRows(data, 6, 11), ConvexReluRows(data, 11, 16)};
    ConvexReluOptions options;
    options.beta = beta;
    options.rho = 0.3;
    options.inner_iters = 5;
    const std::string spec = std::string(gated ? "gated_relu" : "convex_relu") + ":1-34-2-3";
    // 6,000 rounds of the cone program end 3.5e-6 from the central
    // objective (the check allows 2e-4) with a cone violation of 4e-7.
    const FederatedRun fed = RunFederated(spec, shares, gates, options, gated ? 2000 : 6000);
    const double fed_objective = ConvexObjective(all, fed.z, beta);
    CHECK(std::fabs(fed_objective - central_objective) <= 1e-4 * central_objective);
    if (!gated) {
      CHECK(ConeViolation(all, solved.z) < 1e-4);
      CHECK(ConeViolation(all, fed.z) < 1e-4);
    }
    MESSAGE("central " << central_objective << ", federated " << fed_objective);

    if (!gated) {
      // The global-optimality claim: 20 random starts of gradient descent
      // on the same regularised non-convex network (8 neurons per class)
      // end at or above the convex optimum.
      double best = std::numeric_limits<double>::infinity();
      for (uint64_t start = 0; start < 20; ++start) {
        best = std::min(best, GradientDescent(all.x, all.y, 8, beta, 100 + start, 4000, 2e-3));
      }
      MESSAGE("best of 20 gradient-descent starts " << best);
      CHECK(central_objective <= best + 1e-6 * best);
      CHECK(fed_objective <= best + 1e-6 * best);
    }
  }
}

TEST_CASE("convex relu: the recovered ReLU network predicts what the convex model does") {
  const datasets::Dataset data = TinyDataset(50, 5, 3, 5);
  const std::string spec = "convex_relu:5-10-3-1";
  nn::Model convex(spec);
  convex.Initialize(3);
  const nn::ConvexReluLayout layout = ConvexReluLayoutOf(spec, true);
  const std::span<const float> p0(convex.parameters().data(),
                                  static_cast<size_t>(convex.parameters().size()));
  const ConvexReluData rows = ConvexReluDataFrom(data, GatesOf(layout, p0), 3);
  ConvexAdmmOptions options;
  options.beta = 1e-2;
  options.iterations = 2000;
  const ConvexAdmmResult solved = SolveConvexReluAdmm(rows, options);
  // The ADMM's objective settles and its residual falls.
  CHECK(solved.residual.back() < 1e-3 * solved.residual.front());
  CHECK(ConeViolation(rows, solved.z) < 1e-3);

  Eigen::VectorXf params = convex.parameters();
  StoreBlock(solved.z, layout.z_offset(), &params);
  convex.SetParameters(params);
  nn::Model relu("mlp:5-60-3");
  relu.SetParameters(RecoverReluNetwork(solved.z, 5, 10, 3));

  const Eigen::MatrixXf x = data.features.transpose();
  const Eigen::MatrixXf convex_out = convex.Forward(x);
  const Eigen::MatrixXf relu_out = relu.Forward(x);
  const MatrixXd f = ApplyF(rows, solved.z);  // Σ D_i X (v_i − w_i) on the training rows
  CHECK((convex_out - relu_out).cwiseAbs().maxCoeff() < 1e-4f);
  CHECK((relu_out.cast<double>() - f.transpose()).cwiseAbs().maxCoeff() < 1e-3);
  CHECK(relu.Predict(x) == convex.Predict(x));
  // The network's weight decay equals the convex group norm.
  const Eigen::VectorXf& w = relu.parameters();
  const double decay = 0.5 * options.beta * w.squaredNorm();  // biases of layer 2 are zero
  CHECK(decay == doctest::Approx(GroupNorm(solved.z, 6, options.beta)).epsilon(1e-5));
}

TEST_CASE("convex relu: bad shapes and parameters are clear errors") {
  const MatrixXd x = MatrixXd::Ones(4, 2);
  CHECK_THROWS_WITH_AS(MakeConvexReluData(x, MatrixXd::Ones(3, 1), MatrixXd::Ones(3, 2)),
                       doctest::Contains("4 rows of features but 3 rows of targets"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeConvexReluData(x, MatrixXd::Ones(4, 1), MatrixXd::Ones(2, 2)),
                       doctest::Contains("gates must be (features+1) x patterns"), ConfigError);
  const ConvexReluData data = MakeConvexReluData(x, MatrixXd::Ones(4, 1), MatrixXd::Ones(3, 2));
  for (const double beta : {0.0, -1.0}) {
    ConvexAdmmOptions options;
    options.beta = beta;
    CHECK_THROWS_WITH_AS(SolveConvexReluAdmm(data, options), doctest::Contains("beta"),
                         ConfigError);
  }
  ConvexAdmmOptions bad_rho;
  bad_rho.rho = 0.0;
  CHECK_THROWS_WITH_AS(SolveConvexReluAdmm(data, bad_rho), doctest::Contains("rho"), ConfigError);
  CHECK_THROWS_WITH_AS(OneVsAllTargets(std::vector<int32_t>{0, 3}, 2), doctest::Contains("label 3"),
                       DataError);

  CHECK_THROWS_WITH_AS(ConvexRelu("mlp:5-10-3", {}), doctest::Contains("convex_relu:D-P-C-K"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(ConvexRelu("convex_relu:5-10-3", {}),
                       doctest::Contains("no client dual blocks"), ConfigError);
  CHECK_THROWS_WITH_AS(nn::Model("convex_relu:5-10"),
                       doctest::Contains("features-patterns-classes"), ConfigError);
  ConvexReluOptions no_beta;
  no_beta.beta = 0.0;
  CHECK_THROWS_WITH_AS(ConvexRelu("convex_relu:5-10-3-2", no_beta), doctest::Contains("beta"),
                       ConfigError);

  const datasets::Dataset tiny = TinyDataset(10, 4, 3, 1);
  train::LocalAlgorithm local;
  local.objective = "convex_admm";
  CHECK_THROWS_WITH_AS(MakeLocalSolver(local, "convex_relu:5-10-3-2", tiny),
                       doctest::Contains("expects 5 features, the data have 4"), ConfigError);
  local.params["rho"] = -1.0;
  CHECK_THROWS_WITH_AS(MakeLocalSolver(local, "convex_relu:4-10-3-2", tiny),
                       doctest::Contains("rho"), ConfigError);
  local.params = {{"sloth", 1.0}};
  CHECK_THROWS_WITH_AS(MakeLocalSolver(local, "convex_relu:4-10-3-2", tiny),
                       doctest::Contains("unknown parameter 'sloth'"), ConfigError);
  // The convex model is not trained by gradient steps.
  nn::Model model("convex_relu:4-10-3");
  const Eigen::MatrixXf batch = tiny.features.transpose();
  CHECK_THROWS_WITH_AS(model.LossAndGradient(batch, tiny.labels), doctest::Contains("ADMM"), Error);
}

}  // namespace edgefl::algorithms
