/**
 * @file offcrypto.h
 * @brief Password-encrypted Office Open XML files (MS-OFFCRYPTO, ECMA-376 document encryption)
 *        opened with the password the recipient supplies (`mugai vault unlock`): the compound
 *        file's EncryptionInfo is parsed, the password checked against its verifier, the
 *        EncryptedPackage decrypted back into the .docx/.xlsx/.xlsm/.pptx it was.
 *
 * Supported: Agile encryption (EncryptionInfo 4.4: AES-128/192/256-CBC, SHA-1/256/384/512,
 *        spinCount, 4,096-byte segments; the dataIntegrity HMAC over the whole EncryptedPackage
 *        stream is checked before a byte of plain text leaves) and Standard encryption
 *        (2.2/3.2/4.2: AES-ECB, SHA-1, 50,000 rounds; it has no integrity check).
 * Refused (Status::Unsupported, the file stays encrypted and withheld): legacy RC4 and RC4
 *        CryptoAPI encryption of .doc/.xls/.ppt, XOR obfuscation, Extensible encryption (x.3),
 *        rights-managed (IRM/DRM) documents, certificate-only key encryptors, any cipher but AES.
 *
 * Trust: every byte of the compound file is hostile, and so is what the password decrypts (the
 *        caller sends the package through the whole policy). The password is only hashed here;
 *        derived keys are wiped (OPENSSL_cleanse) before return.
 * Limits: offcrypto_info_size_limit (the EncryptionInfo stream), offcrypto_spin_count_limit
 *         (checked before any hashing), offcrypto_package_size_limit (the EncryptedPackage's
 *         declared size, checked against the stream before a buffer is made), and the compound
 *         file's directory pre-check (document_object_limit) before libgsf reads it.
 * Errors: never throws. Malformed and over-limit input fail closed with a detail that quotes no
 *         input bytes.
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/core/limits.h"

namespace mugai::offcrypto {

/// EncryptionInfo as read, before a password is tried.
struct EncryptionInfo {
  enum class Scheme { Agile, Standard };
  Scheme scheme = Scheme::Agile;
  std::uint16_t major = 0, minor = 0;
  // keyData (Agile) / EncryptionHeader (Standard): the package's cipher
  std::string hash;                ///< "SHA1", "SHA256", "SHA384", "SHA512"
  std::uint32_t key_bits = 0;      ///< 128, 192, 256
  std::uint32_t block_size = 16;   ///< AES
  std::uint32_t hash_size = 0;     ///< digest length of `hash`
  std::string key_data_salt;       ///< Agile: the package's IV salt
  std::string encrypted_hmac_key, encrypted_hmac_value;  ///< Agile dataIntegrity
  // the password key encryptor (Agile) / EncryptionVerifier (Standard)
  std::string pw_hash;
  std::uint32_t pw_key_bits = 0, pw_block_size = 16, pw_hash_size = 0;
  std::uint64_t spin_count = 0;    ///< Standard: 50,000
  std::string pw_salt;
  std::string encrypted_verifier_input, encrypted_verifier_value, encrypted_key_value;
};

struct ParsedInfo {
  enum class Status { Ok, Unsupported, Malformed, OverLimit };
  Status status = Status::Malformed;
  EncryptionInfo info;
  std::string detail;  ///< why not Ok (no input bytes)
};

/// Parses an EncryptionInfo stream. Agile XML is checked well-formed by expat (no DOCTYPE) and
/// read with the package rebuilders' tag scanner; every size and algorithm name is checked
/// against what the scheme allows (hash sizes against the hash, key sizes against AES, salts
/// and encrypted values against the block size).
ParsedInfo parseEncryptionInfo(std::string_view stream, const Limits& limits);

struct Result {
  enum class Status {
    Decrypted,        ///< `plain` holds the package
    WrongPassword,    ///< the verifier says no (the caller counts the attempt)
    NotEncrypted,     ///< no EncryptionInfo/EncryptedPackage: nothing to open here
    Unsupported,      ///< encrypted in a way this does not open (legacy RC4, IRM, ...): left as it is
    IntegrityFailed,  ///< Agile: the HMAC over EncryptedPackage does not match (tampered)
    Malformed,        ///< damaged or hostile structure
    OverLimit,        ///< a limit above was reached
  };
  Status status = Status::Malformed;
  std::string plain;
  std::string detail;
};

/// True when `data` is a compound file whose root holds EncryptionInfo and EncryptedPackage (the
/// test sanitizer.ole2 and sanitizer.ooxml refuse with content.encrypted), read after the
/// directory pre-check. False for anything else, damaged files included.
bool isEncryptedPackage(std::string_view data, const Limits& limits);

/// Opens an encrypted OOXML compound file with `password` (UTF-8; hashed as UTF-16LE as Office
/// does). Legacy encrypted .doc/.xls/.ppt come back Unsupported with a clear detail.
Result decrypt(std::string_view data, const std::string& password, const Limits& limits);

/// Only the key derivation and package decryption, on parsed info and the EncryptedPackage
/// stream's bytes (tests, the fuzz target).
Result decryptPackage(const EncryptionInfo& info, std::string_view package,
                      const std::string& password, const Limits& limits);

}  // namespace mugai::offcrypto
