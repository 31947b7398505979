// The messages of the edgefl wire protocol (version 1) and their codec.
// docs/protocol.md lists every field in order with its encoding; this header
// is the C++ view of it. Session flow:
//
//   TLS handshake -> Hello -> Welcome
//     -> ( TrainTask -> Heartbeat* -> TrainResult
//        | EvalTask -> Heartbeat* -> EvalResult )*
//     -> Bye
//
// Error may be sent by either side at any point; the sender then closes.
//
// Decoding checks the encoding only (lengths, limits, tags, no trailing
// bytes), not the meaning: a recipe with batch_size 0, a parameter vector
// of the wrong size, or NaN/Inf in parameters or losses all decode fine and
// are refused by whoever acts on them (ValidateRecipe on the client; the
// round engine rejects a non-finite or mis-sized update with a recorded
// reason). That keeps one place per rule and a precise reason in the log.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <Eigen/Core>

#include "train/fit.h"
#include "train/local_trainer.h"
#include "train/params.h"
#include "train/train_recipe.h"
#include "wire/frame.h"

namespace edgefl::wire {

// Limits enforced by the decoder (a longer field is a ProtocolError).
inline constexpr size_t kMaxIdBytes = 256;     // ids, names, param keys
inline constexpr size_t kMaxSpecBytes = 1024;  // model spec strings
inline constexpr size_t kMaxTextBytes = 4096;  // reasons, error text, string param values
inline constexpr size_t kMaxParams = 256;      // entries of a parameter map
inline constexpr size_t kMaxClasses = 65536;   // entries of per-class arrays
inline constexpr size_t kMaxPseudoDataSamples = size_t{1} << 24;  // a PseudoDataRequest's samples

// What a client reports about itself (the registry keeps it for selection).
struct DeviceProfile {
  uint32_t cores = 0;
  uint64_t memory_bytes = 0;
  double samples_per_second = 0.0;  // measured training speed, 0 = unknown
  uint64_t dataset_size = 0;        // local training samples
  uint32_t num_classes = 0;         // 0 = unknown
  uint32_t input_dim = 0;           // features per sample, 0 = unknown
};

// Client -> coordinator, the first message after the TLS handshake.
struct Hello {
  // The id the client believes it has. Informational: the session takes
  // the id from the certificate's CN and refuses a Hello that claims
  // another one.
  std::string client_id;
  uint16_t protocol_version = kProtocolVersion;  // highest version the client speaks
  std::string agent;                             // software, e.g. "edgefl-client 0.1.0"
  DeviceProfile device;
};

// Coordinator -> client, the answer to Hello.
struct Welcome {
  std::string session_id;
  uint16_t protocol_version = kProtocolVersion;  // the version the session uses
  // The client sends a Heartbeat at least this often while it works on a
  // task; the coordinator treats a client silent for a few intervals as gone.
  double heartbeat_interval_seconds = 10.0;
  std::string run_id;      // the run the client is assigned to
  std::string model_spec;  // "cnn:lenet", "mlp", ...
  uint64_t num_parameters = 0;
  // Settings of the run the client may use or show (dataset, partition).
  // Typed values; may be empty.
  train::ParamMap run_config;
};

// Coordinator -> client: train the given model with the given recipe.
// Parameters are raw little-endian float32, P of them.
struct TrainTask {
  int64_t round = 0;
  int64_t model_version = 0;
  std::string model_spec;
  double deadline_seconds = 0.0;  // relative to receipt; 0 = none
  train::TrainRecipe recipe;
  // On the wire the params map is typed (as algorithms::ParamMap); a
  // LocalAlgorithm holds numbers, so decoding accepts float64 and int64
  // values and refuses bool/string ones with a ProtocolError.
  train::LocalAlgorithm local;
  // SAVIC's shared frozen diagonal (empty = none) and the statistic to
  // report; encoded after `local`, before `parameters` (which stays last).
  train::Preconditioning preconditioning;
  // FedBR's shared pseudo-data pool, input_dim x M (null = none); encoded
  // after the preconditioning as pseudo_data.columns (u32) and the values
  // (f32[], column after column).
  std::shared_ptr<const Eigen::MatrixXf> pseudo_data;
  Eigen::VectorXf parameters;
};

// Client -> coordinator: the trained model and its statistics.
// train.parameters may contain NaN/Inf (see the top comment).
struct TrainResult {
  int64_t round = 0;
  int64_t base_version = 0;  // model_version of the TrainTask it answers
  train::LocalTrainResult train;
};

// Coordinator -> client: evaluate the given parameters on the local data.
struct EvalTask {
  int64_t round = 0;
  int64_t model_version = 0;
  std::string model_spec;
  int32_t batch_size = 256;
  double deadline_seconds = 0.0;  // relative to receipt; 0 = none
  // FedBR's pseudo-data upload (images 0 = none): the client answers with
  // the means in EvalResult::pseudo_data. With a request, `parameters` may
  // be empty: then nothing is evaluated.
  train::PseudoDataRequest pseudo_data;
  Eigen::VectorXf parameters;
};

struct EvalResult {
  int64_t round = 0;
  int64_t model_version = 0;
  train::EvalResult eval;  // per_class_accuracy: at most kMaxClasses, NaN = no samples
  double compute_seconds = 0.0;
  // The means an EvalTask's pseudo_data asked for, input_dim x groups
  // (0 x 0 = none); encoded last as columns (u32) and values (f32[]).
  Eigen::MatrixXf pseudo_data;
};

// Either direction, any time after Welcome; resets the receiver's idle
// timer. A training client sends one every heartbeat interval so long
// local training never makes a live client look dead.
struct Heartbeat {
  uint64_t sequence = 0;  // per sender, counting from 0
  int64_t round = 0;      // round of the task being worked on, 0 = idle
  double progress = 0.0;  // fraction of the task done in [0, 1], NaN = unknown
};

// Either direction, the last message of a clean close.
struct Bye {
  std::string reason;  // "run finished", "shutting down", "client stopped"
};

// Codes of ErrorMessage. Unknown codes from newer peers are kept as they are.
enum class ErrorCode : uint16_t {
  kProtocol = 1,            // malformed frame or message
  kUnsupportedVersion = 2,  // no common protocol version
  kUnauthorized = 3,        // Hello's id differs from the certificate, or not allowed
  kBadTask = 4,             // the task does not fit the client (model, data, recipe)
  kTrainingFailed = 5,      // the client could not finish (diverged, out of memory)
  kBusy = 6,                // coordinator at its connection limit; retry later
  kInternal = 7,            // anything else
  kReplaced = 8,            // a newer connection with the same client id took over this session
};

// Either direction: the sender refuses something and then closes.
struct ErrorMessage {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

using Message = std::variant<Hello, Welcome, TrainTask, TrainResult, EvalTask, EvalResult,
                             Heartbeat, Bye, ErrorMessage>;

// Any one of Message's alternatives.
template <typename M>
concept WireMessage =
    std::same_as<M, Hello> || std::same_as<M, Welcome> || std::same_as<M, TrainTask> ||
    std::same_as<M, TrainResult> || std::same_as<M, EvalTask> || std::same_as<M, EvalResult> ||
    std::same_as<M, Heartbeat> || std::same_as<M, Bye> || std::same_as<M, ErrorMessage>;

MessageType TypeOf(const Message& message);

// The payload of `message` (no frame header). The encoder does not check
// the decoder's limits: an over-long string gives a message the peer refuses.
std::vector<uint8_t> EncodePayload(const Message& message);

// A complete frame (header + payload) ready to write to the socket. The
// parameters of TrainTask/TrainResult/EvalTask are copied once, straight
// into the frame buffer. The per-type overloads avoid building a Message
// (which would copy the parameters). REQUIRES: the payload is < 4 GiB (the
// peer's cap, 64 MB by default, is far lower).
std::vector<uint8_t> EncodeMessage(const Message& message);
template <WireMessage M>
std::vector<uint8_t> EncodeMessage(const M& message);

// The single decoding entry point (the fuzz target): decodes the payload of
// a frame of type `type`. Throws ProtocolError, naming the message and the
// field, for an unknown type, a truncated or over-long field, a field over
// its limit, an invalid bool or tag, a duplicate map key, or trailing
// bytes. Never allocates more than a small multiple of payload.size().
Message DecodeMessage(MessageType type, std::span<const uint8_t> payload);

// Convenience: DecodeMessage(frame.type, frame.payload).
Message DecodeMessage(const Frame& frame);

}  // namespace edgefl::wire
