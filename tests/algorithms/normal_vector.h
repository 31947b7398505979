// Random test vectors for the algorithms tests.
#pragma once

#include <Eigen/Core>

#include "common/random.h"

namespace edgefl::algorithms::testing {

// n independent draws from N(0, scale^2), in the generator's order.
inline Eigen::VectorXf NormalVector(Rng& rng, Eigen::Index n, float scale = 1.0f) {
  Eigen::VectorXf v(n);
  for (Eigen::Index i = 0; i < n; ++i)
    v[i] = scale * static_cast<float>(rng.Normal());
  return v;
}

}  // namespace edgefl::algorithms::testing
