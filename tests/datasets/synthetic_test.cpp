#include "datasets/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::datasets {
namespace {

// Mean over clients of the entropy (bits) of the client's label
// distribution: log2(classes) when every client sees all classes equally,
// 0 when each client sees a single class.
double MeanClientLabelEntropy(const Dataset& data, const Partition& part) {
  double sum = 0.0;
  for (const std::vector<uint32_t>& client : part.clients) {
    std::vector<double> counts(static_cast<size_t>(data.num_classes), 0.0);
    for (uint32_t i : client)
      counts[static_cast<size_t>(data.labels[i])] += 1.0;
    for (double c : counts) {
      const double p = c / static_cast<double>(client.size());
      if (p > 0.0) sum -= p * std::log2(p);
    }
  }
  return sum / static_cast<double>(part.num_clients());
}

// Standard deviation across clients of the client's mean of feature 0: how
// much the clients' inputs differ.
double ClientFeatureSpread(const Dataset& data, const Partition& part) {
  std::vector<double> means;
  for (const std::vector<uint32_t>& client : part.clients) {
    double s = 0.0;
    for (uint32_t i : client)
      s += data.features(i, 0);
    means.push_back(s / static_cast<double>(client.size()));
  }
  const double mean = std::accumulate(means.begin(), means.end(), 0.0) / means.size();
  double var = 0.0;
  for (double m : means)
    var += (m - mean) * (m - mean);
  return std::sqrt(var / means.size());
}

void CheckPartition(const Partition& part, const Dataset& data, const SyntheticOptions& o) {
  CHECK(part.dataset == data.name);
  CHECK(part.num_samples == data.size());
  CHECK(part.spec.num_clients == o.num_clients);
  CHECK(part.spec.seed == o.seed);
  REQUIRE(part.num_clients() == o.num_clients);
  CHECK(part.noise_std == std::vector<float>(o.num_clients, 0.0f));
  // Every index exactly once, sorted within each client.
  std::vector<uint32_t> all;
  for (const std::vector<uint32_t>& client : part.clients) {
    CHECK(!client.empty());
    CHECK(std::is_sorted(client.begin(), client.end()));
    all.insert(all.end(), client.begin(), client.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<uint32_t> expected(data.size());
  std::iota(expected.begin(), expected.end(), 0u);
  CHECK(all == expected);
}

TEST_CASE("GenerateSynthetic: shapes - labels - sizes and partitions") {
  SyntheticOptions o;  // alpha = beta = 1, 30 clients, dim 60, 10 classes
  const SyntheticFederated s = GenerateSynthetic(o);
  CHECK(s.train.name == "synthetic(1,1)/train");
  CHECK(s.test.name == "synthetic(1,1)/test");
  for (const Dataset* d : {&s.train, &s.test}) {
    CHECK(d->num_classes == 10);
    CHECK(d->dim() == 60);
    CHECK(d->sample_shape == std::vector<int>{60});
    CHECK(static_cast<size_t>(d->features.rows()) == d->size());
    CHECK(d->features.allFinite());
    for (int32_t y : d->labels)
      REQUIRE((y >= 0 && y < 10));
  }
  CheckPartition(s.train_partition, s.train, o);
  CheckPartition(s.test_partition, s.test, o);

  size_t at_cap = 0;
  for (size_t k = 0; k < o.num_clients; ++k) {
    const size_t n_train = s.train_partition.clients[k].size();
    const size_t n = n_train + s.test_partition.clients[k].size();
    CHECK(n >= 50);
    CHECK(n <= o.max_samples_per_client);
    CHECK(n_train == static_cast<size_t>(std::floor(0.8 * static_cast<double>(n))));
    if (n == o.max_samples_per_client) ++at_cap;
  }
  // LogNormal(4, 2) is heavy-tailed: sizes differ by orders of magnitude.
  size_t smallest = SIZE_MAX, largest = 0;
  for (size_t k = 0; k < o.num_clients; ++k) {
    const size_t n = s.train_partition.clients[k].size();
    smallest = std::min(smallest, n);
    largest = std::max(largest, n);
  }
  CHECK(largest > 10 * smallest);
  MESSAGE("clients at the cap: " << at_cap << ", train sizes " << smallest << ".." << largest);
}

TEST_CASE("GenerateSynthetic: sizes are capped") {
  SyntheticOptions o;
  o.max_samples_per_client = 60;
  o.num_clients = 50;
  o.train_fraction = 0.99;
  const SyntheticFederated s = GenerateSynthetic(o);
  for (size_t k = 0; k < o.num_clients; ++k) {
    const size_t n = s.train_partition.clients[k].size() + s.test_partition.clients[k].size();
    CHECK(n >= 50);
    CHECK(n <= 60);
    CHECK(s.test_partition.clients[k].size() >= 1);  // at least one test sample
  }
}

TEST_CASE("GenerateSynthetic: same seed gives identical data - another seed different data") {
  SyntheticOptions o;
  o.num_clients = 10;
  o.max_samples_per_client = 500;
  const SyntheticFederated a = GenerateSynthetic(o);
  const SyntheticFederated b = GenerateSynthetic(o);
  CHECK(a.train.features == b.train.features);
  CHECK(a.train.labels == b.train.labels);
  CHECK(a.test.features == b.test.features);
  CHECK(a.test.labels == b.test.labels);
  CHECK(a.train_partition.clients == b.train_partition.clients);

  o.seed = 2;
  const SyntheticFederated c = GenerateSynthetic(o);
  const bool same_shape = c.train.features.rows() == a.train.features.rows();
  CHECK((!same_shape || c.train.features != a.train.features));
  CHECK(c.train.labels != a.train.labels);

  // Client k's data depends only on (seed, k): adding clients keeps the others.
  o.seed = 1;
  o.num_clients = 12;
  const SyntheticFederated d = GenerateSynthetic(o);
  for (size_t k = 0; k < 10; ++k) {
    const auto& ia = a.train_partition.clients[k];
    const auto& id = d.train_partition.clients[k];
    REQUIRE(ia.size() == id.size());
    CHECK(a.train.features.row(ia.front()) == d.train.features.row(id.front()));
    CHECK(a.train.labels[ia.back()] == d.train.labels[id.back()]);
  }
}

TEST_CASE("GenerateSynthetic: larger alpha - beta make clients more heterogeneous") {
  SyntheticOptions o;
  o.num_clients = 40;
  o.max_samples_per_client = 400;
  auto generate = [&](double alpha, double beta) {
    o.alpha = alpha;
    o.beta = beta;
    return GenerateSynthetic(o);
  };
  const SyntheticFederated s00 = generate(0.0, 0.0);
  const SyntheticFederated s11 = generate(1.0, 1.0);
  const SyntheticFederated s1010 = generate(10.0, 10.0);

  // Labels: with a large beta each client's inputs sit far from the origin
  // in a client-specific direction, so its labels concentrate on the class
  // its own model favours there (even (0,0) is strongly non-IID: ~0.6 bits
  // of the possible log2(10) = 3.3).
  const double h00 = MeanClientLabelEntropy(s00.train, s00.train_partition);
  const double h11 = MeanClientLabelEntropy(s11.train, s11.train_partition);
  const double h1010 = MeanClientLabelEntropy(s1010.train, s1010.train_partition);
  MESSAGE("mean per-client label entropy (bits): (0,0) " << h00 << ", (1,1) " << h11 << ", (10,10) "
                                                         << h1010);
  CHECK(h00 > h11);
  CHECK(h11 > h1010);
  CHECK(h1010 < 0.5 * h00);

  // Inputs: v_k ~ N(B_k, 1) with B_k ~ N(0, beta), so the spread of the
  // clients' feature means is ~ sqrt(1 + beta^2).
  const double spread00 = ClientFeatureSpread(s00.train, s00.train_partition);
  const double spread1010 = ClientFeatureSpread(s1010.train, s1010.train_partition);
  MESSAGE("spread of client feature-0 means: (0,0) " << spread00 << ", (10,10) " << spread1010);
  CHECK(spread00 == doctest::Approx(1.0).epsilon(0.4));
  CHECK(spread1010 > 5.0 * spread00);
}

TEST_CASE("GenerateSynthetic: alpha alone does not change the labels") {
  // u_k shifts every class score by the same u_k * (1 + sum(x)), so the
  // argmax, and the labels, are the same for any alpha (as in FedProx's
  // generator); only beta changes the label mix. Float rounding may flip a
  // rare near-tie.
  SyntheticOptions o;
  o.num_clients = 10;
  o.max_samples_per_client = 300;
  o.alpha = 0.0;
  const SyntheticFederated a = GenerateSynthetic(o);
  o.alpha = 5.0;
  const SyntheticFederated b = GenerateSynthetic(o);
  CHECK(a.train.features == b.train.features);
  REQUIRE(a.train.labels.size() == b.train.labels.size());
  size_t same = 0;
  for (size_t i = 0; i < a.train.labels.size(); ++i)
    same += a.train.labels[i] == b.train.labels[i];
  CHECK(static_cast<double>(same) >= 0.99 * static_cast<double>(a.train.labels.size()));
}

TEST_CASE("GenerateSynthetic: bad options name the parameter") {
  auto check = [](void (*mutate)(SyntheticOptions&), const char* parameter) {
    SyntheticOptions o;
    mutate(o);
    CAPTURE(parameter);
    CHECK_THROWS_WITH_AS(GenerateSynthetic(o), doctest::Contains(parameter), ConfigError);
  };
  check([](SyntheticOptions& o) { o.alpha = -1.0; }, "alpha");
  check([](SyntheticOptions& o) { o.alpha = std::nan(""); }, "alpha");
  check([](SyntheticOptions& o) { o.beta = -0.5; }, "beta");
  check([](SyntheticOptions& o) { o.beta = INFINITY; }, "beta");
  check([](SyntheticOptions& o) { o.num_clients = 0; }, "num_clients");
  check([](SyntheticOptions& o) { o.dim = 0; }, "dim");
  check([](SyntheticOptions& o) { o.num_classes = 1; }, "num_classes");
  check([](SyntheticOptions& o) { o.max_samples_per_client = 50; }, "max_samples_per_client");
  check([](SyntheticOptions& o) { o.train_fraction = 0.0; }, "train_fraction");
  check([](SyntheticOptions& o) { o.train_fraction = 1.0; }, "train_fraction");
  check([](SyntheticOptions& o) { o.num_clients = size_t{1} << 30; }, "max_samples_per_client");
}

}  // namespace
}  // namespace edgefl::datasets
