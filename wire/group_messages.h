// The message of edge aggregators (docs/protocol.md, "Edge aggregator
// messages", types 42-47; docs/edge-aggregators.md). An aggregator answers
// its upstream's TrainTask with its group's result:
//
//   aggregator -> upstream: GroupSum{round, clients, dropped, weight, sum},
//                           TrainResult with no parameters (its statistics
//                           are the group's sample-weighted means)
//
// The sum is Σ n_i·w_i over the group's accepted updates and the weight
// Σ n_i, so the upstream's weighted mean over groups is the flat FedAvg.
//
// Decoding checks the layout and that the sum has a positive weight and at
// least one client; whether its length fits the model, and whether the run
// takes group sums at all, is checked by the session that receives it.
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include <Eigen/Core>

#include "wire/frame.h"

namespace edgefl::wire {

struct GroupSum {
  int64_t round = 0;     // the TrainTask's round
  uint32_t clients = 0;  // devices whose updates are in the sum (>= 1)
  uint32_t dropped = 0;  // devices of the group's cohort that delivered no usable update
  uint64_t weight = 0;   // Σ n_i, the samples behind the sum (> 0)
  Eigen::VectorXf sum;   // Σ n_i·w_i, P floats
};

using GroupMessage = std::variant<GroupSum>;

bool IsGroupMessageType(MessageType type);
MessageType TypeOf(const GroupMessage& message);

// The whole frame (header and payload).
std::vector<uint8_t> EncodeGroupMessage(const GroupMessage& message);

// Throws ProtocolError naming the message and field for a malformed payload
// (and for a type that is not an edge-aggregator message).
GroupMessage DecodeGroupMessage(MessageType type, std::span<const uint8_t> payload);

}  // namespace edgefl::wire
