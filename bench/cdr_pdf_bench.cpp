// sanitizer.pdf benchmark: generates a ~1 MB and a ~20 MB PDF (text pages, one noise image per
// page, JavaScript /AA on every 10th page and an /OpenAction), rebuilds each N times on one
// thread, and flattens a small 3-page document. Prints files/s and MB/s by the wall clock and per
// core (per CPU-second of this thread).
//   mugai_bench_cdr_pdf [--runs N] [--file PDF]   (--file: rebuild that PDF only)
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <sstream>
#include <string>

#include "sanitizers/pdf/pdf.h"

namespace {

using Clock = std::chrono::steady_clock;
using QOH = QPDFObjectHandle;

double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/// `pages` pages of Helvetica text (~2 KB of text operators each, Flate-compressed by qpdf) and one
/// 256x256 grey noise image each (~64 KB, incompressible); every 10th page has a JavaScript /AA.
std::string makePdf(int pages, int image_side) {
  QPDF pdf;
  pdf.emptyPDF();
  QOH font = pdf.makeIndirectObject(QOH::parse(
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"));
  std::uint32_t x = 12345;
  for (int i = 1; i <= pages; ++i) {
    std::string content = "BT /F1 10 Tf 50 760 Td 12 TL\n";
    for (int line = 0; line < 40; ++line)
      content += "(Page " + std::to_string(i) + " line " + std::to_string(line) +
                 ": the municipal budget review meeting schedule) '\n";
    content += "ET\nq 200 0 0 200 300 100 cm /Im1 Do Q\n";
    std::string pixels(static_cast<std::size_t>(image_side) * image_side, '\0');
    for (auto& c : pixels) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    QOH image = pdf.newStream(pixels);
    QOH d = image.getDict();
    d.replaceKey("/Type", QOH::newName("/XObject"));
    d.replaceKey("/Subtype", QOH::newName("/Image"));
    d.replaceKey("/Width", QOH::newInteger(image_side));
    d.replaceKey("/Height", QOH::newInteger(image_side));
    d.replaceKey("/ColorSpace", QOH::newName("/DeviceGray"));
    d.replaceKey("/BitsPerComponent", QOH::newInteger(8));
    QOH page = QOH::parse("<< /Type /Page /MediaBox [0 0 612 792] >>");
    QOH res = QOH::newDictionary();
    QOH fonts = QOH::newDictionary();
    fonts.replaceKey("/F1", font);
    QOH xobj = QOH::newDictionary();
    xobj.replaceKey("/Im1", image);
    res.replaceKey("/Font", fonts);
    res.replaceKey("/XObject", xobj);
    page.replaceKey("/Resources", res);
    page.replaceKey("/Contents", pdf.newStream(content));
    if (i % 10 == 0)
      page.replaceKey("/AA", QOH::parse("<< /O << /S /JavaScript /JS (app.alert\\(1\\)) >> >>"));
    QPDFPageDocumentHelper(pdf).addPage(QPDFPageObjectHelper(pdf.makeIndirectObject(page)), false);
  }
  pdf.getRoot().replaceKey("/OpenAction",
                           QOH::parse("<< /S /JavaScript /JS (app.alert\\(2\\)) >>"));
  QPDFWriter w(pdf);
  w.setOutputMemory();
  w.setObjectStreamMode(
      qpdf_o_generate);  // like Acrobat/LibreOffice output: objects in object streams
  w.write();
  auto buf = w.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize());
}

void run(const char* label, const mugai::Sanitizer& s, const std::string& data, int runs) {
  mugai::Limits limits;
  mugai::Part part;
  part.data = data;
  part.detected.mime = "application/pdf";
  std::size_t out_size = 0;
  std::string reason;
  auto t0 = Clock::now();
  double c0 = cpuSeconds();
  for (int i = 0; i < runs; ++i) {
    mugai::Budget budget(limits);
    mugai::MessageContext ctx{limits, budget};
    mugai::Outcome o = s.apply(part, ctx);
    reason = std::string(mugai::reasonInfo(o.reason).name);
    out_size = o.replacement ? o.replacement->data.size() : 0;
  }
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = cpuSeconds() - c0;
  double mb = data.size() / 1e6;
  std::printf(
      "%-26s %7.2f MB -> %7.2f MB  %-14s %8.2f ms/file  %8.1f files/s/core  %8.1f MB/s/core  (wall "
      "%.1f files/s)\n",
      label, mb, out_size / 1e6, reason.c_str(), cpu / runs * 1e3, runs / cpu, mb * runs / cpu,
      runs / wall);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20;
  const char* file = nullptr;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--file") == 0) file = argv[i + 1];
  }
  if (file) {  // rebuild one given PDF only (profiling, real documents)
    std::ifstream in(file, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string err;
    auto rebuild = mugai::sanitizers::pdf::makeFactory()->create({}, &err);
    run(file, *rebuild, ss.str(), runs);
    return 0;
  }
  std::string small = makePdf(15, 256);   // ~1 MB
  std::string large = makePdf(300, 256);  // ~20 MB
  std::string tiny = makePdf(3, 64);      // flatten input
  if (const char* dump =
          std::getenv("MUGAI_BENCH_DUMP")) {  // keep the fixtures for qpdf CLI comparisons
    std::FILE* f = std::fopen((std::string(dump) + "/bench-1mb.pdf").c_str(), "wb");
    if (f) std::fwrite(small.data(), 1, small.size(), f), std::fclose(f);
    f = std::fopen((std::string(dump) + "/bench-20mb.pdf").c_str(), "wb");
    if (f) std::fwrite(large.data(), 1, large.size(), f), std::fclose(f);
  }
  std::string err;
  auto rebuild = mugai::sanitizers::pdf::makeFactory()->create({}, &err);
  auto flatten72 = mugai::sanitizers::pdf::makeFactory()->create(
      {{"mode", "flatten"}, {"flatten_dpi", "72"}}, &err);
  auto flatten150 = mugai::sanitizers::pdf::makeFactory()->create({{"mode", "flatten"}}, &err);
  if (!rebuild || !flatten72 || !flatten150) {
    std::fprintf(stderr, "factory: %s\n", err.c_str());
    return 1;
  }
  std::printf("sanitizer.pdf, one thread, %d runs each (flatten: %d)\n", runs,
              std::max(1, runs / 4));
  run("rebuild 1 MB (15 pages)", *rebuild, small, runs);
  run("rebuild 20 MB (300 pages)", *rebuild, large, std::max(1, runs / 4));
  run("flatten 3 pages @72dpi", *flatten72, tiny, std::max(1, runs / 4));
  run("flatten 3 pages @150dpi", *flatten150, tiny, std::max(1, runs / 4));
  return 0;
}
