// Shared by the console's page files (src/console/*.cpp only).
#pragma once

#include <string>

#include "mugai/vault/directory.h"
#include "mugai/vault/vault.h"
#include "src/console/app.h"
#include "src/console/html.h"

namespace mugai::console {

struct Console::Ctx {
  const HttpRequest& req;
  bool en = false;
  std::optional<Session> session;
  std::optional<vault::User> user;
  std::vector<std::pair<std::string, std::string>> set_cookies;  ///< Set-Cookie values

  /// The page text in the chosen language (Japanese first).
  std::string tr(const std::string& ja, const std::string& en_text) const {
    return en ? en_text : ja;
  }
};

namespace internal {
/// "2026-12-06 22:40" in the console host's time zone.
std::string localTime(std::int64_t t, bool with_seconds = false);
std::string tierWords(vault::Tier t, bool en);
std::string stateWords(const std::string& state, bool en);
std::string verdictWords(const std::string& verdict, bool en);
std::string roleWords(vault::Role r, bool en);
std::string actionWords(const std::string& action, bool en);  ///< removed, rebuilt, ...
bool parseDate(const std::string& s, std::int64_t& out);  ///< YYYY-MM-DD, local midnight
HttpResponse redirect(const std::string& to);
/// Runs argv (no shell) with stdout+stderr captured (at most 256 KiB), killed after `seconds`;
/// `input` (may be null) is written to its stdin, which is then closed. The exit code, or -1.
int runCaptured(const std::vector<std::string>& argv, std::string& out, int seconds,
                const std::string* input = nullptr);
}  // namespace internal

}  // namespace mugai::console
