// Records the largest single heap allocation made while a tracker is
// active (operator new is replaced for the whole wire test binary, see
// alloc_tracker.cpp). Used to prove the decoders check a declared length
// before allocating for it.
#pragma once

#include <cstddef>

namespace edgefl::wire::testing {

class LargestAllocation {
 public:
  LargestAllocation();   // starts recording (resets the maximum)
  ~LargestAllocation();  // stops recording
  LargestAllocation(const LargestAllocation&) = delete;
  LargestAllocation& operator=(const LargestAllocation&) = delete;

  // Largest single allocation since construction, in bytes.
  size_t bytes() const;
};

}  // namespace edgefl::wire::testing
