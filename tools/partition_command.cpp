#include "tools/commands.h"

namespace edgefl::tools {

int RunPartition(int, char**) { return 1; }  // filled in below

}  // namespace edgefl::tools
