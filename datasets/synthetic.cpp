#include "datasets/synthetic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::datasets {
namespace {

// Stream name for Rng::Derive: client k draws everything from
// Derive(seed, {kSyntheticStream, k}).
constexpr uint64_t kSyntheticStream = 0x53594e5448ULL;  // "SYNTH"

// Samples of one client before the train/test split.
struct ClientData {
  FeatureMatrix x;
  std::vector<int32_t> y;
};

void Validate(const SyntheticOptions& o) {
  auto bad = [](const std::string& what) { throw ConfigError("synthetic: " + what); };
  if (!(o.alpha >= 0.0) || !std::isfinite(o.alpha)) {
    bad("alpha must be finite and >= 0, got " + std::to_string(o.alpha));
  }
  if (!(o.beta >= 0.0) || !std::isfinite(o.beta)) {
    bad("beta must be finite and >= 0, got " + std::to_string(o.beta));
  }
  if (o.num_clients == 0) bad("num_clients must be > 0, got 0");
  if (o.dim == 0) bad("dim must be > 0, got 0");
  if (o.num_classes < 2) {
    bad("num_classes must be >= 2, got " + std::to_string(o.num_classes));
  }
  if (o.max_samples_per_client <= 50) {
    bad("max_samples_per_client must be > 50, got " + std::to_string(o.max_samples_per_client));
  }
  if (!(o.train_fraction > 0.0 && o.train_fraction < 1.0)) {
    bad("train_fraction must be in (0, 1), got " + std::to_string(o.train_fraction));
  }
  // Sample indices are uint32 (Partition::clients).
  if (o.max_samples_per_client > std::numeric_limits<uint32_t>::max() / o.num_clients) {
    bad("num_clients * max_samples_per_client must fit in 32 bits, got " +
        std::to_string(o.num_clients) + " * " + std::to_string(o.max_samples_per_client));
  }
}

ClientData GenerateClient(const SyntheticOptions& o, size_t k, const std::vector<double>& sigma) {
  Rng rng = Rng::Derive(o.seed, {kSyntheticStream, static_cast<uint64_t>(k)});
  const size_t dim = o.dim;
  const size_t classes = static_cast<size_t>(o.num_classes);

  // n_k = floor(LogNormal(4, 2)) + 50, capped; compared in double so a huge
  // draw cannot overflow the conversion.
  const double draw = std::floor(rng.LogNormal(4.0, 2.0));
  const double cap = static_cast<double>(o.max_samples_per_client);
  const size_t n = draw + 50.0 >= cap ? o.max_samples_per_client : static_cast<size_t>(draw) + 50;

  const double u = rng.Normal(0.0, o.alpha);      // model mean
  const double b_mean = rng.Normal(0.0, o.beta);  // input mean
  std::vector<double> v(dim);
  for (double& vj : v)
    vj = rng.Normal(b_mean, 1.0);
  std::vector<double> w(classes * dim);  // row-major classes x dim
  for (double& wcj : w)
    wcj = rng.Normal(u, 1.0);
  std::vector<double> b(classes);
  for (double& bc : b)
    bc = rng.Normal(u, 1.0);

  ClientData out;
  out.x.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(dim));
  out.y.resize(n);
  std::vector<double> x(dim);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < dim; ++j) {
      x[j] = v[j] + sigma[j] * rng.Normal();
      out.x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = static_cast<float>(x[j]);
    }
    size_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < classes; ++c) {
      double score = b[c];
      const double* wc = w.data() + c * dim;
      for (size_t j = 0; j < dim; ++j)
        score += wc[j] * x[j];
      if (score > best_score) {
        best_score = score;
        best = c;
      }
    }
    out.y[i] = static_cast<int32_t>(best);
  }
  return out;
}

}  // namespace

SyntheticFederated GenerateSynthetic(const SyntheticOptions& options) {
  Validate(options);
  const size_t dim = options.dim;

  // Standard deviations: Sigma_jj = (j+1)^-1.2 is the variance of feature j
  // (0-based j), as in the FedProx generator.
  std::vector<double> sigma(dim);
  for (size_t j = 0; j < dim; ++j) {
    sigma[j] = std::sqrt(std::pow(static_cast<double>(j + 1), -1.2));
  }

  std::vector<ClientData> clients(options.num_clients);
  std::vector<size_t> train_sizes(options.num_clients);
  size_t total_train = 0;
  size_t total_test = 0;
  for (size_t k = 0; k < options.num_clients; ++k) {
    clients[k] = GenerateClient(options, k, sigma);
    const size_t n = clients[k].y.size();  // >= 50
    size_t n_train =
        static_cast<size_t>(std::floor(options.train_fraction * static_cast<double>(n)));
    n_train = std::clamp<size_t>(n_train, 1, n - 1);
    train_sizes[k] = n_train;
    total_train += n_train;
    total_test += n - n_train;
  }

  std::ostringstream name;
  name << "synthetic(" << options.alpha << "," << options.beta << ")";

  SyntheticFederated out;
  auto init = [&](Dataset& data, Partition& part, size_t total, const std::string& split) {
    data.name = name.str() + "/" + split;
    data.num_classes = options.num_classes;
    data.sample_shape = {static_cast<int>(dim)};
    data.features.resize(static_cast<Eigen::Index>(total), static_cast<Eigen::Index>(dim));
    data.labels.reserve(total);
    part.spec.num_clients = options.num_clients;
    part.spec.seed = options.seed;
    part.dataset = data.name;
    part.num_samples = total;
    part.clients.resize(options.num_clients);
    part.noise_std.assign(options.num_clients, 0.0f);
  };
  init(out.train, out.train_partition, total_train, "train");
  init(out.test, out.test_partition, total_test, "test");

  // Append rows [begin, end) of client k to `data` and list them in `part`.
  auto append = [](const ClientData& c, size_t begin, size_t end, Dataset& data,
                   std::vector<uint32_t>& indices) {
    const auto first = static_cast<Eigen::Index>(data.labels.size());
    const auto rows = static_cast<Eigen::Index>(end - begin);
    data.features.middleRows(first, rows) = c.x.middleRows(static_cast<Eigen::Index>(begin), rows);
    indices.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      indices.push_back(static_cast<uint32_t>(data.labels.size()));
      data.labels.push_back(c.y[i]);
    }
  };
  for (size_t k = 0; k < options.num_clients; ++k) {
    const ClientData& c = clients[k];
    append(c, 0, train_sizes[k], out.train, out.train_partition.clients[k]);
    append(c, train_sizes[k], c.y.size(), out.test, out.test_partition.clients[k]);
  }
  return out;
}

SyntheticClient GenerateSyntheticClient(const SyntheticOptions& options, uint64_t k) {
  SyntheticOptions one = options;
  one.num_clients = 1;  // k is any client: only the per-client limits apply
  Validate(one);
  std::vector<double> sigma(options.dim);
  for (size_t j = 0; j < options.dim; ++j) {
    sigma[j] = std::sqrt(std::pow(static_cast<double>(j + 1), -1.2));
  }
  const ClientData c = GenerateClient(options, static_cast<size_t>(k), sigma);
  const size_t n = c.y.size();  // >= 50
  const size_t n_train = std::clamp<size_t>(
      static_cast<size_t>(std::floor(options.train_fraction * static_cast<double>(n))), 1, n - 1);
  std::ostringstream name;
  name << "synthetic(" << options.alpha << "," << options.beta << ")";
  SyntheticClient out;
  auto fill = [&](Dataset& data, size_t begin, size_t end, const std::string& split) {
    data.name = name.str() + "/" + split;
    data.num_classes = options.num_classes;
    data.sample_shape = {static_cast<int>(options.dim)};
    data.features =
        c.x.middleRows(static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(end - begin));
    data.labels.assign(c.y.begin() + static_cast<std::ptrdiff_t>(begin),
                       c.y.begin() + static_cast<std::ptrdiff_t>(end));
  };
  fill(out.train, 0, n_train, "train");
  fill(out.test, n_train, n, "test");
  return out;
}

}  // namespace edgefl::datasets
