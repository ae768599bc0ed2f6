/**
 * @file archive.h
 * @brief sanitizer.archive: unpack an archive, hand every member back to the engine, repack the
 *        members the engine kept as a fresh ZIP with safe UTF-8 names.
 *
 * Trust: the archive bytes, every member name, size, type and time inside are hostile.
 * Limits: archive_depth_limit (nesting, from part.path), archive_member_count_limit (entries of
 *         this archive), expanded_size_limit (all members together), expansion_ratio_limit (one
 *         member against the archive's size once past 1 MiB), the message Budget (decoded bytes,
 *         deadline). Each is checked BEFORE the bytes it would allow are stored.
 * Errors: never throws. Malformed or truncated input -> parse.malformed; encrypted entries ->
 *         content.encrypted for the whole archive; libarchive setup or write errors -> cdr.failed;
 *         no engine (ctx.members == nullptr) -> cdr.failed. Nothing is ever passed as it was.
 */
#pragma once

#include <string>
#include <string_view>

#include "mugai/sanitizer/registry.h"

namespace mugai::sanitizers::archive {

struct Options {
  /// Charset of member names that are not valid UTF-8 (old Japanese ZIP and LZH tools: CP932).
  std::string name_charset = "CP932";
  /// zlib level of the repacked ZIP (0 = store, 1 fastest .. 9 smallest).
  int compression_level = 1;  ///< level 6 took 51 ms for 1.35 MB of CSV, level 1 11 ms (+23% size)
};

/// One member path (already UTF-8) made safe to extract anywhere: backslashes are separators,
/// no empty, "." or ".." components, no root or drive letter, each component through
/// filename_sanitize (no control or bidi characters, nothing Windows refuses). Returns the
/// directory components only (the file name comes from the engine). Pure, never throws.
std::string safeDirectory(std::string_view utf8_path);

/// The last component of a member path (after '/' or '\\'), "" when there is none.
std::string_view baseName(std::string_view path);

/// The member name for a single compressed file: "report.txt.gz" -> "report.txt".
std::string singleMemberName(std::string_view outer_name);

class ArchiveSanitizer : public Sanitizer {
 public:
  explicit ArchiveSanitizer(Options options) : options_(std::move(options)) {}
  std::string_view name() const override { return "sanitizer.archive"; }
  Outcome apply(const Part& part, MessageContext& ctx) const override;

 private:
  Options options_;
};

SanitizerFactoryPtr makeFactory();

}  // namespace mugai::sanitizers::archive
