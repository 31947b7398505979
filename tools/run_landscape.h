// The report's Landscape section of one run (report/landscape_section.h):
// for the newest round whose client models the run stored
// (keep_client_models), the straight line and the dropout path between the
// first two of them by client id, and the dropout-stability curve of that
// round's global model, measured by analysis/ with `edgefl analyze`'s
// defaults (tools/landscape_data.h), so `edgefl analyze --run R --pairs 1`
// prints the same numbers.
#pragma once

#include <optional>

#include "report/landscape_section.h"
#include "storage/experiment_log.h"
#include "tools/landscape_data.h"

namespace edgefl::tools {

// nullopt if the run stored no client models. When its data cannot be
// loaded or its model not measured (an edgefl::Error), the section says so
// in `unavailable` rather than failing the report.
std::optional<report::LandscapeSection> MeasureRunLandscape(storage::ExperimentLog& log,
                                                            const storage::RunInfo& run,
                                                            const LandscapeSettings& settings);

}  // namespace edgefl::tools
