#include "algorithms/fedbr_pseudo_data.h"

#include <cstring>
#include <set>
#include <string>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::algorithms {
namespace {

constexpr uint64_t kPoolStream = 0x706f6f6c;  // "pool"

}  // namespace

std::vector<PseudoDataDraw> DrawPseudoData(std::span<const size_t> client_sizes, int size,
                                           int images, uint64_t seed) {
  if (size < 1) throw ConfigError("fedbr: pool_size must be >= 1, got " + std::to_string(size));
  if (images < 2) {
    throw ConfigError(
        "fedbr: pool_images must be >= 2 (a mean of one image is a raw sample), got " +
        std::to_string(images));
  }
  if (client_sizes.empty()) {
    throw ConfigError("fedbr: cannot build the pseudo-data pool without any client data");
  }
  for (size_t c = 0; c < client_sizes.size(); ++c) {
    if (client_sizes[c] == 0) {
      throw ConfigError("fedbr: cannot build the pseudo-data pool: client " + std::to_string(c) +
                        " has no samples");
    }
  }
  Rng rng = Rng::Derive(seed, {kPoolStream});
  std::vector<PseudoDataDraw> draws;
  draws.reserve(static_cast<size_t>(size) * static_cast<size_t>(images));
  for (int i = 0; i < size; ++i) {
    const auto client = static_cast<size_t>(rng.UniformInt(client_sizes.size()));
    for (int k = 0; k < images; ++k) {
      draws.push_back({client, static_cast<size_t>(rng.UniformInt(client_sizes[client]))});
    }
  }
  return draws;
}

std::vector<train::PseudoDataRequest> PseudoDataRequests(std::span<const PseudoDataDraw> draws,
                                                         size_t num_clients, int images) {
  std::vector<train::PseudoDataRequest> requests(num_clients);
  for (train::PseudoDataRequest& r : requests)
    r.images = static_cast<uint32_t>(images);
  for (const PseudoDataDraw& d : draws) {
    if (d.client >= num_clients) throw Error("fedbr: a pseudo-data draw names an unknown client");
    requests[d.client].samples.push_back(static_cast<uint32_t>(d.sample));
  }
  return requests;
}

Eigen::MatrixXf PseudoDataMeans(const datasets::Dataset& data,
                                const train::PseudoDataRequest& request) {
  if (request.images < 2) {
    throw ConfigError("fedbr: refusing to send means of " + std::to_string(request.images) +
                      " image(s): a mean of one image is a raw sample (pool_images must be >= 2)");
  }
  if (request.samples.size() % request.images != 0) {
    throw ConfigError("fedbr: the pseudo-data request has " +
                      std::to_string(request.samples.size()) + " samples, not a multiple of " +
                      std::to_string(request.images));
  }
  const size_t groups = request.groups();
  Eigen::MatrixXf means = Eigen::MatrixXf::Zero(static_cast<Eigen::Index>(data.dim()),
                                                static_cast<Eigen::Index>(groups));
  for (size_t g = 0; g < groups; ++g) {
    std::set<uint32_t> distinct;
    for (size_t k = 0; k < request.images; ++k) {
      const uint32_t sample = request.samples[g * request.images + k];
      if (sample >= data.size()) {
        throw ConfigError("fedbr: the pseudo-data request names sample " + std::to_string(sample) +
                          " of " + std::to_string(data.size()));
      }
      distinct.insert(sample);
      means.col(static_cast<Eigen::Index>(g)) +=
          data.features.row(static_cast<Eigen::Index>(sample)).transpose();
    }
    if (distinct.size() < 2) {
      throw ConfigError("fedbr: refusing to send pseudo-sample " + std::to_string(g) +
                        ": its images are all sample " + std::to_string(*distinct.begin()) +
                        ", so its mean would be a raw sample");
    }
  }
  means /= static_cast<float>(request.images);
  return means;
}

Eigen::MatrixXf AssemblePseudoDataPool(std::span<const PseudoDataDraw> draws, int images,
                                       std::span<const Eigen::MatrixXf> means) {
  const std::vector<train::PseudoDataRequest> requests =
      PseudoDataRequests(draws, means.size(), images);
  for (size_t c = 0; c < means.size(); ++c) {
    if (static_cast<size_t>(means[c].cols()) != requests[c].groups() ||
        (requests[c].groups() > 0 && means[c].rows() != means.front().rows())) {
      throw DataError("fedbr: client " + std::to_string(c) + " answered " +
                      std::to_string(means[c].rows()) + " x " + std::to_string(means[c].cols()) +
                      " pseudo-data means for a request of " +
                      std::to_string(requests[c].groups()) + " groups");
    }
  }
  const size_t size = draws.size() / static_cast<size_t>(images);
  Eigen::Index rows = 0;
  for (const Eigen::MatrixXf& m : means)
    if (m.cols() > 0) rows = m.rows();
  Eigen::MatrixXf pool(rows, static_cast<Eigen::Index>(size));
  std::vector<Eigen::Index> next(means.size(), 0);
  for (size_t i = 0; i < size; ++i) {
    const size_t c = draws[i * static_cast<size_t>(images)].client;
    if (means[c].rows() != rows) throw DataError("fedbr: the clients' means differ in features");
    pool.col(static_cast<Eigen::Index>(i)) = means[c].col(next[c]++);
  }
  return pool;
}

uint64_t PseudoDataFingerprint(const Eigen::MatrixXf& pool) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](const void* bytes, size_t n) {
    const auto* p = static_cast<const unsigned char*>(bytes);
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 0x100000001b3ULL;
    }
  };
  const int64_t shape[2] = {pool.rows(), pool.cols()};
  mix(shape, sizeof shape);
  mix(pool.data(), sizeof(float) * static_cast<size_t>(pool.size()));
  return h;
}

Eigen::MatrixXf BuildPseudoDataPool(std::span<const datasets::Dataset* const> clients, int size,
                                    int images, uint64_t seed) {
  std::vector<size_t> sizes;
  for (const datasets::Dataset* data : clients) {
    sizes.push_back(data->size());
    if (data->dim() != clients.front()->dim()) {
      throw ConfigError("fedbr: the clients' data for the pseudo-data pool differ in features (" +
                        clients.front()->name + " " + std::to_string(clients.front()->dim()) +
                        ", " + data->name + " " + std::to_string(data->dim()) + ")");
    }
  }
  const std::vector<PseudoDataDraw> draws = DrawPseudoData(sizes, size, images, seed);
  const std::vector<train::PseudoDataRequest> requests =
      PseudoDataRequests(draws, clients.size(), images);
  std::vector<Eigen::MatrixXf> means;
  for (size_t c = 0; c < clients.size(); ++c)
    means.push_back(PseudoDataMeans(*clients[c], requests[c]));
  return AssemblePseudoDataPool(draws, images, means);
}

}  // namespace edgefl::algorithms
