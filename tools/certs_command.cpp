// edgefl certs: the project CA and the certificates it signs, as PEM files
// in one directory (keys at mode 0600). See docs/security.md.
//
//   edgefl certs init --dir DIR                 DIR/ca.crt, DIR/ca.key
//   edgefl certs issue-server HOST... --dir DIR  DIR/server.crt, DIR/server.key
//   edgefl certs issue-client NAME --dir DIR     DIR/NAME.crt, DIR/NAME.key
//   edgefl certs issue-peer NAME --dir DIR       DIR/NAME.crt, DIR/NAME.key (D-SGD node)
//   edgefl certs show FILE                       what a certificate says
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

#include <cxxopts.hpp>

#include "common/error.h"
#include "tools/commands.h"
#include "tools/option_values.h"
#include "wire/certificates.h"

namespace edgefl::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCertsUsage =
    "usage: edgefl certs <action> [options]\n"
    "\n"
    "actions:\n"
    "  init --dir DIR                  create the project CA: DIR/ca.crt, DIR/ca.key\n"
    "  issue-server HOST... --dir DIR  certificate for the coordinator, valid for each HOST\n"
    "                                  (DNS name or IP): DIR/server.crt, DIR/server.key\n"
    "  issue-client NAME --dir DIR     certificate for client NAME (its client id):\n"
    "                                  DIR/NAME.crt, DIR/NAME.key\n"
    "  issue-peer NAME --dir DIR       peer certificate for D-SGD node NAME (accepts and dials\n"
    "                                  its neighbours): DIR/NAME.crt, DIR/NAME.key\n"
    "  show FILE                       print what a certificate says\n"
    "\n"
    "Run 'edgefl certs <action> --help' for the options of an action.\n";

std::string FormatTime(std::chrono::system_clock::time_point t) {
  const time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// Options every action that writes files has.
void AddCommonOptions(cxxopts::Options& options, int64_t default_days) {
  // clang-format off
  options.add_options()
      ("dir", "directory of the CA and the certificates",
       cxxopts::value<std::string>()->default_value("certs"))
      ("days", "validity in days", cxxopts::value<std::string>()->default_value(
           std::to_string(default_days)))
      ("force", "replace existing files")
      ("h,help", "print this help");
  // clang-format on
}

// Parses argv for an action; returns false after printing help.
wire::Validity ValidityOption(const cxxopts::ParseResult& args) {
  const uint64_t days = UintOption(args, "days");
  if (days < 1 || days > 100 * 365) {
    throw ConfigError("--days must be between 1 and 36500, got " + std::to_string(days));
  }
  return wire::Validity::Days(static_cast<int64_t>(days));
}

wire::Overwrite OverwriteOption(const cxxopts::ParseResult& args) {
  return args.count("force") ? wire::Overwrite::kYes : wire::Overwrite::kNo;
}

// Creates `dir` (mode 0700) when it does not exist.
void EnsureDirectory(const fs::path& dir) {
  if (fs::is_directory(dir)) return;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw IoError("cannot create directory " + dir.string() + ": " + std::strerror(errno));
  }
}

// The CA of `dir`, with a message saying what to do when it is missing.
wire::CertificateAndKey LoadCa(const fs::path& dir) {
  const fs::path cert = dir / "ca.crt";
  const fs::path key = dir / "ca.key";
  if (!fs::exists(cert) || !fs::exists(key)) {
    throw ConfigError("no CA in " + dir.string() + " (" + (fs::exists(cert) ? key : cert).string() +
                      " not found): run 'edgefl certs init --dir " + dir.string() + "' first");
  }
  return wire::ReadCertificateAndKey(cert, key);
}

void PrintIssued(const wire::CertificateAndKey& pair, const fs::path& cert, const fs::path& key) {
  const wire::CertificateInfo info = wire::InspectCertificate(pair.certificate_pem);
  std::printf("wrote %s (CN=%s, valid until %s) and %s (mode 0600)\n", cert.c_str(),
              info.subject_cn.c_str(), FormatTime(info.not_after).c_str(), key.c_str());
}

int RunInit(int argc, char** argv) {
  cxxopts::Options options("edgefl certs init",
                           "Create the project CA (DIR/ca.crt, DIR/ca.key). Keep ca.key offline.");
  AddCommonOptions(options, wire::kDefaultCaDays);
  options.add_options()("name", "the CA's common name",
                        cxxopts::value<std::string>()->default_value("edgefl project CA"));
  cxxopts::ParseResult args;
  if (!ParseCommandLine(options, argc, argv, &args)) return kExitOk;
  const fs::path dir = StringOption(args, "dir");
  EnsureDirectory(dir);
  const wire::CertificateAndKey ca =
      wire::CreateCa(StringOption(args, "name"), ValidityOption(args));
  const fs::path cert = dir / "ca.crt";
  const fs::path key = dir / "ca.key";
  wire::WriteCertificateAndKey(ca, cert, key, OverwriteOption(args));
  PrintIssued(ca, cert, key);
  std::printf("keep %s secret and offline: whoever holds it can admit any client\n", key.c_str());
  return kExitOk;
}

enum class Role { kServer, kClient, kPeer };

int RunIssue(int argc, char** argv, Role role) {
  const bool server = role == Role::kServer;
  const std::string action = server                  ? "issue-server"
                             : role == Role::kClient ? "issue-client"
                                                     : "issue-peer";
  cxxopts::Options options(
      "edgefl certs " + action,
      server ? "Issue the coordinator's certificate for HOST... (DNS names or IP addresses), "
               "signed by DIR/ca.crt + DIR/ca.key."
      : role == Role::kClient
          ? "Issue a certificate for client NAME (its client id), signed by DIR/ca.crt + "
            "DIR/ca.key."
          : "Issue a peer certificate (serverAuth and clientAuth) for D-SGD node NAME, signed by "
            "DIR/ca.crt + DIR/ca.key.");
  AddCommonOptions(options, wire::kDefaultLeafDays);
  if (server) {
    options.add_options()("name", "file name: writes DIR/NAME.crt and DIR/NAME.key",
                          cxxopts::value<std::string>()->default_value("server"));
  }
  options.add_options()("names", "", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"names"});
  options.positional_help(server ? "HOST..." : "NAME");
  cxxopts::ParseResult args;
  if (!ParseCommandLine(options, argc, argv, &args)) return kExitOk;
  const std::vector<std::string> names = args.count("names")
                                             ? args["names"].as<std::vector<std::string>>()
                                             : std::vector<std::string>{};
  if (names.empty()) {
    throw ConfigError(server ? "issue-server needs the coordinator's host name or IP address"
                             : action + " needs the " +
                                   (role == Role::kClient ? "client's" : "node's") + " name");
  }
  if (!server && names.size() != 1) {
    throw ConfigError(action + " takes one name, got " + std::to_string(names.size()));
  }
  const std::string file_name = server ? StringOption(args, "name") : names.front();
  wire::ValidateClientId(file_name);  // a safe file name either way
  if (file_name == "ca") throw ConfigError("the name 'ca' is taken by the CA's own files");

  const fs::path dir = StringOption(args, "dir");
  const wire::Validity validity = ValidityOption(args);
  const wire::CertificateAndKey ca = LoadCa(dir);
  const wire::CertificateAndKey issued =
      server                  ? wire::IssueServerCertificate(ca, names, validity)
      : role == Role::kClient ? wire::IssueClientCertificate(ca, names.front(), validity)
                              : wire::IssuePeerCertificate(ca, names.front(), validity);
  const fs::path cert = dir / (file_name + ".crt");
  const fs::path key = dir / (file_name + ".key");
  wire::WriteCertificateAndKey(issued, cert, key, OverwriteOption(args));
  PrintIssued(issued, cert, key);
  return kExitOk;
}

int RunShow(int argc, char** argv) {
  if (argc != 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::fputs("usage: edgefl certs show FILE\n", argc == 2 ? stdout : stderr);
    return argc == 2 ? kExitOk : kExitUsage;
  }
  const fs::path file = argv[1];
  const wire::CertificateInfo info =
      wire::InspectCertificate(wire::ReadPemFile(file), file.string());
  std::printf("subject CN:  %s\n", info.subject_cn.c_str());
  std::printf("issuer CN:   %s\n", info.issuer_cn.c_str());
  std::printf("valid:       %s to %s\n", FormatTime(info.not_before).c_str(),
              FormatTime(info.not_after).c_str());
  std::string alt;
  for (const std::string& name : info.alt_names)
    alt += (alt.empty() ? "" : ", ") + name;
  std::printf("alt names:   %s\n", alt.empty() ? "-" : alt.c_str());
  std::printf("role:        %s\n", info.is_ca                              ? "CA"
                                   : info.server_auth && !info.client_auth ? "server"
                                   : info.client_auth && !info.server_auth ? "client"
                                   : info.client_auth && info.server_auth  ? "peer"
                                                                           : "any");
  std::printf("key:         %s\n", info.key_type.c_str());
  const auto now = std::chrono::system_clock::now();
  if (info.not_after < now) {
    std::printf("EXPIRED on %s: issue a new one\n", FormatTime(info.not_after).c_str());
  } else if (info.not_before > now) {
    std::printf("NOT YET VALID: valid from %s; check this machine's clock or wait\n",
                FormatTime(info.not_before).c_str());
  }
  return kExitOk;
}

}  // namespace

int RunCerts(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kCertsUsage, stderr);
    return kExitUsage;
  }
  const std::string_view action = argv[1];
  // Each action sees argv starting at its own name.
  if (action == "init") return RunInit(argc - 1, argv + 1);
  if (action == "issue-server") return RunIssue(argc - 1, argv + 1, Role::kServer);
  if (action == "issue-client") return RunIssue(argc - 1, argv + 1, Role::kClient);
  if (action == "issue-peer") return RunIssue(argc - 1, argv + 1, Role::kPeer);
  if (action == "show") return RunShow(argc - 1, argv + 1);
  if (action == "--help" || action == "-h" || action == "help") {
    std::fputs(kCertsUsage, stdout);
    return kExitOk;
  }
  std::fprintf(stderr, "edgefl certs: unknown action '%s'\n", argv[1]);
  std::fputs(kCertsUsage, stderr);
  return kExitUsage;
}

}  // namespace edgefl::tools
