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

struct ServiceConfig {
  std::string listen = "127.0.0.1:10025";
  std::string next_hop = "127.0.0.1:10026";
  std::string myhostname;  ///< empty: the system host name
  std::string rules;       ///< empty: the embedded rules
  /// The service's own folder: the default vault (state_dir/vault.db), the file drop's
  /// processing/ claims and the run marker. `quarantine_dir` (and --quarantine) is the deprecated
  /// name of the same key: the folder that held ID.orig + ID.json before the vault.
  std::string state_dir = "/var/spool/mugai/quarantine";
  bool quarantine_dir_used = false;  ///< the deprecated name was used (logged at start)
  /// Where originals are kept: "sqlite:PATH" or "postgresql://..." (docs/vault.md); empty:
  /// sqlite:<state_dir>/vault.db.
  std::string vault;
  std::string tls_cert_file, tls_key_file;  ///< both set: STARTTLS is offered
  std::string relay_tls = "none";           ///< none | may | encrypt (STARTTLS to the next hop)
  std::string relay_tls_ca_file;            ///< verify the next hop with these CAs (else: none)
  std::vector<std::string> xforward_hosts{"127.0.0.1", "::1"};  ///< may send XFORWARD
  /// Not counted against smtp_client_connection_limit: the front MTA (Postfix's
  /// smtpd_client_event_limit_exceptions); every other address is.
  std::vector<std::string> client_limit_exceptions{"127.0.0.1", "::1"};
  std::string smtp = "yes";        ///< yes | no: run the SMTP relay (no: the file drop alone)
  std::string filedrop_inbox;      ///< both set: the file-drop service runs (docs/filedrop.md)
  std::string filedrop_outbox;
  /// Most memory (RLIMIT_DATA: heap and private mappings) the service may take, "6G", "512M" or
  /// "none". A hostile item that makes a library ask for more gets an allocation failure, not the
  /// host's memory.
  std::string memory_limit = "6G";
  /// workers: hostile content is parsed only in sandboxed worker processes (src/isolation);
  /// none: in the service's own threads (a host without seccomp; the bench's comparison).
  std::string isolation = "workers";
  // Sender authentication before rewriting (issue 14, docs/phishing.md).
  std::string authentication = "no";  ///< yes | no: SPF, DKIM, DMARC on every message (needs DNS)
  std::string authserv_id;            ///< Authentication-Results id; empty: myhostname
  /// Incoming Authentication-Results under these ids are kept (the front MTA's, which removes
  /// forged ones with its own id); every other one is removed.
  std::vector<std::string> trusted_authserv_ids;
  std::string dns_nameserver;  ///< "" = /etc/resolv.conf's; else "IP" or "IP:PORT" (IPv4)
  /// Prometheus /metrics on HOST:PORT (docs/monitoring.md); empty: no endpoint. A host that is
  /// not loopback (127.0.0.0/8, ::1, localhost) needs metrics_remote = yes.
  std::string metrics;
  std::string metrics_remote = "no";  ///< yes | no: allow a non-loopback metrics address
  /// One event per finished item: unix:/PATH (e.g. /dev/log), udp:HOST:PORT or tcp:HOST:PORT;
  /// empty: none.
  std::string syslog;
  std::string syslog_format = "rfc5424";  ///< rfc5424 | cef (CEF inside an RFC 5424 frame)
  std::string syslog_facility = "mail";   ///< mail, daemon, user, local0 ... local7
  // The release runner and its mails (src/release, docs/vault.md)
  // (vault: above; serve runs the release runner on vaultUrl())
  /// Envelope sender and From of released originals and notification mails; empty:
  /// mugai@<myhostname>.
  std::string release_sender;
  /// The console's address ("https://mugai.example.lg.jp"): notification mails link
  /// console_url/requests/ID; empty: no link (the rules' vault.contact says where to ask).
  std::string console_url;
};

/// "6G" / "512M" / "1048576K" / plain bytes -> bytes; "none" or "0" -> 0 (no limit). False when
/// the text is not one of those (or under 64M, too little to load the signatures).
bool parseMemoryLimit(const std::string& text, std::uint64_t& bytes);

/// The metrics and syslog keys checked together (also for --metrics on the command line): one
/// message per problem, empty when they are usable.
std::vector<std::string> checkMonitoring(const ServiceConfig& config);

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
/// The embedded defaults as a config file (documentation and `mugai serve --print-config`).
std::string describeServiceConfig(const ServiceConfig& config);

}  // namespace mugai::smtp
