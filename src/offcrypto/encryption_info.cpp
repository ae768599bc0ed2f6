// EncryptionInfo (MS-OFFCRYPTO 2.3.4.5 Standard, 2.3.4.10 Agile) read into EncryptionInfo, with
// every field checked against what the scheme allows (offcrypto.h).
#include <algorithm>
#include <cstring>
#include <optional>

#include "mugai/mime/mime.h"
#include "src/offcrypto/offcrypto.h"
#include "src/zip/xml_check.h"
#include "src/zip/xml_lite.h"

namespace mugai::offcrypto {
namespace {

using St = ParsedInfo::Status;

std::uint32_t le32(const unsigned char* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

ParsedInfo failed(St s, std::string why) {
  ParsedInfo r;
  r.status = s;
  r.detail = std::move(why);
  return r;
}

/// Digest length of the hash algorithms MS-OFFCRYPTO names that we implement; 0 otherwise.
std::uint32_t digestSize(std::string_view name) {
  if (name == "SHA1" || name == "SHA-1") return 20;
  if (name == "SHA256") return 32;
  if (name == "SHA384") return 48;
  if (name == "SHA512") return 64;
  return 0;
}

std::uint32_t roundUp(std::uint32_t n, std::uint32_t block) { return (n + block - 1) / block * block; }

// ---- Standard (2.3.4.5): binary EncryptionHeader + EncryptionVerifier ----

constexpr std::uint32_t kFlagCryptoApi = 0x04, kFlagExternal = 0x10, kFlagAes = 0x20;

ParsedInfo parseStandard(std::string_view s, std::uint16_t major, std::uint16_t minor) {
  auto* b = reinterpret_cast<const unsigned char*>(s.data());
  if (s.size() < 12) return failed(St::Malformed, "Standard EncryptionInfo: truncated header");
  const std::uint32_t header_size = le32(b + 8);
  // EncryptionHeader: 8 fixed 32-bit fields and a CSP name (Office writes < 200 bytes).
  if (header_size < 32 || header_size > 4096 || 12 + std::uint64_t{header_size} > s.size())
    return failed(St::Malformed, "Standard EncryptionInfo: header size out of range");
  const unsigned char* h = b + 12;
  const std::uint32_t flags = le32(h), alg = le32(h + 8), alg_hash = le32(h + 12);
  std::uint32_t key_bits = le32(h + 16);
  if (flags & kFlagExternal) return failed(St::Unsupported, "externally encrypted (fExternal)");
  if (alg == 0x6801 || !(flags & kFlagAes))
    return failed(St::Unsupported, "RC4 CryptoAPI encryption (not AES): not opened");
  if (!(flags & kFlagCryptoApi)) return failed(St::Malformed, "Standard EncryptionInfo without fCryptoAPI");
  const std::uint32_t want_bits = alg == 0 ? 128 : alg == 0x660E ? 128 : alg == 0x660F ? 192 : alg == 0x6610 ? 256 : 0;
  if (want_bits == 0) return failed(St::Unsupported, "Standard encryption with an unknown cipher");
  if (key_bits == 0) key_bits = want_bits;
  if (key_bits != want_bits) return failed(St::Malformed, "Standard EncryptionInfo: key size does not fit the cipher");
  if (alg_hash != 0 && alg_hash != 0x8004) return failed(St::Unsupported, "Standard encryption with a hash other than SHA-1");
  // EncryptionVerifier: SaltSize(4) Salt(16) EncryptedVerifier(16) VerifierHashSize(4) EncryptedVerifierHash(32)
  const std::uint64_t v = 12 + std::uint64_t{header_size};
  if (s.size() < v + 72) return failed(St::Malformed, "Standard EncryptionInfo: truncated verifier");
  const unsigned char* p = b + v;
  if (le32(p) != 16) return failed(St::Malformed, "Standard EncryptionInfo: salt size is not 16");
  if (le32(p + 36) != 20) return failed(St::Malformed, "Standard EncryptionInfo: verifier hash size is not 20");
  ParsedInfo r;
  r.status = St::Ok;
  EncryptionInfo& i = r.info;
  i.scheme = EncryptionInfo::Scheme::Standard;
  i.major = major;
  i.minor = minor;
  i.hash = i.pw_hash = "SHA1";
  i.hash_size = i.pw_hash_size = 20;
  i.key_bits = i.pw_key_bits = key_bits;
  i.spin_count = 50000;
  i.pw_salt.assign(reinterpret_cast<const char*>(p + 4), 16);
  i.encrypted_verifier_input.assign(reinterpret_cast<const char*>(p + 20), 16);
  i.encrypted_verifier_value.assign(reinterpret_cast<const char*>(p + 40), 32);
  return r;
}

// ---- Agile (2.3.4.10): an XML document after 8 bytes ----

constexpr std::string_view kPasswordUri = "http://schemas.microsoft.com/office/2006/keyEncryptor/password";

std::optional<std::uint64_t> number(std::string_view raw) {
  if (raw.empty() || raw.size() > 10) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : raw) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

/// The cipher attributes keyData and p:encryptedKey share (CT_KeyData / CT_PasswordKeyEncryptor).
struct CipherAttrs {
  std::uint32_t salt_size = 0, block_size = 0, key_bits = 0, hash_size = 0;
  std::string hash, salt;
};

std::optional<std::string> attr(const zip::xml::Tag& t, std::string_view name) {
  const zip::xml::Attr* a = t.attr(name);
  if (!a) return std::nullopt;
  return zip::xml::decode(a->value);
}

std::optional<std::string> base64Attr(const zip::xml::Tag& t, std::string_view name, std::string& why) {
  auto v = attr(t, name);
  std::string out;
  if (!v || v->empty() || !mime::decodeBase64(*v, out)) {
    why = std::string(name) + " is missing or not base64";
    return std::nullopt;
  }
  return out;
}

/// Reads and checks the cipher attributes of `t` (named `who` in details).
ParsedInfo::Status cipherAttrs(const zip::xml::Tag& t, const char* who, CipherAttrs& c, std::string& why) {
  auto num = [&](std::string_view n, std::uint64_t lo, std::uint64_t hi, std::uint32_t& out) {
    auto v = attr(t, n);
    auto x = v ? number(*v) : std::nullopt;
    if (!x || *x < lo || *x > hi) {
      why = std::string(who) + ": " + std::string(n) + " missing or out of range";
      return false;
    }
    out = static_cast<std::uint32_t>(*x);
    return true;
  };
  auto cipher = attr(t, "cipherAlgorithm");
  auto chaining = attr(t, "cipherChaining");
  auto hash = attr(t, "hashAlgorithm");
  if (!cipher || !chaining || !hash) {
    why = std::string(who) + ": cipher, chaining or hash algorithm missing";
    return St::Malformed;
  }
  if (*cipher != "AES") {
    why = std::string(who) + ": cipher other than AES";
    return St::Unsupported;
  }
  if (*chaining != "ChainingModeCBC") {
    why = std::string(who) + ": chaining other than CBC";
    return St::Unsupported;
  }
  c.hash = *hash == "SHA-1" ? "SHA1" : *hash;
  if (digestSize(c.hash) == 0) {
    why = std::string(who) + ": hash algorithm other than SHA-1/256/384/512";
    return St::Unsupported;
  }
  // MS-OFFCRYPTO 2.3.4.10: saltSize 1..65536, blockSize 2..4096, hashSize 1..64; AES fixes the
  // block size at 16 and the key at 128/192/256 bits.
  if (!num("saltSize", 1, 65536, c.salt_size) || !num("blockSize", 2, 4096, c.block_size) ||
      !num("keyBits", 1, 4096, c.key_bits) || !num("hashSize", 1, 64, c.hash_size)) {
    return St::Malformed;
  }
  if (c.block_size != 16) {
    why = std::string(who) + ": AES block size is not 16";
    return St::Malformed;
  }
  if (c.key_bits != 128 && c.key_bits != 192 && c.key_bits != 256) {
    why = std::string(who) + ": AES key size is not 128, 192 or 256 bits";
    return St::Malformed;
  }
  if (c.hash_size != digestSize(c.hash)) {
    why = std::string(who) + ": hashSize does not fit the hash algorithm";
    return St::Malformed;
  }
  auto salt = base64Attr(t, "saltValue", why);
  if (!salt) return St::Malformed;
  if (salt->size() != c.salt_size) {
    why = std::string(who) + ": saltValue is not saltSize bytes";
    return St::Malformed;
  }
  c.salt = std::move(*salt);
  return St::Ok;
}

/// An encrypted value: whole blocks, at least `need` bytes, at most one block of slack.
bool encryptedLength(const std::string& v, std::uint32_t need, std::uint32_t block) {
  return !v.empty() && v.size() % block == 0 && v.size() >= need && v.size() <= roundUp(need, block) + block;
}

/// The Agile descriptor's elements, read in document order. Each reader returns the failure
/// (failed()) or nullopt; complete() checks what must be there once all were read.
struct AgileReader {
  EncryptionInfo& i;
  bool root = false, key_data = false, integrity = false, password = false;
  bool other_encryptor = false;        ///< a certificate's key encryptor
  bool in_password_encryptor = false;  ///< inside <keyEncryptor uri="...password">
  std::string why;

  std::optional<ParsedInfo> element(const zip::xml::Tag& t) {
    const std::string_view n = t.local();
    if (t.kind == zip::xml::Tag::Kind::Close) {
      if (n == "keyEncryptor") in_password_encryptor = false;
      return std::nullopt;
    }
    if (n == "encryption") {
      if (root) return failed(St::Malformed, "Agile EncryptionInfo: two encryption elements");
      root = true;
    } else if (n == "keyData") {
      return keyData(t);
    } else if (n == "dataIntegrity") {
      return dataIntegrity(t);
    } else if (n == "keyEncryptor") {
      auto uri = attr(t, "uri");
      const bool password_uri = uri && *uri == kPasswordUri;
      in_password_encryptor = password_uri && t.kind == zip::xml::Tag::Kind::Open;
      if (!password_uri) other_encryptor = true;
    } else if (n == "encryptedKey" && in_password_encryptor) {
      return passwordKey(t);
    }
    return std::nullopt;
  }

  /// The package's cipher.
  std::optional<ParsedInfo> keyData(const zip::xml::Tag& t) {
    if (key_data) return failed(St::Malformed, "Agile EncryptionInfo: two keyData elements");
    key_data = true;
    CipherAttrs c;
    if (auto st = cipherAttrs(t, "keyData", c, why); st != St::Ok) return failed(st, why);
    i.hash = c.hash;
    i.hash_size = c.hash_size;
    i.key_bits = c.key_bits;
    i.block_size = c.block_size;
    i.key_data_salt = std::move(c.salt);
    return std::nullopt;
  }

  /// The HMAC key and value that check the package.
  std::optional<ParsedInfo> dataIntegrity(const zip::xml::Tag& t) {
    if (integrity) return failed(St::Malformed, "Agile EncryptionInfo: two dataIntegrity elements");
    integrity = true;
    auto k = base64Attr(t, "encryptedHmacKey", why);
    auto v = k ? base64Attr(t, "encryptedHmacValue", why) : std::nullopt;
    if (!k || !v) return failed(St::Malformed, "Agile EncryptionInfo: " + why);
    i.encrypted_hmac_key = std::move(*k);
    i.encrypted_hmac_value = std::move(*v);
    return std::nullopt;
  }

  /// The password key encryptor: its cipher, spin count, verifier and encrypted key.
  std::optional<ParsedInfo> passwordKey(const zip::xml::Tag& t) {
    if (password) return failed(St::Malformed, "Agile EncryptionInfo: two password key encryptors");
    password = true;
    CipherAttrs c;
    if (auto st = cipherAttrs(t, "encryptedKey", c, why); st != St::Ok) return failed(st, why);
    auto spin = attr(t, "spinCount");
    auto spin_count = spin ? number(*spin) : std::nullopt;
    if (!spin_count) return failed(St::Malformed, "encryptedKey: spinCount missing or not a number");
    i.spin_count = *spin_count;
    i.pw_hash = c.hash;
    i.pw_hash_size = c.hash_size;
    i.pw_key_bits = c.key_bits;
    i.pw_block_size = c.block_size;
    i.pw_salt = std::move(c.salt);
    auto vin = base64Attr(t, "encryptedVerifierHashInput", why);
    auto vval = vin ? base64Attr(t, "encryptedVerifierHashValue", why) : std::nullopt;
    auto kval = vval ? base64Attr(t, "encryptedKeyValue", why) : std::nullopt;
    if (!kval) return failed(St::Malformed, "encryptedKey: " + why);
    i.encrypted_verifier_input = std::move(*vin);
    i.encrypted_verifier_value = std::move(*vval);
    i.encrypted_key_value = std::move(*kval);
    return std::nullopt;
  }

  /// What must be there, and every encrypted value as long as its cipher makes it.
  std::optional<ParsedInfo> complete() const {
    if (!root || !key_data) return failed(St::Malformed, "Agile EncryptionInfo: no keyData");
    if (!password) {
      return failed(other_encryptor ? St::Unsupported : St::Malformed,
                    other_encryptor ? "encrypted for a certificate only (no password key encryptor)"
                                    : "Agile EncryptionInfo: no key encryptor");
    }
    // Without dataIntegrity the package cannot be checked: fail closed rather than decrypt blind.
    if (!integrity) return failed(St::Malformed, "Agile EncryptionInfo: no dataIntegrity (the package cannot be checked)");
    const std::uint32_t bs = i.pw_block_size;
    if (!encryptedLength(i.encrypted_verifier_input, static_cast<std::uint32_t>(i.pw_salt.size()), bs) ||
        !encryptedLength(i.encrypted_verifier_value, i.pw_hash_size, bs) ||
        !encryptedLength(i.encrypted_key_value, i.key_bits / 8, bs)) {
      return failed(St::Malformed, "encryptedKey: an encrypted value has the wrong length");
    }
    if (!encryptedLength(i.encrypted_hmac_key, i.hash_size, i.block_size) ||
        !encryptedLength(i.encrypted_hmac_value, i.hash_size, i.block_size)) {
      return failed(St::Malformed, "dataIntegrity: an encrypted value has the wrong length");
    }
    return std::nullopt;
  }
};

ParsedInfo parseAgile(std::string_view s, const Limits& limits) {
  auto* b = reinterpret_cast<const unsigned char*>(s.data());
  if (s.size() < 8 || le32(b + 4) != 0x40) return failed(St::Malformed, "Agile EncryptionInfo: bad reserved field");
  std::string_view xml = s.substr(8);
  (void)limits;
  if (auto bad = zip::xml::checkWellFormed(xml)) return failed(St::Malformed, "Agile EncryptionInfo XML: " + *bad);
  ParsedInfo r;
  r.info.scheme = EncryptionInfo::Scheme::Agile;
  r.info.major = 4;
  r.info.minor = 4;
  AgileReader reader{r.info};
  zip::xml::Scanner sc(xml);
  zip::xml::Tag t;
  while (sc.next(t)) {
    if (auto f = reader.element(t)) return std::move(*f);
  }
  if (sc.malformed()) return failed(St::Malformed, "Agile EncryptionInfo XML: malformed markup");
  if (auto f = reader.complete()) return std::move(*f);
  r.status = St::Ok;
  return r;
}

}  // namespace

ParsedInfo parseEncryptionInfo(std::string_view s, const Limits& limits) {
  if (s.size() > limits.offcrypto_info_size_limit)
    return failed(St::OverLimit, "EncryptionInfo is larger than offcrypto_info_size_limit");
  if (s.size() < 8) return failed(St::Malformed, "EncryptionInfo: truncated version");
  auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const std::uint16_t major = static_cast<std::uint16_t>(b[0] | (b[1] << 8));
  const std::uint16_t minor = static_cast<std::uint16_t>(b[2] | (b[3] << 8));
  ParsedInfo r;
  if (major == 4 && minor == 4) {
    r = parseAgile(s, limits);
  } else if ((major == 2 || major == 3 || major == 4) && minor == 2) {
    r = parseStandard(s, major, minor);
  } else if ((major == 3 || major == 4) && minor == 3) {
    return failed(St::Unsupported, "Extensible encryption (a third-party provider): not opened");
  } else {
    return failed(St::Unsupported, "EncryptionInfo version " + std::to_string(major) + "." +
                                       std::to_string(minor) + " is not one this opens");
  }
  if (r.status == St::Ok && r.info.spin_count > limits.offcrypto_spin_count_limit) {
    return failed(St::OverLimit, "spinCount " + std::to_string(r.info.spin_count) +
                                     " is over offcrypto_spin_count_limit");
  }
  return r;
}

}  // namespace mugai::offcrypto
