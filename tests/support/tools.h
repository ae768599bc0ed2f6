// Independent checking tools (unzip, qpdf, pdftotext, exiftool, 7z, soffice, clamscan) run as
// child processes from unit tests: bounded in time, output captured, skipped politely when absent.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace mugai::test {

/// The absolute path of `name` on PATH, or "" when it is not installed.
std::string findTool(const std::string& name);

/// Use at the top of a test section: `if (toolMissing("qpdf")) return;` warns
/// "skipped: qpdf not installed" (bootstrap.sh --with-test-tools installs every checker).
bool toolMissing(const std::string& name);

struct ToolResult {
  int exit_code = -1;     ///< -1 when killed (timeout) or not started
  bool timed_out = false;
  std::string output;     ///< stdout and stderr together
};

/// Runs argv[0] (looked up on PATH) with stdin from /dev/null, in `cwd` when given; kills the
/// whole process group after `timeout`. Output beyond 16 MiB is dropped.
ToolResult runTool(const std::vector<std::string>& argv,
                   std::chrono::milliseconds timeout = std::chrono::seconds(120),
                   const std::filesystem::path& cwd = {});

}  // namespace mugai::test
