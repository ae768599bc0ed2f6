#include "unit/isolation/probe.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "mugai/sanitizer/sanitizer.h"

namespace mugai::test {
namespace {

std::string tried(int rc) {
  if (rc >= 0) {
    close(rc);
    return "allowed";
  }
  return std::string("refused: ") + std::strerror(errno);
}

class Probe final : public Sanitizer {
 public:
  std::string_view name() const override { return "sanitizer.test_probe"; }
  Outcome apply(const Part& part, MessageContext&) const override {
    const std::string& d = part.data;
    Outcome o;
    if (d.rfind("probe", 0) == 0) {
      o.findings.push_back({"socket", tried(socket(AF_INET, SOCK_STREAM, 0))});
      o.findings.push_back({"socket_unix", tried(socket(AF_UNIX, SOCK_STREAM, 0))});
      o.findings.push_back({"open", tried(open("/etc/hostname", O_RDONLY))});
      o.findings.push_back({"openat", tried(openat(AT_FDCWD, "/etc/passwd", O_RDONLY))});
      o.findings.push_back({"create", tried(open("/tmp/mugai-probe-was-here", O_CREAT | O_WRONLY, 0600))});
      unlink("/tmp/mugai-probe-was-here");
      // Inside the font folders a flatten policy opens for reading (Landlock): reading only.
      o.findings.push_back({"font_read", tried(open("/etc/fonts/fonts.conf", O_RDONLY))});
      o.findings.push_back({"font_write", tried(open("/etc/fonts/fonts.conf", O_WRONLY | O_APPEND))});
      o.findings.push_back({"font_dir", tried(open("/etc/fonts", O_RDONLY | O_DIRECTORY))});
      pid_t pid = fork();
      if (pid == 0) _exit(0);
      if (pid > 0) waitpid(pid, nullptr, 0);
      o.findings.push_back({"fork", pid > 0 ? "allowed" : std::string("refused: ") + std::strerror(errno)});
    } else if (d.rfind("crash", 0) == 0) {
      raise(SIGSEGV);
    } else if (d.rfind("hang", 0) == 0) {
      volatile unsigned long spins = 0;
      for (;;) spins = spins + 1;  // never returns: the worker's deadline must end it
    } else if (d.rfind("oom", 0) == 0) {
      std::vector<std::vector<char>*> hog;
      for (;;) hog.push_back(new std::vector<char>(64u << 20));
    }
    return o;
  }
};

class Factory final : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.test_probe"; }
  std::string_view summary() const override { return "test only: tries what the sandbox refuses"; }
  std::vector<ParamSpec> describe() const override { return {}; }
  SanitizerConstSharedPtr create(const SanitizerParams&, std::string*) const override {
    return std::make_shared<const Probe>();
  }
};

}  // namespace

void registerProbe(Registry& registry) { registry.add(std::make_unique<Factory>()); }

}  // namespace mugai::test
