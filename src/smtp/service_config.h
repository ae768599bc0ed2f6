/**
 * @file service_config.h
 * @brief The `mugai serve` service config: strings only (addresses, paths, names). Integer limits
 *        live in the one parameter table (params.def) and are set under `limits:` in the rules.
 *
 * Format: one `key = value` per line, `#` comments, like Postfix main.cf. Unknown keys are errors.
 * Trust: the file is the operator's.
 * Errors: loadServiceConfig() returns false with one line per problem ("FILE:LINE: ...").
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mugai::smtp {

/// "a, b c" -> {"a", "b", "c"}: a list key's value (commas and spaces separate).
std::vector<std::string> splitServiceList(const std::string& value);

// The keys and their defaults are rows of include/mugai/config/service.def (kind text, yesno and
// choice are strings as written; list is a list).
#define MUGAI_SERVICE_MEMBER_text(n, d) std::string n = d;
#define MUGAI_SERVICE_MEMBER_yesno(n, d) std::string n = d;
#define MUGAI_SERVICE_MEMBER_choice(n, d) std::string n = d;
#define MUGAI_SERVICE_MEMBER_list(n, d) std::vector<std::string> n = splitServiceList(d);

struct ServiceConfig {
#define MUGAI_SERVICE_KEY(name, kind, def, choices, reload, check, example, doc) \
  MUGAI_SERVICE_MEMBER_##kind(name, def)
#include "mugai/config/service.def"
  /// The deprecated name of state_dir (`quarantine_dir`, --quarantine) was used: logged at start.
  bool quarantine_dir_used = false;
};

/// One row of service.def.
struct ServiceKeyInfo {
  enum class Kind { Text, List, YesNo, Choice };
  /// The key's own format (code in service_config.cpp); None: any text.
  enum class Check { None, HostPort, Size, Url, Mailbox, Authserv, Nameserver };
  const char* name;
  Kind kind;
  const char* default_value;
  const char* choices;  ///< "a|b|c" (Choice, YesNo), else ""
  bool reload;          ///< SIGHUP applies a change (else: restart)
  Check check;
  const char* example;
  const char* doc;
  std::string ServiceConfig::*text;              ///< Text, YesNo, Choice
  std::vector<std::string> ServiceConfig::*list;  ///< List
};

/// One key's own check (service.def: choices, format) on VALUE alone: empty when it passes, else
/// why not (for a command-line option, which names itself and the value).
std::string checkServiceValue(const std::string& key, const std::string& value);
/// The rows of service.def, in file order.
const ServiceKeyInfo* serviceKeyTable(std::size_t* count);
/// A key's value as --print-config writes it: a list joined with ", ", `vault` as in effect
/// (vaultUrl).
std::string serviceKeyValue(const ServiceConfig& config, const ServiceKeyInfo& key);
/// Sets a key from the text after '='. False when the key is not in the table.
bool setServiceKey(ServiceConfig& config, const std::string& key, const std::string& value);
/// The keys bound at start whose value differs between the two (SIGHUP: logged, not applied).
std::vector<std::string> restartKeysChanged(const ServiceConfig& running,
                                            const ServiceConfig& fresh);
/// docs/configuration.md: every key with kind, default, SIGHUP, example and meaning
/// (`mugai serve --print-config --markdown`).
std::string serviceKeysMarkdown();

/// "6G" / "512M" / "1048576K" / plain bytes -> bytes; "none" or "0" -> 0 (no limit). False when
/// the text is not one of those (or under 64M, too little to load the signatures).
bool parseMemoryLimit(const std::string& text, std::uint64_t& bytes);

/// The metrics and syslog keys checked together (also for --metrics on the command line): one
/// message per problem, empty when they are usable.
std::vector<std::string> checkMonitoring(const ServiceConfig& config);

/// Reads `key = value` lines into config (unknown keys and malformed lines are errors); no
/// checks of the values: checkServiceConfig does those, after the command line's overrides.
bool readServiceConfig(const std::string& path, ServiceConfig& config,
                       std::vector<std::string>& errors);
/// Every key's own check (service.def) and the checks across keys; each message starts with
/// "WHERE: " (a file, or "command line").
bool checkServiceConfig(const ServiceConfig& config, const std::string& where,
                        std::vector<std::string>& errors);
/// readServiceConfig + checkServiceConfig.
bool loadServiceConfig(const std::string& path, ServiceConfig& config,
                       std::vector<std::string>& errors);
/// "HOST:PORT" or "[IPV6]:PORT", strictly: a non-empty host without spaces, an IPv6 address only
/// in brackets, the port digits only, 1 to 65535. False with `why` (naming the bad part) otherwise.
bool parseHostPort(const std::string& s, std::string& host, std::uint16_t& port, std::string* why);
bool splitHostPort(const std::string& s, std::string& host, std::uint16_t& port);
/// The known key nearest to a mistyped one ("quarantine" -> "quarantine_dir"); empty when none is
/// close.
std::string closestKey(const std::string& key);
/// The vault URL in effect: `vault`, or sqlite:<state_dir>/vault.db.
std::string vaultUrl(const ServiceConfig& config);
/// The values as a config file, one `key = value` line per row of service.def
/// (`mugai serve --print-config`; scripts/install.sh writes the defaults as mugai.conf).
std::string describeServiceConfig(const ServiceConfig& config);

}  // namespace mugai::smtp
