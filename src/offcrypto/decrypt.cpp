// Key derivation and package decryption (MS-OFFCRYPTO 2.3.4.7-2.3.4.15), OpenSSL's EVP only.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>
#include <optional>

#include "src/offcrypto/offcrypto.h"

namespace mugai::offcrypto {
namespace {

using Status = Result::Status;

Result outcome(Status s, std::string detail) {
  Result r;
  r.status = s;
  r.detail = std::move(detail);
  return r;
}

/// A secret that wipes itself.
struct Secret {
  std::string b;
  Secret() = default;
  explicit Secret(std::string s) : b(std::move(s)) {}
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& o) noexcept : b(std::move(o.b)) {}
  Secret& operator=(Secret&& o) noexcept {
    wipe();
    b = std::move(o.b);
    return *this;
  }
  ~Secret() { wipe(); }
  void wipe() {
    if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
    b.clear();
  }
};

const EVP_MD* md(const std::string& name) {
  if (name == "SHA1") return EVP_sha1();
  if (name == "SHA256") return EVP_sha256();
  if (name == "SHA384") return EVP_sha384();
  if (name == "SHA512") return EVP_sha512();
  return nullptr;
}

const EVP_CIPHER* aes(std::size_t key_bytes, bool cbc) {
  switch (key_bytes) {
    case 16: return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
    case 24: return cbc ? EVP_aes_192_cbc() : EVP_aes_192_ecb();
    case 32: return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb();
    default: return nullptr;
  }
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

class Hasher {
 public:
  explicit Hasher(const EVP_MD* m) : m_(m), ctx_(EVP_MD_CTX_new()) {}
  bool ok() const { return m_ && ctx_; }
  /// H(a || b) into out (resized to the digest length).
  bool hash(std::string_view a, std::string_view b, std::string& out) {
    unsigned int n = 0;
    out.resize(static_cast<std::size_t>(EVP_MD_get_size(m_)));
    return EVP_DigestInit_ex(ctx_.get(), m_, nullptr) == 1 &&
           EVP_DigestUpdate(ctx_.get(), a.data(), a.size()) == 1 &&
           EVP_DigestUpdate(ctx_.get(), b.data(), b.size()) == 1 &&
           EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(out.data()), &n) == 1;
  }

 private:
  const EVP_MD* m_;
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
};

std::string le32(std::uint32_t v) {
  const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24)};
  return std::string(b, 4);
}

/// UTF-8 to UTF-16LE (what Office hashes); false for text that is not UTF-8.
bool utf16le(const std::string& in, Secret& out) {
  std::string& o = out.b;
  o.reserve(in.size() * 2);
  for (std::size_t i = 0; i < in.size();) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    std::uint32_t cp = 0;
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > in.size()) return false;
    cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned char d = static_cast<unsigned char>(in[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    auto unit = [&](std::uint32_t u) {
      o.push_back(static_cast<char>(u & 0xFF));
      o.push_back(static_cast<char>(u >> 8));
    };
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
    i += len;
  }
  return true;
}

/// H_n of 2.3.4.11: H0 = H(salt + password), H(i) = H(iterator + H(i-1)), `spin` times.
bool iteratedHash(Hasher& h, const std::string& salt, const Secret& pw16, std::uint64_t spin, Secret& out) {
  if (!h.hash(salt, pw16.b, out.b)) return false;
  std::string next;
  for (std::uint64_t i = 0; i < spin; ++i) {
    if (!h.hash(le32(static_cast<std::uint32_t>(i)), out.b, next)) return false;
    out.b.swap(next);
  }
  OPENSSL_cleanse(next.data(), next.size());
  return true;
}

/// `v` cut or padded with 0x36 to `n` bytes (2.3.4.11, 2.3.4.12).
std::string fit(std::string v, std::size_t n) {
  if (v.size() > n) {
    OPENSSL_cleanse(v.data() + n, v.size() - n);
    v.resize(n);
  } else {
    v.resize(n, '\x36');
  }
  return v;
}

/// AES decryption without padding; `in` is whole blocks (the parser checked).
bool aesDecrypt(const std::string& key, std::string_view iv, std::string_view in, std::string& out, bool cbc) {
  const EVP_CIPHER* c = aes(key.size(), cbc);
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!c || !ctx || in.size() % 16 != 0 || (cbc && iv.size() != 16)) return false;
  out.resize(in.size());
  int n = 0, m = 0;
  return EVP_DecryptInit_ex(ctx.get(), c, nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                            cbc ? reinterpret_cast<const unsigned char*>(iv.data()) : nullptr) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
         EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n,
                           reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size())) == 1 &&
         EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n, &m) == 1 &&
         static_cast<std::size_t>(n + m) == in.size();
}

constexpr char kBlockVerifierInput[] = "\xfe\xa7\xd2\x76\x3b\x4b\x9e\x79";
constexpr char kBlockVerifierValue[] = "\xd7\xaa\x0f\x6d\x30\x61\x34\x4e";
constexpr char kBlockKeyValue[] = "\x14\x6e\x0b\xe7\xab\xac\xd0\xd6";
constexpr char kBlockHmacKey[] = "\x5f\xb2\xad\x01\x0c\xb9\xe1\xf6";
constexpr char kBlockHmacValue[] = "\xa0\x67\x7f\x02\xb2\x2c\x84\x33";
constexpr std::size_t kSegment = 4096;

/// The EncryptedPackage's StreamSize, checked against the stream and the limit.
std::optional<Result> checkPackage(std::string_view package, const Limits& limits, std::uint64_t& size) {
  if (package.size() < 8) return outcome(Status::Malformed, "EncryptedPackage: truncated size field");
  auto* p = reinterpret_cast<const unsigned char*>(package.data());
  size = 0;
  for (int k = 7; k >= 0; --k) size = (size << 8) | p[k];
  const std::uint64_t body = package.size() - 8;
  if (size > limits.offcrypto_package_size_limit || body > limits.offcrypto_package_size_limit + kSegment)
    return outcome(Status::OverLimit, "EncryptedPackage is larger than offcrypto_package_size_limit");
  if (size > body || body % 16 != 0 || body - size >= kSegment)
    return outcome(Status::Malformed, "EncryptedPackage: its declared size does not fit the stream");
  return std::nullopt;
}

Result decryptStandard(const EncryptionInfo& info, std::string_view package, const Secret& pw16,
                       const Limits& limits) {
  std::uint64_t size = 0;
  if (auto bad = checkPackage(package, limits, size)) return *bad;
  Hasher h(EVP_sha1());
  Secret hn, hfinal;
  if (!h.ok() || !iteratedHash(h, info.pw_salt, pw16, info.spin_count, hn) || !h.hash(hn.b, le32(0), hfinal.b))
    return outcome(Status::Malformed, "hashing failed");
  // 2.3.4.7: X1 = H(0x36 pad ^ Hfinal), X2 = H(0x5C pad ^ Hfinal), key = (X1 || X2)[0, keyBytes)
  Secret b1(std::string(64, '\x36')), b2(std::string(64, '\x5c')), x1, x2;
  for (std::size_t k = 0; k < hfinal.b.size(); ++k) {
    b1.b[k] = static_cast<char>(b1.b[k] ^ hfinal.b[k]);
    b2.b[k] = static_cast<char>(b2.b[k] ^ hfinal.b[k]);
  }
  if (!h.hash(b1.b, "", x1.b) || !h.hash(b2.b, "", x2.b)) return outcome(Status::Malformed, "hashing failed");
  Secret key(fit(x1.b + x2.b, info.key_bits / 8));
  Secret verifier, verifier_hash, expected;
  if (!aesDecrypt(key.b, {}, info.encrypted_verifier_input, verifier.b, false) ||
      !aesDecrypt(key.b, {}, info.encrypted_verifier_value, verifier_hash.b, false) ||
      !h.hash(verifier.b, "", expected.b)) {
    return outcome(Status::Malformed, "the verifier cannot be decrypted");
  }
  if (CRYPTO_memcmp(expected.b.data(), verifier_hash.b.data(), 20) != 0)
    return outcome(Status::WrongPassword, "wrong password");
  Result r;
  if (!aesDecrypt(key.b, {}, package.substr(8), r.plain, false))
    return outcome(Status::Malformed, "EncryptedPackage cannot be decrypted");
  r.plain.resize(size);
  r.status = Status::Decrypted;
  return r;
}

Result decryptAgile(const EncryptionInfo& info, std::string_view package, const Secret& pw16,
                    const Limits& limits) {
  std::uint64_t size = 0;
  if (auto bad = checkPackage(package, limits, size)) return *bad;
  Hasher ph(md(info.pw_hash)), dh(md(info.hash));
  if (!ph.ok() || !dh.ok()) return outcome(Status::Malformed, "no such hash");
  Secret hn;
  if (!iteratedHash(ph, info.pw_salt, pw16, info.spin_count, hn)) return outcome(Status::Malformed, "hashing failed");
  const std::size_t kb = info.pw_key_bits / 8;
  auto derive = [&](std::string_view block, Secret& key) {
    return ph.hash(hn.b, block, key.b) && ((key.b = fit(std::move(key.b), kb)), true);
  };
  const std::string iv = fit(info.pw_salt, info.pw_block_size);
  Secret k1, k2, k3, vin, vval, vhash;
  if (!derive({kBlockVerifierInput, 8}, k1) || !derive({kBlockVerifierValue, 8}, k2) ||
      !derive({kBlockKeyValue, 8}, k3) ||
      !aesDecrypt(k1.b, iv, info.encrypted_verifier_input, vin.b, true) ||
      !aesDecrypt(k2.b, iv, info.encrypted_verifier_value, vval.b, true) ||
      !ph.hash(std::string_view(vin.b).substr(0, info.pw_salt.size()), "", vhash.b)) {
    return outcome(Status::Malformed, "the verifier cannot be decrypted");
  }
  if (vval.b.size() < info.pw_hash_size ||
      CRYPTO_memcmp(vhash.b.data(), vval.b.data(), info.pw_hash_size) != 0) {
    return outcome(Status::WrongPassword, "wrong password");
  }
  Secret secret;
  if (!aesDecrypt(k3.b, iv, info.encrypted_key_value, secret.b, true))
    return outcome(Status::Malformed, "the key cannot be decrypted");
  secret.b = fit(std::move(secret.b), info.key_bits / 8);
  // dataIntegrity (2.3.4.14): HMAC(hash, hmacKey) over the whole EncryptedPackage stream, before
  // anything is decrypted for the caller.
  std::string iv4, iv5;
  Secret hkey, hval;
  if (!dh.hash(info.key_data_salt, {kBlockHmacKey, 8}, iv4) || !dh.hash(info.key_data_salt, {kBlockHmacValue, 8}, iv5) ||
      !aesDecrypt(secret.b, fit(iv4, info.block_size), info.encrypted_hmac_key, hkey.b, true) ||
      !aesDecrypt(secret.b, fit(iv5, info.block_size), info.encrypted_hmac_value, hval.b, true)) {
    return outcome(Status::Malformed, "dataIntegrity cannot be decrypted");
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(md(info.hash), hkey.b.data(), static_cast<int>(info.hash_size),
            reinterpret_cast<const unsigned char*>(package.data()), package.size(), mac, &mac_len) ||
      mac_len != info.hash_size || hval.b.size() < info.hash_size) {
    return outcome(Status::Malformed, "the HMAC cannot be computed");
  }
  if (CRYPTO_memcmp(mac, hval.b.data(), info.hash_size) != 0) {
    return outcome(Status::IntegrityFailed,
                   "the package's HMAC (dataIntegrity) does not match: the file was changed after it was encrypted");
  }
  Result r;
  r.plain.reserve(package.size() - 8);
  std::string seg_iv, plain;
  const std::string_view body = package.substr(8);
  for (std::size_t off = 0, i = 0; off < body.size(); off += kSegment, ++i) {
    const std::string_view seg = body.substr(off, kSegment);
    if (!dh.hash(info.key_data_salt, le32(static_cast<std::uint32_t>(i)), seg_iv) ||
        !aesDecrypt(secret.b, fit(seg_iv, info.block_size), seg, plain, true)) {
      return outcome(Status::Malformed, "EncryptedPackage cannot be decrypted");
    }
    r.plain += plain;
  }
  r.plain.resize(size);
  r.status = Status::Decrypted;
  return r;
}

}  // namespace

Result decryptPackage(const EncryptionInfo& info, std::string_view package, const std::string& password,
                      const Limits& limits) {
  if (info.spin_count > limits.offcrypto_spin_count_limit)
    return outcome(Status::OverLimit, "spinCount is over offcrypto_spin_count_limit");
  Secret pw16;
  if (!utf16le(password, pw16)) return outcome(Status::WrongPassword, "the password is not UTF-8 text");
  return info.scheme == EncryptionInfo::Scheme::Agile ? decryptAgile(info, package, pw16, limits)
                                                      : decryptStandard(info, package, pw16, limits);
}

}  // namespace mugai::offcrypto
