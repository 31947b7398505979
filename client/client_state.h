// The state edgefl-client keeps on disk across restarts (--state FILE,
// default: its certificate's path with the extension ".state"): the run it
// belongs to and the top-k error-feedback residual (compress/error_feedback.h),
// so a device that restarts still sends what earlier rounds left unsent.
//
// Format (little-endian): "EFCS" (4 bytes), u32 version = 1, u32 length +
// run id bytes, u64 n, n x f32 residual. Written to FILE.tmp (mode 0600),
// flushed, then renamed over FILE, so a crash leaves the old file or the
// new one, never half of one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace edgefl::client {

struct ClientState {
  std::string run_id;
  std::vector<float> residual;  // empty = none
};

// The state in `path`; nullopt if it does not exist. Throws DataError naming
// the file if it is not a state file or is truncated, IoError if it cannot
// be read.
std::optional<ClientState> LoadClientState(const std::filesystem::path& path);

// Replaces `path` atomically (see above). Throws IoError naming the file.
void SaveClientState(const std::filesystem::path& path, const ClientState& state);

// The default state file of a device: `certificate` with the extension
// ".state" (certs/client-3.crt -> certs/client-3.state).
std::filesystem::path DefaultStatePath(const std::filesystem::path& certificate);

}  // namespace edgefl::client
