// The messages of compressed updates (docs/protocol.md, "Compressed update
// messages", types 40-41; docs/algorithms.md, Compressed updates). In a run
// with compression != "none" a training task and its result travel as:
//
//   coordinator -> client: CompressedModel{round, upload config, model},
//                          TrainTask with no parameters (the model is the
//                          CompressedModel's)
//   client -> coordinator: CompressedUpdate{round, codec, update},
//                          TrainResult with no parameters (they are the
//                          task's model + the decoded update)
//
// The model is the full model (fp32) the first time a connection carries
// one, then the delta against the model the client holds
// (compress/model_delta.h). Evaluation tasks are not compressed.
//
// Decoding checks the encoding: a known codec, an upload config in range,
// and the codec's own layout (compress::Validate: a top-k update too short
// for its declared k is a ProtocolError naming the message and the field).
// Whether the lengths fit the model is checked by who applies them.
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "compress/codec.h"
#include "compress/model_delta.h"
#include "wire/frame.h"

namespace edgefl::wire {

// Coordinator -> client, right before a TrainTask whose parameters are
// empty: the model to train from, and how to encode the update.
struct CompressedModel {
  int64_t round = 0;
  compress::CompressionConfig upload;  // codec u8, topk_fraction f64, int8_block u32
  compress::EncodedModel model;
};

// Client -> coordinator, right before the TrainResult (with no parameters)
// of the same round: the update, trained model minus the model of the task.
struct CompressedUpdate {
  int64_t round = 0;
  compress::Codec codec = compress::Codec::kNone;
  std::vector<uint8_t> update;  // compress/codec.h's layout for `codec`
};

using CompressedMessage = std::variant<CompressedModel, CompressedUpdate>;

// True for types 40-41.
bool IsCompressedMessageType(MessageType type);
MessageType TypeOf(const CompressedMessage& message);

// A complete frame (header + payload).
std::vector<uint8_t> EncodeCompressedMessage(const CompressedMessage& message);

// Throws ProtocolError naming the message and the field for a truncated or
// over-long field, an unknown codec, an upload config out of range, an
// encoding that does not fit its own header, or trailing bytes. Allocates
// at most about payload.size().
CompressedMessage DecodeCompressedMessage(MessageType type, std::span<const uint8_t> payload);

}  // namespace edgefl::wire
