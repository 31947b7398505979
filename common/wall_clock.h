// The wall clock every timestamp edgefl records is read from.
#pragma once

namespace edgefl {

// Seconds since the Unix epoch on the system clock (the log's `*_at`
// columns, the coordinator's registry and rendezvous times).
double UnixSeconds();

}  // namespace edgefl
