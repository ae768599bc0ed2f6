// Real peers for sender authentication tests (issue 14 §6): a throwaway `unbound` on loopback
// serving local zones (SPF, DMARC and DKIM key records the test adds), and DKIM keys made with
// openssl and messages signed by dkimpy's `dkimsign`. Nothing is mocked: the code under test
// asks a real resolver over UDP/TCP and verifies signatures a real signer made.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/tools.h"

namespace mugai::test {

class LocalDns {
 public:
  LocalDns() {
    if (findTool("unbound").empty() && !std::filesystem::exists("/usr/sbin/unbound")) {
      why_ = "skipped: unbound not installed (Debian package unbound, scripts/bootstrap.sh)";
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "mugai-dns-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      why_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    port_ = freePort();
  }
  ~LocalDns() { stop(); }
  LocalDns(const LocalDns&) = delete;
  LocalDns& operator=(const LocalDns&) = delete;

  /// A record in zone-file form: "sender.example. 300 IN TXT \"v=spf1 -all\"". Before start().
  void add(const std::string& rr) { records_.push_back(rr); }
  /// A TXT record, split into 255-byte strings as DNS requires.
  void addTxt(const std::string& name, const std::string& text, unsigned ttl = 300) {
    std::string rr = name + ". " + std::to_string(ttl) + " IN TXT";
    for (std::size_t i = 0; i < text.size(); i += 255) rr += " \"" + text.substr(i, 255) + "\"";
    add(rr);
  }

  /// Starts unbound with every record added; false (why()) when it does not come up.
  bool start() {
    if (dir_.empty() || port_ == 0) return false;
    std::ofstream conf(dir_ + "/unbound.conf");
    conf << "server:\n  interface: 127.0.0.1\n  port: " << port_
         << "\n  do-ip6: no\n  do-daemonize: yes\n  username: \"\"\n  chroot: \"\"\n"
         << "  directory: \"" << dir_ << "\"\n  pidfile: \"" << dir_ << "/unbound.pid\"\n"
         << "  logfile: \"" << dir_ << "/unbound.log\"\n  use-syslog: no\n  verbosity: 0\n"
         << "  access-control: 127.0.0.0/8 allow\n  module-config: \"iterator\"\n"
         << "  num-threads: 1\n  so-reuseport: no\n"
         // Nothing leaves the machine: every name outside the records is NXDOMAIN at once.
         << "  local-zone: \".\" static\n";
    for (const auto& r : records_) conf << "  local-data: '" << r << "'\n";  // records hold no '\''

    conf << "remote-control:\n  control-enable: no\n";
    conf.close();
    ToolResult r = runTool({"/usr/sbin/unbound", "-c", dir_ + "/unbound.conf"}, std::chrono::seconds(30));
    if (r.exit_code != 0) {
      why_ = "unbound did not start: " + r.output;
      return false;
    }
    for (int i = 0; i < 100; ++i) {  // the pid file appears once it serves
      std::ifstream pf(dir_ + "/unbound.pid");
      if (pf >> pid_ && pid_ > 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    why_ = "unbound wrote no pid file";
    return false;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 100 && ::kill(pid_, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      pid_ = 0;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  /// "127.0.0.1:PORT": the nameserver setting for mugai.
  std::string nameserver() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  const std::string& why() const { return why_; }

 private:
  /// A port free for UDP and TCP on 127.0.0.1 right now.
  static unsigned freePort() {
    for (int tries = 0; tries < 20; ++tries) {
      int u = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in a {};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof a;
      if (u < 0 || ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
          ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (u >= 0) ::close(u);
        continue;
      }
      int t = ::socket(AF_INET, SOCK_STREAM, 0);
      bool ok = t >= 0 && ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      if (t >= 0) ::close(t);
      ::close(u);
      if (ok) return ntohs(a.sin_port);
    }
    return 0;
  }

  std::string dir_, why_;
  unsigned port_ = 0;
  pid_t pid_ = 0;
  std::vector<std::string> records_;
};

/// An RSA key pair for DKIM (openssl), the private key as a PEM file in `dir`.
struct DkimKey {
  std::string private_pem_path;
  std::string public_b64;  ///< the p= value of the key record
  bool ok = false;
};

inline DkimKey makeDkimKey(const std::string& dir, const std::string& name) {
  DkimKey k;
  k.private_pem_path = dir + "/" + name + ".pem";
  ToolResult g = runTool({"openssl", "genrsa", "-out", k.private_pem_path, "2048"});
  if (g.exit_code != 0) return k;
  ToolResult p = runTool({"sh", "-c", "openssl rsa -in '" + k.private_pem_path + "' -pubout -outform DER 2>/dev/null | base64 -w0"});
  if (p.exit_code != 0 || p.output.empty()) return k;
  k.public_b64 = p.output;
  while (!k.public_b64.empty() && (k.public_b64.back() == '\n' || k.public_b64.back() == '\r')) k.public_b64.pop_back();
  k.ok = true;
  return k;
}

/// `message` signed by dkimpy's dkimsign (relaxed/simple, rsa-sha256): the DKIM-Signature
/// header on top of the message; "" when signing failed.
inline std::string dkimSign(const std::string& message, const std::string& selector, const std::string& domain,
                            const DkimKey& key, const std::string& dir) {
  std::string in = dir + "/to-sign.eml", out = dir + "/signed.eml";
  std::ofstream(in, std::ios::binary) << message;
  ToolResult r = runTool({"sh", "-c", "dkimsign " + selector + " " + domain + " '" + key.private_pem_path + "' < '" + in +
                                          "' > '" + out + "'"});
  if (r.exit_code != 0) return "";
  std::ifstream f(out, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace mugai::test
