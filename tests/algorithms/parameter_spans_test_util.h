// Helper shared by the aggregation-rule tests: spans over plain vectors.
#pragma once

#include <vector>

#include "algorithms/aggregate.h"

namespace edgefl::algorithms::testing {

// One ParameterSpan per vector (the vectors must outlive the spans).
inline std::vector<ParameterSpan> Spans(const std::vector<std::vector<float>>& vectors) {
  std::vector<ParameterSpan> spans;
  for (const auto& v : vectors)
    spans.emplace_back(v);
  return spans;
}

}  // namespace edgefl::algorithms::testing
