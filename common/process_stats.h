// This process's own resource use, read from /proc at the time of the call
// (Linux): what the coordinator's metrics scrape and the device client's
// metrics file report (process_resident_memory_bytes, process_open_fds).
// Under qemu-user these are the emulator process's: qemu passes
// /proc/self/statm and /proc/self/status through from the host.
#pragma once

#include <cstdint>
#include <optional>

namespace edgefl {

// Resident set size in bytes (/proc/self/statm); nullopt where /proc is not
// readable.
std::optional<uint64_t> ResidentBytes();

// Peak resident set size in bytes (VmHWM in /proc/self/status); nullopt
// where it is not readable.
std::optional<uint64_t> PeakResidentBytes();

// Open file descriptors (entries of /proc/self/fd, not counting the one
// used to list them); nullopt where /proc is not readable.
std::optional<uint64_t> OpenFileDescriptors();

}  // namespace edgefl
