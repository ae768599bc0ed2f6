// Encrypted Office files (src/offcrypto): Agile and Standard MS-OFFCRYPTO packages made by the
// test writer (checked against a real peer, msoffcrypto-tool) open with the right password only;
// a tampered package fails its HMAC; hostile EncryptionInfo fails closed; legacy RC4 files are
// named and left encrypted; a PPAP mail with an encrypted .docx and .xlsm is unlocked and the
// policy then removes the .xlsm's macros.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "mugai/core/limits.h"
#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "sanitizers/ole2/ole2.h"
#include "src/offcrypto/offcrypto.h"
#include "src/release/unlock.h"
#include "support/offcrypto_writer.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/office_fixtures.h"

namespace oc = mugai::offcrypto;
namespace ow = mugai::test::offcrypto;
namespace mr = mugai::release;
using St = oc::Result::Status;
using namespace mugai::test;

namespace {

const char* kPw = "Pa55-見積 word";

/// A small real .docx (one paragraph) built with the package writer.
std::string docx() {
  return office::pack({
      {"[Content_Types].xml",
       R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>)"},
      {"_rels/.rels",
       R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>)"},
      {"word/document.xml",
       R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Encrypted quote, page one</w:t></w:r></w:p>)" +
           std::string(9000, ' ') + R"(<w:sectPr/></w:body></w:document>)"},
  });
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  s.replace(at, from.size(), to);
  return s;
}

oc::Result open(const ow::Streams& s, const std::string& pw, const mugai::Limits& limits = {}) {
  return oc::decrypt(ow::wrap(s), pw, limits);
}

std::string mailWith(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string m = "From: partner@example.co.jp\r\nTo: tanaka@city.example.lg.jp\r\nSubject: quote\r\n"
                  "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                  "--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nパスワードは別送します。\r\n";
  for (const auto& [name, data] : files) {
    m += "--b\r\nContent-Type: application/octet-stream; name=\"" + name +
         "\"\r\nContent-Disposition: attachment; filename=\"" + name +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + mugai::mime::encodeBase64(data) + "\r\n";
  }
  return m + "--b--\r\n";
}

std::vector<std::string> actions(const mugai::ProcessResult& p) {
  std::vector<std::string> out;
  for (const auto& a : p.report.actions) out.push_back(a.action + " " + a.reason + " " + a.filename);
  return out;
}

bool any(const std::vector<std::string>& v, const std::string& a, const std::string& b) {
  for (const auto& x : v) {
    if (x.find(a) != std::string::npos && x.find(b) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("offcrypto: the test writer's files are what MS-OFFCRYPTO says (msoffcrypto-tool decrypts "
          "them), and mugai decrypts them to the same bytes", "[release][offcrypto][peer]") {
  if (toolMissing("msoffcrypto-tool")) return;
  TempDir t;
  const std::string plain = docx();
  struct Case {
    const char* name;
    ow::Streams s;
  };
  ow::AgileOptions office;  // what Office and LibreOffice write: AES-256, SHA-512, 100,000 rounds
  office.spin_count = 100000;
  ow::AgileOptions sha1;
  sha1.hash = "SHA1";
  sha1.key_bits = 128;
  const std::vector<Case> cases{{"agile-office", ow::agile(plain, kPw, office)},
                                {"agile-sha1-aes128", ow::agile(plain, kPw, sha1)},
                                {"standard", ow::standard(plain, kPw)}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const auto in = t.path() / (std::string(c.name) + ".docx"), out = t.path() / (std::string(c.name) + ".plain");
      writeFile(in, ow::wrap(c.s));
      auto peer = runTool({"msoffcrypto-tool", "-p", kPw, in.string(), out.string()});
      INFO(peer.output);
      REQUIRE(peer.exit_code == 0);
      CHECK(readFile(out) == plain);
      auto wrong = runTool({"msoffcrypto-tool", "-p", "nope", in.string(), (t.path() / "x").string()});
      CHECK(wrong.exit_code != 0);
      auto r = oc::decrypt(readFile(in), kPw, {});
      INFO(r.detail);
      REQUIRE(r.status == St::Decrypted);
      CHECK(r.plain == plain);
      CHECK(oc::isEncryptedPackage(readFile(in), {}));
    }
  }
}

TEST_CASE("offcrypto: every hash and key size opens with the right password only",
          "[release][offcrypto]") {
  const std::string plain = docx();
  for (const std::string hash : {"SHA1", "SHA256", "SHA384", "SHA512"}) {
    for (int bits : {128, 192, 256}) {
      DYNAMIC_SECTION(hash << "/" << bits) {
        ow::AgileOptions o;
        o.hash = hash;
        o.key_bits = bits;
        o.spin_count = 10;
        const ow::Streams s = ow::agile(plain, kPw, o);
        auto r = open(s, kPw);
        INFO(r.detail);
        REQUIRE(r.status == St::Decrypted);
        CHECK(r.plain == plain);
        for (const std::string wrong : {"", "pa55-見積 word", "Pa55-見積 word ", "Pa55"}) {
          auto w = open(s, wrong);
          CHECK(w.status == St::WrongPassword);
          CHECK(w.plain.empty());
        }
      }
    }
  }
  // Standard encryption: the same.
  const ow::Streams st = ow::standard(plain, kPw);
  CHECK(open(st, kPw).plain == plain);
  CHECK(open(st, "Pa55").status == St::WrongPassword);
  // Sizes around the 4,096-byte segments and the 16-byte blocks.
  for (std::size_t n : {1u, 15u, 16u, 17u, 4095u, 4096u, 4097u, 8192u + 3u}) {
    const std::string p(n, 'q');
    ow::AgileOptions o;
    o.spin_count = 1;
    CHECK(open(ow::agile(p, kPw, o), kPw).plain == p);
    CHECK(open(ow::standard(p, kPw), kPw).plain == p);
  }
}

TEST_CASE("offcrypto: a changed EncryptedPackage fails the HMAC (dataIntegrity) and nothing is "
          "decrypted", "[release][offcrypto]") {
  ow::AgileOptions o;
  o.spin_count = 10;
  const ow::Streams good = ow::agile(docx(), kPw, o);
  SECTION("one bit of the encrypted data") {
    for (std::size_t at : {std::size_t{8}, good.package.size() / 2, good.package.size() - 1}) {
      ow::Streams s = good;
      s.package[at] = static_cast<char>(s.package[at] ^ 0x01);
      auto r = open(s, kPw);
      CHECK(r.status == St::IntegrityFailed);
      CHECK(r.plain.empty());
    }
  }
  SECTION("the declared size") {
    ow::Streams s = good;
    s.package[0] = static_cast<char>(s.package[0] ^ 0x01);  // still fits the stream: the HMAC catches it
    CHECK(open(s, kPw).status == St::IntegrityFailed);
  }
  SECTION("a segment cut off or appended") {
    ow::Streams s = good;
    s.package.resize(s.package.size() - 16);
    CHECK(open(s, kPw).status != St::Decrypted);
    s = good;
    s.package += std::string(16, 'x');
    CHECK(open(s, kPw).status == St::IntegrityFailed);
  }
  SECTION("the stored HMAC itself") {
    const std::string tag = "encryptedHmacValue=\"";
    ow::Streams s = good;
    const auto at = s.info.find(tag) + tag.size();
    s.info[at] = s.info[at] == 'A' ? 'B' : 'A';
    CHECK(open(s, kPw).status == St::IntegrityFailed);
  }
}

TEST_CASE("offcrypto: hostile EncryptionInfo and EncryptedPackage fail closed without crashing",
          "[release][offcrypto][hostile]") {
  ow::AgileOptions o;
  o.spin_count = 10;
  const ow::Streams good = ow::agile(docx(), kPw, o);
  mugai::Limits limits;
  auto infoWith = [&](const std::string& from, const std::string& to) {
    ow::Streams s = good;
    s.info = replaced(s.info, from, to);
    return s;
  };
  SECTION("spinCount over the limit is refused before any hashing") {
    CHECK(open(infoWith("spinCount=\"10\"", "spinCount=\"10000001\""), kPw).status == St::OverLimit);
    CHECK(open(infoWith("spinCount=\"10\"", "spinCount=\"4294967295\""), kPw).status == St::OverLimit);
    CHECK(open(infoWith("spinCount=\"10\"", "spinCount=\"99999999999\""), kPw).status == St::Malformed);
    CHECK(open(infoWith("spinCount=\"10\"", "spinCount=\"-1\""), kPw).status == St::Malformed);
    mugai::Limits low;
    low.offcrypto_spin_count_limit = 5;
    auto r = open(good, kPw, low);
    CHECK(r.status == St::OverLimit);
    CHECK(r.detail.find("offcrypto_spin_count_limit") != std::string::npos);
  }
  SECTION("key, block and hash sizes that do not fit") {
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"keyBits=\"256\"", "keyBits=\"100\""},
             {"keyBits=\"256\"", "keyBits=\"512\""},
             {"keyBits=\"256\"", "keyBits=\"0\""},
             {"blockSize=\"16\"", "blockSize=\"8\""},
             {"hashSize=\"64\"", "hashSize=\"20\""},
             {"hashSize=\"64\"", "hashSize=\"65\""},
             {"saltSize=\"16\"", "saltSize=\"17\""},
             {"saltSize=\"16\"", "saltSize=\"0\""},
             {"hashAlgorithm=\"SHA512\"", "hashAlgorithm=\"MD5\""},
             {"cipherAlgorithm=\"AES\"", "cipherAlgorithm=\"RC2\""},
             {"cipherChaining=\"ChainingModeCBC\"", "cipherChaining=\"ChainingModeCFB\""},
             {"encryptedKeyValue=\"", "encryptedKeyValue=\"AAAA"},
             {"encryptedVerifierHashInput=\"", "encryptedVerifierHashInput=\"!"},
             {"<dataIntegrity ", "<dataIntegrityX "},
             {"<?xml", "<!DOCTYPE e [<!ENTITY x \"y\">]><?xml"},
             {"</encryption>", ""},
             {"uri=\"http://schemas.microsoft.com/office/2006/keyEncryptor/password\"",
              "uri=\"http://schemas.microsoft.com/office/2006/keyEncryptor/certificate\""}}) {
      DYNAMIC_SECTION(to) {
        ow::Streams s = good;
        const auto at = s.info.find(from);
        REQUIRE(at != std::string::npos);
        s.info.replace(at, from.size(), to);
        auto r = open(s, kPw);
        INFO(r.detail);
        CHECK(r.status != St::Decrypted);
        CHECK(r.status != St::WrongPassword);  // a damaged file is not a wrong attempt
        CHECK(r.plain.empty());
        CHECK_FALSE(r.detail.empty());
      }
    }
  }
  SECTION("two password key encryptors or two keyData are ambiguous") {
    const auto a = good.info.find("<keyData"), b = good.info.find("/>", a) + 2;
    ow::Streams s = good;
    s.info.insert(b, good.info.substr(a, b - a));
    CHECK(open(s, kPw).status == St::Malformed);
  }
  SECTION("truncated streams, at every length") {
    for (std::size_t n = 0; n < good.info.size(); n += (n < 64 ? 1 : 37)) {
      ow::Streams s = good;
      s.info.resize(n);
      auto r = oc::decrypt(ow::wrap(s), kPw, limits);
      CHECK(r.status != St::Decrypted);
      CHECK(r.status != St::WrongPassword);
    }
    const ow::Streams std_good = ow::standard("tiny package", kPw);
    for (std::size_t n = 0; n < std_good.info.size(); ++n) {
      ow::Streams s = std_good;
      s.info.resize(n);
      auto r = oc::parseEncryptionInfo(s.info, limits);
      CHECK(r.status != oc::ParsedInfo::Status::Ok);
    }
    for (std::size_t n : {0u, 4u, 7u, 8u, 9u, 24u}) {
      ow::Streams s = good;
      s.package.resize(n);
      auto r = open(s, kPw);
      CHECK(r.status != St::Decrypted);
      CHECK(r.status != St::WrongPassword);
    }
  }
  SECTION("a declared package size beyond the stream or the limit") {
    ow::Streams s = good;
    for (int i = 0; i < 8; ++i) s.package[i] = '\xff';
    CHECK(open(s, kPw).status == St::OverLimit);
    s = good;
    s.package[3] = '\x01';  // 16 MiB more than the stream holds, under the limit
    CHECK(open(s, kPw).status == St::Malformed);
    mugai::Limits small;
    small.offcrypto_package_size_limit = 1024;
    ow::AgileOptions quick;
    quick.spin_count = 1;
    CHECK(open(ow::agile(std::string(1025, 'z'), kPw, quick), kPw, small).status == St::OverLimit);
    CHECK(open(ow::agile(std::string(1024, 'z'), kPw, quick), kPw, small).status == St::Decrypted);
    mugai::Limits tiny_info;
    tiny_info.offcrypto_info_size_limit = 1024;
    CHECK(open(good, kPw, tiny_info).status == St::OverLimit);
  }
  SECTION("versions and schemes it does not open") {
    ow::Streams s = good;
    s.info[2] = '\x03';  // 4.3: Extensible encryption
    CHECK(open(s, kPw).status == St::Unsupported);
    s.info[0] = '\x01';
    s.info[2] = '\x01';  // 1.1: RC4 (a .doc/.xls table stream's header, not an OOXML package)
    CHECK(open(s, kPw).status == St::Unsupported);
    ow::Streams rc4 = ow::standard("x", kPw);
    rc4.info[12] = '\x04';  // EncryptionHeader.Flags: fCryptoAPI without fAES (RC4)
    CHECK(open(rc4, kPw).status == St::Unsupported);
    // Only one of the two streams.
    CHECK(oc::decrypt(mugai::sanitizers::ole2::writeCompoundFile({{"EncryptionInfo", good.info}}), kPw, limits)
              .status == St::Malformed);
  }
  SECTION("not a compound file, or not encrypted") {
    CHECK(oc::decrypt("PK\x03\x04 not a compound file", kPw, limits).status == St::NotEncrypted);
    CHECK(oc::decrypt(std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(600, '\xff'), kPw, limits)
              .status != St::Decrypted);
    const std::string plain_doc = mugai::sanitizers::ole2::writeCompoundFile({{"WordDocument", std::string(64, '\0')}});
    CHECK(oc::decrypt(plain_doc, kPw, limits).status == St::NotEncrypted);
    CHECK_FALSE(oc::isEncryptedPackage(plain_doc, limits));
  }
}

TEST_CASE("offcrypto: legacy RC4 encryption of .doc, .xls and .ppt is named and left encrypted",
          "[release][offcrypto]") {
  mugai::Limits limits;
  std::string fib(64, '\0');
  fib[0] = '\xEC';
  fib[1] = '\xA5';
  fib[0x0B] = '\x01';  // fEncrypted
  auto doc = oc::decrypt(mugai::sanitizers::ole2::writeCompoundFile({{"WordDocument", fib}, {"1Table", "x"}}), kPw, limits);
  CHECK(doc.status == St::Unsupported);
  CHECK(doc.detail.find("Word 97-2003") != std::string::npos);
  // BOF, then FILEPASS (0x002F).
  const std::string book = std::string("\x09\x08\x04\x00\x00\x06\x05\x00", 8) + std::string("\x2F\x00\x02\x00\x01\x00", 6);
  auto xls = oc::decrypt(mugai::sanitizers::ole2::writeCompoundFile({{"Workbook", book}}), kPw, limits);
  CHECK(xls.status == St::Unsupported);
  CHECK(xls.detail.find("Excel 97-2003") != std::string::npos);
  auto ppt = oc::decrypt(mugai::sanitizers::ole2::writeCompoundFile(
                             {{"PowerPoint Document", "x"}, {"EncryptedSummary", "y"}}), kPw, limits);
  CHECK(ppt.status == St::Unsupported);
  // Through unlockFile: nothing opened, and the reason is said.
  std::string fib_plain = fib;
  fib_plain[0x0B] = '\0';
  auto u = mr::unlockFile(mugai::sanitizers::ole2::writeCompoundFile({{"WordDocument", fib}}), kPw, limits);
  CHECK(u.status == mr::UnlockResult::Status::NothingEncrypted);
  CHECK(u.detail.find("legacy encryption is not opened") != std::string::npos);
}

TEST_CASE("offcrypto: a PPAP mail with an encrypted .docx and .xlsm is withheld, then unlocked, and the "
          "policy removes the .xlsm's macros", "[release][offcrypto][ppap]") {
  const std::string plain_docx = docx(), plain_xlsm = office::xlsm();
  ow::AgileOptions o;
  o.spin_count = 1000;
  const std::string mail = mailWith({{"見積.docx", ow::wrap(ow::agile(plain_docx, kPw, o))},
                                     {"集計.xlsm", ow::wrap(ow::standard(plain_xlsm, kPw))}});
  std::vector<std::string> errors;
  auto engine = mugai::makeEngine("", errors);
  REQUIRE(engine);
  const mugai::Envelope env{"partner@example.co.jp", {"tanaka@city.example.lg.jp"}, "", "", ""};
  // As received: withheld as content.encrypted (the records unlock applies to), each of the two
  // schemes on its own too.
  auto before = engine->processMessage(mail, env, "office-before");
  INFO(Catch::Detail::stringify(actions(before)));
  CHECK(before.blocked());
  CHECK(any(actions(before), "content.encrypted", "見積.docx"));
  auto alone = engine->processMessage(mailWith({{"集計.xlsm", ow::wrap(ow::standard(plain_xlsm, kPw))}}), env,
                                      "office-alone");
  INFO(Catch::Detail::stringify(actions(alone)));
  CHECK(any(actions(alone), "content.encrypted", "集計.xlsm"));

  mugai::Limits limits;
  auto wrong = mr::unlockMessage(mail, "Pa55", limits);
  CHECK(wrong.status == mr::UnlockResult::Status::WrongPassword);
  CHECK(wrong.output.empty());
  CHECK(wrong.detail.find(kPw) == std::string::npos);

  auto r = mr::unlockMessage(mail, kPw, limits);
  INFO(r.detail);
  REQUIRE(r.status == mr::UnlockResult::Status::Unlocked);
  CHECK(r.opened == std::vector<std::string>{"見積.docx", "集計.xlsm"});
  auto after = engine->processMessage(r.output, env, "office-after");
  const auto acts = actions(after);
  INFO(Catch::Detail::stringify(acts));
  CHECK_FALSE(any(acts, "content.encrypted", ""));
  CHECK(any(acts, "rebuilt", "集計.xlsm"));
  CHECK_FALSE(after.output.empty());
  // The .xlsm's macros are gone from what is delivered, its cell text is there.
  CHECK(after.report.toJson(false).find("vbaProject.bin") != std::string::npos);

  // A tampered package in the same mail: the whole unlock fails closed (nothing is delivered).
  ow::Streams bad = ow::agile(plain_docx, kPw, o);
  bad.package[100] = static_cast<char>(bad.package[100] ^ 0x40);
  auto t = mr::unlockMessage(mailWith({{"見積.docx", ow::wrap(bad)}}), kPw, limits);
  CHECK(t.status == mr::UnlockResult::Status::Error);
  CHECK(t.detail.find("HMAC") != std::string::npos);
  CHECK(t.output.empty());
}
