#include "algorithms/module_grid.h"

#include <cctype>
#include <cstdint>

#include "common/error.h"
#include "nn/model.h"

namespace edgefl::algorithms {

ModuleGrid::ModuleGrid(std::vector<Eigen::Index> level_bounds, size_t modules)
    : bounds_(std::move(level_bounds)), modules_(modules), paths_(1) {
  if (bounds_.size() < 2 || bounds_.front() != 0) {
    throw ConfigError("module grid: needs level bounds from 0 for at least one level");
  }
  for (size_t l = 1; l < bounds_.size(); ++l) {
    if (bounds_[l] <= bounds_[l - 1]) {
      throw ConfigError("module grid: level " + std::to_string(l - 1) + " has no parameters");
    }
  }
  if (modules_ == 0) throw ConfigError("module grid: modules must be > 0");
  for (size_t l = 0; l < levels(); ++l) {
    paths_ *= modules_;
    if (paths_ > (size_t{1} << 20)) {
      throw ConfigError("module grid: " + std::to_string(modules_) + "^" +
                        std::to_string(levels()) + " paths exceed 2^20");
    }
  }
}

ModuleGrid ModuleGrid::ForModel(const std::string& model_spec, size_t levels, size_t modules) {
  const nn::Model model(model_spec);
  if (model.has_projection_head()) {
    throw ConfigError("dipaco: model " + model_spec + " has a projection head; use a plain model");
  }
  // The layers that own parameters, as [offset, end) slices.
  std::vector<Eigen::Index> starts;
  for (size_t i = 0; i < model.num_layers(); ++i) {
    const Eigen::Index begin = model.parameter_offset(i);
    const Eigen::Index end =
        i + 1 < model.num_layers() ? model.parameter_offset(i + 1) : model.num_parameters();
    if (end > begin) starts.push_back(begin);
  }
  if (levels == 0 || starts.size() < levels) {
    throw ConfigError("dipaco: model " + model_spec + " has " + std::to_string(starts.size()) +
                      " layers with parameters, fewer than levels = " + std::to_string(levels));
  }
  std::vector<Eigen::Index> bounds;
  const size_t n = starts.size();
  for (size_t l = 0; l < levels; ++l)
    bounds.push_back(starts[l * n / levels]);
  bounds.push_back(model.num_parameters());
  return ModuleGrid(std::move(bounds), modules);
}

size_t ModuleGrid::ModuleOf(size_t path, size_t level) const {
  for (size_t l = 0; l < level; ++l)
    path /= modules_;
  return path % modules_;
}

Eigen::Index ModuleGrid::ModuleOffset(size_t level, size_t module) const {
  return static_cast<Eigen::Index>(modules_) * bounds_[level] +
         static_cast<Eigen::Index>(module) * level_size(level);
}

Eigen::VectorXf ModuleGrid::Gather(const Eigen::VectorXf& grid, size_t path) const {
  Eigen::VectorXf out(path_size());
  for (size_t l = 0; l < levels(); ++l) {
    out.segment(bounds_[l], level_size(l)) =
        grid.segment(ModuleOffset(l, ModuleOf(path, l)), level_size(l));
  }
  return out;
}

Eigen::VectorXf ModuleGrid::Replicate(const Eigen::VectorXf& path_vector) const {
  Eigen::VectorXf grid(grid_size());
  for (size_t l = 0; l < levels(); ++l) {
    for (size_t m = 0; m < modules_; ++m)
      grid.segment(ModuleOffset(l, m), level_size(l)) =
          path_vector.segment(bounds_[l], level_size(l));
  }
  return grid;
}

size_t PathOfClient(const std::string& client_id, size_t paths) {
  size_t end = client_id.size();
  size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(client_id[begin - 1])) != 0)
    --begin;
  if (begin < end && end - begin <= 18) {
    return static_cast<size_t>(std::stoull(client_id.substr(begin)) % paths);
  }
  uint64_t hash = 1469598103934665603ull;
  for (const char c : client_id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return static_cast<size_t>(hash % paths);
}

}  // namespace edgefl::algorithms
