// The Perplexity part of the HTML report, for runs of next-token language
// models (rnn:, lm:; docs/algorithms.md, "Language modelling"), whose test
// loss is the mean next-character cross-entropy, so perplexity =
// exp(loss), the figure `edgefl runs show` prints as test_ppl. Which runs
// are language models is the caller's to say (tools/, through nn/): the
// report knows only the log.
//
// The section: a table per run of the test perplexity of the initial model
// (round 0), the best, the final and the round of the final evaluation; a
// chart of the test perplexity per round with the runs overlaid; and, when a
// run records the simulated clock, the test perplexity per virtual second.
#pragma once

#include <span>
#include <string>

#include "storage/run_summary.h"

namespace edgefl::report {

// The section's HTML (an <h2> and what follows), or "" when `runs` is empty
// or none of them has a test evaluation.
std::string RenderPerplexitySection(std::span<const storage::RunDetail> runs);

// "12.34": a perplexity for the table; "&#8211;" when not finite.
std::string FormatPerplexity(double perplexity);

}  // namespace edgefl::report
