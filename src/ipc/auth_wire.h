/**
 * @file auth_wire.h
 * @brief What crosses to and from the authentication process `mugai-auth`: its Settings at
 *        start, one request per message (the Peer, then the original bytes, in one sealed memfd),
 *        and the results.
 *
 * Trust: the Settings and the Peer are ours. The results come from a process that parsed hostile
 *        bytes and DNS answers: decodeAuthReply() accepts only RFC 8601 result words, an LDH
 *        domain, and a results text of printable ASCII (it is written into a header), each bounded.
 * Errors: decoders return false on anything else (the caller treats the check as not done).
 */
#pragma once

#include <string>
#include <string_view>

#include "mugai/auth/authenticator.h"
#include "src/ipc/wire.h"

namespace mugai::ipc {

constexpr std::size_t kMaxAuthResults = 8192;

void encodeAuthSettings(WireWriter& w, const auth::Settings& s);
bool decodeAuthSettings(WireReader& r, auth::Settings& s);

void encodeAuthPeer(WireWriter& w, const auth::Peer& p);
bool decodeAuthPeer(WireReader& r, auth::Peer& p);

/// spf, dkim, dmarc, dmarc_policy, from_domain, results (authserv-ids are the client's own).
std::string encodeAuthReply(const SenderAuth& a);
/// Fills the six fields of `a` when every one is well-formed; false (and `a` untouched) else.
bool decodeAuthReply(std::string_view in, SenderAuth& a);

}  // namespace mugai::ipc
