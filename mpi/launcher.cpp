#include "mpi/launcher.h"

#include <cstdlib>
#include <initializer_list>

namespace edgefl::mpi {
namespace {

const char* Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

bool LaunchedByMpirun() {
  return Env("OMPI_COMM_WORLD_SIZE") != nullptr || Env("PMI_SIZE") != nullptr ||
         Env("PMIX_RANK") != nullptr;
}

int LaunchRank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"}) {
    if (const char* value = Env(name)) return std::atoi(value);
  }
  return 0;
}

int LaunchSize() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    if (const char* value = Env(name)) return std::atoi(value);
  }
  return 1;
}

}  // namespace edgefl::mpi
