// The C API (client/edgefl_client.h) in process: what an app gets back for
// bad options and bad data, and that stop() ends a session from another
// thread. The federation over TLS is in tests/coordinator/c_api_federation_test.cpp.
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>

#include "client/edgefl_client.h"
#include "tests/test_util.h"
#include "wire/certificates.h"

namespace edgefl::client {
namespace {

using edgefl::testing::TempDir;

using testing::HasSubstr;

// A project CA and one device's certificate in `dir`.
void WriteDeviceCertificates(const TempDir& dir) {
  const wire::CertificateAndKey ca = wire::CreateCa("test CA", wire::Validity::Days(30));
  wire::WriteFileAtomically(dir / "ca.crt", ca.certificate_pem, 0644, wire::Overwrite::kNo);
  wire::WriteCertificateAndKey(
      wire::IssueClientCertificate(ca, "device-7", wire::Validity::Days(30)), dir / "device.crt",
      dir / "device.key", wire::Overwrite::kNo);
  wire::WriteCertificateAndKey(
      wire::IssueServerCertificate(ca, {"127.0.0.1"}, wire::Validity::Days(30)), dir / "server.crt",
      dir / "server.key", wire::Overwrite::kNo);
}

struct Options {
  std::string coordinator, cert, key, ca;
  edgefl_client_options Get() const {
    return {coordinator.c_str(), cert.c_str(), key.c_str(), ca.c_str()};
  }
};

Options DeviceOptions(const TempDir& dir, const std::string& coordinator) {
  return {coordinator, (dir / "device.crt").string(), (dir / "device.key").string(),
          (dir / "ca.crt").string()};
}

// Four 2x2 samples of 3 classes.
const std::vector<float> kFeatures(16, 0.5f);
const std::vector<int32_t> kLabels = {0, 1, 2, 1};
const std::vector<int32_t> kShape = {2, 2};

}  // namespace

TEST_CASE("C API: options a device cannot use give a handle whose last error names them") {
  TempDir dir;
  WriteDeviceCertificates(dir);
  SUBCASE("no port") {
    const Options o = DeviceOptions(dir, "127.0.0.1");
    const edgefl_client_options options = o.Get();
    edgefl_client* client = edgefl_client_create(&options);
    REQUIRE(client != nullptr);
    CHECK(std::string(edgefl_client_last_error(client)) ==
          "edgefl_client_options.coordinator: expected HOST:PORT, got '127.0.0.1'");
    REQUIRE(edgefl_client_set_data(client, kFeatures.data(), kLabels.data(), 4, kShape.data(), 2,
                                   3) == EDGEFL_OK);
    CHECK(edgefl_client_run_session(client) == EDGEFL_INVALID_ARGUMENT);
    CHECK(HasSubstr(edgefl_client_last_error(client), "the client was not created"));
    edgefl_client_destroy(client);
  }
  SUBCASE("the server's certificate on a device") {
    Options o = DeviceOptions(dir, "127.0.0.1:9");
    o.cert = (dir / "server.crt").string();
    o.key = (dir / "server.key").string();
    const edgefl_client_options options = o.Get();
    edgefl_client* client = edgefl_client_create(&options);
    REQUIRE(client != nullptr);
    CHECK_MESSAGE(HasSubstr(edgefl_client_last_error(client), "is a server certificate"),
                  edgefl_client_last_error(client));
    edgefl_client_destroy(client);
  }
  SUBCASE("a missing key file") {
    Options o = DeviceOptions(dir, "127.0.0.1:9");
    o.key = (dir / "absent.key").string();
    const edgefl_client_options options = o.Get();
    edgefl_client* client = edgefl_client_create(&options);
    REQUIRE(client != nullptr);
    CHECK_MESSAGE(HasSubstr(edgefl_client_last_error(client), "absent.key"),
                  edgefl_client_last_error(client));
    edgefl_client_destroy(client);
  }
  SUBCASE("NULL options and a NULL handle") {
    edgefl_client* client = edgefl_client_create(nullptr);
    REQUIRE(client != nullptr);
    CHECK(std::string(edgefl_client_last_error(client)) == "edgefl_client_create: options is NULL");
    edgefl_client_destroy(client);
    CHECK(edgefl_client_run_session(nullptr) == EDGEFL_INVALID_ARGUMENT);
    CHECK(std::string(edgefl_client_last_error(nullptr)) == "edgefl_client is NULL");
    edgefl_client_stop(nullptr);
    edgefl_client_destroy(nullptr);
  }
}

TEST_CASE("C API: data that cannot train is refused by name and the earlier data is kept") {
  TempDir dir;
  WriteDeviceCertificates(dir);
  const Options o = DeviceOptions(dir, "127.0.0.1:9");
  const edgefl_client_options options = o.Get();
  edgefl_client* client = edgefl_client_create(&options);
  REQUIRE(std::string(edgefl_client_last_error(client)).empty());
  CHECK(edgefl_client_run_session(client) == EDGEFL_INVALID_ARGUMENT);
  CHECK(std::string(edgefl_client_last_error(client)) ==
        "edgefl_client_run_session: no data (edgefl_client_set_data)");

  const std::vector<int32_t> bad_labels = {0, 1, 3, 1};
  CHECK(edgefl_client_set_data(client, kFeatures.data(), bad_labels.data(), 4, kShape.data(), 2,
                               3) == EDGEFL_INVALID_ARGUMENT);
  CHECK(std::string(edgefl_client_last_error(client)) ==
        "edgefl_client_set_data: labels[2] = 3 is outside [0, 3)");
  std::vector<float> nan_features = kFeatures;
  nan_features[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(edgefl_client_set_data(client, nan_features.data(), kLabels.data(), 4, kShape.data(), 2,
                               3) == EDGEFL_INVALID_ARGUMENT);
  CHECK(HasSubstr(edgefl_client_last_error(client), "NaN"));
  const std::vector<int32_t> zero_shape = {2, 0};
  CHECK(edgefl_client_set_data(client, kFeatures.data(), kLabels.data(), 4, zero_shape.data(), 2,
                               3) == EDGEFL_INVALID_ARGUMENT);
  CHECK(HasSubstr(edgefl_client_last_error(client), "sample_shape[1] must be 1 to 2^24, got 0"));
  CHECK(edgefl_client_set_data(client, kFeatures.data(), kLabels.data(), 0, kShape.data(), 2, 3) ==
        EDGEFL_INVALID_ARGUMENT);
  CHECK(edgefl_client_set_data(client, nullptr, kLabels.data(), 4, kShape.data(), 2, 3) ==
        EDGEFL_INVALID_ARGUMENT);
  // None of them was taken: the session still has no data.
  CHECK(edgefl_client_run_session(client) == EDGEFL_INVALID_ARGUMENT);
  CHECK(HasSubstr(edgefl_client_last_error(client), "no data"));
  edgefl_client_destroy(client);
}

TEST_CASE("C API: stop from another thread ends a session that waits on its coordinator") {
  TempDir dir;
  WriteDeviceCertificates(dir);
  // A listener that accepts the TCP connection and never answers the TLS
  // handshake: the session blocks in it until stop() shuts the socket.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const Options o = DeviceOptions(dir, "127.0.0.1:" + std::to_string(ntohs(address.sin_port)));
  const edgefl_client_options options = o.Get();
  edgefl_client* client = edgefl_client_create(&options);
  REQUIRE(std::string(edgefl_client_last_error(client)).empty());
  REQUIRE(edgefl_client_set_data(client, kFeatures.data(), kLabels.data(), 4, kShape.data(), 2,
                                 3) == EDGEFL_OK);

  edgefl_status status = EDGEFL_ERROR;
  std::thread session([&] { status = edgefl_client_run_session(client); });
  const int connection = ::accept(listener, nullptr, nullptr);  // the session has dialled
  REQUIRE(connection >= 0);
  edgefl_client_stop(client);
  session.join();
  CHECK(status == EDGEFL_STOPPED);
  CHECK(std::string(edgefl_client_last_error(client)) == "stopped by the application");
  CHECK(edgefl_client_tasks_done(client) == 0);
  // Stopped for good: the next session ends at once without a task.
  CHECK(edgefl_client_run_session(client) == EDGEFL_STOPPED);
  edgefl_client_destroy(client);
  ::close(connection);
  ::close(listener);
}

}  // namespace edgefl::client
