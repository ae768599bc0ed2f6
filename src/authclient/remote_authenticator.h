/**
 * @file remote_authenticator.h
 * @brief The Authenticator port served by the authentication process `mugai-auth`: libspf2,
 *        libopendkim and libopendmarc (Sendmail Open Source License) run there, apart from the
 *        `mugai` executable that links poppler (GPL), in a sandbox of its own (DNS as a client;
 *        no files, no exec). One InProcessAuthenticator (one DNS cache) in that process is shared
 *        by its threads, one thread per channel.
 *
 * Trust: the authentication process reads hostile bytes and DNS answers: its replies are decoded
 *        as hostile (src/ipc/auth_wire.h).
 * Limits: one channel per concurrent check, created on demand and reused; each check waits at
 *         most replyTimeoutMs(settings) for its reply.
 * Errors: never throws. A process that dies or stops answering is replaced and the check tried
 *         once more on the new one; then the check is "not done": notDone() (temperror for SPF,
 *         DKIM and DMARC, RFC 8601 2.7.1), and the mail goes on (docs/phishing.md).
 */
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mugai/auth/authenticator.h"

namespace mugai::authclient {

/// Starts `program` (default: mugai-auth beside this executable, or $MUGAI_AUTH_PROGRAM) with
/// `settings`; nullptr with *error when it cannot start or cannot enter its sandbox.
std::shared_ptr<const auth::Authenticator> makeRemoteAuthenticator(const auth::Settings& settings,
                                                                   std::string* error,
                                                                   const std::string& program = "");

/// How long one check may take in mugai-auth: the DNS budget, plus the query still in flight
/// when it ran out (libresolv's two tries, the second with twice the wait), plus a grace.
int replyTimeoutMs(const auth::Settings& settings);

/// The result when authentication could not be done: checked, spf/dkim/dmarc temperror, the
/// reason as an RFC 8601 comment; nothing in it says pass (src/pipeline/sender.cpp).
SenderAuth notDone(const auth::Settings& settings, std::string_view why);

/// Process id of mugai-auth behind `authenticator` (0 when it is not a remote one, or not
/// running): for tests and the kill drill.
int authenticatorPid(const auth::Authenticator& authenticator);

}  // namespace mugai::authclient
