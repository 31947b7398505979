#include "common/wall_clock.h"

#include <chrono>

namespace edgefl {

double UnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace edgefl
