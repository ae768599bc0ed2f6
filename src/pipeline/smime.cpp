// Opaque S/MIME signed-data (application/pkcs7-mime; smime-type=signed-data): the signed content
// taken out of the PKCS#7/CMS SignedData with OpenSSL's CMS API, so that it goes through the whole
// policy. The signature is not verified (it could not be kept anyway: the content is rebuilt).
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <memory>

#include "src/pipeline/walker.h"

namespace mugai::pipeline {

SignedContent unwrapSignedData(std::string_view der, std::size_t max_bytes) {
  SignedContent out;
  if (der.size() > static_cast<std::size_t>(INT32_MAX)) {
    out.detail = "too large";
    return out;
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(der.data(), static_cast<int>(der.size())),
                                                &BIO_free);
  if (!bio) {
    out.detail = "out of memory";
    return out;
  }
  std::unique_ptr<CMS_ContentInfo, decltype(&CMS_ContentInfo_free)> cms(d2i_CMS_bio(bio.get(), nullptr),
                                                                        &CMS_ContentInfo_free);
  ERR_clear_error();  // OpenSSL's error queue is per thread: leave nothing behind
  if (!cms) {
    out.detail = "not a PKCS#7/CMS structure";
    return out;
  }
  int nid = OBJ_obj2nid(CMS_get0_type(cms.get()));
  if (nid != NID_pkcs7_signed) {
    out.encrypted = nid == NID_pkcs7_enveloped || nid == NID_id_smime_ct_authEnvelopedData ||
                    nid == NID_pkcs7_encrypted || nid == NID_pkcs7_signedAndEnveloped;
    out.detail = out.encrypted ? "encrypted (enveloped) data" : "not signed data";
    return out;
  }
  ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
  if (!content || !*content) {
    out.detail = "detached signature without content";
    return out;
  }
  int n = ASN1_STRING_length(*content);
  if (n < 0 || static_cast<std::size_t>(n) > max_bytes) {
    out.detail = "signed content too large";
    return out;
  }
  out.content.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*content)), static_cast<std::size_t>(n));
  out.ok = true;
  return out;
}

}  // namespace mugai::pipeline
