// DiPaCo's module grid (Douillard et al. 2024, arXiv 2403.10616 §2): the
// model is L levels of K interchangeable modules; a path takes one module per
// level and is an ordinary model of the run's spec whose flat parameter
// vector is the concatenation of its modules, level 0 first. Level l is a
// contiguous slice [bound_l, bound_{l+1}) of that vector.
//
// Paths are numbered p = Σ_l m_l K^l (m_l the module at level l, level 0
// the least significant digit), so there are K^L of them and path 0 is
// module 0 everywhere. The grid vector holds level 0's K modules, then
// level 1's, ...: module (l, m) starts at K·bound_l + m·(bound_{l+1} − bound_l).
// A plain value type.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace edgefl::algorithms {

class ModuleGrid {
 public:
  // Levels from the path vector's slice bounds (levels + 1 increasing
  // offsets from 0) and `modules` per level. Throws ConfigError for bounds
  // that are not increasing from 0, or modules = 0, or K^L over 2^20 paths.
  ModuleGrid(std::vector<Eigen::Index> level_bounds, size_t modules);

  // The grid of `levels` levels for paths of `model_spec`: its layers with
  // parameters split into `levels` contiguous groups of ⌊n/L⌋ or ⌈n/L⌉
  // layers (the later groups the larger). Throws ConfigError naming the spec
  // when it has fewer parameter layers than levels, or a projection head.
  static ModuleGrid ForModel(const std::string& model_spec, size_t levels, size_t modules);

  size_t levels() const { return bounds_.size() - 1; }
  size_t modules() const { return modules_; }
  size_t paths() const { return paths_; }
  Eigen::Index path_size() const { return bounds_.back(); }
  Eigen::Index grid_size() const { return path_size() * static_cast<Eigen::Index>(modules_); }
  Eigen::Index level_begin(size_t level) const { return bounds_[level]; }
  Eigen::Index level_size(size_t level) const { return bounds_[level + 1] - bounds_[level]; }

  // The module path `path` takes at `level`.
  size_t ModuleOf(size_t path, size_t level) const;
  // Where module (level, module) starts in the grid vector.
  Eigen::Index ModuleOffset(size_t level, size_t module) const;
  // Path `path`'s parameters, gathered from `grid`. REQUIRES: sizes fit.
  Eigen::VectorXf Gather(const Eigen::VectorXf& grid, size_t path) const;
  // A grid whose every module at level l is `path_vector`'s level-l slice.
  Eigen::VectorXf Replicate(const Eigen::VectorXf& path_vector) const;

 private:
  std::vector<Eigen::Index> bounds_;
  size_t modules_;
  size_t paths_;
};

// The path a client trains: the number its id ends with (its partition
// index: "sim-0007", "client-7") modulo `paths`; an id without one is
// hashed (FNV-1a). REQUIRES: paths > 0.
size_t PathOfClient(const std::string& client_id, size_t paths);

}  // namespace edgefl::algorithms
