#include "client/coordinator_session.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <signal.h>
#include <thread>
#include <type_traits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "algorithms/fedbr_pseudo_data.h"
#include "algorithms/local_registry.h"
#include "algorithms/local_solver.h"
#include "client/client_metrics.h"
#include "client/client_state.h"
#include "common/error.h"
#include "common/number_text.h"
#include "common/random.h"
#include "compress/codec.h"
#include "compress/model_delta.h"
#include "train/local_trainer.h"
#include "wire/compressed_messages.h"
#include "wire/frame.h"
#include "wire/protocol_error.h"
#include "wire/secagg_messages.h"

namespace edgefl::client {
namespace {

using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

class Session {
 public:
  Session(const SessionOptions& options, const datasets::Dataset& data, const LogFn& log,
          RunState& state)
      : options_(options),
        data_(data),
        log_(log),
        context_(wire::MakeClientContext(options.tls, options.host)),
        stream_(io_, context_),
        decoder_(options.max_frame_bytes),
        state_(state) {}

  SessionEnd Run() {
    SessionEnd end;
    try {
      Connect();
      Send(wire::Hello{options_.client_id, wire::kProtocolVersion, "edgefl-client 0.1",
                       options_.device});
      for (;;) {
        wire::Message message = Receive();
        if (const auto* welcome = std::get_if<wire::Welcome>(&message)) {
          if (const std::string why = ChosenVersionProblem(welcome->protocol_version);
              !why.empty()) {
            TrySend(wire::ErrorMessage{wire::ErrorCode::kUnsupportedVersion, why});
            end.kind = SessionEnd::Kind::kRefused;
            end.reason = why;
            break;
          }
          heartbeat_seconds_ = welcome->heartbeat_interval_seconds > 0
                                   ? welcome->heartbeat_interval_seconds
                                   : heartbeat_seconds_;
          log_('I', "welcomed by the coordinator (session " + welcome->session_id + ", model " +
                        welcome->model_spec + ")");
          if (options_.metrics != nullptr) options_.metrics->SessionStarted();
          if (state_.run_id != welcome->run_id) {  // another run: nothing carries over
            state_ = RunState{};
            state_.run_id = welcome->run_id;
          } else if (state_.trainer != nullptr) {
            resumed_state_ = true;
            log_('I', "run " + welcome->run_id + ": keeping the local training state of round " +
                          std::to_string(state_.last_round) + " from the previous connection");
          }
        } else if (auto* task = std::get_if<wire::TrainTask>(&message)) {
          if (compressed_round_ == task->round && task->parameters.size() == 0) {
            // The model came in the CompressedModel before it.
            const std::vector<float>& held = held_model_.model();
            task->parameters = Eigen::Map<const Eigen::VectorXf>(
                held.data(), static_cast<Eigen::Index>(held.size()));
          }
          if (!Train(*task)) {
            if (bye_during_task_) {  // the run ended while this task ran
              end.kind = SessionEnd::Kind::kBye;
              end.reason = bye_during_task_->reason;
              break;
            }
            end.kind = SessionEnd::Kind::kDisconnected;
            end.reason = "training failed";
            break;
          }
          ++end.tasks_done;
        } else if (const auto* eval = std::get_if<wire::EvalTask>(&message)) {
          Evaluate(*eval);
          if (options_.metrics != nullptr) options_.metrics->Evaluated();
          ++end.tasks_done;
        } else if (std::holds_alternative<wire::Heartbeat>(message)) {
          // The coordinator is alive; nothing to answer.
        } else if (const auto* bye = std::get_if<wire::Bye>(&message)) {
          end.kind = SessionEnd::Kind::kBye;
          end.reason = bye->reason;
          break;
        } else if (const auto* error = std::get_if<wire::ErrorMessage>(&message)) {
          end.kind = KindOfCoordinatorError(error->code);
          end.reason = "coordinator error: " + error->message;
          break;
        } else {
          throw wire::ProtocolError("unexpected message from the coordinator");
        }
      }
    } catch (const Disconnected& d) {
      end.kind = d.kind;
      end.reason = d.reason;
    } catch (const wire::ProtocolError& e) {
      end.kind = SessionEnd::Kind::kDisconnected;
      end.reason = std::string("protocol error: ") + e.what();
      TrySend(wire::ErrorMessage{wire::ErrorCode::kProtocol, e.what()});
    }
    if (options_.stop != nullptr) {
      options_.stop->Detach();
      if (options_.stop->stopped() && end.kind != SessionEnd::Kind::kBye) {
        end.kind = SessionEnd::Kind::kStopped;
        end.reason = "stopped by the application";
      }
    }
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
    return end;
  }

 private:
  // A network failure: ends the session (refused = the peer rejected us).
  struct Disconnected {
    std::string reason;
    SessionEnd::Kind kind = SessionEnd::Kind::kDisconnected;
  };

  void Connect() {
    boost::system::error_code ec;
    boost::asio::ip::tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec) throw Disconnected{"cannot resolve " + options_.host + ": " + ec.message()};
    boost::asio::connect(stream_.next_layer(), endpoints, ec);
    if (ec) {
      throw Disconnected{"cannot connect to " + options_.host + ":" +
                         std::to_string(options_.port) + ": " + ec.message()};
    }
    if (options_.stop != nullptr && !options_.stop->Attach(stream_.next_layer().native_handle())) {
      throw Disconnected{"stopped by the application", SessionEnd::Kind::kStopped};
    }
    stream_.next_layer().set_option(boost::asio::socket_base::keep_alive(true), ec);
    // A result is several TLS records: without this, Nagle holds the last
    // one until the coordinator's delayed ACK (~40 ms a frame).
    stream_.next_layer().set_option(boost::asio::ip::tcp::no_delay(true), ec);
    stream_.handshake(boost::asio::ssl::stream_base::client, ec);
    if (ec) {
      throw Disconnected{
          "TLS handshake failed: " + wire::DescribeTlsError(ec, stream_.native_handle()),
          SessionEnd::Kind::kRefused};
    }
  }

  template <typename M>
  void Send(const M& message) {
    std::vector<uint8_t> frame;
    if constexpr (std::is_same_v<M, std::vector<uint8_t>>) {
      frame = message;  // an encoded frame
    } else if constexpr (wire::WireMessage<M>) {
      frame = wire::EncodeMessage(message);
    } else {
      frame = wire::EncodeSecAggMessage(message);
    }
    boost::system::error_code ec;
    boost::asio::write(stream_, boost::asio::buffer(frame), ec);
    if (ec) {
      throw Disconnected{"connection lost while sending: " +
                         wire::DescribeTlsError(ec, stream_.native_handle())};
    }
    if (options_.metrics != nullptr) options_.metrics->BytesSent(frame.size());
  }

  template <typename M>
  void TrySend(const M& message) {
    try {
      Send(message);
    } catch (const Disconnected&) {
    }
  }

  // The next session message; secure-aggregation frames that come first
  // are answered on the way (OnSecAgg).
  wire::Message Receive() {
    for (;;) {
      if (std::optional<wire::Frame> frame = decoder_.Next()) {
        if (wire::IsCompressedMessageType(frame->type)) {
          OnCompressedModel(wire::DecodeCompressedMessage(frame->type, frame->payload));
          continue;
        }
        if (wire::IsSecAggMessageType(frame->type)) {
          wire::SecAggMessage message = wire::DecodeSecAggMessage(frame->type, frame->payload);
          OnSecAgg(message);
          continue;
        }
        return wire::DecodeMessage(*frame);
      }
      ReadSome();
    }
  }

  // A CompressedModel: the model of the next TrainTask, applied to the
  // model this connection holds (compress/model_delta.h).
  void OnCompressedModel(const wire::CompressedMessage& message) {
    const auto* model = std::get_if<wire::CompressedModel>(&message);
    if (model == nullptr) throw wire::ProtocolError("a CompressedUpdate from the coordinator");
    try {
      held_model_.Apply(model->model);
    } catch (const compress::CodecError& e) {
      throw wire::ProtocolError(std::string("CompressedModel.model: ") + e.what());
    }
    compressed_round_ = model->round;
    upload_ = model->upload;
    if (!announced_compression_) {
      announced_compression_ = true;
      log_('I', "round " + std::to_string(model->round) + ": compressed updates (" +
                    std::string(compress::CodecName(upload_.codec)) + "), model " +
                    (model->model.delta ? "delta" : "in full") + " of " +
                    std::to_string(model->model.bytes.size()) + " bytes");
    }
  }

  // Encodes the update of a compressed task (trained - task model) into a
  // CompressedUpdate and empties the result's parameters; saves the top-k
  // residual to the state file.
  wire::CompressedUpdate CompressUpdate(const wire::TrainTask& task, wire::TrainResult& result) {
    if (result.train.parameters.size() != task.parameters.size()) {
      throw Error("the trained model has " + std::to_string(result.train.parameters.size()) +
                  " parameters, the task " + std::to_string(task.parameters.size()));
    }
    const Eigen::VectorXf update = result.train.parameters - task.parameters;
    Rng rng = Rng::Derive(task.recipe.seed, {compress::kUplinkRoundingStream});
    wire::CompressedUpdate out;
    out.round = task.round;
    out.codec = upload_.codec;
    out.update = compress::EncodeUpdate(
        std::span<const float>(update.data(), static_cast<size_t>(update.size())), upload_, rng,
        state_.feedback);
    result.train.parameters.resize(0);
    if (upload_.codec == compress::Codec::kTopK && !options_.state_file.empty()) {
      SaveClientState(options_.state_file, {state_.run_id, state_.feedback.residual()});
      double l1 = 0.0;
      for (float v : state_.feedback.residual())
        l1 += std::abs(static_cast<double>(v));
      char norm[32];
      std::snprintf(norm, sizeof norm, "%.9g", l1);
      log_('I', "round " + std::to_string(task.round) + ": top-k residual (L1 norm " + norm +
                    ") saved to " + options_.state_file.string());
    }
    return out;
  }

  // TEST ONLY: --test-die-at-secagg-stage.
  void MaybeDie(algorithms::SecAggStage stage, int64_t round) {
    if (options_.test_die_at_secagg_stage != stage) return;
    log_('W', "round " + std::to_string(round) + ": --test-die-at-secagg-stage " +
                  algorithms::SecAggStageName(stage) + ": killing this process (SIGKILL)");
    ::raise(SIGKILL);
  }

  // One secure-aggregation frame from the coordinator: the stage's answer
  // from the update kept by the last secure TrainTask (algorithms/secagg_party.h).
  void OnSecAgg(wire::SecAggMessage& message) {
    using algorithms::SecAggStage;
    const auto need_update = [&](int64_t round,
                                 const char* what) -> algorithms::SecAggClientUpdate& {
      if (secure_update_ == nullptr || secure_update_round_ != round) {
        throw wire::ProtocolError(std::string(what) + " for round " + std::to_string(round) +
                                  " but no secure update of that round is kept");
      }
      return *secure_update_;
    };
    try {
      if (const auto* train = std::get_if<wire::SecAggTrain>(&message)) {
        secure_round_ = train->round;
      } else if (const auto* cohort = std::get_if<wire::SecAggCohort>(&message)) {
        // Async mode: the update kept from task `task_round` joins a cohort.
        need_update(cohort->task_round, "SecAggCohort");
        secure_update_round_ = cohort->round;
        cohort_scale_ = cohort->scale;
        cohort_uniform_weight_ = cohort->uniform_weight;
        log_('I', "task " + std::to_string(cohort->task_round) +
                      ": its update joins secure cohort " + std::to_string(cohort->round) +
                      " with staleness weight " + ShortNumber(cohort->scale));
      } else if (const auto* setup = std::get_if<wire::SecAggSetup>(&message)) {
        const int64_t round = setup->config.round;
        algorithms::SecAggClientUpdate& update = need_update(round, "SecAggSetup");
        MaybeDie(SecAggStage::kAdvertise, round);
        secure_bits_ = setup->config.bits;
        log_('I', "round " + std::to_string(round) + ": secure aggregation as client " +
                      std::to_string(setup->client) + " of " + std::to_string(setup->config.n) +
                      " (k = " + std::to_string(setup->config.k) +
                      ", t = " + std::to_string(setup->config.t) + ")");
        algorithms::SecAggSetup own;
        own.config = setup->config;
        own.client = setup->client;
        own.rounding_seed = setup->rounding_seed;
        if (!(setup->dp_clip >= 0) || !(setup->dp_noise_std >= 0)) {
          throw privacy::SecAggError("secagg: a setup with a negative or NaN dp_clip or noise");
        }
        own.dp_clip = setup->dp_clip;
        own.dp_noise_std = setup->dp_noise_std;  // noise_seed unset: the CSPRNG's
        own.scale = cohort_scale_;               // 1 and false unless a SecAggCohort came first
        own.uniform_weight = cohort_uniform_weight_;
        cohort_scale_ = 1.0;
        cohort_uniform_weight_ = false;
        if (own.dp_clip > 0) {
          log_('I', "round " + std::to_string(round) + ": distributed DP: clip " +
                        ShortNumber(own.dp_clip) + ", own noise std-dev " +
                        ShortNumber(own.dp_noise_std));
        }
        Send(wire::SecAggKeys{round, update.AdvertiseKeys(own)});
      } else if (const auto* keys = std::get_if<wire::SecAggNeighbourKeys>(&message)) {
        algorithms::SecAggClientUpdate& update = need_update(keys->round, "SecAggNeighbourKeys");
        MaybeDie(SecAggStage::kShare, keys->round);
        Send(wire::SecAggShares{keys->round, update.ShareKeys(keys->keys)});
      } else if (const auto* routed = std::get_if<wire::SecAggRoutedShares>(&message)) {
        algorithms::SecAggClientUpdate& update = need_update(routed->round, "SecAggRoutedShares");
        MaybeDie(SecAggStage::kMask, routed->round);
        Send(wire::SecAggMaskedInput{routed->round, secure_bits_,
                                     update.MaskedInput(routed->shares)});
      } else if (const auto* request = std::get_if<wire::SecAggUnmaskRequest>(&message)) {
        algorithms::SecAggClientUpdate& update = need_update(request->round, "SecAggUnmaskRequest");
        MaybeDie(SecAggStage::kUnmask, request->round);
        Send(wire::SecAggUnmaskResponse{request->round, update.Unmask(request->request)});
      } else if (const auto* done = std::get_if<wire::SecAggDone>(&message)) {
        log_(done->ok ? 'I' : 'W',
             "round " + std::to_string(done->round) + ": secure aggregation " +
                 (done->ok ? std::string("done") : "failed: " + done->reason));
        if (secure_update_round_ == done->round) secure_update_.reset();
      } else {
        throw wire::ProtocolError("a client's secure-aggregation message from the coordinator");
      }
    } catch (const privacy::SecAggError& e) {
      // A stage this device cannot answer safely (e.g. the refused double
      // request): it leaves the round, as a dropped-out client.
      log_('W', std::string("secure aggregation refused: ") + e.what());
      secure_update_.reset();
      TrySend(wire::ErrorMessage{wire::ErrorCode::kBadTask, e.what()});
      throw Disconnected{std::string("secure aggregation refused: ") + e.what()};
    }
  }

  // Blocks until some bytes arrive and feeds them to the decoder.
  void ReadSome() {
    uint8_t buffer[64 * 1024];
    boost::system::error_code ec;
    const size_t n = stream_.read_some(boost::asio::buffer(buffer), ec);
    if (ec) {
      const std::string why = wire::DescribeTlsError(ec, stream_.native_handle());
      // A refused certificate shows up as an alert on the first read (TLS 1.3).
      const bool refused = why.find("refused our certificate") != std::string::npos;
      throw Disconnected{"connection lost: " + why,
                         refused ? SessionEnd::Kind::kRefused : SessionEnd::Kind::kDisconnected};
    }
    if (options_.metrics != nullptr) options_.metrics->BytesReceived(n);
    decoder_.Feed(std::span<const uint8_t>(buffer, n));
  }

  // What the coordinator sent while a task runs, read without blocking when
  // it sent nothing: its Bye when the run ended meanwhile (returned), or a
  // Heartbeat (skipped). The coordinator closes the connection soon after a
  // Bye, so a client that only read after training would find it gone and
  // retry a finished run. Once the handshake's post-handshake records were
  // read with the Welcome, bytes on the socket are frames.
  std::optional<wire::Bye> ByeDuringTask() {
    for (;;) {
      std::optional<wire::Frame> frame = decoder_.Next();
      if (!frame) {
        boost::system::error_code ec;
        const bool pending =
            SSL_pending(stream_.native_handle()) > 0 || stream_.next_layer().available(ec) > 0;
        if (!pending) return std::nullopt;
        ReadSome();
        continue;
      }
      const wire::Message message = wire::DecodeMessage(*frame);
      if (const auto* bye = std::get_if<wire::Bye>(&message)) return *bye;
      if (std::holds_alternative<wire::Heartbeat>(message)) continue;
      if (const auto* error = std::get_if<wire::ErrorMessage>(&message)) {
        throw Disconnected{"coordinator error during a task: " + error->message,
                           KindOfCoordinatorError(error->code)};
      }
      throw wire::ProtocolError("unexpected message from the coordinator during a task");
    }
  }

  train::LocalTrainer& TrainerFor(const std::string& spec) {
    if (state_.trainer == nullptr || state_.trainer_spec != spec) {
      state_.trainer = std::make_unique<train::LocalTrainer>(spec, data_);
      state_.trainer_spec = spec;
      state_.solver.reset();  // a solver's state belongs to the old model
      resumed_state_ = false;
    }
    return *state_.trainer;
  }

  // The local solver the task names (algorithms/local_solver.h), kept
  // between rounds of the same model spec; null for a gradient objective.
  algorithms::LocalSolver* SolverFor(const wire::TrainTask& task) {
    if (!algorithms::IsLocalSolver(task.local)) return nullptr;
    TrainerFor(task.model_spec);
    if (state_.solver == nullptr) {
      state_.solver = algorithms::MakeLocalSolver(task.local, task.model_spec, data_);
    }
    return state_.solver.get();
  }

  // Runs the task on a worker thread, heartbeating meanwhile. Returns false
  // if the task could not be done (the coordinator was told why).
  bool Train(const wire::TrainTask& task) {
    log_('I', "round " + std::to_string(task.round) + ": training " + task.model_spec + " (" +
                  std::to_string(data_.size()) + " samples" +
                  (task.local.objective == "ce" ? std::string() : ", " + task.local.objective) +
                  ")");
    std::future<train::LocalTrainResult> running;
    // Ends a slowed device's artificial wait early: set on a Bye, broken
    // (which also ends it) when this function leaves before the task did.
    // Declared after `running`, so it is destroyed first.
    std::promise<void> stop_waiting;
    std::shared_future<void> stop = stop_waiting.get_future().share();
    try {
      train::LocalTrainer& trainer = TrainerFor(task.model_spec);
      if (resumed_state_ && !task.recipe.reset_optimizer &&
          !algorithms::IsLocalSolver(task.local)) {
        log_('I', "round " + std::to_string(task.round) +
                      ": continuing the local optimizer state of round " +
                      std::to_string(state_.last_round) + " (reset_optimizer = false)");
      }
      resumed_state_ = false;
      state_.last_round = task.round;
      if (algorithms::LocalSolver* solver = SolverFor(task)) {
        running = std::async(std::launch::async, [solver, &task]() {
          return solver->Solve(std::span<const float>(task.parameters.data(),
                                                      static_cast<size_t>(task.parameters.size())),
                               task.local);
        });
      }
      algorithms::ObjectiveContext context;
      context.local_data = &data_;
      context.recipe = &task.recipe;  // fedbr: P's lr is the client's
      // fedbr: the coordinator's pool, built from every client's means.
      context.pseudo_data = task.pseudo_data.get();
      if (task.pseudo_data != nullptr && task.local.objective == "fedbr") {
        char fingerprint[32];
        std::snprintf(
            fingerprint, sizeof fingerprint, "%016llx",
            static_cast<unsigned long long>(algorithms::PseudoDataFingerprint(*task.pseudo_data)));
        log_('I', "round " + std::to_string(task.round) + ": FedBR pseudo-data pool of " +
                      std::to_string(task.pseudo_data->cols()) + " from the coordinator (" +
                      fingerprint + ")");
      }
      auto objective =
          running.valid() ? nullptr : algorithms::MakeLocalObjective(task.local, context);
      auto order = running.valid() ? nullptr : algorithms::MakeDataOrder(task.local, &task.recipe);
      if (!running.valid())
        running = std::async(std::launch::async, [&trainer, &task, objective = std::move(objective),
                                                  order = std::move(order),
                                                  slowdown = options_.slowdown, stop]() mutable {
          train::LocalTrainResult trained =
              trainer.Train(std::span<const float>(task.parameters.data(),
                                                   static_cast<size_t>(task.parameters.size())),
                            task.recipe, objective.get(), order.get(), &task.preconditioning);
          if (slowdown > 1.0) {
            stop.wait_for(
                std::chrono::duration<double>((slowdown - 1.0) * trained.compute_seconds));
            trained.compute_seconds *= slowdown;
          }
          return trained;
        });
    } catch (const Error& e) {
      log_('W', std::string("cannot train: ") + e.what());
      Send(wire::ErrorMessage{wire::ErrorCode::kBadTask, e.what()});
      return false;
    }
    const auto interval = std::chrono::duration<double>(heartbeat_seconds_);
    while (running.wait_for(interval) != std::future_status::ready) {
      if ((bye_during_task_ = ByeDuringTask())) {
        log_('I', "round " + std::to_string(task.round) + ": coordinator said bye (" +
                      bye_during_task_->reason + ") during the task; its result is dropped");
        stop_waiting.set_value();
        running.wait();  // the trainer itself cannot be interrupted; it only reads task
        return false;
      }
      Send(wire::Heartbeat{heartbeat_sequence_++, task.round, std::nan("")});
    }
    try {
      wire::TrainResult result;
      result.round = task.round;
      result.base_version = task.model_version;
      result.train = running.get();
      if (options_.byzantine.active()) {
        train::ApplyByzantine(options_.byzantine.mode, options_.byzantine.factor,
                              std::span<const float>(task.parameters.data(),
                                                     static_cast<size_t>(task.parameters.size())),
                              &result.train.parameters);
        log_('W', "round " + std::to_string(task.round) + ": sending a Byzantine update (" +
                      train::ByzantineModeName(options_.byzantine.mode) + ")");
      }
      if (secure_round_ == task.round) {
        // Secure aggregation: keep Δ = w − w_global for the stages and send
        // the statistics only.
        std::vector<float> delta(static_cast<size_t>(task.parameters.size()));
        if (result.train.parameters.size() != task.parameters.size()) {
          throw Error("the trained model has " + std::to_string(result.train.parameters.size()) +
                      " parameters, the task " + std::to_string(task.parameters.size()));
        }
        for (size_t i = 0; i < delta.size(); ++i) {
          const auto j = static_cast<Eigen::Index>(i);
          delta[i] = result.train.parameters[j] - task.parameters[j];
        }
        secure_update_ = std::make_unique<algorithms::SecAggClientUpdate>(
            std::move(delta), static_cast<int64_t>(result.train.num_samples));
        secure_update_round_ = task.round;
        result.train.parameters.resize(0);
        log_('I', "round " + std::to_string(task.round) +
                      ": update kept for secure aggregation (only statistics sent)");
      }
      log_('I', "round " + std::to_string(task.round) + ": done, loss " +
                    std::to_string(result.train.loss_before) + " -> " +
                    std::to_string(result.train.loss_after) + " in " +
                    std::to_string(result.train.compute_seconds) + " s");
      if (compressed_round_ == task.round && secure_round_ != task.round) {
        const wire::CompressedUpdate update = CompressUpdate(task, result);
        log_('I', "round " + std::to_string(task.round) + ": update sent as " +
                      std::string(compress::CodecName(update.codec)) + ", " +
                      std::to_string(update.update.size()) + " bytes");
        Send(wire::EncodeCompressedMessage(update));
      }
      Send(result);
      if (options_.metrics != nullptr) {
        options_.metrics->RoundTrained(task.round, result.train.compute_seconds);
      }
      return true;
    } catch (const Error& e) {
      log_('W', std::string("training failed: ") + e.what());
      Send(wire::ErrorMessage{wire::ErrorCode::kTrainingFailed, e.what()});
      return false;
    }
  }

  void Evaluate(const wire::EvalTask& task) {
    const auto start = std::chrono::steady_clock::now();
    wire::EvalResult result;
    result.round = task.round;
    result.model_version = task.model_version;
    try {
      if (!task.pseudo_data.empty()) {
        // FedBR: means of groups of our samples, never a raw sample.
        result.pseudo_data = algorithms::PseudoDataMeans(data_, task.pseudo_data);
        log_('I', "sent " + std::to_string(result.pseudo_data.cols()) +
                      " FedBR pseudo-data means of " + std::to_string(task.pseudo_data.images) +
                      " samples each");
        if (task.parameters.size() == 0) {
          result.compute_seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          Send(result);
          return;
        }
      }
      result.eval =
          TrainerFor(task.model_spec)
              .Evaluate(std::span<const float>(task.parameters.data(),
                                               static_cast<size_t>(task.parameters.size())),
                        task.batch_size > 0 ? task.batch_size : 256);
    } catch (const Error& e) {
      Send(wire::ErrorMessage{wire::ErrorCode::kBadTask, e.what()});
      throw Disconnected{std::string("cannot evaluate: ") + e.what()};
    }
    result.compute_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Send(result);
  }

  const SessionOptions& options_;
  const datasets::Dataset& data_;
  const LogFn& log_;
  boost::asio::io_context io_;
  boost::asio::ssl::context context_;
  Stream stream_;
  wire::FrameDecoder decoder_;
  std::optional<wire::Bye> bye_during_task_;  // set when the run ended during a task
  double heartbeat_seconds_ = 5.0;
  uint64_t heartbeat_sequence_ = 0;
  RunState& state_;  // the trainer and solver, kept across this run's sessions
  // Secure aggregation: the round announced by SecAggTrain, and the update
  // kept from that round's task until SecAggDone.
  int64_t secure_round_ = -1;
  std::unique_ptr<algorithms::SecAggClientUpdate> secure_update_;
  int64_t secure_update_round_ = -1;
  uint32_t secure_bits_ = 32;
  // Async mode: the last SecAggCohort's scale and weighting, for the setup.
  double cohort_scale_ = 1.0;
  bool cohort_uniform_weight_ = false;
  // The state came from an earlier connection and no task has used it yet.
  bool resumed_state_ = false;
  // Compressed updates: the model this connection holds, the round of the
  // last CompressedModel and the upload config it named.
  compress::ModelDeltaReceiver held_model_;
  int64_t compressed_round_ = -1;
  compress::CompressionConfig upload_;
  bool announced_compression_ = false;
};

}  // namespace

SessionEnd::Kind KindOfCoordinatorError(wire::ErrorCode code) {
  switch (code) {
    case wire::ErrorCode::kUnauthorized:
    case wire::ErrorCode::kUnsupportedVersion:
      return SessionEnd::Kind::kRefused;
    case wire::ErrorCode::kReplaced:
      return SessionEnd::Kind::kReplaced;
    default:
      return SessionEnd::Kind::kDisconnected;
  }
}

std::string ChosenVersionProblem(uint16_t chosen_version) {
  if (chosen_version >= wire::kMinProtocolVersion && chosen_version <= wire::kMaxProtocolVersion) {
    return "";
  }
  return "the coordinator chose protocol version " + std::to_string(chosen_version) +
         " but this client speaks " + std::to_string(wire::kMinProtocolVersion) + " to " +
         std::to_string(wire::kMaxProtocolVersion) +
         ": run an edgefl-coordinator and edgefl-client of the same release";
}

std::string ReplacedExitMessage(const std::string& client_id) {
  return "another device is using this client's certificate (client id " + client_id +
         "); each device needs its own certificate (edgefl certs issue-client). The coordinator "
         "replaced this connection with a newer one using the same id; not reconnecting, so the "
         "other device keeps its place";
}

SessionEnd RunCoordinatorSession(const SessionOptions& options, const datasets::Dataset& data,
                                 const LogFn& log) {
  RunState state;
  return RunCoordinatorSession(options, data, log, state);
}

SessionEnd RunCoordinatorSession(const SessionOptions& options, const datasets::Dataset& data,
                                 const LogFn& log, RunState& state) {
  Session session(options, data, log, state);
  return session.Run();
}

}  // namespace edgefl::client
