#include "coordinator/tls_client_session.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <type_traits>
#include <variant>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>

#include "common/error.h"
#include "common/random.h"
#include "wire/byte_writer.h"
#include "wire/protocol_error.h"
#include "wire/tls_context.h"

namespace edgefl::coordinator {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr size_t kTrafficKept = 64;
constexpr size_t kSupersededKept = 16;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string FormatSeconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", s);
  return text;
}

// The frame of a TrainTask/EvalTask whose parameters are `parameters`.
// Relies on the parameters being the message's last field
// (docs/protocol.md): the task is encoded with no parameters, its empty
// f32[] (a u32 count of 0) gets the real count, and the header's length is
// rewritten to cover them. On a little-endian host the floats in memory are
// their wire form: the frame's head refers to the shared model and the
// session writes it from there (OutgoingFrame). Otherwise, and for an
// empty vector, they are copied into the head (byte-swapped). `Frame` is
// TlsClientSession::OutgoingFrame, private, hence a parameter.
template <typename Frame, typename Task>
Frame FrameWithParameters(const Task& task, wire::MessageType type,
                          engine::SharedParameters parameters) {
  Frame frame;
  frame.head = wire::EncodeMessage(task);  // task.parameters is empty
  frame.head.resize(frame.head.size() - 4);
  const std::span<const float> values(parameters->data(), static_cast<size_t>(parameters->size()));
  if (std::endian::native == std::endian::little && !values.empty()) {
    wire::ByteWriter(&frame.head).U32(static_cast<uint32_t>(values.size()));
    frame.parameters = std::move(parameters);
  } else {
    wire::ByteWriter(&frame.head).F32Array(values);
  }
  wire::WriteFrameHeader(
      {wire::kProtocolVersion, type, static_cast<uint32_t>(frame.size() - wire::kFrameHeaderSize)},
      std::span<uint8_t, wire::kFrameHeaderSize>(frame.head.data(), wire::kFrameHeaderSize));
  return frame;
}

std::span<const uint8_t> Bytes(const Eigen::VectorXf& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()),
          sizeof(float) * static_cast<size_t>(v.size())};
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

}  // namespace

TlsClientSession::TlsClientSession(asio::ip::tcp::socket socket, asio::ssl::context& context,
                                   SessionOptions options, SessionHooks hooks, Logger logger)
    : stream_(std::move(socket), context),
      peer_endpoint_([this] {
        error_code ec;
        return stream_.socket().remote_endpoint(ec);
      }()),
      peer_(wire::FormatEndpoint(peer_endpoint_)),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      logger_(std::move(logger)),
      handshake_timer_(stream_.get_executor()),
      silence_timer_(stream_.get_executor()),
      linger_timer_(stream_.get_executor()),
      decoder_(options_.hello_max_frame_bytes),
      name_("client " + peer_) {}

TlsClientSession::~TlsClientSession() {
  // Only reachable with a task pending if the io_context was destroyed
  // with handlers still queued: the futures must still be answered.
  FailPending(name_ + " disconnected");
}

void TlsClientSession::Start() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->stream_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    self->stream_.socket().set_option(asio::socket_base::keep_alive(true), ignored);
    self->handshake_timer_.expires_after(self->options_.handshake_timeout);
    self->handshake_timer_.async_wait(
        [self](const error_code& ec) { self->OnHandshakeTimeout(ec); });
    self->stream_.AsyncHandshake(asio::ssl::stream_base::server,
                                 [self](const error_code& ec) { self->OnHandshake(ec); });
  });
}

void TlsClientSession::OnHandshakeTimeout(const error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  if (state_ != State::kHandshake && state_ != State::kAwaitHello) return;
  const std::string what = state_ == State::kHandshake ? "no TLS handshake" : "no Hello";
  if (options_.metrics) {
    options_.metrics->Refused(state_ == State::kHandshake ? RefusalReason::kHandshakeTimeout
                                                          : RefusalReason::kHelloTimeout);
  }
  logger_.Warn("client " + peer_ + " refused: " + what + " within " +
               FormatSeconds(Seconds(options_.handshake_timeout)) + " s");
  Close();
}

void TlsClientSession::OnHandshake(const error_code& ec) {
  if (state_ != State::kHandshake) return;  // timed out or stopped meanwhile
  if (ec) {
    logger_.Warn(wire::RefusalMessage(peer_endpoint_, ec, stream_.native_handle()));
    if (options_.metrics) {
      options_.metrics->Refused(
          ClassifyTlsRefusal(wire::DescribeTlsError(ec, stream_.native_handle())));
    }
    Close();
    return;
  }
  state_ = State::kAwaitHello;
  last_heard_ = Clock::now();
  DoRead();
}

void TlsClientSession::DoRead() {
  stream_.AsyncReadSome(
      [self = shared_from_this()](const error_code& ec, std::span<const uint8_t> data) {
        self->OnRead(ec, data);
      });
}

void TlsClientSession::OnRead(const error_code& ec, std::span<const uint8_t> data) {
  if (state_ == State::kClosed) return;
  if (ec) {
    if (state_ != State::kClosing) {
      std::string why;
      if (decoder_.partial_bytes() > 0) {
        try {
          decoder_.CheckEndOfStream();
        } catch (const wire::ProtocolError& e) {
          why = e.what();
        }
      } else if (ec != asio::error::eof && ec != asio::ssl::error::stream_truncated) {
        why = wire::DescribeTlsError(ec, stream_.native_handle());
      }
      if (state_ == State::kAwaitHello) {
        if (options_.metrics) options_.metrics->Refused(RefusalReason::kClosedBeforeHello);
        logger_.Warn("client " + peer_ + " closed the connection before Hello" +
                     (why.empty() ? "" : " (" + why + ")"));
      } else {
        const bool busy =
            fit_.has_value() || eval_.has_value() || means_.has_value() || secagg_.has_value();
        const std::string line = name_ + " disconnected" + (why.empty() ? "" : " (" + why + ")");
        if (busy) {
          logger_.Warn(line + " with a task pending");
        } else {
          logger_.Info(line);
        }
        Leave(line);
      }
    }
    Close();
    return;
  }
  const size_t n = data.size();
  bytes_in_ += n;
  if (options_.metrics) options_.metrics->BytesIn(n);
  last_heard_ = Clock::now();
  if (state_ == State::kClosing) {  // draining until the peer closes
    DoRead();
    return;
  }
  try {
    decoder_.Feed(data);
    while (state_ == State::kAwaitHello || state_ == State::kActive) {
      std::optional<wire::Frame> frame = decoder_.Next();
      if (!frame) break;
      HandleFrame(*frame);
    }
  } catch (const wire::ProtocolError& e) {
    ProtocolViolation(e.what());
  }
  if (state_ != State::kClosed) DoRead();
}

void TlsClientSession::HandleFrame(wire::Frame& frame) {
  const uint64_t frame_bytes = wire::kFrameHeaderSize + frame.payload.size();
  if (state_ == State::kActive && wire::IsCompressedMessageType(frame.type)) {
    CheckFrameRate();
    wire::CompressedMessage compressed = wire::DecodeCompressedMessage(frame.type, frame.payload);
    auto* update = std::get_if<wire::CompressedUpdate>(&compressed);
    if (update == nullptr) throw wire::ProtocolError("a CompressedModel from a client");
    OnCompressedUpdate(*update, frame_bytes);
    return;
  }
  if (state_ == State::kActive && wire::IsGroupMessageType(frame.type)) {
    CheckFrameRate();
    wire::GroupMessage group = wire::DecodeGroupMessage(frame.type, frame.payload);
    OnGroupSum(std::get<wire::GroupSum>(group), frame_bytes);
    return;
  }
  if (state_ == State::kActive && wire::IsSecAggMessageType(frame.type)) {
    CheckFrameRate();
    wire::SecAggMessage secagg = wire::DecodeSecAggMessage(frame.type, frame.payload);
    OnSecAggAnswer(secagg, frame.type);
    return;
  }
  wire::Message message = wire::DecodeMessage(frame);
  if (state_ == State::kAwaitHello) {
    const auto* hello = std::get_if<wire::Hello>(&message);
    if (hello == nullptr) {
      throw wire::ProtocolError("expected Hello, got " +
                                std::string(wire::MessageTypeName(frame.type)));
    }
    OnHello(*hello);
    return;
  }
  CheckFrameRate();
  std::visit(
      [&](auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, wire::TrainResult>) {
          OnTrainResult(m, frame_bytes);
        } else if constexpr (std::is_same_v<M, wire::EvalResult>) {
          OnEvalResult(m, frame_bytes);
        } else if constexpr (std::is_same_v<M, wire::Heartbeat>) {
          if (fit_) {
            fit_->bytes_in += frame_bytes;
          } else if (eval_) {
            eval_->bytes_in += frame_bytes;
          } else if (means_) {
            means_->bytes_in += frame_bytes;
          }
        } else if constexpr (std::is_same_v<M, wire::Bye>) {
          logger_.Info(name_ + " said bye (" + m.reason + ")");
          Leave(name_ + " disconnected (bye: " + m.reason + ")");
          Close();
        } else if constexpr (std::is_same_v<M, wire::ErrorMessage>) {
          const std::string line = name_ + " sent Error " +
                                   std::to_string(static_cast<unsigned>(m.code)) + ": " + m.message;
          logger_.Warn(line);
          Leave(line);
          Close();
        } else if constexpr (std::is_same_v<M, wire::Hello>) {
          throw wire::ProtocolError("a second Hello");
        } else {
          throw wire::ProtocolError("unexpected " + std::string(wire::MessageTypeName(frame.type)) +
                                    " from a client");
        }
      },
      message);
}

void TlsClientSession::CheckFrameRate() {
  if (options_.max_frames_per_second <= 0) return;
  const auto now = Clock::now();
  if (now - frame_window_ >= std::chrono::seconds(1)) {
    frame_window_ = now;
    frames_in_window_ = 0;
  }
  if (++frames_in_window_ > options_.max_frames_per_second) {
    throw wire::ProtocolError("more than " + std::to_string(options_.max_frames_per_second) +
                              " frames in one second (max_frames_per_second)");
  }
}

void TlsClientSession::OnHello(const wire::Hello& hello) {
  const std::optional<std::string> id = wire::PeerClientId(stream_.native_handle());
  if (!id) {
    Refuse(wire::ErrorCode::kUnauthorized, "the certificate's CN is not a valid client id");
    return;
  }
  if (hello.client_id != *id) {
    Refuse(wire::ErrorCode::kUnauthorized,
           "Hello claims id '" + hello.client_id + "' but the certificate is for '" + *id + "'");
    return;
  }
  if (hello.protocol_version < wire::kMinProtocolVersion) {
    Refuse(wire::ErrorCode::kUnsupportedVersion,
           "protocol version " + std::to_string(hello.protocol_version) +
               " is not supported (this coordinator speaks " +
               std::to_string(wire::kMinProtocolVersion) + " to " +
               std::to_string(wire::kMaxProtocolVersion) + ")");
    return;
  }
  handshake_timer_.cancel();
  client_id_ = *id;
  name_ = *id;
  device_ = hello.device;
  agent_ = hello.agent;
  info_.id = *id;
  info_.num_samples = static_cast<size_t>(hello.device.dataset_size);
  info_.samples_per_second = hello.device.samples_per_second;
  state_ = State::kActive;
  decoder_.set_max_payload_bytes(options_.max_frame_bytes);

  wire::Welcome welcome;
  welcome.session_id = *id + "@" + peer_;
  welcome.protocol_version = std::min(hello.protocol_version, wire::kMaxProtocolVersion);
  welcome.heartbeat_interval_seconds = Seconds(options_.heartbeat_interval);
  welcome.run_id = options_.run_id;
  welcome.model_spec = options_.model_spec;
  welcome.num_parameters = options_.num_parameters;
  welcome.run_config = options_.run_config;
  Send(wire::EncodeMessage(welcome));

  char speed[32];
  std::snprintf(speed, sizeof speed, "%.0f", hello.device.samples_per_second);
  logger_.Info(name_ + " connected from " + peer_ + " (" +
               wire::NegotiatedTlsVersion(stream_.native_handle()) + ", " +
               (agent_.empty() ? "unknown agent" : agent_) + ", " +
               std::to_string(hello.device.dataset_size) + " samples, " + speed + " samples/s)");
  last_heard_ = Clock::now();
  ArmSilenceTimer();
  authenticated_ = true;
  if (options_.metrics) options_.metrics->HandshakeCompleted();
  if (hooks_.on_authenticated) hooks_.on_authenticated(shared_from_this());
}

std::future<train::FitResult> TlsClientSession::Fit(engine::SharedParameters global,
                                                    const train::FitInstructions& instructions) {
  auto promise = std::make_shared<std::promise<train::FitResult>>();
  std::future<train::FitResult> future = promise->get_future();
  if (closed_.load()) {
    promise->set_exception(std::make_exception_ptr(Error(name_ + " disconnected")));
    return future;
  }
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), global = std::move(global), instructions, promise,
              round = round_.load()] { self->StartFit(global, instructions, promise, round); });
  return future;
}

void TlsClientSession::StartFit(const engine::SharedParameters& global,
                                const train::FitInstructions& instructions,
                                std::shared_ptr<std::promise<train::FitResult>> promise,
                                int64_t round) {
  if (state_ != State::kActive) {
    promise->set_exception(std::make_exception_ptr(Error(name_ + " disconnected")));
    return;
  }
  if (fit_) {
    logger_.Warn(name_ + ": task of round " + std::to_string(fit_->round) +
                 " still pending; superseded by round " + std::to_string(round));
    fit_->promise->set_exception(std::make_exception_ptr(
        Error(name_ + ": task superseded by round " + std::to_string(round))));
    superseded_fits_.insert(fit_->round);
    if (superseded_fits_.size() > kSupersededKept) superseded_fits_.erase(superseded_fits_.begin());
    fit_.reset();
  }
  wire::TrainTask task;
  task.round = round;
  task.model_version = instructions.model_version;
  task.model_spec = options_.model_spec;
  task.deadline_seconds = options_.task_deadline_seconds;
  task.recipe = instructions.recipe;
  task.local = instructions.local;
  task.preconditioning = instructions.preconditioning;
  task.pseudo_data = instructions.pseudo_data;
  // Secure aggregation: the client keeps this task's update for the stages.
  if (instructions.secure_aggregation) {
    Send(wire::EncodeSecAggMessage(wire::SecAggTrain{round}));
    secure_task_round_.store(round);
  }
  const engine::SharedParameters& start =
      instructions.start_parameters ? instructions.start_parameters : global;
  if (options_.compression.enabled() && !instructions.secure_aggregation) {
    // The model as a delta against what the client holds; the TrainTask
    // itself carries no parameters (wire/compressed_messages.h).
    Rng rng = Rng::Derive(instructions.recipe.seed, {compress::kDownlinkRoundingStream});
    wire::CompressedModel model;
    model.round = round;
    model.upload = options_.compression;
    model.model =
        downlink_.Encode(std::span<const float>(start->data(), static_cast<size_t>(start->size())),
                         instructions.model_version, options_.compression, rng);
    std::vector<uint8_t> model_frame = wire::EncodeCompressedMessage(model);
    std::vector<uint8_t> frame = wire::EncodeMessage(task);
    fit_ = Pending<train::FitResult>{
        round, std::move(promise), Clock::now(), model_frame.size() + frame.size(), 0,
        start, std::nullopt,       std::nullopt};
    last_heard_ = Clock::now();
    Send(std::move(model_frame));
    Send(std::move(frame));
    return;
  }
  OutgoingFrame frame =
      FrameWithParameters<OutgoingFrame>(task, wire::MessageType::kTrainTask, start);
  fit_ = Pending<train::FitResult>{round,   std::move(promise), Clock::now(), frame.size(), 0,
                                   nullptr, std::nullopt,       std::nullopt};
  last_heard_ = Clock::now();  // the silence clock starts with the task
  Send(std::move(frame));
}

std::future<train::EvalResult> TlsClientSession::Evaluate(engine::SharedParameters parameters) {
  auto promise = std::make_shared<std::promise<train::EvalResult>>();
  std::future<train::EvalResult> future = promise->get_future();
  if (closed_.load()) {
    promise->set_exception(std::make_exception_ptr(Error(name_ + " disconnected")));
    return future;
  }
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), parameters = std::move(parameters), promise,
              round = round_.load()] { self->StartEvaluate(parameters, promise, round); });
  return future;
}

void TlsClientSession::StartEvaluate(const engine::SharedParameters& parameters,
                                     std::shared_ptr<std::promise<train::EvalResult>> promise,
                                     int64_t round) {
  if (state_ != State::kActive) {
    promise->set_exception(std::make_exception_ptr(Error(name_ + " disconnected")));
    return;
  }
  if (eval_) {
    eval_->promise->set_exception(std::make_exception_ptr(
        Error(name_ + ": evaluation superseded by round " + std::to_string(round))));
    superseded_evals_.insert(eval_->round);
    if (superseded_evals_.size() > kSupersededKept) {
      superseded_evals_.erase(superseded_evals_.begin());
    }
    eval_.reset();
  }
  wire::EvalTask task;
  task.round = round;
  task.model_version = 0;  // ClientProxy::Evaluate carries no version
  task.model_spec = options_.model_spec;
  task.batch_size = options_.eval_batch_size;
  task.deadline_seconds = options_.task_deadline_seconds;
  OutgoingFrame frame =
      FrameWithParameters<OutgoingFrame>(task, wire::MessageType::kEvalTask, parameters);
  eval_ = Pending<train::EvalResult>{round,   std::move(promise), Clock::now(), frame.size(), 0,
                                     nullptr, std::nullopt,       std::nullopt};
  last_heard_ = Clock::now();
  Send(std::move(frame));
}

void TlsClientSession::OnTrainResult(wire::TrainResult& result, uint64_t frame_bytes) {
  if (!fit_ || fit_->round != result.round) {
    if (superseded_fits_.erase(result.round) > 0) {
      logger_.Info(name_ + ": late TrainResult for round " + std::to_string(result.round) +
                   " dropped");
      return;
    }
    throw wire::ProtocolError("TrainResult for round " + std::to_string(result.round) + " but " +
                              (fit_ ? "the pending task is for round " + std::to_string(fit_->round)
                                    : std::string("no task is pending")));
  }
  Pending<train::FitResult> pending = std::move(*fit_);
  fit_.reset();
  pending.bytes_in += frame_bytes;
  if (pending.update) {
    // Compressed: the result is the task's model + the decoded update.
    if (result.train.parameters.size() != 0) {
      throw wire::ProtocolError("TrainResult for round " + std::to_string(result.round) +
                                " carries parameters after a CompressedUpdate");
    }
    Eigen::VectorXf parameters = *pending.start;
    try {
      compress::DecodeAdd(
          pending.update->codec, pending.update->update,
          std::span<float>(parameters.data(), static_cast<size_t>(parameters.size())));
    } catch (const compress::CodecError& e) {
      throw wire::ProtocolError("CompressedUpdate for round " + std::to_string(result.round) +
                                ": " + e.what());
    }
    result.train.parameters = std::move(parameters);
  }
  if (pending.group) {
    // An edge aggregator's group: the upstream's FedAvg weighs the group's
    // mean by its samples, which is the flat weighted mean.
    if (result.train.parameters.size() != 0) {
      throw wire::ProtocolError("TrainResult for round " + std::to_string(result.round) +
                                " carries parameters after a GroupSum");
    }
    if (result.train.num_samples != pending.group->weight) {
      throw wire::ProtocolError("TrainResult for round " + std::to_string(result.round) + " says " +
                                std::to_string(result.train.num_samples) +
                                " samples but its GroupSum's weight is " +
                                std::to_string(pending.group->weight));
    }
    result.train.parameters =
        (pending.group->sum.cast<double>() / static_cast<double>(pending.group->weight))
            .cast<float>();
    logger_.Info(name_ + ": round " + std::to_string(result.round) + " group sum of " +
                 std::to_string(pending.group->clients) + " clients (" +
                 std::to_string(pending.group->dropped) + " without an update), " +
                 std::to_string(pending.group->weight) + " samples");
  }
  const TaskTraffic traffic{TaskTraffic::Kind::kFit, pending.round, pending.bytes_out,
                            pending.bytes_in, Seconds(Clock::now() - pending.sent)};
  RecordTraffic(traffic);
  char line[256];
  std::snprintf(line, sizeof line,
                ": round %lld result in %.1f s (compute %.1f s), %llu B out, %llu B in",
                static_cast<long long>(traffic.round), traffic.seconds,
                result.train.compute_seconds, static_cast<unsigned long long>(traffic.bytes_out),
                static_cast<unsigned long long>(traffic.bytes_in));
  logger_.Info(name_ + line);
  train::FitResult fit;
  fit.client = client_id_;
  fit.base_version = result.base_version;
  fit.train = std::move(result.train);
  fit.bytes_out = static_cast<int64_t>(traffic.bytes_out);
  fit.bytes_in = static_cast<int64_t>(traffic.bytes_in);
  fit.group_sum = pending.group.has_value();
  pending.promise->set_value(std::move(fit));
}

void TlsClientSession::OnCompressedUpdate(wire::CompressedUpdate& update, uint64_t frame_bytes) {
  if (!fit_ || fit_->round != update.round) {
    if (superseded_fits_.count(update.round) > 0) return;  // its TrainResult is dropped too
    throw wire::ProtocolError("CompressedUpdate for round " + std::to_string(update.round) +
                              " but " +
                              (fit_ ? "the pending task is for round " + std::to_string(fit_->round)
                                    : std::string("no task is pending")));
  }
  if (!options_.compression.enabled() || fit_->start == nullptr) {
    throw wire::ProtocolError("CompressedUpdate for round " + std::to_string(update.round) +
                              " of a task that was not compressed");
  }
  if (fit_->update) {
    throw wire::ProtocolError("a second CompressedUpdate for round " +
                              std::to_string(update.round));
  }
  fit_->bytes_in += frame_bytes;
  fit_->update = std::move(update);
}

void TlsClientSession::OnGroupSum(wire::GroupSum& sum, uint64_t frame_bytes) {
  // A run that cannot take group sums refuses every one, pending task or not.
  if (!options_.group_sums_refused.empty()) {
    throw wire::ProtocolError("GroupSum for round " + std::to_string(sum.round) +
                              " refused: " + options_.group_sums_refused);
  }
  if (!fit_ || fit_->round != sum.round) {
    if (superseded_fits_.count(sum.round) > 0) return;  // its TrainResult is dropped too
    throw wire::ProtocolError("GroupSum for round " + std::to_string(sum.round) + " but " +
                              (fit_ ? "the pending task is for round " + std::to_string(fit_->round)
                                    : std::string("no task is pending")));
  }
  if (fit_->update || fit_->group) {
    throw wire::ProtocolError("a second update for round " + std::to_string(sum.round) +
                              " (GroupSum)");
  }
  if (options_.num_parameters != 0 &&
      static_cast<uint64_t>(sum.sum.size()) != options_.num_parameters) {
    throw wire::ProtocolError("GroupSum for round " + std::to_string(sum.round) + " has " +
                              std::to_string(sum.sum.size()) + " values, the model " +
                              std::to_string(options_.num_parameters));
  }
  fit_->bytes_in += frame_bytes;
  fit_->group = std::move(sum);
}

std::future<Eigen::MatrixXf> TlsClientSession::PseudoDataMeans(
    const train::PseudoDataRequest& request) {
  auto promise = std::make_shared<std::promise<Eigen::MatrixXf>>();
  std::future<Eigen::MatrixXf> future = promise->get_future();
  if (closed_.load()) {
    promise->set_exception(std::make_exception_ptr(Error(name_ + " disconnected")));
    return future;
  }
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), request, promise, round = round_.load()] {
               self->StartPseudoDataMeans(request, promise, round);
             });
  return future;
}

void TlsClientSession::StartPseudoDataMeans(const train::PseudoDataRequest& request,
                                            std::shared_ptr<std::promise<Eigen::MatrixXf>> promise,
                                            int64_t round) {
  if (state_ != State::kActive) {
    promise->set_exception(std::make_exception_ptr(Error(name_ + " disconnected")));
    return;
  }
  if (means_ || eval_) {
    promise->set_exception(std::make_exception_ptr(
        Error(name_ + ": an evaluation is pending; pseudo-data means asked too early")));
    return;
  }
  wire::EvalTask task;
  task.round = round;
  task.model_spec = options_.model_spec;
  task.batch_size = options_.eval_batch_size;
  task.deadline_seconds = options_.task_deadline_seconds;
  task.pseudo_data = request;  // no parameters: nothing to evaluate
  std::vector<uint8_t> frame = wire::EncodeMessage(task);
  means_ = Pending<Eigen::MatrixXf>{round,   std::move(promise), Clock::now(), frame.size(), 0,
                                    nullptr, std::nullopt,       std::nullopt};
  last_heard_ = Clock::now();
  Send(std::move(frame));
}

void TlsClientSession::OnEvalResult(wire::EvalResult& result, uint64_t frame_bytes) {
  if (means_ && means_->round == result.round) {
    Pending<Eigen::MatrixXf> pending = std::move(*means_);
    means_.reset();
    pending.bytes_in += frame_bytes;
    RecordTraffic({TaskTraffic::Kind::kEvaluate, pending.round, pending.bytes_out, pending.bytes_in,
                   Seconds(Clock::now() - pending.sent)});
    logger_.Info(name_ + ": " + std::to_string(result.pseudo_data.cols()) +
                 " FedBR pseudo-data means received");
    pending.promise->set_value(std::move(result.pseudo_data));
    return;
  }
  if (!eval_ || eval_->round != result.round) {
    if (superseded_evals_.erase(result.round) > 0) {
      logger_.Info(name_ + ": late EvalResult for round " + std::to_string(result.round) +
                   " dropped");
      return;
    }
    throw wire::ProtocolError(
        "EvalResult for round " + std::to_string(result.round) + " but " +
        (eval_ ? "the pending evaluation is for round " + std::to_string(eval_->round)
               : std::string("no evaluation is pending")));
  }
  Pending<train::EvalResult> pending = std::move(*eval_);
  eval_.reset();
  pending.bytes_in += frame_bytes;
  RecordTraffic({TaskTraffic::Kind::kEvaluate, pending.round, pending.bytes_out, pending.bytes_in,
                 Seconds(Clock::now() - pending.sent)});
  pending.promise->set_value(std::move(result.eval));
}

template <typename Reply, typename Extract>
std::future<Reply> TlsClientSession::AskSecAgg(wire::SecAggMessage request,
                                               wire::MessageType answer, Extract extract) {
  auto promise = std::make_shared<std::promise<Reply>>();
  std::future<Reply> future = promise->get_future();
  if (closed_.load()) {
    promise->set_exception(std::make_exception_ptr(Error(name_ + " disconnected")));
    return future;
  }
  asio::post(stream_.get_executor(), [self = shared_from_this(), request = std::move(request),
                                      answer, extract, promise, round = secagg_round_.load()] {
    if (self->state_ != State::kActive) {
      promise->set_exception(std::make_exception_ptr(Error(self->name_ + " disconnected")));
      return;
    }
    if (self->secagg_) {
      self->secagg_->fail(self->name_ + ": secure-aggregation stage superseded");
      self->secagg_.reset();
    }
    SecAggPending pending;
    pending.round = round;
    pending.answer = answer;
    pending.deliver = [promise, extract](wire::SecAggMessage& m) {
      promise->set_value(extract(m));
    };
    pending.fail = [promise](const std::string& why) {
      promise->set_exception(std::make_exception_ptr(Error(why)));
    };
    self->secagg_ = std::move(pending);
    self->last_heard_ = Clock::now();  // the silence clock starts with the stage
    self->Send(wire::EncodeSecAggMessage(request));
  });
  return future;
}

std::future<privacy::PublicKeys> TlsClientSession::AdvertiseKeys(
    const algorithms::SecAggSetup& setup) {
  secagg_round_.store(setup.config.round);
  if (setup.async_cohort) {
    // Async mode: the update kept from the last secure task joins this
    // cohort, scaled by the staleness weight (sent before the setup, on the
    // same strand, so it arrives first).
    asio::post(stream_.get_executor(),
               [self = shared_from_this(),
                cohort = wire::SecAggCohort{setup.config.round, secure_task_round_.load(),
                                            setup.scale, setup.uniform_weight}] {
                 if (self->state_ != State::kActive) return;
                 self->Send(wire::EncodeSecAggMessage(cohort));
               });
  }
  return AskSecAgg<privacy::PublicKeys>(
      wire::SecAggSetup{setup.config, setup.client, setup.rounding_seed, setup.dp_clip,
                        setup.dp_noise_std},
      wire::MessageType::kSecAggKeys,
      [](wire::SecAggMessage& m) { return std::move(std::get<wire::SecAggKeys>(m).keys); });
}

std::future<privacy::ShareKeys> TlsClientSession::ShareKeys(const privacy::NeighbourKeys& keys) {
  return AskSecAgg<privacy::ShareKeys>(
      wire::SecAggNeighbourKeys{secagg_round_.load(), keys}, wire::MessageType::kSecAggShares,
      [](wire::SecAggMessage& m) { return std::move(std::get<wire::SecAggShares>(m).shares); });
}

std::future<privacy::MaskedInput> TlsClientSession::MaskedInput(
    const privacy::RoutedShares& shares) {
  return AskSecAgg<privacy::MaskedInput>(
      wire::SecAggRoutedShares{secagg_round_.load(), shares}, wire::MessageType::kSecAggMaskedInput,
      [](wire::SecAggMessage& m) { return std::move(std::get<wire::SecAggMaskedInput>(m).input); });
}

std::future<privacy::UnmaskResponse> TlsClientSession::Unmask(
    const privacy::UnmaskRequest& request) {
  return AskSecAgg<privacy::UnmaskResponse>(
      wire::SecAggUnmaskRequest{secagg_round_.load(), request},
      wire::MessageType::kSecAggUnmaskResponse, [](wire::SecAggMessage& m) {
        return std::move(std::get<wire::SecAggUnmaskResponse>(m).response);
      });
}

void TlsClientSession::Finish(int64_t round, bool ok, const std::string& reason) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), round, ok, reason] {
    if (self->state_ != State::kActive) return;
    if (self->secagg_) {
      self->secagg_->fail(self->name_ + ": the secure round ended");
      self->secagg_.reset();
    }
    self->Send(wire::EncodeSecAggMessage(wire::SecAggDone{round, ok, reason}));
  });
}

void TlsClientSession::OnSecAggAnswer(wire::SecAggMessage& message, wire::MessageType type) {
  const int64_t round = std::visit(
      [](const auto& m) -> int64_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, wire::SecAggSetup>) {
          return m.config.round;
        } else {
          return m.round;
        }
      },
      message);
  if (!secagg_ || secagg_->answer != type || secagg_->round != round) {
    throw wire::ProtocolError(std::string(wire::MessageTypeName(type)) + " for round " +
                              std::to_string(round) + " but " +
                              (secagg_ ? "the pending stage expects " +
                                             std::string(wire::MessageTypeName(secagg_->answer)) +
                                             " for round " + std::to_string(secagg_->round)
                                       : std::string("no secure-aggregation stage is pending")));
  }
  SecAggPending pending = std::move(*secagg_);
  secagg_.reset();
  pending.deliver(message);
}

void TlsClientSession::ArmSilenceTimer() {
  const auto limit = options_.heartbeat_interval * options_.silent_intervals;
  silence_timer_.expires_at(last_heard_ + limit);
  silence_timer_.async_wait(
      [self = shared_from_this()](const error_code& ec) { self->OnSilenceTimer(ec); });
}

void TlsClientSession::OnSilenceTimer(const error_code& ec) {
  if (ec == asio::error::operation_aborted || state_ != State::kActive) return;
  const auto limit = options_.heartbeat_interval * options_.silent_intervals;
  const auto now = Clock::now();
  if (now < last_heard_ + limit) {
    ArmSilenceTimer();  // heard from it since the timer was set
    return;
  }
  if (!fit_ && !eval_ && !means_ && !secagg_) {
    // An idle client need not talk; look again one period later.
    silence_timer_.expires_after(limit);
    silence_timer_.async_wait(
        [self = shared_from_this()](const error_code& e) { self->OnSilenceTimer(e); });
    return;
  }
  const std::string line =
      name_ + " silent for " + FormatSeconds(Seconds(now - last_heard_)) + " s";
  logger_.Warn(line + " with a task pending; closing");
  Leave(line);
  Close();
}

size_t TlsClientSession::OutgoingFrame::size() const {
  return head.size() + (parameters ? Bytes(*parameters).size() : 0);
}

void TlsClientSession::Send(std::vector<uint8_t> frame) {
  Send(OutgoingFrame{std::move(frame), nullptr});
}

void TlsClientSession::Send(OutgoingFrame frame) {
  const size_t size = frame.size();
  bytes_out_ += size;
  if (options_.metrics) options_.metrics->BytesOut(size);
  write_queue_.push_back(std::move(frame));
  if (!writing_) DoWrite();
}

void TlsClientSession::DoWrite() {
  writing_ = true;
  const OutgoingFrame& front = write_queue_.front();
  stream_.AsyncWrite(
      front.head_written ? Bytes(*front.parameters) : std::span<const uint8_t>(front.head),
      [self = shared_from_this()](const error_code& ec, size_t) { self->OnWrite(ec); });
}

void TlsClientSession::OnWrite(const error_code& ec) {
  writing_ = false;
  if (state_ == State::kClosed) {
    write_queue_.clear();
    return;
  }
  if (OutgoingFrame& front = write_queue_.front(); !ec && front.parameters && !front.head_written) {
    front.head_written = true;  // the parameters next
    DoWrite();
    return;
  }
  write_queue_.pop_front();
  if (ec) {
    if (state_ != State::kClosing) {
      const std::string line = name_ + " disconnected (write failed: " +
                               wire::DescribeTlsError(ec, stream_.native_handle()) + ")";
      logger_.Warn(line);
      Leave(line);
    }
    Close();
    return;
  }
  if (!write_queue_.empty()) {
    DoWrite();
  } else if (state_ == State::kClosing && !half_closed_) {
    // The final Bye/Error is out: tell the peer we are done (TLS
    // close_notify, so it can tell the end from a cut connection, then the
    // TCP half-close) and wait for its close (reads keep draining) or the
    // linger timer.
    half_closed_ = true;
    stream_.AsyncSendCloseNotify([self = shared_from_this()](const error_code&) {
      if (self->state_ == State::kClosed) return;
      error_code ignored;
      self->stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    });
  }
}

void TlsClientSession::SendFinal(std::vector<uint8_t> final_frame) {
  state_ = State::kClosing;
  handshake_timer_.cancel();
  silence_timer_.cancel();
  linger_timer_.expires_after(options_.close_linger);
  linger_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec != asio::error::operation_aborted) self->Close();
  });
  Send(std::move(final_frame));
}

void TlsClientSession::ProtocolViolation(const std::string& what) {
  logger_.Warn(name_ + (client_id_.empty() ? "" : " (" + peer_ + ")") +
               ": protocol error: " + what + "; closing");
  Leave(name_ + " disconnected (protocol error: " + what + ")");
  SendFinal(wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kProtocol, what}));
}

void TlsClientSession::Refuse(wire::ErrorCode code, const std::string& why) {
  logger_.Warn("client " + peer_ + " refused: " + why);
  if (options_.metrics) {
    options_.metrics->Refused(code == wire::ErrorCode::kUnsupportedVersion
                                  ? RefusalReason::kUnsupportedVersion
                                  : RefusalReason::kBadClientId);
  }
  SendFinal(wire::EncodeMessage(wire::ErrorMessage{code, why}));
}

void TlsClientSession::Stop(const std::string& reason, bool send_bye) {
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), reason, send_bye] { self->DoStop(reason, send_bye); });
}

void TlsClientSession::DoStop(const std::string& reason, bool send_bye) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kClosing) {
    if (!send_bye) Close();
    return;
  }
  Leave(name_ + " disconnected (" + reason + ")");
  if (send_bye && state_ == State::kActive) {
    logger_.Info(name_ + ": closing (" + reason + ")");
    SendFinal(wire::EncodeMessage(wire::Bye{reason}));
  } else {
    if (!client_id_.empty()) logger_.Info(name_ + ": closing (" + reason + ")");
    Close();
  }
}

void TlsClientSession::StopReplaced(const std::string& message) {
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), message] { self->DoStopReplaced(message); });
}

void TlsClientSession::DoStopReplaced(const std::string& message) {
  if (state_ != State::kActive) {
    DoStop(message, /*send_bye=*/false);
    return;
  }
  Leave(message);
  logger_.Info(name_ + " (" + peer_ + "): closing, replaced by a newer connection");
  SendFinal(wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kReplaced, message}));
}

void TlsClientSession::Leave(const std::string& message) {
  if (!left_) {
    left_ = true;
    if (hooks_.on_leaving) hooks_.on_leaving(*this);
  }
  FailPending(message);
}

void TlsClientSession::FailPending(const std::string& message) {
  if (fit_) {
    fit_->promise->set_exception(std::make_exception_ptr(Error(message)));
    fit_.reset();
  }
  if (eval_) {
    eval_->promise->set_exception(std::make_exception_ptr(Error(message)));
    eval_.reset();
  }
  if (means_) {
    means_->promise->set_exception(std::make_exception_ptr(Error(message)));
    means_.reset();
  }
  if (secagg_) {
    secagg_->fail(message);
    secagg_.reset();
  }
}

void TlsClientSession::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  closed_ = true;
  handshake_timer_.cancel();
  silence_timer_.cancel();
  linger_timer_.cancel();
  error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  Leave(name_ + " disconnected");
  if (hooks_.on_closed) hooks_.on_closed(*this);
}

std::vector<TaskTraffic> TlsClientSession::RecentTraffic() const {
  std::lock_guard lock(traffic_mutex_);
  return {traffic_.begin(), traffic_.end()};
}

void TlsClientSession::RecordTraffic(const TaskTraffic& traffic) {
  std::lock_guard lock(traffic_mutex_);
  traffic_.push_back(traffic);
  if (traffic_.size() > kTrafficKept) traffic_.pop_front();
}

std::string TlsClientSession::ProfileJson() const {
  return "{\"agent\":" + JsonString(agent_) + ",\"cores\":" + std::to_string(device_.cores) +
         ",\"memory_bytes\":" + std::to_string(device_.memory_bytes) +
         ",\"samples_per_second\":" + JsonNumber(device_.samples_per_second) +
         ",\"dataset_size\":" + std::to_string(device_.dataset_size) +
         ",\"num_classes\":" + std::to_string(device_.num_classes) +
         ",\"input_dim\":" + std::to_string(device_.input_dim) + "}";
}

}  // namespace edgefl::coordinator
