// Dispatching a block size known only at run time to a kernel compiled for
// it, as the convolution kernels do for their register blocks.
#pragma once

#include <type_traits>

namespace edgefl::nn {

// Calls body(std::integral_constant<int, n>{}) for 1 <= n <= kMax.
// REQUIRES: 1 <= n; n > kMax is treated as kMax.
template <int kMax, typename Body>
void WithBlock(int n, const Body& body) {
  if constexpr (kMax > 1) {
    if (n < kMax) return WithBlock<kMax - 1>(n, body);
  }
  body(std::integral_constant<int, kMax>{});
}

}  // namespace edgefl::nn
