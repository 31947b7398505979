// The coordinator's TLS side in-process: a real TlsServer and ClientRegistry
// on 127.0.0.1:<ephemeral> with certificates from wire/certificates.h, and a
// small in-test TLS client speaking wire messages. Every wait is bounded
// (kWait), so a broken session fails a test instead of hanging it.
#include "coordinator/tls_server.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include "common/error.h"
#include "coordinator/client_registry.h"
#include "coordinator/log.h"
#include "coordinator/tls_client_session.h"
#include "tests/test_util.h"
#include "tests/wire/test_pki.h"
#include "wire/certificates.h"
#include "wire/frame.h"
#include "wire/group_messages.h"
#include "wire/messages.h"
#include "wire/tls_context.h"

namespace edgefl::coordinator {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

// Scaled (tests/test_util.h) for sanitizer builds.
const std::chrono::milliseconds kWait =
    std::chrono::duration_cast<std::chrono::milliseconds>(edgefl::testing::Scaled(10s));
constexpr int kTlsServerParams = 1000;

using wire::testing::Pki;

// Log lines captured for assertions.
class CapturedLog {
 public:
  Logger logger() {
    return Logger([this](LogLevel level, const std::string& line) {
      std::lock_guard lock(mutex_);
      lines_.push_back(std::string(1, static_cast<char>(level)) + " " + line);
      changed_.notify_all();
    });
  }
  // True once a line containing every one of `parts` has been logged.
  bool WaitFor(const std::vector<std::string>& parts, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      return std::any_of(lines_.begin(), lines_.end(), [&](const std::string& line) {
        return std::all_of(parts.begin(), parts.end(),
                           [&](const std::string& p) { return line.find(p) != std::string::npos; });
      });
    });
  }
  std::string All() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& l : lines_)
      out += l + "\n";
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

// The coordinator side: server + registry on two io threads.
class Coordinator {
 public:
  explicit Coordinator(const Pki& pki, size_t min_clients = 1,
                       void (*tweak)(ServerOptions&) = nullptr)
      : tls_(wire::MakeServerContext(pki.Server())),
        registry_(min_clients, log_.logger()),
        server_(io_, tls_, Options(tweak), registry_, log_.logger()),
        work_(asio::make_work_guard(io_)) {
    server_.Start();
    for (int i = 0; i < 2; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  ~Coordinator() {
    server_.Stop("test over", false);
    server_.WaitClosed(kWait);
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      t.join();
  }

  uint16_t port() const { return server_.port(); }
  ClientRegistry& registry() { return registry_; }
  TlsServer& server() { return server_; }
  CapturedLog& log() { return log_; }

  // The registered session of `id` (waits for it).
  std::shared_ptr<TlsClientSession> Session(const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& c : registry_.Connected()) {
        if (c->client_id() == id) return std::dynamic_pointer_cast<TlsClientSession>(c);
      }
      std::this_thread::sleep_for(5ms);
    }
    FAIL("client " << id << " never registered; log:\n" << log_.All());
    return nullptr;
  }

 private:
  static ServerOptions Options(void (*tweak)(ServerOptions&)) {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.session.run_id = "test-run";
    o.session.model_spec = "mlp:10-10";
    o.session.num_parameters = kTlsServerParams;
    o.session.heartbeat_interval = 2s;
    o.session.handshake_timeout = 5s;
    o.session.close_linger = 500ms;
    if (tweak) tweak(o);
    return o;
  }

  CapturedLog log_;
  asio::io_context io_;
  ssl::context tls_;
  ClientRegistry registry_;
  TlsServer server_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

// A client on its own io_context, driven synchronously with timeouts.
class TestClient {
 public:
  // With `files`: edgefl's client context; without: trusts the CA but
  // presents no certificate.
  TestClient(const Pki& pki, const std::optional<wire::TlsFiles>& files)
      : ctx_(files ? wire::MakeClientContext(*files, "127.0.0.1") : Bare(pki)),
        stream_(io_, ctx_) {}

  // TCP connect + TLS handshake.
  error_code Connect(uint16_t port) {
    error_code result;
    Run([&](auto done) {
      stream_.lowest_layer().async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port),
                                           [&, done](error_code ec) {
                                             result = ec;
                                             done();
                                           });
    });
    if (result) return result;
    Run([&](auto done) {
      stream_.async_handshake(ssl::stream_base::client, [&, done](error_code ec) {
        result = ec;
        done();
      });
    });
    return result;
  }

  error_code SendBytes(const std::vector<uint8_t>& bytes) {
    error_code result;
    Run([&](auto done) {
      asio::async_write(stream_, asio::buffer(bytes), [&, done](error_code ec, size_t) {
        result = ec;
        done();
      });
    });
    return result;
  }
  template <typename M>
  error_code Send(const M& message) {
    return SendBytes(wire::EncodeMessage(message));
  }

  // The next message, or nullopt when the connection ends (or kWait
  // passes); `*ec` tells which.
  std::optional<wire::Message> Receive(error_code* ec = nullptr) {
    while (true) {
      if (std::optional<wire::Frame> frame = decoder_.Next()) return wire::DecodeMessage(*frame);
      error_code result;
      size_t n = 0;
      Run([&](auto done) {
        stream_.async_read_some(asio::buffer(buffer_), [&, done](error_code e, size_t k) {
          result = e;
          n = k;
          done();
        });
      });
      if (result) {
        if (ec) *ec = result;
        return std::nullopt;
      }
      decoder_.Feed(std::span<const uint8_t>(buffer_.data(), n));
    }
  }

  template <typename M>
  M ReceiveAs() {
    error_code ec;
    std::optional<wire::Message> m = Receive(&ec);
    REQUIRE_MESSAGE(m.has_value(), "connection ended: " << ec.message());
    REQUIRE_MESSAGE(std::holds_alternative<M>(*m), "got message type " << m->index());
    return std::get<M>(std::move(*m));
  }

  // Hello with the given id, expecting Welcome.
  wire::Welcome Hello(const std::string& id, uint64_t dataset_size = 600) {
    wire::Hello hello;
    hello.client_id = id;
    hello.agent = "test-client";
    hello.device.cores = 2;
    hello.device.dataset_size = dataset_size;
    hello.device.samples_per_second = 1234.0;
    REQUIRE_FALSE(Send(hello));
    return ReceiveAs<wire::Welcome>();
  }

  void Close() {
    error_code ignored;
    stream_.lowest_layer().close(ignored);
  }

  // "127.0.0.1:53422": this end of the connection, as the server sees it.
  std::string LocalAddress() {
    error_code ec;
    return wire::FormatEndpoint(stream_.lowest_layer().local_endpoint(ec));
  }

 private:
  static ssl::context Bare(const Pki& pki) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(pki.ca_file().string());
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
  }

  // Starts an operation with a completion callback and runs the io_context
  // until it completes; after kWait the socket is closed so it completes.
  template <typename Start>
  void Run(Start start) {
    bool finished = false;
    io_.restart();
    start([&finished] { finished = true; });
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!finished && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(100ms);
      if (io_.stopped()) io_.restart();
    }
    if (!finished) {
      Close();
      while (!finished)
        io_.run_one_for(100ms);
    }
  }

  asio::io_context io_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
  wire::FrameDecoder decoder_;
  std::array<uint8_t, 1 << 16> buffer_{};
};

engine::SharedParameters Ramp(int n) {
  auto v = std::make_shared<Eigen::VectorXf>(n);
  for (int i = 0; i < n; ++i)
    (*v)[i] = static_cast<float>(i) * 0.5f - 3.0f;
  return v;
}

template <typename T>
bool ReadyWithin(std::future<T>& f, std::chrono::milliseconds timeout = kWait) {
  return f.wait_for(timeout) == std::future_status::ready;
}

// The error message a failed future throws.
template <typename T>
std::string FailureOf(std::future<T>& f) {
  REQUIRE(ReadyWithin(f));
  try {
    f.get();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("the future did not fail with an edgefl::Error");
  return "";
}

TEST_CASE("TlsServer: Hello gets Welcome and the client is registered with its profile") {
  Pki pki;
  Coordinator coordinator(pki);
  TestClient client(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(client.Connect(coordinator.port()));
  const wire::Welcome welcome = client.Hello("dev-1", 777);
  CHECK(welcome.run_id == "test-run");
  CHECK(welcome.model_spec == "mlp:10-10");
  CHECK(welcome.num_parameters == kTlsServerParams);
  CHECK(welcome.heartbeat_interval_seconds == doctest::Approx(2.0));
  CHECK(welcome.protocol_version == wire::kProtocolVersion);

  REQUIRE(coordinator.registry().WaitForClients(1, kWait));
  std::shared_ptr<TlsClientSession> session = coordinator.Session("dev-1");
  CHECK(session->info().id == "dev-1");
  CHECK(session->info().num_samples == 777);
  CHECK(session->info().samples_per_second == doctest::Approx(1234.0));
  CHECK(session->ProfileJson().find("\"dataset_size\":777") != std::string::npos);
  const std::vector<RegisteredClient> joined = coordinator.registry().TakeJoined();
  REQUIRE(joined.size() == 1);
  CHECK(joined[0].client_id == "dev-1");
  CHECK(coordinator.log().WaitFor({"I dev-1 connected from 127.0.0.1"}));

  // Leaving unregisters it.
  client.Close();
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (coordinator.registry().size() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  CHECK(coordinator.registry().size() == 0);
  CHECK(coordinator.log().WaitFor({"dev-1 disconnected"}));
}

TEST_CASE("TlsClientSession: Fit sends the parameters and the TrainResult fulfils the future") {
  Pki pki;
  Coordinator coordinator(pki);
  TestClient client(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(client.Connect(coordinator.port()));
  client.Hello("dev-1");
  const std::vector<std::shared_ptr<engine::ClientProxy>> clients =
      coordinator.registry().ClientsForRound(3);
  REQUIRE(clients.size() == 1);

  const engine::SharedParameters global = Ramp(kTlsServerParams);
  train::FitInstructions instructions;
  instructions.model_version = 2;
  instructions.recipe.batch_size = 16;
  instructions.recipe.seed = 99;
  instructions.local.objective = "fedbr";
  instructions.local.params = {{"gamma", 0.25}};
  std::future<train::FitResult> future = clients[0]->Fit(global, instructions);

  const wire::TrainTask task = client.ReceiveAs<wire::TrainTask>();
  CHECK(task.round == 3);
  CHECK(task.model_version == 2);
  CHECK(task.model_spec == "mlp:10-10");
  CHECK(task.recipe.batch_size == 16);
  CHECK(task.recipe.seed == 99);
  CHECK(task.local.objective == "fedbr");
  CHECK(task.local.params.at("gamma") == 0.25);
  REQUIRE(task.parameters.size() == kTlsServerParams);
  CHECK(task.parameters == *global);
  CHECK_FALSE(ReadyWithin(future, 50ms));

  // A heartbeat while "training", then the result (of the wrong length: the
  // session delivers it, the round engine rejects it).
  REQUIRE_FALSE(client.Send(wire::Heartbeat{0, 3, 0.5}));
  wire::TrainResult result;
  result.round = 3;
  result.base_version = 2;
  result.train.parameters = Eigen::VectorXf::Constant(kTlsServerParams - 1, 0.125f);
  result.train.num_samples = 600;
  result.train.steps = 38;
  result.train.train_loss = 0.75;
  result.train.compute_seconds = 1.5;
  REQUIRE_FALSE(client.Send(result));

  REQUIRE(ReadyWithin(future));
  const train::FitResult fit = future.get();
  CHECK(fit.client == "dev-1");
  CHECK(fit.base_version == 2);
  CHECK(fit.train.num_samples == 600);
  CHECK(fit.train.steps == 38);
  CHECK(fit.train.train_loss == 0.75);
  CHECK(fit.train.parameters.size() == kTlsServerParams - 1);
  CHECK(fit.train.parameters[0] == 0.125f);

  // Bytes: the task's frame out (same bytes as encoding the whole task),
  // result + heartbeat in.
  auto session = std::dynamic_pointer_cast<TlsClientSession>(clients[0]);
  const std::vector<TaskTraffic> traffic = session->RecentTraffic();
  REQUIRE(traffic.size() == 1);
  CHECK(traffic[0].round == 3);
  CHECK(traffic[0].bytes_out == wire::EncodeMessage(task).size());
  CHECK(traffic[0].bytes_in ==
        wire::EncodeMessage(result).size() + wire::EncodeMessage(wire::Heartbeat{}).size());

  // Evaluate likewise.
  std::future<train::EvalResult> eval_future = clients[0]->Evaluate(global);
  const wire::EvalTask eval_task = client.ReceiveAs<wire::EvalTask>();
  CHECK(eval_task.round == 3);
  CHECK(eval_task.parameters == *global);
  wire::EvalResult eval;
  eval.round = 3;
  eval.eval.num_samples = 600;
  eval.eval.loss = 0.5;
  eval.eval.accuracy = 0.8;
  eval.eval.per_class_accuracy = {0.7, 0.9};
  REQUIRE_FALSE(client.Send(eval));
  REQUIRE(ReadyWithin(eval_future));
  const train::EvalResult got = eval_future.get();
  CHECK(got.accuracy == 0.8);
  CHECK(got.per_class_accuracy.size() == 2);
}

TEST_CASE("TlsClientSession: a client that disconnects mid-task fails the future with a reason") {
  Pki pki;
  Coordinator coordinator(pki);
  TestClient client(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(client.Connect(coordinator.port()));
  client.Hello("dev-1");
  auto clients = coordinator.registry().ClientsForRound(1);
  REQUIRE(clients.size() == 1);
  std::future<train::FitResult> future = clients[0]->Fit(Ramp(kTlsServerParams), {});
  client.ReceiveAs<wire::TrainTask>();
  client.Close();
  CHECK(FailureOf(future).find("dev-1 disconnected") != std::string::npos);
  // The session left the registry before its task failed: the engine, woken
  // by the failure, must not sample it for the next round.
  CHECK(coordinator.registry().size() == 0);

  // A task for a session that is gone fails at once.
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  auto session = std::dynamic_pointer_cast<TlsClientSession>(clients[0]);
  while (!session->closed() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  std::future<train::FitResult> late = clients[0]->Fit(Ramp(kTlsServerParams), {});
  CHECK(FailureOf(late).find("dev-1 disconnected") != std::string::npos);
}

TEST_CASE("TlsClientSession: a superseded task fails and its late result is dropped") {
  Pki pki;
  Coordinator coordinator(pki);
  TestClient client(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(client.Connect(coordinator.port()));
  client.Hello("dev-1");
  auto session = coordinator.Session("dev-1");
  session->SetRound(1);
  std::future<train::FitResult> first = session->Fit(Ramp(kTlsServerParams), {});
  CHECK(client.ReceiveAs<wire::TrainTask>().round == 1);
  // The engine gave up on round 1 (deadline) and moves on.
  session->SetRound(2);
  std::future<train::FitResult> second = session->Fit(Ramp(kTlsServerParams), {});
  CHECK(client.ReceiveAs<wire::TrainTask>().round == 2);
  CHECK(FailureOf(first).find("superseded by round 2") != std::string::npos);

  wire::TrainResult late;
  late.round = 1;
  late.train.num_samples = 1;
  REQUIRE_FALSE(client.Send(late));
  wire::TrainResult current;
  current.round = 2;
  current.train.num_samples = 2;
  REQUIRE_FALSE(client.Send(current));
  REQUIRE(ReadyWithin(second));
  CHECK(second.get().train.num_samples == 2);
  CHECK(coordinator.log().WaitFor({"dev-1: late TrainResult for round 1 dropped"}));
  CHECK_FALSE(session->closed());
}

TEST_CASE("TlsClientSession: an Error from the client fails its task with the client's reason") {
  Pki pki;
  Coordinator coordinator(pki);
  TestClient client(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(client.Connect(coordinator.port()));
  client.Hello("dev-1");
  auto session = coordinator.Session("dev-1");
  std::future<train::FitResult> future = session->Fit(Ramp(kTlsServerParams), {});
  client.ReceiveAs<wire::TrainTask>();
  REQUIRE_FALSE(client.Send(wire::ErrorMessage{wire::ErrorCode::kTrainingFailed, "loss diverged"}));
  const std::string reason = FailureOf(future);
  CHECK(reason.find("dev-1 sent Error 5: loss diverged") != std::string::npos);
}

TEST_CASE("TlsClientSession: a client silent for three heartbeat intervals fails its task") {
  Pki pki;
  Coordinator coordinator(pki, 1, [](ServerOptions& o) { o.session.heartbeat_interval = 100ms; });
  TestClient client(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(client.Connect(coordinator.port()));
  client.Hello("dev-1");
  // Idle, the client may stay quiet longer than that.
  std::this_thread::sleep_for(400ms);
  auto clients = coordinator.registry().ClientsForRound(1);
  REQUIRE(clients.size() == 1);
  std::future<train::FitResult> future = clients[0]->Fit(Ramp(kTlsServerParams), {});
  client.ReceiveAs<wire::TrainTask>();
  const std::string reason = FailureOf(future);
  CHECK(reason.find("dev-1 silent for") != std::string::npos);
  CHECK(coordinator.log().WaitFor({"W dev-1 silent for", "closing"}));
}

TEST_CASE("TlsServer: a malformed stream is refused and the server keeps serving") {
  Pki pki;
  Coordinator coordinator(pki);
  const wire::TlsFiles bad_files = pki.Client("bad-1");

  std::vector<uint8_t> bytes;
  std::string expected;
  bool after_hello = false;
  SUBCASE("garbage before Hello") {
    const std::string text = "GET / HTTP/1.1\r\n\r\n";
    bytes.assign(text.begin(), text.end());
    expected = "magic";
  }
  SUBCASE("a frame over the cap") {
    after_hello = true;
    bytes = wire::EncodeFrame(wire::MessageType::kTrainResult, {});
    const uint32_t huge = 100u << 20;
    std::memcpy(bytes.data() + 8, &huge, 4);  // little-endian host
    expected = "over limit";
  }
  SUBCASE("an unknown message type") {
    after_hello = true;
    bytes = wire::EncodeFrame(wire::MessageType::kBye, {});
    bytes[6] = 48;  // 42 is GroupSum, 43-47 reserved for edge aggregators
    expected = "type";
  }
  SUBCASE("a result for no task") {
    after_hello = true;
    wire::TrainResult result;
    result.round = 1;
    bytes = wire::EncodeMessage(result);
    expected = "no task is pending";
  }
  SUBCASE("a flood of heartbeats") {
    after_hello = true;
    for (uint64_t i = 0; i < 5000; ++i) {
      const std::vector<uint8_t> frame = wire::EncodeMessage(wire::Heartbeat{i, 0, 0.0});
      bytes.insert(bytes.end(), frame.begin(), frame.end());
    }
    expected = "more than 1000 frames in one second";
  }
  SUBCASE("a GroupSum to a run that does not take edge aggregators' sums") {
    after_hello = true;
    wire::GroupSum sum;
    sum.round = 1;
    sum.clients = 1;
    sum.weight = 10;
    bytes = wire::EncodeGroupMessage(sum);
    expected = "GroupSum for round 1 refused: edge aggregators are not accepted";
  }
  SUBCASE("a second Hello") {
    after_hello = true;
    wire::Hello hello;
    hello.client_id = "bad-1";
    bytes = wire::EncodeMessage(hello);
    expected = "second Hello";
  }

  {
    TestClient bad(pki, bad_files);
    REQUIRE_FALSE(bad.Connect(coordinator.port()));
    if (after_hello) bad.Hello("bad-1");
    REQUIRE_FALSE(bad.SendBytes(bytes));
    const wire::ErrorMessage error = bad.ReceiveAs<wire::ErrorMessage>();
    CHECK(error.code == wire::ErrorCode::kProtocol);
    CHECK_MESSAGE(error.message.find(expected) != std::string::npos, error.message);
    error_code ec;
    CHECK_FALSE(bad.Receive(&ec).has_value());  // then the coordinator closes
  }
  CHECK(coordinator.log().WaitFor({"W ", "protocol error", expected}));

  TestClient good(pki, pki.Client("good-1"));
  REQUIRE_FALSE(good.Connect(coordinator.port()));
  good.Hello("good-1");
  CHECK(coordinator.registry().WaitForClients(1, kWait));
  CHECK(coordinator.Session("good-1") != nullptr);
}

TEST_CASE("TlsServer: a Hello claiming another id is refused as unauthorized") {
  Pki pki;
  Coordinator coordinator(pki);
  TestClient client(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(client.Connect(coordinator.port()));
  wire::Hello hello;
  hello.client_id = "dev-2";
  REQUIRE_FALSE(client.Send(hello));
  const wire::ErrorMessage error = client.ReceiveAs<wire::ErrorMessage>();
  CHECK(error.code == wire::ErrorCode::kUnauthorized);
  CHECK(error.message.find("dev-2") != std::string::npos);
  error_code end;  // then close_notify
  CHECK_FALSE(client.Receive(&end).has_value());
  CHECK(end == asio::error::eof);
  CHECK(coordinator.log().WaitFor({"refused", "claims id 'dev-2'", "'dev-1'"}));
  CHECK(coordinator.registry().size() == 0);
}

TEST_CASE("TlsServer: a version-1 client is refused with unsupported_version naming both ranges") {
  // A client of the previous release: its Hello (whose layout and frame
  // version 1 are unchanged) is read, and refused by name rather than with a
  // frame error, so the device can say why and stop instead of retrying.
  Pki pki;
  Coordinator coordinator(pki);
  TestClient client(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(client.Connect(coordinator.port()));
  wire::Hello hello;
  hello.client_id = "dev-1";
  hello.protocol_version = 1;
  REQUIRE_FALSE(client.Send(hello));
  const wire::ErrorMessage error = client.ReceiveAs<wire::ErrorMessage>();
  CHECK(error.code == wire::ErrorCode::kUnsupportedVersion);
  CHECK(error.message == "protocol version 1 is not supported (this coordinator speaks 2 to 2)");
  CHECK(coordinator.registry().size() == 0);
}

TEST_CASE("TlsServer: a client without a certificate is refused at the handshake") {
  Pki pki;
  Coordinator coordinator(pki);
  TestClient client(pki, std::nullopt);
  const error_code handshake = client.Connect(coordinator.port());
  if (!handshake) {
    // TLS 1.3: the client learns of the refusal on its first read.
    error_code ec;
    CHECK_FALSE(client.Receive(&ec).has_value());
    CHECK(ec);
  }
  CHECK(coordinator.log().WaitFor({"W client 127.0.0.1:", "refused", "certificate"}));
  CHECK(coordinator.registry().size() == 0);
}

TEST_CASE("TlsServer: plain TCP and silent connections are refused with a reason") {
  Pki pki;
  Coordinator coordinator(pki, 1, [](ServerOptions& o) { o.session.handshake_timeout = 300ms; });
  asio::io_context io;
  tcp::socket plain(io);
  plain.connect(tcp::endpoint(asio::ip::address_v4::loopback(), coordinator.port()));
  const std::string text = "hello?\r\n\r\n";
  asio::write(plain, asio::buffer(text));
  CHECK(coordinator.log().WaitFor({"refused", "not TLS"}));

  tcp::socket silent(io);
  silent.connect(tcp::endpoint(asio::ip::address_v4::loopback(), coordinator.port()));
  CHECK(coordinator.log().WaitFor({"refused: no TLS handshake within 0.3 s"}));

  // A TLS client that never says Hello.
  TestClient quiet(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(quiet.Connect(coordinator.port()));
  CHECK(coordinator.log().WaitFor({"refused: no Hello within 0.3 s"}));
  CHECK(coordinator.server().WaitClosed(kWait));
}

TEST_CASE("TlsServer: connections over the limit are closed at once") {
  Pki pki;
  Coordinator coordinator(pki, 1, [](ServerOptions& o) { o.max_connections = 1; });
  TestClient first(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(first.Connect(coordinator.port()));
  first.Hello("dev-1");

  TestClient second(pki, pki.Client("dev-2"));
  CHECK(second.Connect(coordinator.port()));  // closed before the handshake
  CHECK(coordinator.log().WaitFor({"refused: connection limit 1 reached"}));
  CHECK(coordinator.registry().size() == 1);
}

TEST_CASE("ClientRegistry: a second connection with the same id replaces the first") {
  Pki pki;
  Coordinator coordinator(pki);
  const wire::TlsFiles files = pki.Client("dev-1");
  TestClient old_client(pki, files);
  REQUIRE_FALSE(old_client.Connect(coordinator.port()));
  old_client.Hello("dev-1");
  auto old_session = coordinator.Session("dev-1");
  std::future<train::FitResult> pending = old_session->Fit(Ramp(kTlsServerParams), {});
  old_client.ReceiveAs<wire::TrainTask>();

  TestClient new_client(pki, files);
  REQUIRE_FALSE(new_client.Connect(coordinator.port()));
  new_client.Hello("dev-1");
  CHECK(FailureOf(pending).find("replaced by a new connection") != std::string::npos);
  // The newer connection wins; the older one is told why, with the code a
  // client acts on (it must not reconnect and replace the newer one).
  const auto told = old_client.ReceiveAs<wire::ErrorMessage>();
  CHECK(told.code == wire::ErrorCode::kReplaced);
  CHECK(told.message.find("another device is using this client's certificate (client id dev-1)") !=
        std::string::npos);
  error_code ec;
  CHECK_FALSE(old_client.Receive(&ec).has_value());
  CHECK(coordinator.registry().size() == 1);
  CHECK(coordinator.registry().replacements("dev-1") == 1);
  CHECK(coordinator.Session("dev-1") != old_session);
  // The operator sees a warning naming the id and both addresses, counted.
  CHECK_MESSAGE(
      coordinator.log().WaitFor({"W dev-1: new connection from " + new_client.LocalAddress() +
                                     " replaces the live session from " + old_client.LocalAddress(),
                                 "1st replacement in this run"}),
      coordinator.log().All());
}

TEST_CASE("ClientRegistry: ClientsForRound waits for min_clients and stops on request") {
  Pki pki;
  Coordinator coordinator(pki, 2);
  auto round =
      std::async(std::launch::async, [&] { return coordinator.registry().ClientsForRound(1); });
  TestClient a(pki, pki.Client("dev-a"));
  REQUIRE_FALSE(a.Connect(coordinator.port()));
  a.Hello("dev-a");
  CHECK_FALSE(ReadyWithin(round, 200ms));
  CHECK(coordinator.log().WaitFor({"round 1: waiting for clients", "of 2 connected"}));

  TestClient b(pki, pki.Client("dev-b"));
  REQUIRE_FALSE(b.Connect(coordinator.port()));
  b.Hello("dev-b");
  REQUIRE(ReadyWithin(round));
  const auto clients = round.get();
  REQUIRE(clients.size() == 2);
  CHECK(clients[0]->info().id == "dev-a");
  CHECK(clients[1]->info().id == "dev-b");

  // The engine's history survives a reconnection.
  clients[0]->info().rounds_participated = 1;
  clients[0]->info().last_round = 1;
  a.Close();
  TestClient a2(pki, pki.Client("dev-a"));
  REQUIRE_FALSE(a2.Connect(coordinator.port()));
  a2.Hello("dev-a");
  REQUIRE(coordinator.registry().WaitForClients(2, kWait));
  std::vector<std::shared_ptr<engine::ClientProxy>> next;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  do {
    next = coordinator.registry().ClientsForRound(2);
  } while ((next.size() != 2 || next[0] == clients[0]) &&
           std::chrono::steady_clock::now() < deadline);
  REQUIRE(next.size() == 2);
  CHECK(next[0] != clients[0]);
  CHECK(next[0]->info().rounds_participated == 1);
  CHECK(next[0]->info().last_round == 1);

  // A stop request wakes a waiting ClientsForRound with nothing.
  b.Close();
  a2.Close();
  const auto until = std::chrono::steady_clock::now() + kWait;
  while (coordinator.registry().size() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  REQUIRE(coordinator.registry().size() == 0);
  auto waiting =
      std::async(std::launch::async, [&] { return coordinator.registry().ClientsForRound(3); });
  CHECK_FALSE(ReadyWithin(waiting, 100ms));
  coordinator.registry().RequestStop();
  REQUIRE(ReadyWithin(waiting));
  CHECK(waiting.get().empty());
}

TEST_CASE("TlsServer: Stop says Bye to clients and fails their pending tasks") {
  Pki pki;
  Coordinator coordinator(pki);
  TestClient client(pki, pki.Client("dev-1"));
  REQUIRE_FALSE(client.Connect(coordinator.port()));
  client.Hello("dev-1");
  auto session = coordinator.Session("dev-1");
  std::future<train::FitResult> pending = session->Fit(Ramp(kTlsServerParams), {});
  client.ReceiveAs<wire::TrainTask>();
  coordinator.server().Stop("shutting down");
  const wire::Bye bye = client.ReceiveAs<wire::Bye>();
  CHECK(bye.reason == "shutting down");
  CHECK(FailureOf(pending).find("dev-1 disconnected (shutting down)") != std::string::npos);
  // The session ends with a TLS close_notify, not only a TCP close (which
  // the client would read as a cut connection, stream_truncated).
  error_code end;
  CHECK_FALSE(client.Receive(&end).has_value());
  CHECK(end == asio::error::eof);
  client.Close();
  CHECK(coordinator.server().WaitClosed(kWait));
}

}  // namespace
}  // namespace edgefl::coordinator
