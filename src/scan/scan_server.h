/**
 * @file scan_server.h
 * @brief The scanner process (`mugai-scan`): one compiled libclamav engine, served to its client
 *        (src/scanclient) over the socket on fd 3, one thread per channel the client opens.
 *
 * Trust: the client is ours; the bytes to scan are hostile.
 * Limits: the engine's own (scan_max_*); sandboxed after the engine is built (no sockets, no
 *         exec, no fork; files only for libclamav's scratch folder).
 * Errors: exit 2 when the engine cannot be built (the message goes to the client first), 3 when
 *         the sandbox cannot be entered, 4 on a protocol error; 0 when the client goes away.
 */
#pragma once

namespace mugai {

int scanServerMain();

}  // namespace mugai
