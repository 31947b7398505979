#include "algorithms/dylu.h"

#include <algorithm>
#include <cmath>

namespace edgefl::algorithms {

int64_t DyluLocalSteps(int64_t base_steps, double speed, std::span<const ClientInfo> fleet) {
  double fastest = 0.0;
  for (const ClientInfo& c : fleet)
    fastest = std::max(fastest, c.samples_per_second);
  if (!(speed > 0.0) || !(fastest > 0.0)) return base_steps;
  const double scaled =
      std::floor(static_cast<double>(base_steps) * std::min(speed / fastest, 1.0));
  return std::max<int64_t>(1, static_cast<int64_t>(scaled));
}

}  // namespace edgefl::algorithms
