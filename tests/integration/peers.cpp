#include "integration/peers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>

#include <sstream>

#include "support/test_support.h"

namespace mugai::test {
namespace {

int connectLocal(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    // Nothing of the test process leaks into the peer: a file another test thread is still
    // writing would otherwise stay open for writing in the child, for as long as it runs.
    close_range(3, ~0U, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

bool haveExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

bool isRoot() { return geteuid() == 0; }

bool selfSignedCert(const std::filesystem::path& dir, const std::string& common_name) {
  return run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
              (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(), "-days", "2", "-subj",
              "/CN=" + common_name},
             nullptr, 60) == 0;
}

std::uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool waitForPort(std::uint16_t port, std::chrono::milliseconds max) {
  auto until = std::chrono::steady_clock::now() + max;
  while (std::chrono::steady_clock::now() < until) {
    int fd = connectLocal(port);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool waitForLog(const std::filesystem::path& log, const std::string& what,
                std::chrono::milliseconds max) {
  for (auto end = std::chrono::steady_clock::now() + max; std::chrono::steady_clock::now() < end;) {
    std::error_code ec;
    if (std::filesystem::exists(log, ec) && readFile(log).find(what) != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool waitForServe(std::uint16_t port, const std::filesystem::path& log,
                  std::chrono::milliseconds max) {
  auto until = std::chrono::steady_clock::now() + max;
  if (!waitForPort(port, max)) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  return waitForLog(log, "listening on 127.0.0.1:" + std::to_string(port),
                    std::max(left, std::chrono::milliseconds(5000)));
}

std::unique_ptr<Child> startSmtpSink(const std::filesystem::path& dump, std::uint16_t port,
                                     const std::filesystem::path& log,
                                     const std::vector<std::string>& options, int backlog) {
  std::vector<std::string> argv{kSink};
  if (isRoot()) argv.insert(argv.end(), {"-u", "nobody"});
  argv.insert(argv.end(), options.begin(), options.end());
  argv.insert(argv.end(), {"-d", (dump / "%H%M%S.").string(), "127.0.0.1:" + std::to_string(port),
                           std::to_string(backlog)});
  auto sink = std::make_unique<Child>(argv, log);
  if (!waitForPort(port, std::chrono::seconds(10))) return nullptr;
  return sink;
}

Child::Child(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_ = spawn(argv, fd);
  close(fd);
}

Child::~Child() {
  if (pid_ <= 0) return;
  signal(SIGTERM);
  if (!wait(std::chrono::seconds(10))) {
    ::kill(-pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
}

void Child::signal(int sig) {
  if (pid_ > 0) ::kill(-pid_, sig);
}

bool Child::wait(std::chrono::milliseconds max, int* status) {
  if (pid_ <= 0) return true;
  auto until = std::chrono::steady_clock::now() + max;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      if (status) *status = st;
      ::kill(-pid_, SIGKILL);  // anything the child left in its group
      pid_ = -1;
      return true;
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int run(const std::vector<std::string>& argv, std::string* output, int timeout_s) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = spawn(argv, pipefd[1]);
  close(pipefd[1]);
  std::string out;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[4096];
  for (;;) {
    pollfd p{pipefd[0], POLLIN, 0};
    if (std::chrono::steady_clock::now() >= until) break;
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(pipefd[0]);
  // EOF comes a moment before the exit status can be collected: wait for it, up to the deadline.
  int st = 0;
  pid_t r = 0;
  while ((r = waitpid(pid, &st, WNOHANG)) == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (r != pid) {
    ::kill(-pid, SIGKILL);
    waitpid(pid, &st, 0);
    st = -1;
  }
  if (output) *output = out;
  return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string rawSmtp(std::uint16_t port, const std::string& data, const std::string& until) {
  int fd = connectLocal(port);
  if (fd < 0) return "";
  std::string got;
  char buf[4096];
  auto readFor = [&](int ms) {
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, ms) > 0) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return false;
      got.append(buf, static_cast<std::size_t>(n));
      if (got.find(until) != std::string::npos) return true;
    }
    return true;
  };
  readFor(2000);  // greeting
  (void)!::write(fd, data.data(), data.size());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (got.find(until) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    if (!readFor(500)) break;
  }
  ::close(fd);
  return got;
}

std::vector<std::filesystem::path> filesIn(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  return out;
}

std::string base64(const std::string& data) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out);
  enc << data;
  enc.close();
  return out.str();
}

std::string unbase64(const std::string& data) {
  std::istringstream in(data);
  Poco::Base64Decoder dec(in);
  std::ostringstream out;
  out << dec.rdbuf();
  return out.str();
}

std::string htmlWithEicar() {
  std::string eicar = readFile(generatedDir() / "eicar.com");
  return "From: Sender <sender@example.com>\r\nTo: staff@city.example.lg.jp\r\nSubject: report\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"
         "<html><body><p>Hello <b>LGWAN</b> colleagues</p><script>alert(1)</script></body></html>\r\n"
         "--b1\r\nContent-Type: application/octet-stream; name=\"eicar.com\"\r\n"
         "Content-Disposition: attachment; filename=\"eicar.com\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
         base64(eicar) + "\r\n--b1--\r\n";
}

std::string firstPartText(const std::string& msg) {
  std::size_t part = msg.find("\n--");
  std::size_t body = msg.find("\n\n", part);
  std::size_t end = msg.find("\n--", body);
  if (part == std::string::npos || body == std::string::npos || end == std::string::npos) return "";
  std::string head = msg.substr(part, body - part), text = msg.substr(body + 2, end - body - 2);
  return head.find("base64") != std::string::npos ? unbase64(text) : text;
}

bool anyMissing(std::initializer_list<const char*> paths) {
  for (const char* p : paths) {
    if (!haveExecutable(p)) {
      WARN("skipped: " << p << " not installed (scripts/bootstrap.sh --with-test-tools)");
      return true;
    }
  }
  return false;
}

}  // namespace mugai::test
