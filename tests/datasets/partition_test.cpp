#include "datasets/partition.h"

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "datasets/partition_stats.h"

namespace edgefl::datasets {
namespace {

constexpr int kClasses = 10;

// n labels, balanced over kClasses classes, interleaved 0, 1, ..., 9, 0, ...
std::vector<int32_t> BalancedLabels(size_t n = 60000) {
  std::vector<int32_t> labels(n);
  for (size_t i = 0; i < n; ++i)
    labels[i] = static_cast<int32_t>(i % kClasses);
  return labels;
}

PartitionSpec Spec(PartitionScheme scheme, size_t clients, uint64_t seed = 1) {
  PartitionSpec spec;
  spec.scheme = scheme;
  spec.num_clients = clients;
  spec.seed = seed;
  return spec;
}

Partition Make(const PartitionSpec& spec, const std::vector<int32_t>& labels) {
  return MakePartition(spec, labels, kClasses, "synthetic/test");
}

// Every index in [0, n) is held by exactly one client, every client is
// non-empty and its indices are sorted ascending.
void CheckExactCover(const Partition& p, size_t n) {
  CHECK(p.num_samples == n);
  std::vector<int> seen(n, 0);
  for (const std::vector<uint32_t>& client : p.clients) {
    CHECK(!client.empty());
    CHECK(std::is_sorted(client.begin(), client.end()));
    for (uint32_t i : client) {
      REQUIRE(i < n);
      ++seen[i];
    }
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
  CHECK(p.noise_std.size() == p.num_clients());
}

double SizeRatio(const Partition& p) {
  size_t lo = p.clients[0].size(), hi = lo;
  for (const auto& c : p.clients) {
    lo = std::min(lo, c.size());
    hi = std::max(hi, c.size());
  }
  return static_cast<double>(hi) / static_cast<double>(lo);
}

// Mean over clients of the share of the client's most common class.
double MeanTopClassShare(const PartitionStats& stats) {
  double sum = 0.0;
  for (size_t c = 0; c < stats.sizes.size(); ++c) {
    const auto& counts = stats.class_counts[c];
    sum += static_cast<double>(*std::max_element(counts.begin(), counts.end())) /
           static_cast<double>(stats.sizes[c]);
  }
  return sum / static_cast<double>(stats.sizes.size());
}

template <typename E>
void CheckThrows(const PartitionSpec& spec, const std::vector<int32_t>& labels,
                 const std::string& expected) {
  bool thrown = false;
  try {
    Make(spec, labels);
  } catch (const E& e) {
    thrown = true;
    INFO("message: " << e.what());
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
  CHECK_MESSAGE(thrown, "expected an exception mentioning '" << expected << "'");
}

const PartitionScheme kAllSchemes[] = {PartitionScheme::kIid, PartitionScheme::kDirichlet,
                                       PartitionScheme::kShards, PartitionScheme::kQuantitySkew,
                                       PartitionScheme::kFeatureNoise};

}  // namespace

TEST_CASE("ParsePartitionScheme: names round-trip - unknown names list the accepted ones") {
  for (PartitionScheme scheme : kAllSchemes) {
    CHECK(ParsePartitionScheme(PartitionSchemeName(scheme)) == scheme);
  }
  CHECK(ParsePartitionScheme("quantity") == PartitionScheme::kQuantitySkew);
  CHECK(ParsePartitionScheme("noise") == PartitionScheme::kFeatureNoise);
  try {
    ParsePartitionScheme("label-skew");
    FAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    CHECK(message.find("label-skew") != std::string::npos);
    CHECK(message.find("dirichlet") != std::string::npos);
  }
}

TEST_CASE("MakePartition: every scheme covers every sample exactly once - no empty client") {
  const std::vector<int32_t> labels = BalancedLabels();
  for (PartitionScheme scheme : kAllSchemes) {
    for (size_t clients : {size_t{1}, size_t{7}, size_t{100}}) {
      INFO(PartitionSchemeName(scheme) << " with " << clients << " clients");
      PartitionSpec spec = Spec(scheme, clients);
      spec.alpha = 0.5;
      const Partition p = Make(spec, labels);
      CHECK(p.num_clients() == clients);
      CHECK(p.dataset == "synthetic/test");
      CheckExactCover(p, labels.size());
    }
  }
}

TEST_CASE("MakePartition: same seed gives the same partition - another seed a different one") {
  const std::vector<int32_t> labels = BalancedLabels();
  for (PartitionScheme scheme : kAllSchemes) {
    INFO(PartitionSchemeName(scheme));
    const Partition a = Make(Spec(scheme, 20, 5), labels);
    const Partition b = Make(Spec(scheme, 20, 5), labels);
    const Partition c = Make(Spec(scheme, 20, 6), labels);
    CHECK(a.clients == b.clients);
    CHECK(a.noise_std == b.noise_std);
    CHECK(a.clients != c.clients);
  }
}

TEST_CASE("MakePartition: iid gives equal sizes (+-1) and near-balanced labels") {
  const std::vector<int32_t> labels = BalancedLabels(60003);
  const Partition p = Make(Spec(PartitionScheme::kIid, 10), labels);
  for (size_t c = 0; c < 10; ++c)
    CHECK(p.clients[c].size() == (c < 3 ? 6001u : 6000u));
  const PartitionStats stats = ComputePartitionStats(p, labels, kClasses);
  CHECK(stats.mean_classes_per_client == 10.0);
  CHECK(MeanTopClassShare(stats) < 0.12);
  for (float s : p.noise_std)
    CHECK(s == 0.0f);
}

TEST_CASE("MakePartition: dirichlet alpha=0.1 is far more skewed than alpha=100") {
  const std::vector<int32_t> labels = BalancedLabels();
  PartitionSpec skewed = Spec(PartitionScheme::kDirichlet, 10);
  skewed.alpha = 0.1;
  PartitionSpec mild = skewed;
  mild.alpha = 100.0;
  const Partition p_skewed = Make(skewed, labels);
  const Partition p_mild = Make(mild, labels);
  CheckExactCover(p_skewed, labels.size());
  const PartitionStats s_skewed = ComputePartitionStats(p_skewed, labels, kClasses);
  const PartitionStats s_mild = ComputePartitionStats(p_mild, labels, kClasses);
  INFO("alpha=0.1:\n" << FormatPartitionTable(s_skewed));
  INFO("alpha=100:\n" << FormatPartitionTable(s_mild));

  CHECK(s_mild.mean_classes_per_client == 10.0);
  // Rare classes still leave a stray sample or two, so the gap is not 10 vs 1.
  CHECK(s_skewed.mean_classes_per_client <= s_mild.mean_classes_per_client - 2.5);
  CHECK(SizeRatio(p_mild) < 1.3);
  CHECK(SizeRatio(p_skewed) > 3.0);
  CHECK(MeanTopClassShare(s_mild) < 0.15);
  CHECK(MeanTopClassShare(s_skewed) > 0.4);
}

TEST_CASE("MakePartition: dirichlet honours min_client_size and explains when alpha is too small") {
  const std::vector<int32_t> labels = BalancedLabels(6000);
  PartitionSpec spec = Spec(PartitionScheme::kDirichlet, 20);
  spec.alpha = 0.5;
  spec.min_client_size = 50;
  const Partition p = Make(spec, labels);
  for (const auto& client : p.clients)
    CHECK(client.size() >= 50);

  PartitionSpec hopeless = Spec(PartitionScheme::kDirichlet, 50);
  hopeless.alpha = 0.001;
  hopeless.min_client_size = 100;
  CheckThrows<ConfigError>(hopeless, labels, "alpha 0.001 is too small for 50 clients");
  CheckThrows<ConfigError>(hopeless, labels, "min_client_size");
}

TEST_CASE("MakePartition: shards with 2 per client gives about 2 classes per client") {
  std::vector<int32_t> sorted = BalancedLabels();
  std::sort(sorted.begin(), sorted.end());
  for (const std::vector<int32_t>& labels : {sorted, BalancedLabels()}) {
    for (size_t clients : {size_t{10}, size_t{100}}) {
      INFO(clients << " clients");
      PartitionSpec spec = Spec(PartitionScheme::kShards, clients);
      spec.classes_per_client = 2;
      const Partition p = Make(spec, labels);
      CheckExactCover(p, labels.size());
      const PartitionStats stats = ComputePartitionStats(p, labels, kClasses);
      CHECK(stats.mean_classes_per_client <= 2.5);
      CHECK(stats.min_size == labels.size() / clients);
      CHECK(stats.max_size == labels.size() / clients);
    }
  }
}

TEST_CASE("MakePartition: shards of unequal size (+-1) when n is not a multiple") {
  const std::vector<int32_t> labels = BalancedLabels(1003);
  PartitionSpec spec = Spec(PartitionScheme::kShards, 7);
  spec.classes_per_client = 3;
  const Partition p = Make(spec, labels);
  CheckExactCover(p, labels.size());
  for (const auto& client : p.clients) {
    CHECK(client.size() >= 3 * (1003 / 21));
    CHECK(client.size() <= 3 * (1003 / 21 + 1));
  }
}

TEST_CASE("MakePartition: quantity skew with small alpha has a larger size spread") {
  const std::vector<int32_t> labels = BalancedLabels();
  PartitionSpec skewed = Spec(PartitionScheme::kQuantitySkew, 20);
  skewed.alpha = 0.2;
  skewed.min_client_size = 10;
  PartitionSpec mild = skewed;
  mild.alpha = 100.0;
  const Partition p_skewed = Make(skewed, labels);
  const Partition p_mild = Make(mild, labels);
  CheckExactCover(p_skewed, labels.size());
  CheckExactCover(p_mild, labels.size());
  for (const auto& client : p_skewed.clients)
    CHECK(client.size() >= 10);
  CHECK(SizeRatio(p_mild) < 1.5);
  CHECK(SizeRatio(p_skewed) > 10.0);
  // Labels stay IID: every client of 1000+ samples sees every class.
  const PartitionStats stats = ComputePartitionStats(p_skewed, labels, kClasses);
  for (size_t c = 0; c < stats.sizes.size(); ++c) {
    if (stats.sizes[c] < 1000) continue;
    for (size_t k = 0; k < kClasses; ++k)
      CHECK(stats.class_counts[c][k] > 0);
  }
}

TEST_CASE("MakePartition: feature noise std rises linearly with the client id") {
  const std::vector<int32_t> labels = BalancedLabels(1000);
  PartitionSpec spec = Spec(PartitionScheme::kFeatureNoise, 5);
  spec.noise = 0.2;
  const Partition p = Make(spec, labels);
  REQUIRE(p.noise_std.size() == 5);
  CHECK(p.noise_std[0] == 0.0f);
  for (size_t i = 1; i < 5; ++i) {
    CHECK(p.noise_std[i] > p.noise_std[i - 1]);
    CHECK(p.noise_std[i] == doctest::Approx(0.2 * static_cast<double>(i) / 4.0));
  }
  CHECK(p.noise_std[4] == doctest::Approx(0.2));
  // The split itself is the IID split of the same seed.
  CHECK(p.clients == Make(Spec(PartitionScheme::kIid, 5), labels).clients);

  spec.num_clients = 1;
  CHECK(Make(spec, labels).noise_std == std::vector<float>{0.0f});
}

TEST_CASE("MakePartition: bad parameters throw ConfigError naming the parameter") {
  const std::vector<int32_t> labels = BalancedLabels(50);
  CheckThrows<ConfigError>(Spec(PartitionScheme::kIid, 0), labels,
                           "partition: num_clients must be > 0, got 0");
  CheckThrows<ConfigError>(Spec(PartitionScheme::kIid, 100), labels,
                           "partition: 100 clients but only 50 samples");
  for (PartitionScheme scheme : {PartitionScheme::kDirichlet, PartitionScheme::kQuantitySkew}) {
    PartitionSpec spec = Spec(scheme, 5);
    spec.alpha = 0.0;
    CheckThrows<ConfigError>(spec, labels, "partition: alpha must be > 0, got 0");
    spec.alpha = -1.5;
    CheckThrows<ConfigError>(spec, labels, "partition: alpha must be > 0, got -1.5");
    spec.alpha = 1.0;
    spec.min_client_size = 11;
    CheckThrows<ConfigError>(spec, labels, "min_client_size 11");
  }
  PartitionSpec shards = Spec(PartitionScheme::kShards, 5);
  shards.classes_per_client = 0;
  CheckThrows<ConfigError>(shards, labels, "partition: classes_per_client must be > 0, got 0");
  shards.classes_per_client = 11;  // 55 shards > 50 samples
  CheckThrows<ConfigError>(shards, labels, "classes_per_client 11 x 5 clients");
  PartitionSpec noise = Spec(PartitionScheme::kFeatureNoise, 5);
  noise.noise = -0.1;
  CheckThrows<ConfigError>(noise, labels, "partition: noise must be >= 0, got -0.1");

  // Parameters of other schemes are ignored.
  PartitionSpec iid = Spec(PartitionScheme::kIid, 5);
  iid.alpha = 0.0;
  iid.classes_per_client = 0;
  iid.noise = -1.0;
  CHECK(Make(iid, labels).num_clients() == 5);
}

TEST_CASE("MakePartition: a label outside 0..num_classes-1 is a DataError naming index and value") {
  std::vector<int32_t> labels = BalancedLabels(50);
  labels[17] = 10;
  CheckThrows<DataError>(Spec(PartitionScheme::kIid, 5), labels, "label 10 at index 17");
  labels[17] = 3;
  labels[3] = -1;
  CheckThrows<DataError>(Spec(PartitionScheme::kDirichlet, 5), labels, "label -1 at index 3");
}

}  // namespace edgefl::datasets
