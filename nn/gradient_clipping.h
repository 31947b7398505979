// Gradient clipping on the flat gradient vector.
#pragma once

#include <vector>

#include <Eigen/Core>

namespace edgefl::nn {

// Global-norm clipping: if |g|_2 > max_norm, scales g to norm max_norm.
// Returns the norm before clipping. Throws ConfigError unless max_norm > 0.
float ClipByGlobalNorm(Eigen::Ref<Eigen::VectorXf> g, float max_norm);

// Coordinate-wise clipping (Pan & Li 2023, "Toward understanding why Adam
// converges faster than SGD for transformers"): with d = g.size(),
// tau = the value at index floor(c * d) of |g| sorted in descending order
// (index clamped to d - 1), then g_i <- sign(g_i) * min(|g_i|, scale * tau).
// With scale >= 1 at most floor(c * d) coordinates (plus ties) change.
// c = 0 is the identity. `scratch` (optional) avoids an allocation per call.
// Returns tau (0 when c = 0 or g is empty). Throws ConfigError unless
// 0 <= c <= 1 and scale > 0.
float ClipCoordinates(Eigen::Ref<Eigen::VectorXf> g, double c, float scale = 1.0f,
                      std::vector<float>* scratch = nullptr);

}  // namespace edgefl::nn
