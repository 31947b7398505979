#include "engine/pseudo_data_pool.h"

#include <algorithm>
#include <exception>
#include <future>
#include <string>
#include <vector>

#include "algorithms/fedbr_pseudo_data.h"
#include "common/error.h"

namespace edgefl::engine {

std::optional<algorithms::PseudoDataSpec> PseudoDataSpecOfAny(
    std::span<const train::FitInstructions> instructions) {
  for (const train::FitInstructions& i : instructions) {
    if (std::optional<algorithms::PseudoDataSpec> spec = algorithms::PseudoDataSpecOf(i.local)) {
      return spec;
    }
  }
  return std::nullopt;
}

std::shared_ptr<const Eigen::MatrixXf> AskPseudoDataPool(const algorithms::PseudoDataSpec& spec,
                                                         std::span<ClientProxy* const> clients) {
  std::vector<ClientProxy*> fleet(clients.begin(), clients.end());
  std::sort(fleet.begin(), fleet.end(),
            [](ClientProxy* a, ClientProxy* b) { return a->info().id < b->info().id; });
  std::vector<size_t> sizes;
  for (ClientProxy* c : fleet)
    sizes.push_back(c->info().num_samples);
  try {
    const std::vector<algorithms::PseudoDataDraw> draws =
        algorithms::DrawPseudoData(sizes, spec.size, spec.images, spec.seed);
    const std::vector<train::PseudoDataRequest> requests =
        algorithms::PseudoDataRequests(draws, fleet.size(), spec.images);
    std::vector<std::future<Eigen::MatrixXf>> pending(fleet.size());
    for (size_t c = 0; c < fleet.size(); ++c) {
      if (requests[c].groups() > 0) pending[c] = fleet[c]->PseudoDataMeans(requests[c]);
    }
    std::vector<Eigen::MatrixXf> means(fleet.size());
    for (size_t c = 0; c < fleet.size(); ++c) {
      if (!pending[c].valid()) continue;
      try {
        means[c] = pending[c].get();
      } catch (const std::exception& e) {
        throw Error(fleet[c]->info().id + ": " + e.what());
      }
    }
    return std::make_shared<const Eigen::MatrixXf>(
        algorithms::AssemblePseudoDataPool(draws, spec.images, means));
  } catch (const std::exception& e) {
    throw Error(std::string("no FedBR pseudo-data pool: ") + e.what());
  }
}

}  // namespace edgefl::engine
