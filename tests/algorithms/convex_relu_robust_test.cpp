// The adversarially robust convex program (convex_relu_robust.h): its two
// closed-form steps on hand examples, ε = 0 gives the standard program's
// optimum, robustness costs objective, the solution keeps its activation
// patterns under every perturbation of radius ε, robust training beats
// standard training under the PGD attack (pgd_attack.h) on a small
// two-class problem, and the federated consensus ADMM with the robust client
// step reaches the centralised robust optimum.
#include "algorithms/convex_relu_robust.h"

#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/convex_relu.h"
#include "algorithms/convex_relu_admm.h"
#include "algorithms/local_solver.h"
#include "algorithms/pgd_attack.h"
#include "common/error.h"
#include "common/random.h"
#include "datasets/dataset.h"

namespace edgefl::algorithms {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// Two classes in 2-D: x1 = ±(gap + u), u ~ U(0, 0.5), the sign the class;
// x2 ~ N(0, spread²) carries nothing.
datasets::Dataset TwoClusters(Index n, double gap, double spread, uint64_t seed) {
  Rng rng(seed);
  datasets::Dataset data;
  data.features.resize(n, 2);
  data.num_classes = 2;
  for (Index r = 0; r < n; ++r) {
    const int label = static_cast<int>(r % 2);
    const double side = label == 1 ? 1.0 : -1.0;
    data.features(r, 0) = static_cast<float>(side * (gap + 0.5 * rng.Uniform()));
    data.features(r, 1) = static_cast<float>(spread * rng.Normal());
    data.labels.push_back(label);
  }
  return data;
}

MatrixXd Gates(Index d, Index p, uint64_t seed) {
  Rng rng(seed);
  MatrixXd g(d + 1, p);
  for (Index i = 0; i < g.size(); ++i)
    g(i) = rng.Normal();
  return g;
}

datasets::Dataset ConvexReluRobustRows(const datasets::Dataset& data, Index begin, Index end) {
  datasets::Dataset out;
  out.features = data.features.middleRows(begin, end - begin);
  out.labels.assign(data.labels.begin() + begin, data.labels.begin() + end);
  out.num_classes = data.num_classes;
  return out;
}

// Clean and PGD accuracy of Z's recovered ReLU network on `data`.
std::pair<double, double> Accuracies(const MatrixXd& z, const datasets::Dataset& data,
                                     Index patterns, double epsilon) {
  const Index d = data.dim();
  const Index classes = z.cols();
  const Eigen::VectorXf mlp = RecoverReluNetwork(z, d, patterns, classes);
  const TwoLayerRelu net =
      TwoLayerReluFrom(std::span<const float>(mlp.data(), static_cast<size_t>(mlp.size())), d,
                       2 * patterns * classes, classes);
  const MatrixXd x = data.features.cast<double>();
  PgdOptions pgd;
  pgd.epsilon = epsilon;
  pgd.steps = 50;
  const MatrixXd adv = PgdAttack(net, x, data.labels, pgd);
  return {Accuracy(TwoLayerOutputs(net, x), data.labels),
          Accuracy(TwoLayerOutputs(net, adv), data.labels)};
}

}  // namespace

TEST_CASE("robust convex relu: the loss prox and the l1 epigraph projection on hand values") {
  // ½(|r| + ‖q‖₁)² + ½((r − 3)² + ‖q − (1, 0)‖²): s = |r| + ‖q‖₁ = 1.5,
  // r = 3 − s = 1.5, q = 0 (1 − s < 0).
  double r = 3.0;
  VectorXd q(2);
  q << 1.0, 0.0;
  RobustLossProx(1.0, 1.0, &r, q);
  CHECK(r == doctest::Approx(1.5));
  CHECK(q(0) == doctest::Approx(0.0));
  CHECK(q(1) == doctest::Approx(0.0));
  // ε = 0.5, ρ = 2, r0 = −2, q0 = (3, −1): s = 16/7, every entry active.
  r = -2.0;
  q << 3.0, -1.0;
  RobustLossProx(0.5, 2.0, &r, q);
  CHECK(r == doctest::Approx(-6.0 / 7.0));
  CHECK(q(0) == doctest::Approx(17.0 / 7.0));
  CHECK(q(1) == doctest::Approx(-3.0 / 7.0));
  // ε = 0: the prox of ½r², r0 ρ/(1 + ρ); q untouched.
  r = 3.0;
  q << 5.0, -5.0;
  RobustLossProx(0.0, 2.0, &r, q);
  CHECK(r == doctest::Approx(2.0));
  CHECK(q(0) == 5.0);

  // (3, −1), t = 1 → λ = 1: (2, 0), t = 2.
  VectorXd x(2);
  x << 3.0, -1.0;
  double t = 1.0;
  ProjectL1Epigraph(x, &t);
  CHECK(x(0) == doctest::Approx(2.0));
  CHECK(x(1) == doctest::Approx(0.0));
  CHECK(t == doctest::Approx(2.0));
  // Inside: unchanged; in the polar cone: the origin.
  x << 0.5, -0.25;
  t = 1.0;
  ProjectL1Epigraph(x, &t);
  CHECK(x(0) == 0.5);
  CHECK(t == 1.0);
  x << 1.0, 1.0;
  t = -5.0;
  ProjectL1Epigraph(x, &t);
  CHECK(x.norm() == doctest::Approx(0.0));
  CHECK(t == doctest::Approx(0.0));
}

TEST_CASE("robust convex relu: the robust hinge prox on hand values") {
  // ε = 1, ρ = 1, y = 1, r0 = 0, q0 = 0.5: on the kink, θ = 0.25.
  double r = 0.0;
  VectorXd q(1);
  q << 0.5;
  RobustHingeProx(1.0, 1.0, 1.0, &r, q);
  CHECK(r == doctest::Approx(0.25));
  CHECK(q(0) == doctest::Approx(0.25));
  // ε = 0.1, y = −1, r0 = 2, q0 = 1: the linear piece, θ = 1.
  r = 2.0;
  q << 1.0;
  RobustHingeProx(0.1, 1.0, -1.0, &r, q);
  CHECK(r == doctest::Approx(1.0));
  CHECK(q(0) == doctest::Approx(0.9));
  // Already at zero loss (ε‖q‖₁ − y r = 0.1 − 1 < 0): unchanged.
  r = 1.0;
  q << 1.0;
  RobustHingeProx(0.1, 1.0, 1.0, &r, q);
  CHECK(r == 1.0);
  CHECK(q(0) == 1.0);
}

TEST_CASE("robust convex relu: eps 0 is the standard optimum and robustness costs objective") {
  const datasets::Dataset data = TwoClusters(24, 0.2, 1.0, 3);
  const MatrixXd gates = Gates(2, 6, 5);
  const ConvexReluData rows = ConvexReluDataFrom(data, gates, 2);
  ConvexAdmmOptions standard;
  standard.beta = 0.05;
  standard.iterations = 3000;
  const double optimum = SolveConvexReluAdmm(rows, standard).objective.back();

  RobustAdmmOptions robust;
  robust.beta = standard.beta;
  robust.iterations = 3000;
  robust.epsilon = 0.0;
  const ConvexAdmmResult zero = SolveRobustConvexRelu(rows, robust);
  MESSAGE("standard " << optimum << " robust(0) " << zero.objective.back());
  CHECK(zero.objective.back() == doctest::Approx(optimum).epsilon(2e-3));
  CHECK(RobustConeViolation(rows, zero.z, 0.0) < 1e-3);

  double previous = zero.objective.back();
  for (const double eps : {0.05, 0.15}) {
    CAPTURE(eps);
    robust.epsilon = eps;
    const ConvexAdmmResult solved = SolveRobustConvexRelu(rows, robust);
    const double value = solved.objective.back();
    MESSAGE("eps " << eps << " objective " << value << " violation "
                   << RobustConeViolation(rows, solved.z, eps));
    CHECK(value > previous + 1e-3);
    // Its standard objective is no better than the standard optimum.
    CHECK(ConvexObjective(rows, solved.z, robust.beta) >= optimum * (1.0 - 2e-3));
    CHECK(RobustConeViolation(rows, solved.z, eps) < 2e-3);
    previous = value;
  }
}

TEST_CASE("robust convex relu: the patterns and the worst-case loss hold on the ball") {
  const datasets::Dataset data = TwoClusters(20, 0.3, 1.0, 7);
  const MatrixXd gates = Gates(2, 4, 9);
  const ConvexReluData rows = ConvexReluDataFrom(data, gates, 2);
  RobustAdmmOptions robust;
  robust.beta = 0.05;
  robust.epsilon = 0.1;
  robust.iterations = 3000;
  const MatrixXd z = SolveRobustConvexRelu(rows, robust).z;
  const double loss_bound = RobustConvexObjective(rows, z, robust.beta, robust.epsilon) -
                            GroupNorm(z, rows.augmented(), robust.beta);
  // Every corner of every row's ball: the recovered network's squared loss
  // is at most the robust loss (up to the ADMM's tolerance).
  const Eigen::VectorXf mlp = RecoverReluNetwork(z, 2, 4, 2);
  const TwoLayerRelu net = TwoLayerReluFrom(
      std::span<const float>(mlp.data(), static_cast<size_t>(mlp.size())), 2, 16, 2);
  const MatrixXd x = data.features.cast<double>();
  double worst_total = 0.0;
  for (Index k = 0; k < x.rows(); ++k) {
    double worst = 0.0;
    for (int corner = 0; corner < 4; ++corner) {
      MatrixXd xp = x.row(k);
      xp(0, 0) += corner & 1 ? robust.epsilon : -robust.epsilon;
      xp(0, 1) += corner & 2 ? robust.epsilon : -robust.epsilon;
      const MatrixXd f = TwoLayerOutputs(net, xp);
      worst = std::max(worst, 0.5 * (f.row(0) - rows.y.row(k)).squaredNorm());
    }
    worst_total += worst;
  }
  MESSAGE("worst corner loss " << worst_total << " robust loss " << loss_bound);
  CHECK(worst_total <= loss_bound * 1.01 + 1e-3);
}

TEST_CASE("robust convex relu: robust training beats standard training under PGD") {
  const datasets::Dataset all = TwoClusters(80, 0.25, 1.0, 11);
  const datasets::Dataset train = ConvexReluRobustRows(all, 0, 40);
  const datasets::Dataset test = ConvexReluRobustRows(all, 40, 80);
  const Index p = 8;
  const MatrixXd gates = Gates(2, p, 13);
  const ConvexReluData rows = ConvexReluDataFrom(train, gates, 2);
  const double eps = 0.2;
  ConvexAdmmOptions standard;
  standard.beta = 0.01;
  standard.iterations = 2000;
  RobustAdmmOptions robust;
  robust.beta = standard.beta;
  robust.epsilon = eps;
  robust.iterations = 2000;
  const MatrixXd z_std = SolveConvexReluAdmm(rows, standard).z;
  const MatrixXd z_rob = SolveRobustConvexRelu(rows, robust).z;
  for (const datasets::Dataset* part : {&train, &test}) {
    const auto [clean_std, pgd_std] = Accuracies(z_std, *part, p, eps);
    const auto [clean_rob, pgd_rob] = Accuracies(z_rob, *part, p, eps);
    MESSAGE("standard clean " << clean_std << " pgd " << pgd_std << "; robust clean " << clean_rob
                              << " pgd " << pgd_rob);
    CHECK(pgd_rob >= pgd_std);
  }
}

TEST_CASE("robust convex relu: the robust hinge program bounds the worst case and beats standard") {
  const datasets::Dataset all = TwoClusters(80, 0.25, 1.0, 11);
  const datasets::Dataset train = ConvexReluRobustRows(all, 0, 40);
  const Index p = 8;
  const MatrixXd gates = Gates(2, p, 13);
  const ConvexReluData rows = ConvexReluDataFrom(train, gates, 2);
  RobustAdmmOptions options;
  options.beta = 0.01;
  options.iterations = 2000;
  options.loss = RobustLoss::kHinge;
  const ConvexAdmmResult standard = SolveRobustConvexRelu(rows, options);
  options.epsilon = 0.2;
  const ConvexAdmmResult robust = SolveRobustConvexRelu(rows, options);
  MESSAGE("hinge objective: standard " << standard.objective.back() << " robust "
                                       << robust.objective.back());
  CHECK(robust.objective.back() > standard.objective.back());
  CHECK(RobustConeViolation(rows, robust.z, 0.2) < 2e-3);
  // The hinge loss at every corner of every ball is at most the robust loss.
  const double bound = RobustConvexObjective(rows, robust.z, 0.0, 0.2, RobustLoss::kHinge);
  const Eigen::VectorXf mlp = RecoverReluNetwork(robust.z, 2, p, 2);
  const TwoLayerRelu net = TwoLayerReluFrom(
      std::span<const float>(mlp.data(), static_cast<size_t>(mlp.size())), 2, 2 * p * 2, 2);
  const MatrixXd x = train.features.cast<double>();
  double worst_total = 0.0;
  for (Index k = 0; k < x.rows(); ++k) {
    double worst = 0.0;
    for (int corner = 0; corner < 4; ++corner) {
      MatrixXd xp = x.row(k);
      xp(0, 0) += corner & 1 ? 0.2 : -0.2;
      xp(0, 1) += corner & 2 ? 0.2 : -0.2;
      const MatrixXd f = TwoLayerOutputs(net, xp);
      double loss = 0.0;
      for (Index c = 0; c < 2; ++c)
        loss += std::max(0.0, 1.0 - rows.y(k, c) * f(0, c));
      worst = std::max(worst, loss);
    }
    worst_total += worst;
  }
  MESSAGE("worst corner hinge " << worst_total << " robust hinge " << bound);
  CHECK(worst_total <= bound * 1.01 + 1e-3);
  const auto [clean_std, pgd_std] = Accuracies(standard.z, train, p, 0.2);
  const auto [clean_rob, pgd_rob] = Accuracies(robust.z, train, p, 0.2);
  MESSAGE("hinge standard pgd " << pgd_std << " robust pgd " << pgd_rob);
  CHECK(pgd_rob >= pgd_std);
}

TEST_CASE("robust convex relu: the federated robust consensus reaches the centralised optimum") {
  const datasets::Dataset data = TwoClusters(24, 0.2, 1.0, 3);
  const Index p = 4;
  const int clients = 3;
  const double eps = 0.1;
  const std::string spec = std::string("convex_relu:2-4-2-") + std::to_string(clients);
  ConvexReluOptions options;
  options.beta = 0.05;
  options.rho = 1.0;
  options.inner_iters = 3;
  options.adversarial_eps = eps;
  ConvexRelu strategy(spec, options);
  const nn::ConvexReluLayout layout = strategy.layout();
  Eigen::VectorXf global = Eigen::VectorXf::Zero(layout.num_parameters());
  const MatrixXd gates = Gates(2, p, 5);
  global.head(layout.gates_size()) =
      Eigen::Map<const VectorXd>(gates.data(), gates.size()).cast<float>();

  std::vector<ClientInfo> cohort(clients);
  std::vector<datasets::Dataset> shares;
  for (int k = 0; k < clients; ++k) {
    cohort[k].id = std::string("c") + std::to_string(k);
    shares.push_back(ConvexReluRobustRows(data, 8 * k, 8 * (k + 1)));
  }
  std::vector<std::unique_ptr<LocalSolver>> solvers;
  for (int round = 1; round <= 600; ++round) {
    const auto instructions = strategy.ConfigureFit(round, cohort);
    std::vector<train::FitResult> results(clients);
    for (int k = 0; k < clients; ++k) {
      if (solvers.size() < static_cast<size_t>(clients)) {
        CHECK(instructions[k].local.params.at("eps") == eps);
        solvers.push_back(MakeLocalSolver(instructions[k].local, spec, shares[k]));
      }
      results[k].client = cohort[k].id;
      results[k].train = solvers[k]->Solve(
          std::span<const float>(global.data(), static_cast<size_t>(global.size())),
          instructions[k].local);
    }
    global = *strategy.AggregateFit(round, global, results, {}).parameters;
  }
  const ConvexReluData rows = ConvexReluDataFrom(data, gates, 2);
  const MatrixXd z =
      BlockOf(layout, std::span<const float>(global.data(), global.size()), layout.z_offset());
  RobustAdmmOptions central;
  central.beta = options.beta;
  central.epsilon = eps;
  central.iterations = 3000;
  const double optimum = SolveRobustConvexRelu(rows, central).objective.back();
  const double federated = RobustConvexObjective(rows, z, options.beta, eps);
  MESSAGE("federated " << federated << " centralised " << optimum);
  CHECK(federated == doctest::Approx(optimum).epsilon(1e-2));
  CHECK(RobustConeViolation(rows, z, eps) < 1e-2);
}

TEST_CASE("robust convex relu: a bad radius or the gated model is a clear error") {
  ConvexReluOptions options;
  options.adversarial_eps = 0.1;
  CHECK_THROWS_WITH_AS(ConvexRelu("gated_relu:2-4-2-3", options),
                       doctest::Contains("convex_adversarial_eps"), ConfigError);
  options.adversarial_eps = -1.0;
  CHECK_THROWS_WITH_AS(ConvexRelu("convex_relu:2-4-2-3", options), doctest::Contains("epsilon"),
                       ConfigError);
  train::LocalAlgorithm local;
  local.objective = "convex_admm";
  local.params["eps"] = -0.5;
  CHECK_THROWS_WITH_AS(CheckLocalSolverParams(local), doctest::Contains("eps"), ConfigError);
  local.params["eps"] = 0.1;
  const datasets::Dataset data = TwoClusters(6, 0.2, 1.0, 1);
  CHECK_THROWS_WITH_AS(MakeLocalSolver(local, "gated_relu:2-4-2-3", data),
                       doctest::Contains("gated"), ConfigError);
}

}  // namespace edgefl::algorithms
