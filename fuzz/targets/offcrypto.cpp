// offcrypto_info: EncryptionInfo of an encrypted Office file (src/offcrypto), the input as the
// stream's bytes. What parses goes on to the key derivation and a one-segment package, so the
// size checks between the parser and the decryption are reached too. spinCount is capped low
// (the limit is what keeps real attempts bounded; the fuzzer needs speed, not rounds).
#include <string>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "src/offcrypto/offcrypto.h"

using namespace mugai;

MUGAI_FUZZ_TARGET(offcrypto_info) {
  Limits limits;
  limits.offcrypto_spin_count_limit = 64;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const offcrypto::ParsedInfo p = offcrypto::parseEncryptionInfo(in, limits);
  if (p.status != offcrypto::ParsedInfo::Status::Ok) {
    if (p.detail.empty()) __builtin_trap();  // a refusal always says why
    return 0;
  }
  // The parser's promises, which the decryption relies on.
  const auto& i = p.info;
  if (i.spin_count > limits.offcrypto_spin_count_limit) __builtin_trap();
  if (i.key_bits != 128 && i.key_bits != 192 && i.key_bits != 256) __builtin_trap();
  if (i.encrypted_verifier_input.size() % 16 || i.encrypted_verifier_value.size() % 16) __builtin_trap();
  std::string package("\x20\x00\x00\x00\x00\x00\x00\x00", 8);
  package += std::string(32, '\x5a');
  const offcrypto::Result r = offcrypto::decryptPackage(i, package, "password", limits);
  if (r.status == offcrypto::Result::Status::Decrypted && r.plain.size() != 32) __builtin_trap();
  if (r.status != offcrypto::Result::Status::Decrypted && !r.plain.empty()) __builtin_trap();
  return 0;
}
