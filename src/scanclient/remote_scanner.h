/**
 * @file remote_scanner.h
 * @brief The Scanner port served by the scanner process `mugai-scan`: libclamav (GPL-2.0-only)
 *        runs there, apart from the executables that link qpdf and Gumbo (Apache-2.0), in a
 *        sandbox of its own (no sockets, no exec; its scratch files only). One compiled engine in
 *        that process is shared by its threads, one thread per channel.
 *
 * Trust: the scanner process reads hostile bytes: its replies are decoded as hostile.
 * Limits: one channel per concurrent scan, created on demand and reused; each scan waits at most
 *         scan_max_scantime_ms + kScanGraceMs for its reply.
 * Errors: never throws. A scanner process that dies or stops answering is replaced and the scan
 *         tried once more on the new one; then ScanResult::Error (the engine's av.error: TempFail).
 *
 * A reload builds a new RemoteScanner (a new process with the new signatures) and swaps, as with
 * the in-process scanner; the old process exits when its last user lets go.
 */
#pragma once

#include <memory>
#include <string>

#include "mugai/scan/scanner.h"

namespace mugai::scanclient {

constexpr int kScanGraceMs = 10000;

/// Starts `program` (default: mugai-scan beside this executable, or $MUGAI_SCAN_PROGRAM) with
/// `options`; nullptr with *error when it cannot start or cannot build its engine.
std::shared_ptr<const Scanner> makeRemoteScanner(const ClamavOptions& options, std::string* error,
                                                 const std::string& program = "");

/// makeRemoteScanner with the default program: a ScannerMaker for makeEngine().
inline std::shared_ptr<const Scanner> remoteScanner(const ClamavOptions& options,
                                                    std::string* error) {
  return makeRemoteScanner(options, error);
}

/// A new channel straight to the scanner process behind `scanner` (a socket speaking kScan /
/// kScanReply), for a sandboxed worker to scan without a hop through its parent; -1 when
/// `scanner` is not a remote scanner or its process cannot be reached. The caller owns the fd.
int openScannerChannel(const Scanner& scanner);

/// Process id of the scanner process behind `scanner` (0 when it is not a remote scanner, or not
/// running): for tests and the kill drill.
int scannerPid(const Scanner& scanner);

}  // namespace mugai::scanclient
