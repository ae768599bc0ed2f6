// Helpers for the integration tests: real peers (smtp-sink, swaks, Postfix) as child processes on
// 127.0.0.1 and free ports, always bounded in time and always cleaned up.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace mugai::test {

bool haveExecutable(const std::string& path);
/// True (with a "skipped: ... not installed" warning) when any of these peers is missing.
bool anyMissing(std::initializer_list<const char*> paths);

inline constexpr const char* kSink = "/usr/sbin/smtp-sink";
inline constexpr const char* kSwaks = "/usr/bin/swaks";
bool isRoot();
/// A port that was free a moment ago on 127.0.0.1.
std::uint16_t freePort();
/// True once something accepts connections on 127.0.0.1:port.
bool waitForPort(std::uint16_t port, std::chrono::milliseconds max);
/// True once `log` exists and holds `what`.
bool waitForLog(const std::filesystem::path& log, const std::string& what,
                std::chrono::milliseconds max);
/// True once a `mugai serve` accepts on 127.0.0.1:port and has logged its startup line: the
/// socket listens a moment before "listening on ..." is written, so a test that reads the line
/// after waitForPort alone can miss it.
bool waitForServe(std::uint16_t port, const std::filesystem::path& log,
                  std::chrono::milliseconds max);

/// A child process (own process group) with stdout+stderr to `log`; killed and reaped at scope exit.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::filesystem::path& log);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  void signal(int sig);
  /// Waits for the exit; false on timeout. `status` gets the waitpid status.
  bool wait(std::chrono::milliseconds max, int* status = nullptr);

 private:
  pid_t pid_ = -1;
};

/// smtp-sink on 127.0.0.1:port (as nobody when run as root), each message dumped into `dump`
/// (which must be writable for it), `options` before the address, output to `log`; null when
/// it did not accept connections within 10 s.
std::unique_ptr<Child> startSmtpSink(const std::filesystem::path& dump, std::uint16_t port,
                                     const std::filesystem::path& log,
                                     const std::vector<std::string>& options = {},
                                     int backlog = 100);

/// Runs a command to completion (killed after timeout_s); returns its exit code (-1: timeout or
/// signal) and its combined output.
int run(const std::vector<std::string>& argv, std::string* output, int timeout_s = 60);

/// Sends `data` to 127.0.0.1:port and reads replies until `until` appears, EOF, or 10 s.
std::string rawSmtp(std::uint16_t port, const std::string& data, const std::string& until);

/// A self-signed certificate and its key (openssl req -x509, RSA 2048, 2 days) as DIR/cert.pem and
/// DIR/key.pem; false when /usr/bin/openssl failed.
bool selfSignedCert(const std::filesystem::path& dir, const std::string& common_name);

/// Files in `dir` (the smtp-sink dump folder).
std::vector<std::filesystem::path> filesIn(const std::filesystem::path& dir);

/// Base64 without line breaks (Poco), and back.
std::string base64(const std::string& data);
std::string unbase64(const std::string& data);
/// An HTML mail (with a script) and the generated EICAR file attached: the standard probe.
std::string htmlWithEicar();
/// The body of the first MIME part of a dumped message (smtp-sink writes LF line ends),
/// base64-decoded when it says so.
std::string firstPartText(const std::string& msg);

}  // namespace mugai::test
