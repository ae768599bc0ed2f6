// What /proc says about a process the tests started (or its children): for sandbox and
// kill-drill checks.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace mugai::test {

/// A field of /proc/PID/status ("Seccomp", "NoNewPrivs", ...), "" when absent.
inline std::string statusField(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::string v = line.substr(field.size() + 1);
      return v.substr(v.find_first_not_of(" \t"));
    }
  }
  return "";
}

/// The command line of a process, arguments joined by spaces.
inline std::string cmdline(pid_t pid) {
  std::string s = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  for (auto& c : s) c = c == '\0' ? ' ' : c;
  return s;
}

/// The children of `pid` (sandboxed workers, helper processes), whichever of its threads started
/// them.
inline std::vector<pid_t> childrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    pid_t c;
    while (in >> c) out.push_back(c);
  }
  return out;
}

}  // namespace mugai::test
