#include "algorithms/fedbr_objective.h"

#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/fedbr_pseudo_data.h"
#include "algorithms/local_registry.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "tests/algorithms/local_objective_test_util.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {
namespace {

// d = 16: P is 16 -> 32 -> 32 -> 16, 8·16² + 5·16 = 2128 parameters.
constexpr const char* kFedbrObjectiveSpec = "mlp:60-16-10+proj";

FedBrOptions Off() {
  FedBrOptions options;
  options.mu = 0.0;
  options.lambda = 0.0;
  options.mixup_alpha = 0.0;
  options.decorr = 0.0;
  return options;
}

FedBrObjective FedbrObjectiveMake(const FedBrOptions& options, const datasets::Dataset& data) {
  const datasets::Dataset* clients[] = {&data};
  return FedBrObjective(options, BuildPseudoDataPool(clients, options.pool_size,
                                                     options.pool_images, options.pool_seed));
}

// Rows [begin, end) of `data`: one client's share.
datasets::Dataset Share(const datasets::Dataset& data, uint32_t begin, uint32_t end) {
  std::vector<uint32_t> rows(end - begin);
  std::iota(rows.begin(), rows.end(), begin);
  return datasets::Subset(data, rows);
}

Eigen::VectorXf Head(const nn::Model& model) {
  return model.parameters().tail(model.projection_head_size());
}

}  // namespace

TEST_CASE("FedBR with both components mixup and decorr off equals plain cross-entropy training") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kFedbrObjectiveSpec);
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 2);
  recipe.optimizer.momentum = 0.9f;
  train::LocalTrainer plain(kFedbrObjectiveSpec, data);
  const auto expected = plain.Train(testing::Span(global), recipe);

  FedBrObjective fedbr = FedbrObjectiveMake(Off(), data);
  train::LocalTrainer trainer(kFedbrObjectiveSpec, data);
  const auto result = trainer.Train(testing::Span(global), recipe, &fedbr);
  CHECK(result.parameters == expected.parameters);  // bit for bit
}

TEST_CASE("FedBR contrastive loss with e1 equal to e2 and orthogonal to e3") {
  const double tau1 = 2.0;
  const double tau2 = 2.0;
  Eigen::MatrixXf e1(3, 2);
  e1 << 1, 0, 0, 2, 0, 0;
  Eigen::MatrixXf e3(3, 2);
  e3 << 0, 3, 4, 0, 0, 1;
  const double expected = -std::log(std::exp(tau1) / (std::exp(tau1) + 1.0));
  CHECK(FedBrObjective::ContrastiveLoss(e1, e1, e3, tau1, tau2) ==
        doctest::Approx(expected).epsilon(1e-6));
  // Swapping the roles: e1 = e3 and e1 ⊥ e2 gives −log(1/(1 + e^{τ2})).
  CHECK(FedBrObjective::ContrastiveLoss(e1, e3, e1, tau1, tau2) ==
        doctest::Approx(std::log(1.0 + std::exp(tau2))).epsilon(1e-6));
}

TEST_CASE("FedBR pseudo-targets are distributions mixing uniform and the partner's label") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kFedbrObjectiveSpec);
  model.Initialize(3);
  const testing::FirstRows rows(32);
  Rng rng(1);
  // Without mixup the partner's label is one-hot: q = (u + 1_y)/2.
  FedBrOptions no_mixup;
  no_mixup.mixup_alpha = 0.0;
  FedBrObjective plain = FedbrObjectiveMake(no_mixup, data);
  plain.BeginRound(model, rng);
  plain.LossAndGradient(model, rows.Get(data), rng);
  const Eigen::MatrixXf& q = plain.last_pseudo_targets();
  REQUIRE(q.cols() == 32);
  REQUIRE(q.rows() == 10);
  for (Eigen::Index i = 0; i < q.cols(); ++i) {
    CHECK(q.col(i).sum() == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(q.col(i).maxCoeff() == doctest::Approx(0.55).epsilon(1e-6));
    CHECK(q.col(i).minCoeff() == doctest::Approx(0.05).epsilon(1e-6));
  }
  // With mixup the partner is a MIXED sample with its soft label (the code
  // mixes after get_new_all_x, algorithms.py:1104-1118): some q rows split
  // the partner's half between two classes.
  FedBrObjective mixed = FedbrObjectiveMake(FedBrOptions{}, data);
  mixed.BeginRound(model, rng);
  mixed.LossAndGradient(model, rows.Get(data), rng);
  const Eigen::MatrixXf& qm = mixed.last_pseudo_targets();
  int split = 0;
  for (Eigen::Index i = 0; i < qm.cols(); ++i) {
    CHECK(qm.col(i).sum() == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(qm.col(i).minCoeff() >= 0.05f - 1e-6f);
    CHECK(qm.col(i).maxCoeff() <= 0.55f + 1e-6f);
    split += qm.col(i).maxCoeff() < 0.55f - 1e-4f ? 1 : 0;
  }
  CHECK(split > 0);
  // Without the mixture the pseudo-data are the pool itself, targets uniform.
  FedBrOptions pool_only;
  pool_only.mixture = false;
  FedBrObjective raw = FedbrObjectiveMake(pool_only, data);
  raw.BeginRound(model, rng);
  raw.LossAndGradient(model, rows.Get(data), rng);
  CHECK(raw.last_pseudo_targets().isConstant(0.1f, 1e-7f));
  // z_g = φ_g(x̃) of the first step: the pool's features at the received model.
  nn::Model global(kFedbrObjectiveSpec);
  global.Initialize(3);
  global.Forward(raw.pool());
  const Eigen::MatrixXf expected = global.features();
  REQUIRE(raw.global_features().cols() == 32);
  CHECK((raw.global_features() - expected).norm() <= 1e-5f * expected.norm());
}

TEST_CASE("FedBR pseudo-data pool is drawn from every client and identical on all of them") {
  // Two clients with different shares of the data, as in the simulator.
  const datasets::Dataset all = testing::Tabular();
  const datasets::Dataset share_a = Share(all, 0, 250);
  const datasets::Dataset share_b = Share(all, 250, static_cast<uint32_t>(all.size()));
  const std::vector<const datasets::Dataset*> fleet = {&share_a, &share_b};
  const Eigen::MatrixXf expected = BuildPseudoDataPool(fleet, 32, 10, 0);
  CHECK(expected.rows() == 60);
  CHECK(expected.cols() == 32);
  train::LocalAlgorithm local;
  local.objective = "fedbr";
  for (int round = 0; round < 2; ++round) {  // a new objective every round, as every Fit builds
    ObjectiveContext a;
    a.local_data = &share_a;
    a.fleet_data = fleet;
    ObjectiveContext b = a;
    b.local_data = &share_b;
    const auto client_a = MakeLocalObjective(local, a);
    const auto client_b = MakeLocalObjective(local, b);
    CHECK(dynamic_cast<FedBrObjective&>(*client_a).pool() == expected);
    CHECK(dynamic_cast<FedBrObjective&>(*client_b).pool() == expected);
  }
  // It is not either client's own pool (the code builds it from all
  // clients' data, train_fed.py:353-355) ...
  const datasets::Dataset* only_a[] = {&share_a};
  const datasets::Dataset* only_b[] = {&share_b};
  CHECK(BuildPseudoDataPool(only_a, 32, 10, 0) != expected);
  CHECK(BuildPseudoDataPool(only_b, 32, 10, 0) != expected);
  // ... each pseudo-sample averages 10 images of ONE client, drawn
  // uniformly: both clients contribute.
  const size_t sizes[] = {share_a.size(), share_b.size()};
  const std::vector<PseudoDataDraw> draws = DrawPseudoData(sizes, 32, 10, 0);
  REQUIRE(draws.size() == 320);
  int from_b = 0;
  for (size_t i = 0; i < 32; ++i) {
    for (size_t k = 1; k < 10; ++k)
      CHECK(draws[i * 10 + k].client == draws[i * 10].client);
    from_b += draws[i * 10].client == 1 ? 1 : 0;
  }
  CHECK(from_b > 4);
  CHECK(from_b < 28);
  // Another seed gives another pool.
  CHECK(BuildPseudoDataPool(fleet, 32, 10, 1) != expected);
}

TEST_CASE("FedBR pseudo-sample is the mean of images of one client on a hand example") {
  // Client 0 holds the one-feature samples 0, 2, 4, 6; client 1 holds 100
  // and 104.
  datasets::Dataset c0;
  c0.name = "c0";
  c0.features.resize(4, 1);
  c0.features << 0.0f, 2.0f, 4.0f, 6.0f;
  c0.labels = {0, 1, 0, 1};
  datasets::Dataset c1;
  c1.name = "c1";
  c1.features.resize(2, 1);
  c1.features << 100.0f, 104.0f;
  c1.labels = {0, 1};
  const datasets::Dataset* fleet[] = {&c0, &c1};
  const Eigen::MatrixXf pool = BuildPseudoDataPool(fleet, 8, 4, 5);
  const size_t sizes[] = {4, 2};
  const std::vector<PseudoDataDraw> draws = DrawPseudoData(sizes, 8, 4, 5);
  int from_c1 = 0;
  for (Eigen::Index i = 0; i < 8; ++i) {
    CAPTURE(i);
    const size_t client = draws[static_cast<size_t>(4 * i)].client;
    float sum = 0.0f;
    for (size_t k = 0; k < 4; ++k) {
      const PseudoDataDraw& d = draws[static_cast<size_t>(4 * i) + k];
      CHECK(d.client == client);
      sum += fleet[client]->features(static_cast<Eigen::Index>(d.sample), 0);
    }
    CHECK(pool(0, i) == sum / 4.0f);
    if (client == 1) {
      ++from_c1;
      CHECK(pool(0, i) >= 100.0f);  // never a mix of the clients, e.g. 50
    } else {
      CHECK(pool(0, i) <= 6.0f);
    }
  }
  CHECK(from_c1 > 0);
  CHECK(from_c1 < 8);
  datasets::Dataset empty;
  empty.features.resize(0, 1);
  const datasets::Dataset* with_empty[] = {&c0, &empty};
  CHECK_THROWS_WITH_AS(BuildPseudoDataPool(with_empty, 8, 4, 5),
                       doctest::Contains("client 1 has no samples"), ConfigError);
}

TEST_CASE("FedBR pool assembled from every client's uploaded means equals the simulator's") {
  // The deployment's three steps: the server draws and asks each client
  // for the means of its groups (only means leave a client), then
  // assembles. The simulator's BuildPseudoDataPool, computed here by hand:
  // column i = the mean of draw i's images of its client.
  const datasets::Dataset all = testing::Tabular();
  const datasets::Dataset share_a = Share(all, 0, 250);
  const datasets::Dataset share_b = Share(all, 250, static_cast<uint32_t>(all.size()));
  const datasets::Dataset* fleet[] = {&share_a, &share_b};
  const size_t sizes[] = {share_a.size(), share_b.size()};
  const std::vector<PseudoDataDraw> draws = DrawPseudoData(sizes, 32, 10, 7);
  const std::vector<train::PseudoDataRequest> requests = PseudoDataRequests(draws, 2, 10);
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].groups() + requests[1].groups() == 32);
  CHECK(requests[0].groups() > 0);
  CHECK(requests[1].groups() > 0);
  std::vector<Eigen::MatrixXf> uploads;
  for (size_t c = 0; c < 2; ++c) {
    uploads.push_back(PseudoDataMeans(*fleet[c], requests[c]));
    CHECK(uploads.back().rows() == 60);
    CHECK(static_cast<size_t>(uploads.back().cols()) == requests[c].groups());
  }
  const Eigen::MatrixXf pool = AssemblePseudoDataPool(draws, 10, uploads);
  Eigen::MatrixXf by_hand = Eigen::MatrixXf::Zero(60, 32);
  for (size_t n = 0; n < draws.size(); ++n) {
    by_hand.col(static_cast<Eigen::Index>(n / 10)) +=
        fleet[draws[n].client]
            ->features.row(static_cast<Eigen::Index>(draws[n].sample))
            .transpose();
  }
  by_hand /= 10.0f;
  CHECK(pool == by_hand);
  CHECK(pool == BuildPseudoDataPool(fleet, 32, 10, 7));
  CHECK(PseudoDataFingerprint(pool) == PseudoDataFingerprint(by_hand));
  CHECK(PseudoDataFingerprint(pool) !=
        PseudoDataFingerprint(BuildPseudoDataPool(fleet, 32, 10, 8)));
  // A client that answers the wrong number of means is refused.
  uploads[1].conservativeResize(Eigen::NoChange, uploads[1].cols() - 1);
  CHECK_THROWS_AS(AssemblePseudoDataPool(draws, 10, uploads), DataError);
}

TEST_CASE("FedBR client refuses to upload a mean that would be a raw sample") {
  const datasets::Dataset data = testing::Tabular();
  train::PseudoDataRequest one_image;
  one_image.images = 1;
  one_image.samples = {4, 5};
  CHECK_THROWS_WITH_AS(PseudoDataMeans(data, one_image), doctest::Contains("raw sample"),
                       ConfigError);
  train::PseudoDataRequest same;
  same.images = 3;
  same.samples = {1, 2, 3, 9, 9, 9};  // the second group is sample 9 three times
  CHECK_THROWS_WITH_AS(PseudoDataMeans(data, same),
                       doctest::Contains("its images are all sample 9"), ConfigError);
  train::PseudoDataRequest past;
  past.images = 2;
  past.samples = {0, static_cast<uint32_t>(data.size())};
  CHECK_THROWS_WITH_AS(PseudoDataMeans(data, past), doctest::Contains("names sample"), ConfigError);
  train::PseudoDataRequest fine;
  fine.images = 3;
  fine.samples = {0, 0, 2, 1, 3, 3};  // repeats are fine while a group mixes two samples
  const Eigen::MatrixXf means = PseudoDataMeans(data, fine);
  REQUIRE(means.cols() == 2);
  const Eigen::VectorXf second =
      (data.features.row(1) + data.features.row(3) + data.features.row(3)).transpose() / 3.0f;
  CHECK(means.col(1) == second);
  // The pool's keys keep at least two images.
  train::LocalAlgorithm local;
  local.objective = "fedbr";
  local.params = {{"pool_images", 1.0}};
  CHECK_THROWS_AS(PseudoDataSpecOf(local), ConfigError);
  local.params = {{"pool_images", 4.0}, {"pool_size", 5.0}, {"pool_seed", 9.0}};
  const std::optional<PseudoDataSpec> spec = PseudoDataSpecOf(local);
  REQUIRE(spec.has_value());
  CHECK(spec->images == 4);
  CHECK(spec->size == 5);
  CHECK(spec->seed == 9u);
  local.objective = "ce";
  local.params = {};
  CHECK(!PseudoDataSpecOf(local).has_value());
}

TEST_CASE("FedBR client trains on the pool the coordinator sent instead of its own") {
  const datasets::Dataset all = testing::Tabular();
  const datasets::Dataset share = Share(all, 0, 250);
  Eigen::MatrixXf sent = Eigen::MatrixXf::Constant(60, 32, 0.5f);
  train::LocalAlgorithm local;
  local.objective = "fedbr";
  ObjectiveContext context;
  context.local_data = &share;
  context.pseudo_data = &sent;
  CHECK(dynamic_cast<FedBrObjective&>(*MakeLocalObjective(local, context)).pool() == sent);
  context.pseudo_data = nullptr;  // none sent: its own share's pool
  CHECK(dynamic_cast<FedBrObjective&>(*MakeLocalObjective(local, context)).pool() != sent);
  Eigen::MatrixXf wrong = Eigen::MatrixXf::Zero(60, 31);  // not pool_size
  context.pseudo_data = &wrong;
  CHECK_THROWS_AS(MakeLocalObjective(local, context), ConfigError);
}

TEST_CASE("FedBR adversarial head step does not decrease the contrastive loss") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kFedbrObjectiveSpec);
  model.Initialize(3);
  FedBrOptions options;
  options.head_lr = 1e-3;
  FedBrObjective fedbr = FedbrObjectiveMake(options, data);
  Rng rng(2);
  fedbr.BeginRound(model, rng);
  const testing::FirstRows rows(32);
  const Eigen::VectorXf head_before = Head(model);
  for (int step = 0; step < 5; ++step) {
    fedbr.LossAndGradient(model, rows.Get(data), rng);
    CHECK(fedbr.last_contrastive_after() >= fedbr.last_contrastive_before());
    // P's gradient slice is zero: the trainer's optimizer does not step it.
    CHECK(model.gradients().tail(model.projection_head_size()).isZero(0.0f));
  }
  CHECK(fedbr.head_steps() == 5);
  CHECK(Head(model) != head_before);
  // A new round keeps the model's P: nothing re-initialises it.
  const Eigen::VectorXf head_after = Head(model);
  fedbr.BeginRound(model, rng);
  CHECK(Head(model) == head_after);
  CHECK(fedbr.head_steps() == 0);
}

TEST_CASE("FedBR P is part of the model the client returns and starts from the one it receives") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kFedbrObjectiveSpec);
  nn::Model probe(kFedbrObjectiveSpec);
  const Eigen::Index head = probe.projection_head_size();
  CHECK(head == 8 * 16 * 16 + 5 * 16);
  CHECK(probe.num_parameters() == nn::Model("mlp:60-16-10").num_parameters() + head);
  train::LocalAlgorithm local;
  local.objective = "fedbr";
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f);
  recipe.local_steps = 4;
  ObjectiveContext context;
  context.local_data = &data;
  context.recipe = &recipe;
  train::LocalTrainer trainer(kFedbrObjectiveSpec, data);
  auto fedbr = MakeLocalObjective(local, context);
  const auto first = trainer.Train(testing::Span(global), recipe, fedbr.get());
  CHECK(dynamic_cast<FedBrObjective&>(*fedbr).head_steps() == 4);  // one per local step
  const Eigen::VectorXf trained_head = first.parameters.tail(head);
  CHECK(trained_head != global.tail(head));  // P trained and sent back
  // Two clients' P differ; the server's FedAvg averages them as any weight.
  const Eigen::VectorXf mean = 0.5f * (first.parameters + global);
  const auto from_mean = trainer.Train(testing::Span(mean), recipe, fedbr.get());
  const auto from_global = trainer.Train(testing::Span(global), recipe, fedbr.get());
  // The next round starts from the P it is sent (here the average), not a
  // fresh one: different starting P, different result.
  CHECK(from_global.parameters == first.parameters);
  CHECK(from_mean.parameters.tail(head) != first.parameters.tail(head));
}

TEST_CASE("FedBR server averages P with the rest of the model by sample counts") {
  StrategyConfig config;
  config.name = "fedbr";
  config.rounds = 1;
  const auto strategy = MakeStrategy(config);
  const Eigen::VectorXf global = testing::InitialParameters(kFedbrObjectiveSpec);
  const Eigen::Index head = nn::Model(kFedbrObjectiveSpec).projection_head_size();
  std::vector<train::FitResult> results(2);
  results[0].client = "a";
  results[0].train.parameters = global;
  results[0].train.parameters.tail(head).array() += 1.0f;  // P moved by +1
  results[0].train.num_samples = 1;
  results[1].client = "b";
  results[1].train.parameters = global;
  results[1].train.parameters.tail(head).array() -= 3.0f;  // P moved by −3
  results[1].train.num_samples = 3;
  const AggregateOutcome out = strategy->AggregateFit(1, global, results, {});
  REQUIRE(out.parameters.has_value());
  // (1·(+1) + 3·(−3))/4 = −2 on every coordinate of P; the rest unchanged.
  const Eigen::VectorXf moved = out.parameters->tail(head) - global.tail(head);
  CHECK(moved.minCoeff() == doctest::Approx(-2.0).epsilon(1e-5));
  CHECK(moved.maxCoeff() == doctest::Approx(-2.0).epsilon(1e-5));
  CHECK(out.parameters->head(global.size() - head) == global.head(global.size() - head));
}

TEST_CASE("FedBR steps P once per local step with the client's learning rate") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kFedbrObjectiveSpec);
  const Eigen::Index head = nn::Model(kFedbrObjectiveSpec).projection_head_size();
  train::LocalAlgorithm local;
  local.objective = "fedbr";
  // The change of P after ONE local step is lr·∇_P L_con at the received
  // model and the same draws: linear in the lr, which defaults to the
  // client's (the code's disc_opt: SGD with hparams["lr"], algorithms.py:984-986).
  auto delta = [&](float lr, std::optional<double> head_lr) {
    train::TrainRecipe recipe = testing::SgdRecipe(lr);
    recipe.local_steps = 1;
    train::LocalAlgorithm with = local;
    if (head_lr) with.params["head_lr"] = *head_lr;
    ObjectiveContext context;
    context.local_data = &data;
    context.recipe = &recipe;
    auto fedbr = MakeLocalObjective(with, context);
    CHECK(dynamic_cast<FedBrObjective&>(*fedbr).options().head_lr == (head_lr ? *head_lr : lr));
    train::LocalTrainer trainer(kFedbrObjectiveSpec, data);
    const auto result = trainer.Train(testing::Span(global), recipe, fedbr.get());
    return Eigen::VectorXf(result.parameters.tail(head) - global.tail(head));
  };
  const Eigen::VectorXf d1 = delta(0.01f, std::nullopt);
  const Eigen::VectorXf d2 = delta(0.02f, std::nullopt);
  REQUIRE(d1.norm() > 0.0f);
  CHECK((d2 - 2.0f * d1).norm() <= 1e-4f * d2.norm());
  // head_lr overrides the client's lr: same P step as with lr 0.02.
  const Eigen::VectorXf d3 = delta(0.01f, 0.02);
  CHECK((d3 - d2).norm() <= 1e-6f * d2.norm());
  CHECK(delta(0.01f, 0.0).isZero(0.0f));
}

TEST_CASE("FedBR caches the global features for the whole round") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kFedbrObjectiveSpec);
  FedBrObjective fedbr = FedbrObjectiveMake(FedBrOptions{}, data);
  train::LocalTrainer trainer(kFedbrObjectiveSpec, data);
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f);
  recipe.local_steps = 1;
  trainer.Train(testing::Span(global), recipe, &fedbr);
  const Eigen::MatrixXf after_one = fedbr.global_features();
  recipe.local_steps = 10;
  trainer.Train(testing::Span(global), recipe, &fedbr);
  // Same global model, same first draw: the same z_g after ten steps.
  CHECK(fedbr.global_features() == after_one);
  CHECK(after_one.cols() == 32);
  CHECK(after_one.rows() == 16);
}

TEST_CASE("FedBR gradients match finite differences of its loss") {
  const datasets::Dataset data = testing::Tabular();
  const testing::FirstRows rows(24);  // B != M: pairing i mod B
  const train::Batch batch = rows.Get(data);
  struct Case {
    const char* name;
    double mu, lambda, mixup, decorr;
  };
  for (const Case& c :
       {Case{"mixup", 0, 0, 0.2, 0}, Case{"classifier", 0, 1, 0, 0}, Case{"features", 2, 0, 0, 0},
        Case{"decorr", 0, 0, 0, 5}, Case{"all", 0.5, 1, 0.2, 0.1}}) {
    CAPTURE(c.name);
    nn::Model model(kFedbrObjectiveSpec);
    model.Initialize(4);
    FedBrOptions options;
    options.mu = c.mu;
    options.lambda = c.lambda;
    options.mixup_alpha = c.mixup;
    options.decorr = c.decorr;
    options.head_lr = 0.0;  // keep P fixed across the evaluations
    FedBrObjective fedbr = FedbrObjectiveMake(options, data);
    Rng rng(1);
    fedbr.BeginRound(model, rng);
    testing::LossWithSeed(fedbr, model, batch, 3);  // caches z_g at these weights
    for (const uint64_t seed : {1u, 2u}) {
      Eigen::VectorXf direction = testing::RandomDirection(model.num_parameters(), seed);
      direction.tail(model.projection_head_size()).setZero();  // φ and h only
      const auto [analytic, numeric] =
          testing::DirectionalCheck(fedbr, model, batch, direction, 3, 1e-3f);
      CHECK(analytic == doctest::Approx(numeric).epsilon(0.03).scale(0.01));
    }
  }
}

TEST_CASE("FedDecorr gradient matches finite differences") {
  Rng rng(3);
  Eigen::MatrixXf f(5, 8);
  for (Eigen::Index i = 0; i < f.size(); ++i)
    f.data()[i] = static_cast<float>(rng.Normal());
  f.row(1) = 0.7f * f.row(0) + 0.3f * f.row(1);  // correlated features
  Eigen::MatrixXf grad;
  const double loss = FedBrObjective::FedDecorrLoss(f, &grad);
  CHECK(loss > 1.0 / 5.0);  // above the identity matrix's 1/d
  const float h = 1e-3f;
  for (const auto& [r, c] : {std::pair{0, 0}, std::pair{1, 3}, std::pair{4, 7}}) {
    Eigen::MatrixXf plus = f;
    Eigen::MatrixXf minus = f;
    plus(r, c) += h;
    minus(r, c) -= h;
    const double numeric = (FedBrObjective::FedDecorrLoss(plus, nullptr) -
                            FedBrObjective::FedDecorrLoss(minus, nullptr)) /
                           (2.0 * h);
    CHECK(grad(r, c) == doctest::Approx(numeric).epsilon(0.02).scale(0.01));
  }
  Eigen::MatrixXf one(5, 1);
  one.setOnes();
  CHECK(FedBrObjective::FedDecorrLoss(one, &grad) == 0.0);
}

TEST_CASE("FedBR with its defaults trains in the LocalTrainer") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kFedbrObjectiveSpec);
  train::LocalAlgorithm local;
  local.objective = "fedbr";
  auto fedbr = MakeLocalObjective(local, &data);
  train::LocalTrainer trainer(kFedbrObjectiveSpec, data);
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 3);
  recipe.optimizer.momentum = 0.9f;
  const auto result = trainer.Train(testing::Span(global), recipe, fedbr.get());
  CHECK(result.loss_after < result.loss_before - 0.1);
  // Deterministic given the seed.
  const auto again = trainer.Train(testing::Span(global), recipe, fedbr.get());
  CHECK(again.parameters == result.parameters);
}

TEST_CASE("FedBR rejects models without a feature extractor and bad options") {
  const datasets::Dataset data = testing::Tabular();
  FedBrObjective fedbr = FedbrObjectiveMake(FedBrOptions{}, data);
  nn::Model logreg("logreg:60-10");
  Rng rng(1);
  CHECK_THROWS_WITH_AS(fedbr.BeginRound(logreg, rng), doctest::Contains("feature extractor"),
                       ConfigError);
  nn::Model wrong_input("mlp:30-8-10");
  CHECK_THROWS_WITH_AS(fedbr.BeginRound(wrong_input, rng), doctest::Contains("pool"), ConfigError);
  FedBrOptions options;
  options.tau1 = 0.0;
  CHECK_THROWS_WITH_AS(FedbrObjectiveMake(options, data), doctest::Contains("fedbr: tau1"),
                       ConfigError);
  // μ > 0 needs P in the model; μ = 0 does not.
  nn::Model no_head("mlp:60-16-10");
  CHECK_THROWS_WITH_AS(fedbr.BeginRound(no_head, rng),
                       doctest::Contains("model = \"mlp:60-16-10+proj\""), ConfigError);
  FedBrOptions classifier_only;
  classifier_only.mu = 0.0;
  FedBrObjective without_p = FedbrObjectiveMake(classifier_only, data);
  CHECK_NOTHROW(without_p.BeginRound(no_head, rng));
}

}  // namespace edgefl::algorithms
