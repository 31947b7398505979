#include "storage/records.h"

#include <string>

#include "common/error.h"

namespace edgefl::storage {

std::string_view ToString(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kCompleted:
      return "completed";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kInterrupted:
      return "interrupted";
  }
  return "running";
}

RunStatus ParseRunStatus(std::string_view text) {
  for (RunStatus s :
       {RunStatus::kRunning, RunStatus::kCompleted, RunStatus::kFailed, RunStatus::kInterrupted}) {
    if (ToString(s) == text) return s;
  }
  throw DataError("unknown run status \"" + std::string(text) +
                  "\" (expected running, completed, failed or interrupted)");
}

std::string_view ToString(UpdateStatus status) {
  switch (status) {
    case UpdateStatus::kAccepted:
      return "accepted";
    case UpdateStatus::kRejected:
      return "rejected";
    case UpdateStatus::kDropped:
      return "dropped";
    case UpdateStatus::kDiscarded:
      return "discarded";
  }
  return "accepted";
}

UpdateStatus ParseUpdateStatus(std::string_view text) {
  for (UpdateStatus s : {UpdateStatus::kAccepted, UpdateStatus::kRejected, UpdateStatus::kDropped,
                         UpdateStatus::kDiscarded}) {
    if (ToString(s) == text) return s;
  }
  throw DataError("unknown update status \"" + std::string(text) +
                  "\" (expected accepted, rejected, dropped or discarded)");
}

}  // namespace edgefl::storage
