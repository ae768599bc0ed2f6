// libmagic TypeDetector adapter: common formats, hostile sizes, and concurrent use.
#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mugai/detect/type_detector.h"
#include "support/test_support.h"

namespace {

using mugai::TypeInfo;

const mugai::TypeDetector& detector() {
  static auto d = mugai::makeMagicTypeDetector();
  return *d;
}

std::string bytes(std::initializer_list<unsigned char> b) {
  return std::string(b.begin(), b.end());
}

std::string pdf() { return "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"; }

std::string png() {
  // Signature + IHDR chunk of a 1x1 RGBA image.
  return bytes({0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0,    0,    0,
                0x0d, 'I', 'H', 'D', 'R',  0,    0,    0,    1,    0,    0,
                0,    1,   8,   6,   0,    0,    0,    0x1f, 0x15, 0xc4, 0x89});
}

std::string jpeg() {
  std::string s = bytes({0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J',  'F',  'I',  'F',
                         0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00});
  s += bytes({0xff, 0xd9});
  return s;
}

std::string zip() {
  // One stored entry "a" holding "x": local header, central directory, end record.
  return bytes({0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21,
                0x58, 0x83, 0x16, 0xdc, 0x8c, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                0x01, 0x00, 0x00, 0x00, 0x61, 0x78, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x58, 0x83, 0x16, 0xdc, 0x8c,
                0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00,
                0x61, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
                0x2f, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00});
}

std::string pe() {
  std::string s(512, '\0');
  s[0] = 'M';
  s[1] = 'Z';
  s[0x3c] = static_cast<char>(0x80);  // e_lfanew
  s.replace(0x80, 4, std::string("PE\0\0", 4));
  s[0x84] = static_cast<char>(0x4c);  // machine i386
  s[0x85] = static_cast<char>(0x01);
  s[0x86] = 1;                        // one section
  s[0x94] = static_cast<char>(0xe0);  // optional header size
  s[0x96] = 0x02;                     // characteristics: executable
  s[0x98] = 0x0b;                     // PE32 magic 0x10b
  s[0x99] = 0x01;
  return s;
}

}  // namespace

TEST_CASE("magic detector recognises common formats", "[unit][detect]") {
  struct Case {
    const char* what;
    std::string data;
    const char* mime;
  };
  const std::vector<Case> cases = {
      {"pdf", pdf(), "application/pdf"},
      {"png", png(), "image/png"},
      {"jpeg", jpeg(), "image/jpeg"},
      {"zip", zip(), "application/zip"},
      {"html", "<!DOCTYPE html>\n<html><head><title>x</title></head><body>hi</body></html>\n",
       "text/html"},
      {"plain text", "Hello,\nthis is a plain text message.\n", "text/plain"},
  };
  for (const auto& c : cases) {
    SECTION(c.what) {
      TypeInfo t = detector().detect(c.data);
      CHECK(t.mime == c.mime);
      CHECK_FALSE(t.description.empty());
    }
  }
}

TEST_CASE("magic detector recognises a PE header", "[unit][detect]") {
  TypeInfo t = detector().detect(pe());
  INFO(t.mime << " / " << t.description);
  // libmagic 5.44 says application/vnd.microsoft.portable-executable; older ones x-dosexec.
  CHECK((t.mime == "application/vnd.microsoft.portable-executable" ||
         t.mime == "application/x-dosexec"));
  CHECK(t.description.find("PE32") != std::string::npos);
}

TEST_CASE("magic detector: result is lower case and printable", "[unit][detect]") {
  TypeInfo t = detector().detect(pdf());
  for (char c : t.mime) CHECK_FALSE((c >= 'A' && c <= 'Z'));
  for (char c : t.description) CHECK(static_cast<unsigned char>(c) >= 0x20);
}

TEST_CASE("magic detector: empty input", "[unit][detect]") {
  TypeInfo t = detector().detect({});
  CHECK(t.mime == "application/x-empty");
}

TEST_CASE("magic detector: 1 MB of random bytes is octet-stream", "[unit][detect][adversarial]") {
  std::mt19937 rng(42);
  std::string data(1024 * 1024, '\0');
  for (auto& c : data) c = static_cast<char>(rng() & 0xff);
  data[0] = '\x01';  // keep clear of any short magic at offset 0 by chance
  TypeInfo t = detector().detect(data);
  CHECK(t.mime == "application/octet-stream");
}

TEST_CASE("magic detector: larger than the examined window still works",
          "[unit][detect][adversarial]") {
  std::string data = pdf() + std::string(3 * 1024 * 1024, 'A');
  CHECK(detector().detect(data).mime == "application/pdf");
}

TEST_CASE("magic detector: gzip is named, not opened", "[unit][detect][adversarial]") {
  // A gzip header around garbage: without MAGIC_COMPRESS libmagic must not try to inflate.
  std::string gz = bytes({0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03});
  gz += std::string(64, '\x55');
  CHECK(detector().detect(gz).mime == "application/gzip");
}

TEST_CASE("magic detector is safe to use from several threads", "[unit][detect]") {
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {pdf(), "application/pdf"},
      {png(), "image/png"},
      {jpeg(), "image/jpeg"},
      {zip(), "application/zip"},
      {"plain words only\n", "text/plain"}};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const auto& [data, mime] = inputs[(i + t) % inputs.size()];
        if (detector().detect(data).mime != mime) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("magic detector: several instances share nothing mutable", "[unit][detect]") {
  auto a = mugai::makeMagicTypeDetector();
  auto b = mugai::makeMagicTypeDetector();
  CHECK(a->detect(pdf()).mime == b->detect(pdf()).mime);
}
