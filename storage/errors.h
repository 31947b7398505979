// Errors specific to the experiment log. Everything else it reports with the
// edgefl::Error family of common/error.h:
//   IoError   - SQLite or the OS refused an operation (disk full, read-only
//               file, I/O error, cannot open, locked); the message names the
//               file and what was being recorded.
//   DataError - the file is not an edgefl experiment log, was written by a
//               newer edgefl, or its content is corrupted (a checkpoint whose
//               SHA-256 does not match, a malformed stored value).
//   ConfigError - a caller passed an impossible value (round < 1, an unknown
//               run id, an update whose round differs from its round commit).
#pragma once

#include <string>

#include "common/error.h"

namespace edgefl::storage {

// A record with the same key is already in the log: a run with the same
// name, a round already committed, an update (run, round, client), an
// evaluation (run, round, split) or a checkpoint (run, round) recorded twice.
// The operation that throws it wrote nothing (its transaction is rolled back),
// so the log is exactly as before the call. Coordinators use it (or
// ExperimentLog::HasUpdate beforehand) to never apply an update twice.
class DuplicateError : public edgefl::Error {
 public:
  using Error::Error;
};

}  // namespace edgefl::storage
