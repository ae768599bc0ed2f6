// Shared checks for the package rebuilders' tests: run a sanitizer, list and test the output with
// unzip (independent of our reader), convert it with LibreOffice and read the text back.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "mugai/sanitizer/sanitizer.h"
#include "sanitizers/image/image.h"
#include "unit/sanitizers/image_fixtures.h"
#include "src/zip/zip.h"
#include "support/inspect.h"
#include "support/sanitizer_run.h"
#include "support/test_support.h"
#include "support/tools.h"

namespace mugai::test::office {

inline Outcome runSanitizer(const Sanitizer& s, const std::string& data,
                            const std::string& filename, Limits limits = {}) {
  return applyOnce(s, partOf(data, "", filename), limits);
}

using ::mugai::test::hasFinding;

/// A small PNG as the image chain writes it (sanitizer.image's fixed point): the package
/// rebuilders re-encode every picture, and copy one that comes out unchanged as it is.
inline std::string chainPng(int w = 16, int h = 16) {
  Limits limits;
  Budget budget(limits);
  std::vector<Finding> findings;
  auto r = sanitizers::image::rebuild(imgfix::makePng(w, h, PNG_COLOR_TYPE_RGB, 8), {},
                                      limits.image_pixel_limit, budget, findings);
  REQUIRE_FALSE(r.failure);
  return r.encoded.data;
}

/// Member names as `unzip -Z1` lists them.
inline std::vector<std::string> unzipNames(const std::filesystem::path& file) {
  auto names = zipNames(file);
  REQUIRE_FALSE(names.empty());
  return names;
}

/// One member's bytes, read with our own bounded reader ("" when absent).
inline std::string zipMemberText(const std::string& zip_bytes, const std::string& name) {
  zip::Failure f;
  auto a = zip::Archive::open(zip_bytes, {}, &f);
  REQUIRE(a);
  const zip::Entry* e = a->find(name);
  if (!e) return "";
  Limits l;
  Budget b(l);
  std::string out;
  REQUIRE_FALSE(a->extract(*e, b, &out));
  return out;
}

/// `unzip -tq` says the archive tests OK (CRCs, sizes, structure).
inline void requireUnzipOk(const std::filesystem::path& file) {
  auto r = runTool({"unzip", "-tq", file.string()}, std::chrono::seconds(60));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("No errors detected") != std::string::npos);
}

/// The member's text as `unzip -p` extracts it.
inline std::string unzipMember(const std::filesystem::path& file, const std::string& member) {
  auto r = runTool({"unzip", "-p", file.string(), member}, std::chrono::seconds(60));
  REQUIRE(r.exit_code == 0);
  return r.output;
}

/// Converts `file` to PDF with a private LibreOffice profile and returns pdftotext's text;
/// "" (with a warning) when soffice or pdftotext is missing.
inline std::string sofficeText(const std::filesystem::path& file,
                               const std::filesystem::path& tmp) {
  if (toolMissing("soffice") || toolMissing("pdftotext")) return "";
  std::filesystem::path profile = tmp / "lo-profile";
  std::filesystem::path outdir = tmp / "pdf";
  std::filesystem::create_directories(outdir);
  auto r =
      runTool({"soffice", "-env:UserInstallation=file://" + profile.string(), "--headless",
               "--norestore", "--convert-to", "pdf", "--outdir", outdir.string(), file.string()},
              std::chrono::seconds(120));
  INFO(r.output);
  REQUIRE_FALSE(r.timed_out);
  REQUIRE(r.exit_code == 0);
  std::filesystem::path pdf = outdir / (file.stem().string() + ".pdf");
  REQUIRE(std::filesystem::exists(pdf));
  auto t = runTool({"pdftotext", "-q", pdf.string(), "-"}, std::chrono::seconds(60));
  REQUIRE(t.exit_code == 0);
  return t.output;
}

}  // namespace mugai::test::office
