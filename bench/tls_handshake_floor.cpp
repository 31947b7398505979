// The floor under the coordinator's CPU per session: what OpenSSL alone
// spends on one mutual-TLS handshake in edgefl's configuration, with no
// socket, no Asio, no protocol and no log (issue 20's goal: coordinator CPU
// per established session <= 2x the crypto measured by `openssl speed`).
//
// The server and the client contexts are the coordinator's and a client's
// (wire::MakeServerContext / MakeClientContext over a fresh CA, a server
// certificate for 127.0.0.1 and --clients client certificates). Each
// handshake joins a new server SSL and a new client SSL through an
// in-memory BIO pair, in one thread, and drives both until the server has
// verified the client and both are done; the thread CPU time of the server's
// calls (SSL_new, the handshake steps, SSL_free) is summed apart from the
// client's. Then `openssl speed` runs in the same invocation, and the
// server's crypto is priced as the issue does (one ECDSA P-256 sign, two
// verifies, one ECDH) with the group the handshake actually negotiated.
//
//   build/bench/tls_handshake_floor [--handshakes N] [--clients K] [--no-speed]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <time.h>
#include <unistd.h>
#include <vector>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "wire/certificates.h"
#include "wire/tls_context.h"

namespace fs = std::filesystem;
namespace ssl = boost::asio::ssl;
using namespace edgefl;

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Adds the thread CPU time of its scope to *total.
class CpuTimer {
 public:
  explicit CpuTimer(double* total) : total_(total), start_(ThreadCpuSeconds()) {}
  ~CpuTimer() { *total_ += ThreadCpuSeconds() - start_; }
  CpuTimer(const CpuTimer&) = delete;
  CpuTimer& operator=(const CpuTimer&) = delete;

 private:
  double* total_;
  double start_;
};

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

struct Costs {
  double server_cpu = 0;  // s, summed over handshakes
  double client_cpu = 0;
  // The server's part by phase: SSL_new, each SSL_do_handshake call, SSL_free.
  double server_new = 0, server_free = 0;
  std::vector<double> server_steps;
  std::string version, cipher, group;
};

// One handshake between a new server SSL and a new client SSL.
void Handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, Costs* costs) {
  SslPtr server, client;
  {
    const double before = costs->server_cpu;
    {
      CpuTimer t(&costs->server_cpu);
      server.reset(SSL_new(server_ctx));
      SSL_set_accept_state(server.get());
    }
    costs->server_new += costs->server_cpu - before;
  }
  BIO* server_end = nullptr;
  BIO* client_end = nullptr;
  if (BIO_new_bio_pair(&server_end, 1 << 16, &client_end, 1 << 16) != 1)
    throw std::runtime_error("BIO_new_bio_pair failed");
  SSL_set_bio(server.get(), server_end, server_end);
  {
    CpuTimer t(&costs->client_cpu);
    client.reset(SSL_new(client_ctx));
    SSL_set_connect_state(client.get());
  }
  SSL_set_bio(client.get(), client_end, client_end);
  bool server_done = false, client_done = false;
  for (int turn = 0; !(server_done && client_done); ++turn) {
    if (turn > 100) throw std::runtime_error("the handshake did not finish in 100 turns");
    if (!client_done) {
      CpuTimer t(&costs->client_cpu);
      const int r = SSL_do_handshake(client.get());
      if (r == 1) {
        client_done = true;
      } else if (SSL_get_error(client.get(), r) != SSL_ERROR_WANT_READ) {
        throw std::runtime_error("client handshake failed: " +
                                 std::string(ERR_error_string(ERR_get_error(), nullptr)));
      }
    }
    if (!server_done) {
      const double before = costs->server_cpu;
      int r = 0;
      {
        CpuTimer t(&costs->server_cpu);
        r = SSL_do_handshake(server.get());
      }
      if (costs->server_steps.size() <= static_cast<size_t>(turn))
        costs->server_steps.resize(static_cast<size_t>(turn) + 1, 0.0);
      costs->server_steps[static_cast<size_t>(turn)] += costs->server_cpu - before;
      if (r == 1) {
        server_done = true;
      } else if (SSL_get_error(server.get(), r) != SSL_ERROR_WANT_READ) {
        throw std::runtime_error("server handshake failed: " +
                                 std::string(ERR_error_string(ERR_get_error(), nullptr)));
      }
    }
  }
  if (SSL_get_verify_result(server.get()) != X509_V_OK || !wire::PeerClientId(server.get()))
    throw std::runtime_error("the server did not verify the client's certificate");
  if (costs->version.empty()) {
    costs->version = SSL_get_version(server.get());
    costs->cipher = SSL_get_cipher_name(server.get());
    const int nid = SSL_get_negotiated_group(server.get());
    const char* name = OBJ_nid2sn(nid & ~TLSEXT_nid_unknown);
    costs->group = name != nullptr ? name : std::to_string(nid);
  }
  const double before = costs->server_cpu;
  {
    CpuTimer t(&costs->server_cpu);
    server.reset();
  }
  costs->server_free += costs->server_cpu - before;
}

// The "<op>/s" figures of `openssl speed` for the algorithms the server's
// handshake uses.
struct Speed {
  double sign = 0, verify = 0, ecdh_p256 = 0, ecdh_x25519 = 0;
};

Speed OpensslSpeed() {
  Speed s;
  FILE* p = popen("openssl speed -seconds 3 ecdsap256 ecdhp256 ecdhx25519 2>/dev/null", "r");
  if (p == nullptr) throw std::runtime_error("cannot run openssl speed");
  char line[512];
  while (fgets(line, sizeof line, p) != nullptr) {
    double a = 0, b = 0, c = 0, d = 0;
    if (std::sscanf(line, " 256 bits ecdsa (nistp256) %lfs %lfs %lf %lf", &a, &b, &c, &d) == 4) {
      s.sign = c;
      s.verify = d;
    } else if (std::sscanf(line, " 256 bits ecdh (nistp256) %lfs %lf", &a, &b) == 2) {
      s.ecdh_p256 = b;
    } else if (std::sscanf(line, " 253 bits ecdh (X25519) %lfs %lf", &a, &b) == 2) {
      s.ecdh_x25519 = b;
    }
  }
  pclose(p);
  return s;
}

}  // namespace

int main(int argc, char** argv) try {
  int handshakes = 2000, clients = 50;
  bool speed = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--handshakes" && i + 1 < argc) {
      handshakes = std::atoi(argv[++i]);
    } else if (a == "--clients" && i + 1 < argc) {
      clients = std::atoi(argv[++i]);
    } else if (a == "--no-speed") {
      speed = false;
    } else {
      std::fprintf(stderr, "usage: %s [--handshakes N] [--clients K] [--no-speed]\n", argv[0]);
      return 2;
    }
  }
  if (handshakes < 1 || clients < 1) throw std::runtime_error("N and K must be positive");

  // The certificates' files, removed however main ends.
  struct TempDir {
    fs::path path;
    ~TempDir() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } temp{fs::temp_directory_path() / ("edgefl-tls-floor-" + std::to_string(getpid()))};
  const fs::path& dir = temp.path;
  fs::create_directories(dir);
  const wire::CertificateAndKey ca = wire::CreateCa("edgefl floor CA", wire::Validity::Days(2));
  wire::WriteCertificateAndKey(ca, dir / "ca.crt", dir / "ca.key", wire::Overwrite::kYes);
  wire::WriteCertificateAndKey(
      wire::IssueServerCertificate(ca, {"127.0.0.1"}, wire::Validity::Days(2)), dir / "server.crt",
      dir / "server.key", wire::Overwrite::kYes);
  ssl::context server =
      wire::MakeServerContext({dir / "server.crt", dir / "server.key", dir / "ca.crt"});
  std::vector<ssl::context> client_contexts;
  for (int k = 0; k < clients; ++k) {
    const std::string name = "client-" + std::to_string(k);
    wire::WriteCertificateAndKey(wire::IssueClientCertificate(ca, name, wire::Validity::Days(2)),
                                 dir / (name + ".crt"), dir / (name + ".key"),
                                 wire::Overwrite::kYes);
    client_contexts.push_back(wire::MakeClientContext(
        {dir / (name + ".crt"), dir / (name + ".key"), dir / "ca.crt"}, "127.0.0.1"));
  }

  Costs warm;
  for (int i = 0; i < 20; ++i)
    Handshake(server.native_handle(), client_contexts[i % clients].native_handle(), &warm);
  Costs costs;
  for (int i = 0; i < handshakes; ++i)
    Handshake(server.native_handle(), client_contexts[i % clients].native_handle(), &costs);

  const double server_ms = 1e3 * costs.server_cpu / handshakes;
  const double client_ms = 1e3 * costs.client_cpu / handshakes;
  std::printf("tls_handshake_floor: %d mutual handshakes in memory, %d client certificates, %s\n",
              handshakes, clients, OpenSSL_version(OPENSSL_VERSION));
  std::printf("negotiated: %s %s, key exchange group %s\n", warm.version.c_str(),
              warm.cipher.c_str(), warm.group.c_str());
  std::printf("%-58s %8.3f\n", "server CPU per handshake (ms, SSL_new..SSL_free)", server_ms);
  std::printf("  %-56s %8.3f\n", "SSL_new", 1e3 * costs.server_new / handshakes);
  for (size_t i = 0; i < costs.server_steps.size(); ++i) {
    const std::string what = "SSL_do_handshake, call " + std::to_string(i + 1) +
                             (i == 0 ? " (ClientHello in, its flight out)" : "");
    std::printf("  %-56s %8.3f\n", what.c_str(), 1e3 * costs.server_steps[i] / handshakes);
  }
  std::printf("  %-56s %8.3f\n", "SSL_free", 1e3 * costs.server_free / handshakes);
  std::printf("%-58s %8.3f\n", "client CPU per handshake (ms)", client_ms);
  if (speed) {
    const Speed s = OpensslSpeed();
    if (s.sign <= 0 || s.verify <= 0 || s.ecdh_p256 <= 0 || s.ecdh_x25519 <= 0)
      throw std::runtime_error("could not read the output of openssl speed");
    std::printf(
        "openssl speed: ecdsa p256 sign/s %.0f verify/s %.0f; ecdh p256 op/s %.0f, "
        "x25519 op/s %.0f\n",
        s.sign, s.verify, s.ecdh_p256, s.ecdh_x25519);
    const double ecdh = warm.group == "X25519" ? s.ecdh_x25519 : s.ecdh_p256;
    const double crypto_ms = 1e3 * (1 / s.sign + 2 / s.verify + 1 / ecdh);
    const double issue_ms = 1e3 * (1 / s.sign + 2 / s.verify + 1 / s.ecdh_p256);
    std::printf("%-58s %8.3f\n", "server crypto (1 sign, 2 verifies, 1 ECDH of that group) (ms)",
                crypto_ms);
    std::printf("%-58s %8.3f\n", "  the issue's pricing (ECDH P-256) (ms)", issue_ms);
    std::printf("%-58s %8.2fx\n", "server CPU / crypto", server_ms / crypto_ms);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tls_handshake_floor: %s\n", e.what());
  return 1;
}
