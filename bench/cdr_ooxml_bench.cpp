// sanitizer.ooxml / sanitizer.odf rebuild benchmark on one thread: generated 1 MB and 20 MB
// .docm packages (mostly images and other parts kept as they are, plus a vbaProject.bin, ActiveX,
// an OLE object and a DDE field to remove) and a 1 MB .odt with Basic macros, each rebuilt N
// times. Prints files/s and MB/s per core (CPU time of this thread, and wall time).
//   mugai_bench_cdr_ooxml [--iterations N]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "sanitizers/odf/odf.h"
#include "sanitizers/ooxml/ooxml.h"
#include "tests/unit/sanitizers/office_fixtures.h"

using namespace mugai;
using namespace mugai::test::office;

namespace {

double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// Incompressible "image" bytes (like JPEG/PNG data) and a compressible text body.
/// Odd seeds give 6-bit noise, which deflates to ~75% (so those members are deflated and the
/// rebuild's CRC check has to inflate them, as with most real pictures in Office files).
std::string noise(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  unsigned mask = seed % 2 ? 0x3f : 0xff;
  for (auto& c : s) c = static_cast<char>(rng() & mask);
  return s;
}

std::string docmOf(std::size_t target) {
  Members m = docmMembers();
  std::string paras;
  for (int i = 0; paras.size() < 200000; ++i)
    paras += "<w:p><w:r><w:t>Paragraph " + std::to_string(i) +
             " of the municipal budget report, kept as it is.</w:t></w:r></w:p>";
  for (auto& [n, d] : m) {
    if (n == "word/document.xml") d.insert(d.find("<w:sectPr/>"), paras);
    if (n == "word/vbaProject.bin") d += noise(60000, 7);
  }
  std::size_t have = 0;
  for (auto& [n, d] : m) have += d.size() / 3;  // XML deflates ~3:1 or better
  int i = 0;
  std::string image_rels;  // referenced, as in a real document (unreferenced members are removed)
  while (have < target) {
    std::size_t sz = std::min<std::size_t>(256 * 1024, target - have);
    std::string name = "image" + std::to_string(i + 1) + ".jpeg";
    m.push_back({"word/media/" + name, noise(sz, static_cast<std::uint32_t>(i + 1))});
    image_rels += "<Relationship Id=\"rIdImg" + std::to_string(i + 1) +
                  "\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                  "image\" Target=\"media/" +
                  name + "\"/>";
    have += (i + 1) % 2 ? sz * 3 / 4 : sz;  // what it weighs in the package
    ++i;
  }
  m.push_back({"docProps/thumbnail.jpeg", noise(20000, 99)});
  for (auto& [n, d] : m) {
    if (n == "word/_rels/document.xml.rels") d.insert(d.rfind("</Relationships>"), image_rels);
    if (n == "_rels/.rels")
      d.insert(d.rfind("</Relationships>"),
               "<Relationship Id=\"rIdThumb\" "
               "Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
               "thumbnail\" Target=\"docProps/thumbnail.jpeg\"/>");
    if (n == "[Content_Types].xml")
      d.insert(d.find("</Types>"), "<Default Extension=\"jpeg\" ContentType=\"image/jpeg\"/>");
  }
  return pack(m);
}

std::string odtOf(std::size_t target) {
  Members m = odtMembers();
  std::size_t have = 0;
  for (auto& [n, d] : m) have += d.size();
  int i = 0;
  while (have < target) {
    std::size_t sz = std::min<std::size_t>(256 * 1024, target - have);
    m.push_back({"Pictures/p" + std::to_string(i + 1) + ".png",
                 noise(sz, static_cast<std::uint32_t>(i + 1001))});
    have += (i + 1) % 2 ? sz * 3 / 4 : sz;  // what it weighs in the package
    ++i;
  }
  // The pictures are shown by the text (sanitizer.odf removes members nothing refers to).
  std::string frames;
  for (int k = 1; k <= i; ++k) {
    frames +=
        R"(<text:p><draw:frame xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"><draw:image xlink:href="Pictures/p)" +
        std::to_string(k) + R"(.png"/></draw:frame></text:p>)";
  }
  for (auto& [n, d] : m) {
    if (n == "content.xml") d.insert(d.find("</office:text>"), frames);
  }
  return pack(m);
}

void run(const char* label, const Sanitizer& s, const std::string& data, const char* filename,
         int iterations) {
  Limits limits;
  std::size_t out_size = 0;
  Part p;  // built once: the engine hands the sanitizer a const Part& without copying it
  p.data = data;
  p.filename = Untrusted<std::string>(filename);
  auto wall0 = std::chrono::steady_clock::now();
  double cpu0 = cpuSeconds();
  for (int i = 0; i < iterations; ++i) {
    Budget budget(limits);
    MessageContext ctx{limits, budget, nullptr, nullptr};
    Outcome o = s.apply(p, ctx);
    if (o.verdict != Verdict::Modified || !o.replacement) {
      std::fprintf(stderr, "%s: unexpected verdict (reason %d)\n", label,
                   static_cast<int>(o.reason));
      std::exit(1);
    }
    out_size = o.replacement->data.size();
  }
  double cpu = cpuSeconds() - cpu0;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  double mb = static_cast<double>(data.size()) / 1e6;
  std::printf(
      "%-22s in %7.2f MB out %7.2f MB  %5d runs  %8.2f ms/file  %8.1f files/s  %8.1f MB/s per core "
      "(cpu)  %8.1f MB/s wall\n",
      label, mb, static_cast<double>(out_size) / 1e6, iterations, cpu * 1000 / iterations,
      iterations / cpu, mb * iterations / cpu, mb * iterations / wall);
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 50;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::max(1, std::atoi(argv[i + 1]));
  }
  sanitizers::ooxml::OoxmlSanitizer ooxml(sanitizers::ooxml::Options{});
  sanitizers::odf::OdfSanitizer odf(sanitizers::odf::Options{});
  std::string d1 = docmOf(1000000), d20 = docmOf(20000000), o1 = odtOf(1000000);
  run("docm 1 MB", ooxml, d1, "a.docm", iterations);
  run("docm 20 MB", ooxml, d20, "a.docm", std::max(1, iterations / 10));
  run("odt 1 MB", odf, o1, "a.odt", iterations);
  return 0;
}
