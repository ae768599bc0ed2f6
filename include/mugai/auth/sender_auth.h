/**
 * @file sender_auth.h
 * @brief What the ingress found out about the sender before the engine saw the message: SPF,
 *        DKIM and DMARC results (src/auth), carried in the Envelope to the engine.
 *
 * Trust: this is mugai's own result, computed on the original bytes on the ingress side (DNS
 *        needs the network, which the sandboxed worker does not have); never read from the
 *        message. The engine writes it as `Authentication-Results:` (RFC 8601) and warns on it.
 */
#pragma once

#include <string>
#include <vector>

namespace mugai {

struct SenderAuth {
  bool checked = false;            ///< false: not authenticated (flag off); nothing is added
  std::string authserv_id;         ///< ours (service config `authserv_id`)
  /// Incoming Authentication-Results under these ids are kept (the front MTA's, which removes
  /// forged ones itself); every other one, ours included, is removed.
  std::vector<std::string> trusted_authserv_ids;
  /// The header's value after "authserv-id;": "spf=pass smtp.mailfrom=...; dkim=pass ...".
  std::string results;
  /// Summary words (RFC 8601 result values): pass, fail, softfail, neutral, none, temperror,
  /// permerror, policy. dkim: the best of all signatures.
  std::string spf = "none", dkim = "none", dmarc = "none";
  std::string from_domain;   ///< the RFC5322.From domain DMARC judged (lower case), may be empty
  std::string dmarc_policy;  ///< none | quarantine | reject | "" (no record)
};

}  // namespace mugai
