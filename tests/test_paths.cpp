// The configured source and build directories (tests/test_util.h). They are
// compile definitions of this object only: an absolute path in a definition
// would make every test object differ between clones and miss the cache.
#include <string>

#include "tests/test_util.h"

namespace edgefl::testing {

std::string SourceDir() {
  return EDGEFL_SOURCE_DIR;
}

std::string BinaryDir() {
  return EDGEFL_BINARY_DIR;
}

}  // namespace edgefl::testing
