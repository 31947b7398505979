// One connected client of the coordinator: a mutually authenticated TLS
// connection speaking the wire protocol (docs/protocol.md), seen by the
// round engine as a ClientProxy.
//
// Life of a session (all steps on the connection's strand, as in Asio's
// ssl/server.cpp example; every handler holds shared_from_this(), so the
// session lives while an operation is pending):
//
//   Start: TLS handshake ─► read Hello ─► send Welcome ─► registered
//          (both within SessionOptions::handshake_timeout, else closed)
//   then:  Fit/Evaluate send TrainTask/EvalTask; the matching
//          TrainResult/EvalResult fulfils the future; Heartbeats (any frame)
//          show the client is alive
//   end:   Stop (Bye first on a clean shutdown), the peer's Bye or Error, a
//          protocol error (answered with Error), a dropped connection, or a
//          client with a task silent for silent_intervals heartbeat
//          intervals. A pending future is then failed with an edgefl::Error
//          ("<id> disconnected", "<id> silent for 15 s"), never left
//          unfulfilled.
//
// The client id is the CN of the client certificate (wire::PeerClientId); a
// Hello that claims another id is answered with Error (unauthorized) and the
// connection closed. Until Hello has been accepted the frame cap is small
// (hello_max_frame_bytes), then max_frame_bytes.
//
// Results are matched by round: a TrainResult (EvalResult) must answer the
// pending TrainTask (EvalTask). A result for a task that was superseded
// (the round engine moved on after its deadline) is dropped with a log line;
// a result for no task is a protocol error. A result's content (length,
// NaN) is not checked here: the round engine rejects it with a reason.
//
// Secure aggregation (algorithms/secagg_party.h): the session is the
// client's SecAggParty. A Fit whose instructions say secure_aggregation is
// preceded by SecAggTrain; each stage sends its frame (wire/secagg_messages.h)
// and the client's answer of the expected type and round fulfils the
// future (any other secure-aggregation frame is a protocol error). A stage
// pending counts as a task for the silence watchdog, and fails like one
// when the client disconnects: the driver then treats the client as
// dropped out at that stage.
//
// Thread-safety: Fit, Evaluate, Stop, SetRound and the observers may be
// called from any thread; they post to the strand. info() belongs to the
// thread that drives the round engine (the session writes it only before
// the client is registered).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "algorithms/secagg_party.h"
#include "compress/codec.h"
#include "compress/model_delta.h"
#include "coordinator/client_registry.h"
#include "coordinator/log.h"
#include "coordinator/metrics.h"
#include "train/params.h"
#include "wire/compressed_messages.h"
#include "wire/frame.h"
#include "wire/group_messages.h"
#include "wire/messages.h"
#include "wire/secagg_messages.h"
#include "wire/tls_socket.h"

namespace edgefl::coordinator {

struct SessionOptions {
  // Time for the TLS handshake and the Hello after it; a connection that
  // has not been authenticated by then is closed.
  std::chrono::milliseconds handshake_timeout{10000};
  // Sent in Welcome: the client heartbeats at least this often while it
  // works on a task.
  std::chrono::milliseconds heartbeat_interval{5000};
  // A client with a pending task that sends nothing for this many heartbeat
  // intervals is treated as gone. Idle clients need not heartbeat (a dead
  // idle connection is found by TCP keep-alive or the next task).
  int silent_intervals = 3;
  // Payload cap once the client is authenticated (docs/protocol.md).
  uint32_t max_frame_bytes = wire::kDefaultMaxPayloadBytes;
  // Payload cap before Hello is accepted (an unauthenticated peer cannot
  // make the coordinator buffer 64 MB).
  uint32_t hello_max_frame_bytes = 64u << 10;
  // An authenticated client that sends more than this many frames within
  // one second is flooding (a working client sends one heartbeat per
  // heartbeat interval and one result per task): the session ends with a
  // protocol error. 0 = no limit.
  int64_t max_frames_per_second = 1000;
  // After a final Bye or Error, how long to wait for the peer to close
  // before closing anyway.
  std::chrono::milliseconds close_linger{2000};
  // Welcome's fields: the run, the model and its parameter count, and
  // settings the client may show.
  std::string run_id;
  std::string model_spec;
  uint64_t num_parameters = 0;
  train::ParamMap run_config;
  // deadline_seconds of every TrainTask/EvalTask (0 = none).
  double task_deadline_seconds = 0.0;
  // batch_size of every EvalTask.
  int32_t eval_batch_size = 256;
  // Compressed updates (wire/compressed_messages.h): when enabled, each
  // TrainTask's model goes as a CompressedModel (the full model first, then
  // the delta against what the client holds) and the client answers with a
  // CompressedUpdate. Not with secure aggregation (refused by the config).
  compress::CompressionConfig compression;
  // Edge aggregators (wire/group_messages.h): "" when a client may answer a
  // TrainTask with a GroupSum (its group's sample-weighted sum, then a
  // TrainResult with no parameters; the result is then sum / weight with
  // num_samples = weight); else why this run cannot take one
  // (engine::GroupSumProblem), and a GroupSum is a protocol error saying so.
  std::string group_sums_refused = "edge aggregators are not accepted";
  // Where handshakes, refusals and bytes are counted (may be null); must
  // outlive the session.
  CoordinatorMetrics* metrics = nullptr;
};

class TlsClientSession;

// Called on the session's strand.
struct SessionHooks {
  // After Hello was accepted and Welcome queued (e.g. register the client).
  std::function<void(const std::shared_ptr<TlsClientSession>&)> on_authenticated;
  // Once, as the session ends, before its pending tasks fail (e.g. leave
  // the registry, so the engine those failures wake does not sample it
  // again); on_closed follows.
  std::function<void(TlsClientSession&)> on_leaving;
  // Once, when the connection has been closed (whatever the cause).
  std::function<void(TlsClientSession&)> on_closed;
};

// Bytes of one task on the wire (frames: header + payload; TLS records add
// about 0.14%): the task sent, and the result plus the heartbeats while the
// task was pending.
struct TaskTraffic {
  enum class Kind { kFit, kEvaluate } kind = Kind::kFit;
  int64_t round = 0;
  uint64_t bytes_out = 0;  // coordinator -> client
  uint64_t bytes_in = 0;   // client -> coordinator
  double seconds = 0.0;    // from sending the task to its result
};

// A task sent to the client and awaiting its result (TlsClientSession's).
template <typename Result>
struct PendingTask {
  int64_t round = 0;                              // round the task was sent for
  std::shared_ptr<std::promise<Result>> promise;  // fulfilled by the result
  std::chrono::steady_clock::time_point sent;     // when the task was queued
  uint64_t bytes_out = 0;                         // the task's frame
  uint64_t bytes_in = 0;                          // result + heartbeats so far
  // Compressed updates: the parameters the task's model stands for (the
  // result is these + the update), and the CompressedUpdate received.
  engine::SharedParameters start;
  std::optional<wire::CompressedUpdate> update;
  // Edge aggregators: the group's sum, received before its TrainResult.
  std::optional<wire::GroupSum> group;
};

class TlsClientSession final : public RemoteClient,
                               public algorithms::SecAggParty,
                               public std::enable_shared_from_this<TlsClientSession> {
 public:
  // OpenSSL on the socket itself (wire/tls_socket.h): an idle session keeps
  // no record or read buffers.
  using Stream = wire::TlsSocket;

  // REQUIRES: `socket` is connected and its executor is a strand (the
  // server accepts with make_strand); `context` outlives the session.
  TlsClientSession(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context,
                   SessionOptions options, SessionHooks hooks, Logger logger);
  ~TlsClientSession() override;
  TlsClientSession(const TlsClientSession&) = delete;
  TlsClientSession& operator=(const TlsClientSession&) = delete;

  // Starts the handshake (with its timeout). Call once.
  void Start();

  // ---- RemoteClient / ClientProxy ----
  // Empty until the client is authenticated.
  const std::string& client_id() const override { return client_id_; }
  void SetRound(int64_t round) override { round_.store(round); }
  // Closes the session; pending futures fail with "<id> disconnected
  // (reason)". `send_bye`: an authenticated client is sent Bye{reason}
  // first and given close_linger to close its end.
  void Stop(const std::string& reason, bool send_bye) override;
  std::string ProfileJson() const override;
  // Pending futures fail with `message`; an active client is sent
  // Error{replaced, message} and given close_linger to close its end.
  void StopReplaced(const std::string& message) override;
  algorithms::ClientInfo& info() override { return info_; }
  // Sends TrainTask{round (SetRound), instructions, *global}. Never blocks.
  std::future<train::FitResult> Fit(engine::SharedParameters global,
                                    const train::FitInstructions& instructions) override;
  // Sends EvalTask{round, *parameters}. Never blocks.
  std::future<train::EvalResult> Evaluate(engine::SharedParameters parameters) override;
  // Sends EvalTask{round, pseudo_data = request, no parameters}; the
  // EvalResult's pseudo_data fulfils the future. Never blocks.
  std::future<Eigen::MatrixXf> PseudoDataMeans(const train::PseudoDataRequest& request) override;
  algorithms::SecAggParty* secagg_party() override { return this; }

  // ---- algorithms::SecAggParty (the stages as frames; never block) ----
  std::future<privacy::PublicKeys> AdvertiseKeys(const algorithms::SecAggSetup& setup) override;
  std::future<privacy::ShareKeys> ShareKeys(const privacy::NeighbourKeys& keys) override;
  std::future<privacy::MaskedInput> MaskedInput(const privacy::RoutedShares& shares) override;
  std::future<privacy::UnmaskResponse> Unmask(const privacy::UnmaskRequest& request) override;
  // Sends SecAggDone{round, ok, reason}.
  void Finish(int64_t round, bool ok, const std::string& reason) override;

  // ---- Observers (any thread) ----
  // "127.0.0.1:53422".
  const std::string& peer() const override { return peer_; }
  bool closed() const { return closed_.load(); }
  bool authenticated() const { return authenticated_.load(); }
  uint64_t bytes_in() const { return bytes_in_.load(); }    // frame bytes received
  uint64_t bytes_out() const { return bytes_out_.load(); }  // frame bytes queued to send
  // The traffic of the last (up to 64) completed tasks, oldest first.
  std::vector<TaskTraffic> RecentTraffic() const;

 private:
  enum class State { kHandshake, kAwaitHello, kActive, kClosing, kClosed };

  template <typename Result>
  using Pending = PendingTask<Result>;

  void OnHandshake(const boost::system::error_code& ec);
  void OnHandshakeTimeout(const boost::system::error_code& ec);
  void DoRead();
  // `data` is the I/O thread's scratch buffer: consumed before returning.
  void OnRead(const boost::system::error_code& ec, std::span<const uint8_t> data);
  void HandleFrame(wire::Frame& frame);
  // Counts a frame of an authenticated client; throws wire::ProtocolError
  // past options_.max_frames_per_second within one second.
  void CheckFrameRate();
  void OnHello(const wire::Hello& hello);
  void OnTrainResult(wire::TrainResult& result, uint64_t frame_bytes);
  void OnEvalResult(wire::EvalResult& result, uint64_t frame_bytes);
  // A CompressedUpdate: kept for the TrainResult of its round that follows.
  void OnCompressedUpdate(wire::CompressedUpdate& update, uint64_t frame_bytes);
  // A GroupSum from an edge aggregator: kept for the TrainResult of its
  // round that follows.
  void OnGroupSum(wire::GroupSum& sum, uint64_t frame_bytes);
  // A secure-aggregation frame from the client: the answer to secagg_.
  void OnSecAggAnswer(wire::SecAggMessage& message, wire::MessageType type);
  // Sends `request` (a stage of round secagg_round_) and returns the future
  // the answer of type `answer` fulfils through `extract`.
  template <typename Reply, typename Extract>
  std::future<Reply> AskSecAgg(wire::SecAggMessage request, wire::MessageType answer,
                               Extract extract);
  void StartFit(const engine::SharedParameters& global, const train::FitInstructions& instructions,
                std::shared_ptr<std::promise<train::FitResult>> promise, int64_t round);
  void StartEvaluate(const engine::SharedParameters& parameters,
                     std::shared_ptr<std::promise<train::EvalResult>> promise, int64_t round);
  void StartPseudoDataMeans(const train::PseudoDataRequest& request,
                            std::shared_ptr<std::promise<Eigen::MatrixXf>> promise, int64_t round);
  void ArmSilenceTimer();
  void OnSilenceTimer(const boost::system::error_code& ec);
  // A frame to send: `head`, then, if `parameters` is set, the parameters'
  // floats straight from the shared model (their wire form on a
  // little-endian host), the frame's last field. Every session of a round
  // sends the same model, so it is not copied into each session's frame.
  struct OutgoingFrame {
    std::vector<uint8_t> head;
    engine::SharedParameters parameters;  // null: `head` is the whole frame
    bool head_written = false;            // the next write is the parameters
    size_t size() const;                  // bytes on the wire (head + parameters)
  };
  void Send(OutgoingFrame frame);
  void Send(std::vector<uint8_t> frame);  // a whole frame
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec);
  // Sends `final_frame` (Bye or Error), then half-closes and waits up to
  // close_linger for the peer to close.
  void SendFinal(std::vector<uint8_t> final_frame);
  // Answers a protocol violation with Error(protocol) and closes.
  void ProtocolViolation(const std::string& what);
  // Refuses an unauthenticated client with Error(code) and closes.
  void Refuse(wire::ErrorCode code, const std::string& why);
  void DoStop(const std::string& reason, bool send_bye);
  void DoStopReplaced(const std::string& message);
  // The session is ending: on_leaving (once), then FailPending(message).
  void Leave(const std::string& message);
  // Fails the pending futures with edgefl::Error(message).
  void FailPending(const std::string& message);
  // Closes the socket, cancels the timers, fails what is pending, calls
  // on_closed. Idempotent.
  void Close();
  void RecordTraffic(const TaskTraffic& traffic);

  Stream stream_;  // the TLS connection; its executor is the strand
  const boost::asio::ip::tcp::endpoint peer_endpoint_;  // the client's address
  const std::string peer_;                              // FormatEndpoint(peer_endpoint_)
  const SessionOptions options_;                        // limits, timeouts, Welcome fields
  const SessionHooks hooks_;                            // registration callbacks
  const Logger logger_;                                 // where log lines go
  boost::asio::steady_timer handshake_timer_;           // handshake + Hello deadline
  boost::asio::steady_timer silence_timer_;  // fires when a busy client has been silent too long
  boost::asio::steady_timer linger_timer_;   // bounds the close after a final Bye/Error
  wire::FrameDecoder decoder_;               // splits the byte stream into frames
  std::deque<OutgoingFrame> write_queue_;    // frames to send, front is being written
  bool writing_ = false;                     // an AsyncWrite is in flight
  bool half_closed_ = false;                 // shutdown(send) done after the final frame
  bool left_ = false;                        // on_leaving has been called
  State state_ = State::kHandshake;          // strand only
  std::string name_;                         // for logs: the client id, or "client <peer>"
  std::string client_id_;                    // the certificate's CN, set at Hello
  wire::DeviceProfile device_;               // from Hello
  std::string agent_;                        // from Hello
  algorithms::ClientInfo info_;              // the engine's view (see the class comment)
  std::atomic<int64_t> round_{0};            // round of the next task (SetRound)
  std::optional<Pending<train::FitResult>> fit_;    // the TrainTask awaiting its result
  std::optional<Pending<train::EvalResult>> eval_;  // the EvalTask awaiting its result
  std::optional<Pending<Eigen::MatrixXf>> means_;   // the pseudo-data EvalTask awaiting its result
  // The secure-aggregation stage awaiting the client's answer.
  struct SecAggPending {
    int64_t round = 0;
    wire::MessageType answer = wire::MessageType::kSecAggKeys;  // the type expected
    std::function<void(wire::SecAggMessage&)> deliver;          // fulfils the future
    std::function<void(const std::string&)> fail;               // fails it
  };
  std::optional<SecAggPending> secagg_;
  // Compressed updates: what this connection's client holds (a new
  // connection starts with none and is sent the full model).
  compress::ModelDeltaSender downlink_;
  std::atomic<int64_t> secagg_round_{0};       // the round of the last setup
  std::atomic<int64_t> secure_task_round_{0};  // the round of the last secure task (async cohorts)
  std::set<int64_t> superseded_fits_;          // rounds whose late TrainResult is dropped
  std::set<int64_t> superseded_evals_;         // rounds whose late EvalResult is dropped
  std::chrono::steady_clock::time_point last_heard_;    // last bytes from the client (or task sent)
  std::chrono::steady_clock::time_point frame_window_;  // start of the flood check's second
  int64_t frames_in_window_ = 0;                        // frames received since frame_window_
  std::atomic<bool> closed_{false};                     // Close() has run
  std::atomic<bool> authenticated_{false};              // Hello accepted
  std::atomic<uint64_t> bytes_in_{0};                   // frame bytes received
  std::atomic<uint64_t> bytes_out_{0};                  // frame bytes queued
  mutable std::mutex traffic_mutex_;                    // guards traffic_
  std::deque<TaskTraffic> traffic_;                     // GUARDED_BY(traffic_mutex_), last 64 tasks
};

}  // namespace edgefl::coordinator
