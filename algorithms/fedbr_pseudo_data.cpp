#include "algorithms/fedbr_pseudo_data.h"

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
  if (images < 1) {
    throw ConfigError("fedbr: pool_images must be >= 1, got " + std::to_string(images));
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
  Eigen::MatrixXf pool =
      Eigen::MatrixXf::Zero(static_cast<Eigen::Index>(clients.front()->dim()), size);
  for (size_t n = 0; n < draws.size(); ++n) {
    const auto i = static_cast<Eigen::Index>(n / static_cast<size_t>(images));
    pool.col(i) += clients[draws[n].client]
                       ->features.row(static_cast<Eigen::Index>(draws[n].sample))
                       .transpose();
  }
  pool /= static_cast<float>(images);
  return pool;
}

}  // namespace edgefl::algorithms
