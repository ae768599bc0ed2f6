/**
 * @file charset.h
 * @brief Any declared (or undeclared) charset to UTF-8, done right for Japanese mail.
 *
 * Trust: bytes and the declared charset name are sender-controlled; the name may lie.
 * Limits: output is at most ~4x input; callers charge the Budget for the input first.
 * Errors: never throws. Undecodable bytes become U+FFFD and are counted in `invalid`; a declared
 *         charset that is unknown or clearly wrong is replaced by detection and `guessed` is set,
 *         so the caller can report it (never mojibake silently).
 *
 * Japanese specifics: "Shift_JIS"/"x-sjis"/"MS_Kanji" are decoded as CP932 (Windows-31J), so NEC
 * row 13 (①㈱№Ⅲ) and NEC/IBM extensions (髙﨑) survive; ISO-2022-JP is decoded with those same
 * extensions (ISO-2022-JP-MS / CP50220 behaviour); EUC-JP as eucJP-ms / CP51932.
 */
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mugai::text {

struct DecodeResult {
  std::string utf8;      ///< always valid UTF-8
  std::string charset;   ///< canonical name actually used, e.g. "CP932", "ISO-2022-JP", "UTF-8"
  bool guessed = false;  ///< declared charset absent/unknown/wrong: detected instead
  std::size_t invalid = 0;  ///< byte sequences replaced by U+FFFD
};

/// Decodes `bytes` declared as `declared_charset` ("" when undeclared) to UTF-8.
DecodeResult toUtf8(std::string_view bytes, std::string_view declared_charset);

/// Opens, in the calling thread, every converter toUtf8() may use (glibc loads iconv modules from
/// disk on first use): a sandboxed worker calls it before it may no longer open files.
void preloadConverters();

/// Best guess among US-ASCII, UTF-8, ISO-2022-JP, CP932, EUC-JP, windows-1252 (canonical names).
std::string detectCharset(std::string_view bytes);

/// Canonical name for a declared label ("shift_jis" -> "CP932", "x-euc-jp" -> "EUC-JP",
/// "utf8" -> "UTF-8", "latin1" -> "ISO-8859-1"...); "" when the label is unknown.
std::string canonicalCharset(std::string_view label);

bool isValidUtf8(std::string_view s);

/// Length in bytes of the UTF-8 sequence that `lead` starts (1 for ASCII and stray bytes).
/// For walking text already known to be valid UTF-8.
constexpr std::size_t utf8SequenceLength(unsigned char lead) {
  if (lead < 0xc0) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

/// Replaces invalid UTF-8 sequences with U+FFFD; returns how many were replaced via *replaced.
std::string sanitizeUtf8(std::string_view s, std::size_t* replaced = nullptr);

/// Appends code point `cp` (a valid scalar value: not a surrogate, at most U+10FFFF) as UTF-8.
void appendUtf8(std::string& out, char32_t cp);

/// Characters a reader cannot see or that reorder what they see: C0 and C1 controls, DEL, bidi
/// marks, embeddings, overrides and isolates (U+061C, U+200E/F, U+202A-E, U+2066-9), zero-width and
/// other format characters (U+200B-D, U+2060-F, U+FEFF), line/paragraph separators (U+2028/9),
/// interlinear annotations (U+FFF9-B) and tag characters (U+E0000-7F). One list for names and logs.
bool isInvisible(char32_t cp);

/// Untrusted text made safe for one log line: printable ASCII and printable UTF-8 stay; control
/// characters, the other isInvisible() ones, '"' and '<' (so quoted values and the markers
/// themselves cannot be imitated) are shown as "<U+202E>", invalid bytes
/// as "<0xFF>". Cut after `max_bytes` input bytes (at a character boundary) with "...".
std::string logEscape(std::string_view s, std::size_t max_bytes = 200);

}  // namespace mugai::text
