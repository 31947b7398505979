#include "common/process_stats.h"

#include <vector>

#include <doctest/doctest.h>

namespace edgefl {
namespace {

TEST_CASE("process stats: this process's RSS and open descriptors are read from /proc") {
  const auto rss = ResidentBytes();
  REQUIRE(rss.has_value());
  CHECK(*rss > 1'000'000);
  const auto fds = OpenFileDescriptors();
  REQUIRE(fds.has_value());
  CHECK(*fds >= 3);  // stdin, stdout, stderr
}

TEST_CASE("process stats: the peak RSS covers memory touched and released since") {
  const auto before = PeakResidentBytes();
  REQUIRE(before.has_value());
  constexpr size_t kBytes = 64u << 20;
  {
    std::vector<char> touched(kBytes, 1);  // every page written: resident
    CHECK(touched[kBytes / 2] == 1);
  }
  // The current RSS is read before the peak: reading /proc allocates, and
  // under ASan an allocation can map new pages, so an RSS read after the
  // peak may exceed it. The kernel's RSS counters are per-CPU and batched,
  // hence the 1 MiB of slack between two reads of them.
  const auto now = ResidentBytes();
  REQUIRE(now.has_value());
  const auto peak = PeakResidentBytes();
  REQUIRE(peak.has_value());
  // The 64 MiB are freed (returned to the system: a block this large is
  // mmapped; under ASan it sits in the quarantine), but the peak keeps them.
  CHECK(*peak >= *before);
  CHECK(*peak >= kBytes);
  CHECK(*peak + (1u << 20) >= *now);
}

}  // namespace
}  // namespace edgefl
