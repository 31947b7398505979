// Convex training of a two-layer ReLU network, standard vs adversarial (ℓ∞)
// formulation, against SGD on the same two-layer network (issue 17;
// BENCHMARKS.md, "convex_relu: adversarial formulation"). Fashion-MNIST,
// a class pair or all 10 classes, the first --train / --test samples of
// those classes, images 2x2-average-pooled to 14x14 (D = 196) to keep the
// 2P(D+1) Cholesky factors small. Arms, each centralised (--clients 0) or
// over --clients clients with a Dirichlet(--alpha) label split:
//   convex     the cone program (convex_relu_admm.h; federated: the consensus
//              ADMM of convex_relu.h driven by hand as the simulator does),
//   robust     the same with convex_adversarial_eps = --train-eps
//              (convex_relu_robust.h),
//   sgd        mlp:D-(2PC)-C by SGD (federated: FedAvg, 1 local epoch/round).
// Printed per arm and seed: clean test accuracy and test accuracy under PGD
// (pgd_attack.h, --pgd-steps steps, radius --eps, pixel box [0, 1]).
//
//   build/bench/convex_robust --classes 0,6 --train 2000 --test 1000 --seeds 1,2,3
//       [--clients 10] [--eps 0.05] [--train-eps 0.05] [--patterns 4] [--loss hinge]
// (--loss hinge: the convex arms with the (robust) hinge loss, centralised.)
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "algorithms/convex_relu.h"
#include "algorithms/convex_relu_admm.h"
#include "algorithms/convex_relu_robust.h"
#include "algorithms/local_solver.h"
#include "algorithms/pgd_attack.h"
#include "bench/bench_args.h"
#include "common/random.h"
#include "datasets/fashion_mnist.h"
#include "datasets/partition.h"
#include "nn/model.h"
#include "train/local_trainer.h"

namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using namespace edgefl;  // NOLINT: a bench program

struct Args {
  std::vector<int> classes;  // empty: all 10
  Index train = 2000, test = 1000;
  std::vector<uint64_t> seeds = {1, 2, 3};
  int clients = 0;
  double alpha = 0.5;
  double eps = 0.05, train_eps = 0.05;
  Index patterns = 4;
  double beta = 1.0, rho = 1.0;
  int iterations = 150;  // centralised ADMM iterations / federated rounds
  int inner = 3;
  int sgd_epochs = 20;
  int pgd_steps = 20;
  bool hinge = false;  // centralised only: the hinge loss instead of the squared
};

// The first `count` samples of `split` whose label is in `classes`, labels
// renumbered 0.., pooled 2x2.
datasets::Dataset Load(datasets::Split split, const std::vector<int>& classes, Index count) {
  const datasets::Dataset all = datasets::LoadFashionMnist(split);
  std::map<int, int> relabel;
  for (size_t i = 0; i < classes.size(); ++i)
    relabel[classes[i]] = static_cast<int>(i);
  datasets::Dataset out;
  out.num_classes = classes.empty() ? 10 : static_cast<int>(classes.size());
  out.features.resize(count, 196);
  Index rows = 0;
  for (Index r = 0; r < all.features.rows() && rows < count; ++r) {
    const int label = all.labels[static_cast<size_t>(r)];
    if (!classes.empty() && !relabel.count(label)) continue;
    for (Index i = 0; i < 14; ++i) {
      for (Index j = 0; j < 14; ++j) {
        float sum = 0.0f;
        for (Index a = 0; a < 2; ++a)
          for (Index b = 0; b < 2; ++b)
            sum += all.features(r, (2 * i + a) * 28 + 2 * j + b);
        out.features(rows, i * 14 + j) = sum / 4.0f;
      }
    }
    out.labels.push_back(classes.empty() ? label : relabel[label]);
    ++rows;
  }
  out.features.conservativeResize(rows, 196);
  return out;
}

std::pair<double, double> CleanAndPgd(const algorithms::TwoLayerRelu& net,
                                      const datasets::Dataset& test, const Args& args) {
  const MatrixXd x = test.features.cast<double>();
  algorithms::PgdOptions pgd;
  pgd.epsilon = args.eps;
  pgd.steps = args.pgd_steps;
  pgd.lower = 0.0;
  pgd.upper = 1.0;
  const MatrixXd adv = algorithms::PgdAttack(net, x, test.labels, pgd);
  return {algorithms::Accuracy(algorithms::TwoLayerOutputs(net, x), test.labels),
          algorithms::Accuracy(algorithms::TwoLayerOutputs(net, adv), test.labels)};
}

algorithms::TwoLayerRelu FromZ(const MatrixXd& z, Index d, Index p, Index c) {
  const Eigen::VectorXf mlp = algorithms::RecoverReluNetwork(z, d, p, c);
  return algorithms::TwoLayerReluFrom(
      std::span<const float>(mlp.data(), static_cast<size_t>(mlp.size())), d, 2 * p * c, c);
}

MatrixXd Gates(Index d, Index p, uint64_t seed) {
  Rng rng = Rng::Derive(seed, {7, 1});
  MatrixXd g(d + 1, p);
  for (Index i = 0; i < g.size(); ++i)
    g(i) = rng.Normal();
  return g;
}

// The federated consensus ADMM (convex_relu.h) driven as the simulator does.
MatrixXd Federated(const std::vector<datasets::Dataset>& shares, const MatrixXd& gates, double eps,
                   const Args& args, Index classes) {
  const int k = static_cast<int>(shares.size());
  const std::string spec = std::string("convex_relu:196-") + std::to_string(args.patterns) + "-" +
                           std::to_string(classes) + "-" + std::to_string(k);
  algorithms::ConvexReluOptions options;
  options.beta = args.beta;
  options.rho = args.rho;
  options.inner_iters = args.inner;
  options.adversarial_eps = eps;
  algorithms::ConvexRelu strategy(spec, options);
  const nn::ConvexReluLayout layout = strategy.layout();
  Eigen::VectorXf global = Eigen::VectorXf::Zero(layout.num_parameters());
  global.head(layout.gates_size()) =
      Eigen::Map<const Eigen::VectorXd>(gates.data(), gates.size()).cast<float>();
  std::vector<algorithms::ClientInfo> cohort(static_cast<size_t>(k));
  for (int i = 0; i < k; ++i)
    cohort[i].id = std::string("c") + std::to_string(100 + i);
  std::vector<std::unique_ptr<algorithms::LocalSolver>> solvers;
  for (int round = 1; round <= args.iterations; ++round) {
    const auto instructions = strategy.ConfigureFit(round, cohort);
    std::vector<train::FitResult> results(static_cast<size_t>(k));
    for (int i = 0; i < k; ++i) {
      if (solvers.size() < static_cast<size_t>(k)) {
        solvers.push_back(algorithms::MakeLocalSolver(instructions[i].local, spec, shares[i]));
      }
      results[i].client = cohort[i].id;
      results[i].train = solvers[i]->Solve(
          std::span<const float>(global.data(), static_cast<size_t>(global.size())),
          instructions[i].local);
    }
    global = *strategy.AggregateFit(round, global, results, {}).parameters;
  }
  return algorithms::BlockOf(
      layout, std::span<const float>(global.data(), static_cast<size_t>(global.size())),
      layout.z_offset());
}

algorithms::TwoLayerRelu Sgd(const std::vector<datasets::Dataset>& shares, Index hidden,
                             Index classes, uint64_t seed, const Args& args) {
  const std::string spec =
      std::string("mlp:196-") + std::to_string(hidden) + "-" + std::to_string(classes);
  nn::Model model(spec);
  model.Initialize(seed);
  Eigen::VectorXf global = model.parameters();
  train::TrainRecipe recipe;
  recipe.batch_size = 64;
  recipe.optimizer.learning_rate = 0.05f;
  recipe.optimizer.momentum = 0.9f;
  recipe.measure_loss = false;
  std::vector<std::unique_ptr<train::LocalTrainer>> trainers;
  for (const auto& share : shares)
    trainers.push_back(std::make_unique<train::LocalTrainer>(spec, share));
  const bool central = shares.size() == 1;
  const int rounds = central ? 1 : args.iterations;
  recipe.epochs = central ? args.sgd_epochs : 1;
  for (int round = 0; round < rounds; ++round) {
    Eigen::VectorXf sum = Eigen::VectorXf::Zero(global.size());
    double weight = 0.0;
    for (size_t i = 0; i < trainers.size(); ++i) {
      recipe.seed = Rng::Derive(seed, {7, 2, static_cast<uint64_t>(round), i}).Next();
      const train::LocalTrainResult r = trainers[i]->Train(
          std::span<const float>(global.data(), static_cast<size_t>(global.size())), recipe);
      sum += static_cast<float>(r.num_samples) * r.parameters;
      weight += static_cast<double>(r.num_samples);
    }
    global = sum / static_cast<float>(weight);
  }
  return algorithms::TwoLayerReluFrom(
      std::span<const float>(global.data(), static_cast<size_t>(global.size())), 196, hidden,
      classes);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  std::map<std::string, std::string> values = {
      {"classes", ""},      {"train", "2000"},   {"test", "1000"},      {"clients", "0"},
      {"alpha", "0.5"},     {"eps", "0.05"},     {"train-eps", ""},     {"patterns", "4"},
      {"beta", "1"},        {"rho", "1"},        {"iterations", "150"}, {"inner", "3"},
      {"sgd-epochs", "20"}, {"pgd-steps", "20"}, {"seeds", "1,2,3"},    {"loss", "squared"}};
  bench::Flags flags;
  for (auto& [name, value] : values)
    flags.Add("--" + name, &value);
  if (!flags.Parse(argc, argv)) {
    std::fprintf(stderr,
                 "usage: convex_robust [--classes 0,6] [--train N] [--test N] "
                 "[--clients K] [--eps E] [--train-eps E] [--patterns P] [--beta B] "
                 "[--rho R] [--iterations T] [--seeds 1,2,3]\n");
    return 2;
  }
  for (const std::string& c : bench::SplitList(values["classes"]))
    args.classes.push_back(std::stoi(c));
  args.train = std::stoll(values["train"]);
  args.test = std::stoll(values["test"]);
  args.clients = std::stoi(values["clients"]);
  args.alpha = std::stod(values["alpha"]);
  args.eps = std::stod(values["eps"]);
  args.train_eps = values["train-eps"].empty() ? args.eps : std::stod(values["train-eps"]);
  args.patterns = std::stoll(values["patterns"]);
  args.beta = std::stod(values["beta"]);
  args.rho = std::stod(values["rho"]);
  args.iterations = std::stoi(values["iterations"]);
  args.inner = std::stoi(values["inner"]);
  args.sgd_epochs = std::stoi(values["sgd-epochs"]);
  args.pgd_steps = std::stoi(values["pgd-steps"]);
  args.hinge = values["loss"] == "hinge";
  if (args.hinge && args.clients > 0) {
    std::fprintf(stderr, "--loss hinge is centralised only\n");
    return 2;
  }
  args.seeds.clear();
  for (const std::string& s : bench::SplitList(values["seeds"]))
    args.seeds.push_back(std::stoull(s));
  const datasets::Dataset train = Load(datasets::Split::kTrain, args.classes, args.train);
  const datasets::Dataset test = Load(datasets::Split::kTest, args.classes, args.test);
  const Index classes = train.num_classes;
  const Index hidden = 2 * args.patterns * classes;
  std::printf(
      "# %lld train / %lld test samples, %lld classes, D = 196, P = %lld, hidden %lld, "
      "%s, %s loss, beta %g rho %g, eps(train) %g eps(pgd) %g\n",
      static_cast<long long>(train.size()), static_cast<long long>(test.size()),
      static_cast<long long>(classes), static_cast<long long>(args.patterns),
      static_cast<long long>(hidden), args.clients > 0 ? "federated" : "centralised",
      args.hinge ? "hinge" : "squared", args.beta, args.rho, args.train_eps, args.eps);
  std::map<std::string, std::vector<std::pair<double, double>>> table;
  for (const uint64_t seed : args.seeds) {
    std::vector<datasets::Dataset> shares;
    if (args.clients > 0) {
      datasets::PartitionSpec spec;
      spec.scheme = datasets::PartitionScheme::kDirichlet;
      spec.num_clients = static_cast<size_t>(args.clients);
      spec.alpha = args.alpha;
      spec.seed = seed;
      spec.min_client_size = 10;
      const datasets::Partition partition =
          datasets::MakePartition(spec, train.labels, train.num_classes, "fmnist/train");
      for (const auto& idx : partition.clients)
        shares.push_back(datasets::Subset(train, idx));
    } else {
      shares.push_back(train);
    }
    const MatrixXd gates = Gates(196, args.patterns, seed);
    for (const std::string arm : {"convex", "robust", "sgd"}) {
      algorithms::TwoLayerRelu net;
      const double eps = arm == "robust" ? args.train_eps : 0.0;
      if (arm == "sgd") {
        net = Sgd(shares, hidden, classes, seed, args);
      } else if (args.clients > 0) {
        net = FromZ(Federated(shares, gates, eps, args, classes), 196, args.patterns, classes);
      } else {
        const algorithms::ConvexReluData rows =
            algorithms::ConvexReluDataFrom(train, gates, static_cast<int>(classes));
        algorithms::RobustAdmmOptions options;
        options.beta = args.beta;
        options.rho = args.rho;
        options.epsilon = eps;
        options.iterations = args.iterations;
        if (args.hinge) options.loss = algorithms::RobustLoss::kHinge;
        net =
            FromZ(algorithms::SolveRobustConvexRelu(rows, options).z, 196, args.patterns, classes);
      }
      const auto acc = CleanAndPgd(net, test, args);
      table[arm].push_back(acc);
      std::printf("seed %llu %-7s clean %.4f pgd %.4f\n", static_cast<unsigned long long>(seed),
                  arm.c_str(), acc.first, acc.second);
      std::fflush(stdout);
    }
  }
  for (const auto& [arm, rows] : table) {
    double mc = 0, mp = 0, vc = 0, vp = 0;
    for (const auto& [c, p] : rows)
      mc += c, mp += p;
    mc /= rows.size();
    mp /= rows.size();
    for (const auto& [c, p] : rows)
      vc += (c - mc) * (c - mc), vp += (p - mp) * (p - mp);
    const double denom = rows.size() > 1 ? rows.size() - 1.0 : 1.0;
    std::printf("%-7s clean %.2f ± %.2f%%  pgd %.2f ± %.2f%%\n", arm.c_str(), 100 * mc,
                100 * std::sqrt(vc / denom), 100 * mp, 100 * std::sqrt(vp / denom));
  }
  return 0;
}
