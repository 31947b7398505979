#include "common/error.h"

#include <stdexcept>

#include <doctest/doctest.h>

namespace edgefl {

TEST_CASE("ReportError maps each kind of error to its exit code") {
  CHECK(ReportError("test", ConfigError("bad --alpha")) == kExitUsage);
  CHECK(ReportError("test", DataError("f.idx: truncated")) == kExitDataError);
  CHECK(ReportError("test", IoError("cannot open f")) == kExitIoError);
  CHECK(ReportError("test", Error("other")) == kExitFailure);
  CHECK(ReportError("test", std::runtime_error("boom")) == kExitFailure);
  CHECK(ReportUsageError("test", std::invalid_argument("--clients")) == kExitUsage);
}

}  // namespace edgefl
