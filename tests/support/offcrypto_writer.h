// Encrypts an OOXML package the way Office does (MS-OFFCRYPTO Agile and Standard) so the unlock
// tests can make their fixtures at run time, hostile variants included. Only tests use it: the
// product never encrypts. That it writes what the specification says is checked against a real
// peer (msoffcrypto-tool decrypts its output: tests/unit/release/offcrypto_test.cpp).
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "mugai/mime/mime.h"
#include "sanitizers/ole2/ole2.h"

namespace mugai::test::offcrypto {

struct AgileOptions {
  std::string hash = "SHA512";  ///< SHA1, SHA256, SHA384, SHA512
  int key_bits = 256;           ///< 128, 192, 256
  std::uint32_t spin_count = 1000;  ///< Office writes 100,000; tests use less to stay quick
  std::string seed = "mugai";   ///< salts and keys are derived from it (reproducible fixtures)
};

/// The two streams, kept apart so that tests can damage either before wrapping them.
struct Streams {
  std::string info, package;
};

inline const EVP_MD* evpHash(const std::string& name) {
  if (name == "SHA1") return EVP_sha1();
  if (name == "SHA256") return EVP_sha256();
  if (name == "SHA384") return EVP_sha384();
  return EVP_sha512();
}

inline std::string digest(const std::string& hash, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, evpHash(hash), nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

inline std::string le32s(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

/// Deterministic "random" bytes for fixtures.
inline std::string bytes(const std::string& seed, const std::string& what, std::size_t n) {
  std::string out;
  for (std::uint32_t i = 0; out.size() < n; ++i) out += digest("SHA256", seed + "/" + what + "/" + le32s(i));
  return out.substr(0, n);
}

inline std::string utf16(const std::string& ascii_or_utf8) {
  // Fixture passwords are ASCII or BMP UTF-8.
  std::string o;
  for (std::size_t i = 0; i < ascii_or_utf8.size();) {
    unsigned char c = static_cast<unsigned char>(ascii_or_utf8[i]);
    std::uint32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c >> 5) == 6) {
      cp = ((c & 0x1F) << 6) | (ascii_or_utf8[i + 1] & 0x3F);
      i += 2;
    } else {
      cp = ((c & 0x0F) << 12) | ((ascii_or_utf8[i + 1] & 0x3F) << 6) | (ascii_or_utf8[i + 2] & 0x3F);
      i += 3;
    }
    o.push_back(static_cast<char>(cp & 0xFF));
    o.push_back(static_cast<char>(cp >> 8));
  }
  return o;
}

inline std::string aes(const std::string& key, const std::string& iv, std::string plain, bool cbc) {
  plain.resize((plain.size() + 15) / 16 * 16, '\0');
  const EVP_CIPHER* c = key.size() == 16 ? (cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb())
                        : key.size() == 24 ? (cbc ? EVP_aes_192_cbc() : EVP_aes_192_ecb())
                                           : (cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(plain.size(), '\0');
  int n = 0, m = 0;
  EVP_EncryptInit_ex(ctx, c, nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                     cbc ? reinterpret_cast<const unsigned char*>(iv.data()) : nullptr);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n,
                    reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + n, &m);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

inline std::string fit(std::string v, std::size_t n) {
  v.resize(n, '\x36');
  return v;
}

inline std::string b64(const std::string& s) { return mime::encodeBase64(s, 0); }

inline std::string le64s(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

inline Streams agile(const std::string& plain, const std::string& password, const AgileOptions& o = {}) {
  const std::string& H = o.hash;
  const std::size_t hs = digest(H, "").size(), kb = static_cast<std::size_t>(o.key_bits) / 8;
  const std::string kd_salt = bytes(o.seed, "keyData", 16), pw_salt = bytes(o.seed, "password", 16);
  const std::string secret = bytes(o.seed, "secret", kb), hmac_key = bytes(o.seed, "hmac", hs);
  const std::string vin = bytes(o.seed, "verifier", 16);
  std::string h = digest(H, pw_salt + utf16(password));
  for (std::uint32_t i = 0; i < o.spin_count; ++i) h = digest(H, le32s(i) + h);
  auto key = [&](const char* block) { return fit(digest(H, h + std::string(block, 8)), kb); };
  const std::string k1 = key("\xfe\xa7\xd2\x76\x3b\x4b\x9e\x79"), k2 = key("\xd7\xaa\x0f\x6d\x30\x61\x34\x4e"),
                    k3 = key("\x14\x6e\x0b\xe7\xab\xac\xd0\xd6");
  Streams s;
  s.package = le64s(plain.size());
  for (std::size_t off = 0, i = 0; off < plain.size(); off += 4096, ++i) {
    s.package += aes(secret, digest(H, kd_salt + le32s(static_cast<std::uint32_t>(i))).substr(0, 16),
                     plain.substr(off, 4096), true);
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(evpHash(H), hmac_key.data(), static_cast<int>(hmac_key.size()),
       reinterpret_cast<const unsigned char*>(s.package.data()), s.package.size(), mac, &mac_len);
  const std::string iv4 = digest(H, kd_salt + std::string("\x5f\xb2\xad\x01\x0c\xb9\xe1\xf6", 8)).substr(0, 16);
  const std::string iv5 = digest(H, kd_salt + std::string("\xa0\x67\x7f\x02\xb2\x2c\x84\x33", 8)).substr(0, 16);
  const std::string cipher = "keyBits=\"" + std::to_string(o.key_bits) + "\" hashSize=\"" + std::to_string(hs) +
                             "\" cipherAlgorithm=\"AES\" cipherChaining=\"ChainingModeCBC\" hashAlgorithm=\"" + H + "\"";
  s.info = std::string("\x04\x00\x04\x00\x40\x00\x00\x00", 8) +
           "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
           "<encryption xmlns=\"http://schemas.microsoft.com/office/2006/encryption\" "
           "xmlns:p=\"http://schemas.microsoft.com/office/2006/keyEncryptor/password\" "
           "xmlns:c=\"http://schemas.microsoft.com/office/2006/keyEncryptor/certificate\">"
           "<keyData saltSize=\"16\" blockSize=\"16\" " + cipher + " saltValue=\"" + b64(kd_salt) + "\"/>"
           "<dataIntegrity encryptedHmacKey=\"" + b64(aes(secret, iv4, hmac_key, true)) +
           "\" encryptedHmacValue=\"" + b64(aes(secret, iv5, std::string(reinterpret_cast<char*>(mac), mac_len), true)) + "\"/>"
           "<keyEncryptors><keyEncryptor uri=\"http://schemas.microsoft.com/office/2006/keyEncryptor/password\">"
           "<p:encryptedKey spinCount=\"" + std::to_string(o.spin_count) + "\" saltSize=\"16\" blockSize=\"16\" " + cipher +
           " saltValue=\"" + b64(pw_salt) + "\" encryptedVerifierHashInput=\"" + b64(aes(k1, pw_salt, vin, true)) +
           "\" encryptedVerifierHashValue=\"" + b64(aes(k2, pw_salt, digest(H, vin), true)) +
           "\" encryptedKeyValue=\"" + b64(aes(k3, pw_salt, secret, true)) + "\"/>"
           "</keyEncryptor></keyEncryptors></encryption>";
  return s;
}

/// Standard encryption (EncryptionInfo 3.2, AES-128-ECB, SHA-1, 50,000 rounds), as Office 2007 wrote.
inline Streams standard(const std::string& plain, const std::string& password, const std::string& seed = "mugai") {
  const std::string salt = bytes(seed, "salt", 16), verifier = bytes(seed, "verifier", 16);
  std::string h = digest("SHA1", salt + utf16(password));
  for (std::uint32_t i = 0; i < 50000; ++i) h = digest("SHA1", le32s(i) + h);
  const std::string hfinal = digest("SHA1", h + le32s(0));
  std::string b1(64, '\x36');
  for (std::size_t i = 0; i < 20; ++i) b1[i] = static_cast<char>(b1[i] ^ hfinal[i]);
  const std::string key = digest("SHA1", b1).substr(0, 16);
  const std::string csp = utf16("Microsoft Enhanced RSA and AES Cryptographic Provider") + std::string(2, '\0');
  const std::string header = le32s(0x24) + le32s(0) + le32s(0x660E) + le32s(0x8004) + le32s(128) + le32s(0x18) +
                             le32s(0) + le32s(0) + csp;
  Streams s;
  s.info = std::string("\x03\x00\x02\x00", 4) + le32s(0x24) + le32s(static_cast<std::uint32_t>(header.size())) +
           header + le32s(16) + salt + aes(key, "", verifier, false) + le32s(20) +
           aes(key, "", digest("SHA1", verifier), false);
  s.package = le64s(plain.size()) + aes(key, "", plain, false);
  return s;
}

/// The compound file Office writes around the two streams.
inline std::string wrap(const Streams& s) {
  std::string f = sanitizers::ole2::writeCompoundFile({{"EncryptionInfo", s.info}, {"EncryptedPackage", s.package}});
  if (f.empty()) throw std::runtime_error("libgsf could not write the compound file");
  return f;
}

}  // namespace mugai::test::offcrypto
