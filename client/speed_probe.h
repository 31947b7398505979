// A device's training speed, measured before it connects, so the
// coordinator can prefer clients that finish by the deadline.
#pragma once

#include "datasets/dataset.h"

namespace edgefl::client {

// Samples/s of one epoch of SGD on up to `max_samples` of `data` with a
// small reference model (mlp:<dim>-64-<classes>, batch 32). A relative
// figure: the real model of a run may be slower or faster, but devices
// compare with each other. Returns 0 for empty data.
double MeasureTrainingSpeed(const datasets::Dataset& data, size_t max_samples = 1024);

}  // namespace edgefl::client
