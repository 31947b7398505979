#include "client/load_sessions.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <sys/resource.h>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/error.h"
#include "wire/certificates.h"
#include "wire/frame.h"
#include "wire/messages.h"
#include "wire/openssl_util.h"
#include "wire/protocol_error.h"
#include "wire/tls_context.h"

namespace edgefl::client {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Stream = asio::ssl::stream<asio::ip::tcp::socket>;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

class LoadRun {
 public:
  LoadRun(const LoadOptions& options, const std::function<void(char, const std::string&)>& log)
      : options_(options), log_(log), signals_(io_, SIGINT, SIGTERM), hold_(io_) {
    // One TLS context for every session, checked with client-0's files (an
    // OpenSSL 3 context costs milliseconds to build); each session's own
    // certificate and key go on its connection.
    const std::filesystem::path ca = options.cert_dir / "ca.crt";
    context_ = std::make_unique<asio::ssl::context>(wire::MakeClientContext(
        {options.cert_dir / "client-0.crt", options.cert_dir / "client-0.key", ca}, options.host));
    for (size_t k = 0; k < options.sessions; ++k) {
      const std::string name = "client-" + std::to_string(k);
      const std::filesystem::path cert = options.cert_dir / (name + ".crt");
      const std::filesystem::path key = options.cert_dir / (name + ".key");
      auto slot = std::make_unique<Slot>();
      slot->index = k;
      slot->id = name;
      slot->certificate =
          std::move(wire::ossl::ParseCertificates(wire::ReadPemFile(cert), cert.string()).front());
      slot->key = wire::ossl::ParsePrivateKey(wire::ReadPrivateKeyFile(key), key.string());
      if (X509_check_private_key(slot->certificate.get(), slot->key.get()) != 1) {
        ERR_clear_error();
        throw ConfigError("private key " + key.string() + " does not match certificate " +
                          cert.string());
      }
      slots_.push_back(std::move(slot));
    }
    asio::ip::tcp::resolver resolver(io_);
    for (const auto& e : resolver.resolve(options.host, std::to_string(options.port)))
      endpoints_.push_back(e.endpoint());
  }

  int Run() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) Finish("signal");
    });
    hold_.expires_after(
        std::chrono::milliseconds(static_cast<int64_t>(options_.hold_seconds * 1e3)));
    hold_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Finish("hold time over");
    });
    start_ = Clock::now();
    for (auto& slot : slots_)
      queue_.push_back(slot.get());
    Pump();
    io_.run();
    if (options_.churn && churn_started_) {
      const double s = Seconds(Clock::now() - churn_start_);
      std::printf("churn: %zu reconnects in %.2f s: %.1f handshakes/s\n", reconnects_, s,
                  s > 0 ? static_cast<double>(reconnects_) / s : 0.0);
    }
    if (options_.answer_tasks) std::printf("answered %zu tasks\n", answered_);
    if (byes_ > 0) std::printf("the coordinator said bye to %zu sessions\n", byes_);
    std::printf("closed %zu sessions (%zu failures)\n", closed_at_end_, failures_);
    std::fflush(stdout);
    return all_established_ ? kExitOk : kExitIoError;
  }

 private:
  struct Slot {
    size_t index = 0;
    std::string id;
    wire::ossl::X509Ptr certificate;  // client-<index>.crt
    wire::ossl::EvpPkeyPtr key;       // client-<index>.key
    // Shared with the handlers of its pending operations: a reconnect makes
    // a new stream while the old one's aborted read may still be queued,
    // and that handler must not find its stream destroyed.
    std::shared_ptr<Stream> stream;
    std::unique_ptr<asio::steady_timer> heartbeat;
    wire::FrameDecoder decoder{1u << 20};
    std::vector<uint8_t> buffer = std::vector<uint8_t>(4096);
    std::deque<std::vector<uint8_t>> writes;
    bool writing = false;
    bool up = false;          // Welcome received
    bool leaving = false;     // Bye sent (churn or the end)
    uint64_t sequence = 0;    // heartbeat sequence
    uint64_t generation = 0;  // bumps on every new connection (stale handlers ignore)
    double heartbeat_seconds = 5.0;
  };

  // Starts queued connections while fewer than `concurrency` are in flight.
  void Pump() {
    while (!finishing_ && in_flight_ < options_.concurrency && !queue_.empty()) {
      Slot* slot = queue_.front();
      queue_.pop_front();
      Connect(*slot);
    }
  }

  void Connect(Slot& s) {
    ++in_flight_;
    ++s.generation;
    s.stream = std::make_shared<Stream>(io_, *context_);
    SSL* ssl = s.stream->native_handle();
    if (SSL_use_certificate(ssl, s.certificate.get()) != 1 ||
        SSL_use_PrivateKey(ssl, s.key.get()) != 1) {
      ERR_clear_error();
      return Fail(s, "cannot use the certificate and key of " + s.id);
    }
    s.heartbeat = std::make_unique<asio::steady_timer>(io_);
    s.decoder = wire::FrameDecoder(1u << 20);
    s.writes.clear();
    s.writing = false;
    s.up = false;
    s.leaving = false;
    const uint64_t gen = s.generation;
    std::shared_ptr<Stream> stream = s.stream;
    asio::async_connect(
        stream->next_layer(), endpoints_,
        [this, &s, gen, stream](const boost::system::error_code& ec,
                                const asio::ip::tcp::endpoint&) {
          if (gen != s.generation) return;
          if (ec) return Fail(s, "connect: " + ec.message());
          stream->async_handshake(
              asio::ssl::stream_base::client,
              [this, &s, gen, stream](const boost::system::error_code& hec) {
                if (gen != s.generation) return;
                if (hec) {
                  return Fail(s,
                              "handshake: " + wire::DescribeTlsError(hec, stream->native_handle()));
                }
                wire::DeviceProfile device;
                device.cores = 1;
                // One sample each: the weight its answers carry.
                if (options_.answer_tasks) device.dataset_size = 1;
                Send(s, wire::EncodeMessage(wire::Hello{s.id, wire::kProtocolVersion,
                                                        "edgefl-client load", device}));
                Read(s);
              });
        });
  }

  void Send(Slot& s, std::vector<uint8_t> frame) {
    s.writes.push_back(std::move(frame));
    if (!s.writing) Write(s);
  }

  void Write(Slot& s) {
    s.writing = true;
    const uint64_t gen = s.generation;
    std::shared_ptr<Stream> stream = s.stream;
    asio::async_write(*stream, asio::buffer(s.writes.front()),
                      [this, &s, gen, stream](const boost::system::error_code& ec, size_t) {
                        if (gen != s.generation || stream != s.stream) return;
                        s.writing = false;
                        if (ec) return Fail(s, "write: " + ec.message());
                        s.writes.pop_front();
                        if (!s.writes.empty()) {
                          Write(s);
                        } else if (s.leaving) {
                          Close(s);
                        }
                      });
  }

  void Read(Slot& s) {
    const uint64_t gen = s.generation;
    std::shared_ptr<Stream> stream = s.stream;
    stream->async_read_some(
        asio::buffer(s.buffer),
        [this, &s, gen, stream](const boost::system::error_code& ec, size_t n) {
          if (gen != s.generation || stream != s.stream) return;
          if (ec) return Fail(s, "read: " + ec.message());
          try {
            s.decoder.Feed(std::span<const uint8_t>(s.buffer.data(), n));
            while (std::optional<wire::Frame> frame = s.decoder.Next()) {
              if (gen != s.generation) return;
              const wire::Message m = wire::DecodeMessage(*frame);
              if (const auto* welcome = std::get_if<wire::Welcome>(&m)) {
                if (welcome->heartbeat_interval_seconds > 0)
                  s.heartbeat_seconds = welcome->heartbeat_interval_seconds;
                OnWelcome(s);
              } else if (const auto* task = std::get_if<wire::TrainTask>(&m);
                         task != nullptr && options_.answer_tasks && s.up) {
                Answer(s, *task);
              } else if (const auto* bye = std::get_if<wire::Bye>(&m)) {
                if (!s.up) return Fail(s, "bye: " + bye->reason);
                return SaidBye(s, bye->reason);
              } else if (const auto* error = std::get_if<wire::ErrorMessage>(&m)) {
                return Fail(s, "error: " + error->message);
              }
            }
          } catch (const wire::ProtocolError& e) {
            return Fail(s, std::string("protocol: ") + e.what());
          }
          if (gen == s.generation) Read(s);
        });
  }

  // The task's model back, as one sample's update that took no step.
  void Answer(Slot& s, const wire::TrainTask& task) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    wire::TrainResult result;
    result.round = task.round;
    result.base_version = task.model_version;
    result.train.parameters = task.parameters;
    result.train.num_samples = 1;
    result.train.loss_before = result.train.loss_after = result.train.train_loss = nan;
    Send(s, wire::EncodeMessage(result));
    ++answered_;
  }

  void OnWelcome(Slot& s) {
    s.up = true;
    --in_flight_;
    if (!all_established_) {
      ++established_;
      if (established_ == slots_.size()) {
        all_established_ = true;
        const double sec = Seconds(Clock::now() - start_);
        std::printf("established %zu sessions in %.2f s: %.1f handshakes/s\n", established_, sec,
                    static_cast<double>(established_) / sec);
        std::fflush(stdout);
        if (options_.churn) {
          churn_started_ = true;
          churn_start_ = Clock::now();
          for (auto& slot : slots_)
            churn_order_.push_back(slot.get());
          for (size_t i = 0; i < options_.concurrency; ++i)
            ChurnNext();
        }
      }
    } else if (churn_started_) {
      ++reconnects_;
      if (!finishing_) ChurnNext();
    }
    ArmHeartbeat(s);
    Pump();
  }

  // Closes and reopens the next established session (round-robin).
  void ChurnNext() {
    for (size_t tries = 0; tries < churn_order_.size(); ++tries) {
      Slot* s = churn_order_.front();
      churn_order_.pop_front();
      churn_order_.push_back(s);
      if (s->up) return Leave(*s);
    }
  }

  // Churn: Bye, close, reconnect.
  void Leave(Slot& s) {
    if (!s.up) return;
    s.leaving = true;
    s.up = false;
    s.heartbeat->cancel();
    Send(s, wire::EncodeMessage(wire::Bye{"churn"}));
  }

  void ArmHeartbeat(Slot& s) {
    const uint64_t gen = s.generation;
    s.heartbeat->expires_after(
        std::chrono::milliseconds(static_cast<int64_t>(s.heartbeat_seconds * 1e3)));
    s.heartbeat->async_wait([this, &s, gen](const boost::system::error_code& ec) {
      if (ec || gen != s.generation || !s.up) return;
      Send(s, wire::EncodeMessage(wire::Heartbeat{s.sequence++, 0, 0.0}));
      ArmHeartbeat(s);
    });
  }

  // The connection ended (a failure or our own close after Bye).
  void Close(Slot& s) {
    ++s.generation;
    boost::system::error_code ignored;
    s.stream->lowest_layer().close(ignored);
    if (s.heartbeat) s.heartbeat->cancel();
    if (finishing_) {
      ++closed_at_end_;
      if (--closing_ == 0) Stop();
      return;
    }
    // Churn: reconnect at once.
    queue_.push_front(&s);
    Pump();
  }

  // Closes the session's connection; its pending handlers find a newer
  // generation and return.
  void Disconnect(Slot& s) {
    ++s.generation;
    boost::system::error_code ignored;
    s.stream->lowest_layer().close(ignored);
    if (s.heartbeat) s.heartbeat->cancel();
    s.up = false;
  }

  void Fail(Slot& s, const std::string& why) {
    if (s.leaving) return Close(s);  // a failure after our Bye: closed anyway
    if (!s.up) --in_flight_;
    if (finishing_) {
      ++s.generation;
      return;
    }
    ++failures_;
    if (failures_ <= 5) log_('W', s.id + ": " + why);
    Disconnect(s);
    if (!all_established_) {
      log_('E', s.id + " could not be established; stopping");
      Finish("a session failed");
    }
    if (++lost_ == slots_.size()) Finish("every session closed");
    Pump();
  }

  // The coordinator ended an established session (the run is over): not
  // a failure; the process ends once every session is gone.
  void SaidBye(Slot& s, const std::string& reason) {
    if (byes_++ == 0) log_('I', s.id + ": the coordinator said bye (" + reason + ")");
    Disconnect(s);
    if (++lost_ == slots_.size()) Finish("every session closed");
  }

  // Says Bye on every open session, then stops once they are closed (at
  // most 10 s later).
  void Finish(const std::string& why) {
    if (finishing_) return;
    finishing_ = true;
    log_('I', "finishing (" + why + ")");
    hold_.cancel();
    signals_.cancel();
    for (auto& slot : slots_) {
      if (!slot->stream) continue;
      if (slot->up) {
        slot->up = false;
        slot->leaving = true;
        ++closing_;
        slot->heartbeat->cancel();
        Send(*slot, wire::EncodeMessage(wire::Bye{"load test over"}));
      } else if (slot->leaving) {
        ++closing_;  // its Bye is on the way; Close() counts it
      } else {
        ++slot->generation;
        boost::system::error_code ignored;
        slot->stream->lowest_layer().close(ignored);
      }
    }
    if (closing_ == 0) return Stop();
    hold_.expires_after(std::chrono::seconds(10));
    hold_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Stop();
    });
  }

  void Stop() {
    hold_.cancel();
    io_.stop();
  }

  const LoadOptions options_;
  const std::function<void(char, const std::string&)>& log_;
  asio::io_context io_{1};
  asio::signal_set signals_;
  asio::steady_timer hold_;
  std::unique_ptr<asio::ssl::context> context_;  // shared by every session's stream
  std::vector<asio::ip::tcp::endpoint> endpoints_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::deque<Slot*> queue_;        // to connect
  std::deque<Slot*> churn_order_;  // round-robin order of the churn
  size_t in_flight_ = 0;           // connections started, not yet welcomed
  size_t established_ = 0;
  size_t answered_ = 0;  // TrainTasks answered (answer_tasks)
  size_t byes_ = 0;      // established sessions the coordinator ended with Bye
  bool all_established_ = false;
  bool churn_started_ = false;
  bool finishing_ = false;
  size_t closing_ = 0;
  size_t closed_at_end_ = 0;
  size_t failures_ = 0;
  size_t lost_ = 0;
  size_t reconnects_ = 0;
  Clock::time_point start_, churn_start_;
};

}  // namespace

uint64_t RaiseOpenFilesLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

int RunLoadSessions(const LoadOptions& options,
                    const std::function<void(char level, const std::string& line)>& log) {
  if (options.sessions == 0) throw ConfigError("--load-sessions must be at least 1");
  const uint64_t files = RaiseOpenFilesLimit();
  if (files < options.sessions + 64) {
    throw ConfigError(std::to_string(options.sessions) + " sessions need more open files than " +
                      "the limit " + std::to_string(files));
  }
  LoadRun run(options, log);
  return run.Run();
}

}  // namespace edgefl::client
