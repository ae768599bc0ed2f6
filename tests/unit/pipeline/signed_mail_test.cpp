// Signed mail (issue 10): multipart/signed (S/MIME and PGP/MIME) and opaque S/MIME signed-data
// deliver their content through the whole policy with a note that the signature could not be
// kept; encrypted S/MIME stays blocked. The CMS structures are made here with OpenSSL.
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"
#include "support/test_support.h"

using namespace mugai;

namespace {

ProcessResult run(const std::string& raw) {
  return test::shippedEngine().processMessage(raw, Envelope{"sender@example.com", {"staff@city.example.lg.jp"}}, "SIG");
}

mime::Entity reparse(const std::string& out) {
  Limits l;
  Budget b(l);
  mime::ParseResult p = mime::parse(out, b);
  REQUIRE_FALSE(p.failure);
  return p.root;
}

/// A throwaway RSA key and self-signed certificate, made once.
struct Signer {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  Signer() {
    key = EVP_RSA_gen(2048);
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("sender"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
  }
};
const Signer& signer() {
  static Signer s;
  REQUIRE(s.key);
  return s;
}

std::string der(CMS_ContentInfo* cms) {
  REQUIRE(cms);
  BIO* out = BIO_new(BIO_s_mem());
  REQUIRE(i2d_CMS_bio(out, cms) == 1);
  char* p = nullptr;
  long n = BIO_get_mem_data(out, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(out);
  CMS_ContentInfo_free(cms);
  return s;
}

std::string signedData(const std::string& content) {
  BIO* in = BIO_new_mem_buf(content.data(), static_cast<int>(content.size()));
  std::string s = der(CMS_sign(signer().cert, signer().key, nullptr, in, CMS_BINARY));
  BIO_free(in);
  return s;
}

std::string envelopedData(const std::string& content) {
  BIO* in = BIO_new_mem_buf(content.data(), static_cast<int>(content.size()));
  STACK_OF(X509)* certs = sk_X509_new_null();
  sk_X509_push(certs, signer().cert);
  std::string s = der(CMS_encrypt(certs, in, EVP_aes_128_cbc(), CMS_BINARY));
  sk_X509_free(certs);
  BIO_free(in);
  return s;
}

std::string headers(const std::string& content_type) {
  return "From: Sender <sender@example.com>\r\nTo: staff@city.example.lg.jp\r\nSubject: signed\r\n"
         "Message-ID: <s1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: " + content_type + "\r\n";
}

std::string opaque(const std::string& smime_type, const std::string& der_bytes) {
  return headers("application/pkcs7-mime; " + smime_type + "name=\"smime.p7m\"") +
         "Content-Disposition: attachment; filename=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
         mime::encodeBase64(der_bytes) + "\r\n";
}

std::string innerWithEicar() {
  return "Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n\r\n署名付きの本文です。\r\n--in\r\n"
         "Content-Type: application/octet-stream; name=\"tool.com\"\r\nContent-Disposition: attachment; "
         "filename=\"tool.com\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
         mime::encodeBase64(test::readFile(test::generatedDir() / "eicar.com")) + "\r\n--in--\r\n";
}

const ActionRecord* action(const Report& r, const std::string& name) {
  for (const auto& a : r.actions)
    if (a.action == name) return &a;
  return nullptr;
}

void requireUnsignedNote(const ProcessResult& r) {
  const ActionRecord* a = action(r.report, "unsigned");
  REQUIRE(a);
  REQUIRE(a->reason == "signature.removed");
  std::string text = test::bodyText(reparse(r.output));
  REQUIRE(text.find("電子署名は残せませんでした") != std::string::npos);
  REQUIRE(text.find("the signature could not be kept") != std::string::npos);
  REQUIRE(text.find("not allowed") == std::string::npos);
  REQUIRE(text.find("encrypted") == std::string::npos);
}

}  // namespace

TEST_CASE("multipart/signed delivers its content with a note on the signature", "[integration]") {
  auto [protocol, sig_type, sig_name] = GENERATE(
      std::make_tuple(std::string("application/pkcs7-signature"), std::string("application/pkcs7-signature"),
                      std::string("smime.p7s")),
      std::make_tuple(std::string("application/pgp-signature"), std::string("application/pgp-signature"),
                      std::string("signature.asc")));
  std::string raw = headers("multipart/signed; protocol=\"" + protocol + "\"; micalg=sha-256; boundary=\"sig\"") +
                    "\r\n--sig\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n会議資料を送ります。\r\n--sig\r\n"
                    "Content-Type: " + sig_type + "; name=\"" + sig_name + "\"\r\nContent-Disposition: attachment; "
                    "filename=\"" + sig_name + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                    mime::encodeBase64(std::string(300, '\x30')) + "\r\n--sig--\r\n";
  ProcessResult r = run(raw);
  INFO(r.output);
  REQUIRE(r.verdict == Verdict::Modified);
  requireUnsignedNote(r);
  auto root = reparse(r.output);
  REQUIRE(test::bodyText(root).find("会議資料を送ります。") != std::string::npos);
  bool sig_left = false;
  test::forEachEntity(root, [&](const mime::Entity& e) { sig_left |= e.filename == sig_name; });
  REQUIRE_FALSE(sig_left);
  for (const auto& a : r.report.actions) REQUIRE(a.reason != "type.removed");
  REQUIRE(r.keepOriginal());
}

TEST_CASE("opaque S/MIME signed-data is unwrapped and its content goes through the policy", "[integration]") {
  std::string smime_type = GENERATE(std::string("smime-type=signed-data; "), std::string(""));
  SECTION("a text body and an EICAR attachment: the body arrives, EICAR is removed") {
    ProcessResult r = run(opaque(smime_type, signedData(innerWithEicar())));
    INFO(r.output);
    REQUIRE(r.verdict == Verdict::PartRemoved);
    requireUnsignedNote(r);
    auto root = reparse(r.output);
    REQUIRE(test::bodyText(root).find("署名付きの本文です。") != std::string::npos);
    REQUIRE(r.output.find("tool.com\"\r\nContent-Transfer") == std::string::npos);
    bool infected = false;
    for (const auto& a : r.report.actions) infected |= a.reason == "av.infected" && a.part == "2";
    REQUIRE(infected);
  }
  SECTION("a plain text body") {
    ProcessResult r = run(opaque(smime_type, signedData("Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n")));
    REQUIRE(r.verdict == Verdict::Modified);
    requireUnsignedNote(r);
    REQUIRE(test::bodyText(reparse(r.output)).find("hello") != std::string::npos);
  }
}

TEST_CASE("encrypted or broken S/MIME stays blocked, and signed-in-signed is bounded", "[integration][adversarial]") {
  std::string inner = "Content-Type: text/plain\r\n\r\nsecret\r\n";
  SECTION("enveloped data, labelled as enveloped or lying as signed") {
    std::string label = GENERATE(std::string("smime-type=enveloped-data; "), std::string("smime-type=signed-data; "),
                                 std::string(""));
    ProcessResult r = run(opaque(label, envelopedData(inner)));
    REQUIRE(r.verdict >= Verdict::Quarantine);
    REQUIRE(r.report.actions.back().reason == "content.encrypted");
    REQUIRE(r.output.find("secret") == std::string::npos);
  }
  SECTION("garbage that claims to be signed data") {
    ProcessResult r = run(opaque("smime-type=signed-data; ", std::string(500, '\x42')));
    REQUIRE(r.verdict >= Verdict::Quarantine);
  }
  SECTION("signed data nested three deep") {
    std::string layer = inner;
    for (int i = 0; i < 3; ++i) {
      layer = "Content-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
              mime::encodeBase64(signedData(layer)) + "\r\n";
    }
    ProcessResult r = run(opaque("smime-type=signed-data; ", signedData(layer)));
    bool depth = false;
    for (const auto& a : r.report.actions) depth |= a.reason == "limit.mime_depth";
    REQUIRE(depth);
    REQUIRE(r.verdict >= Verdict::PartRemoved);
  }
}
