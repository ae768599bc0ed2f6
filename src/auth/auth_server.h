/**
 * @file auth_server.h
 * @brief The authentication process (`mugai-auth`): one InProcessAuthenticator (libspf2,
 *        libopendkim, libopendmarc and the caching resolver), served to its client
 *        (src/authclient) over the socket on fd 3, one thread per channel the client opens.
 *
 * Trust: the client is ours; the messages and the DNS answers are hostile.
 * Limits: the Authenticator's own (auth_dns_*, auth_time_limit_s); sandboxed once the libraries
 *         are set up (the public suffix list and /etc/resolv.conf read): no_new_privs, a seccomp
 *         allowlist with internet sockets as a client (DNS) and no file opens, no exec, no fork.
 * Errors: exit 3 when the sandbox cannot be entered (the message goes to the client first), 4 on
 *         a protocol error; 0 when the client goes away.
 */
#pragma once

namespace mugai::auth {

int authServerMain();

}  // namespace mugai::auth
