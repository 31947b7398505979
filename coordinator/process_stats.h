// The coordinator process's own resource use, read from /proc at the time
// of the call (Linux): what a metrics scrape reports as
// process_resident_memory_bytes and process_open_fds.
#pragma once

#include <cstdint>
#include <optional>

namespace edgefl::coordinator {

// Resident set size in bytes (/proc/self/statm); nullopt where /proc is not
// readable.
std::optional<uint64_t> ResidentBytes();

// Open file descriptors (entries of /proc/self/fd, not counting the one
// used to list them); nullopt where /proc is not readable.
std::optional<uint64_t> OpenFileDescriptors();

}  // namespace edgefl::coordinator
