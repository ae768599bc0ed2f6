/**
 * @file compound_file.h
 * @brief OLE2 compound files (MS-CFB) before libgsf opens them: the directory check every reader
 *        runs first (sanitizer.ole2's rebuild, the engine's Outlook .msg reader, src/offcrypto's
 *        encrypted Office files), and libgsf set up once with its log handlers silenced. In the
 *        core (libmugai_office) so that no reader includes a sanitizer.
 *
 * Trust: the bytes are hostile.
 * Limits: the directory walk is bounded by the file (each entry visited once), by
 *         document_object_limit and by a recursion depth of 4096 (libgsf recurses once per
 *         directory link: a deeper chain would overflow a worker's stack inside libgsf).
 * Errors: a reason and an operator-facing detail; nothing is thrown.
 */
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "mugai/core/limits.h"
#include "mugai/core/verdict.h"

namespace mugai::office {

/// gsf_init() once per process, with libgsf's g_critical()/g_warning() silenced (a sender must
/// not be able to fill the service's log). Thread-safe.
void initGsf();

/// Calls initGsf(), then checks the header, FAT and directory chain the way libgsf will follow
/// them: no OLE2 signature -> parse.malformed; a directory cycle -> parse.malformed; a tree
/// deeper than 4096 or with more entries than document_object_limit -> limit.document_objects.
/// Nothing when libgsf may open the file (anything this cannot follow is left for libgsf to
/// reject).
std::optional<std::pair<Reason, std::string>> precheckCompoundFile(std::string_view data,
                                                                  const Limits& limits);

}  // namespace mugai::office
