/**
 * @file unlock.h
 * @brief PPAP: password-protected attachments opened with the password the recipient supplies
 *        (`mugai vault unlock`, the console's page), so that the content can go through the
 *        whole policy like any other. Encrypted ZIP archives (traditional PKWARE and WinZip AES,
 *        through libarchive) become plain ZIP archives; encrypted PDFs (qpdf) plain PDFs;
 *        password-encrypted Office files (MS-OFFCRYPTO Agile and Standard, src/offcrypto) the
 *        OOXML package they hold; the rest of the message is rebuilt around them.
 *
 * Trust: the original and everything decrypted from it are hostile: nothing here judges content,
 *        the caller sends the result through the engine (scan, rebuild, notice). The password is
 *        the caller's: it is only passed to libarchive and qpdf, never logged or kept.
 * Limits: expanded_size_limit and archive_member_count_limit apply to each archive opened, and
 *         message_size_limit to the rebuilt message; over one: Status::Error (fail closed: the
 *         item stays withheld).
 * Errors: never throws. A password that opens nothing is WrongPassword (the caller counts the
 *         attempt); an item with nothing encrypted, or a damaged one, is NothingEncrypted / Error.
 *
 * An Office package whose HMAC does not match (changed after it was encrypted), or a hostile
 * EncryptionInfo, is Status::Error for the whole item (fail closed).
 * Not opened (left encrypted, so the policy withholds them again; `detail` says why): legacy
 * RC4/XOR encryption of .doc/.xls/.ppt, IRM, Extensible encryption, 7z and RAR archives,
 * encrypted archives inside archives.
 */
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mugai/core/limits.h"

namespace mugai::release {

struct UnlockResult {
  enum class Status { Unlocked, WrongPassword, NothingEncrypted, Error };
  Status status = Status::Error;
  std::string output;               ///< the message (or file) with the decrypted parts in place
  std::vector<std::string> opened;  ///< the file names that were opened
  std::string detail;               ///< for the operator (never holds the password)
};

/// A mail: every encrypted ZIP or PDF attachment the password opens is replaced by its plain form.
UnlockResult unlockMessage(std::string_view message, const std::string& password,
                           const Limits& limits);
/// One file (the file drop): the same for a single ZIP or PDF.
UnlockResult unlockFile(std::string_view data, const std::string& password, const Limits& limits);

/// Reads the password from `path` (its first line, without the line end; at most 1,024 bytes).
/// False with *error when the file cannot be read, is empty, or others may read it (mode & 077).
bool readPasswordFile(const std::string& path, std::string& password, std::string* error);
/// Overwrites `secret` with zeros (OPENSSL_cleanse: not optimised away) and empties it.
void wipe(std::string& secret);

}  // namespace mugai::release
