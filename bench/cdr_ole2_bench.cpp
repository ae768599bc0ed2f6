// sanitizer.ole2 and sanitizer.rtf rebuild throughput on one core: 1 MB and 20 MB generated
// compound files (with a Macros storage and an ObjectPool) and RTF files (text, a picture, an
// OLE object), each rebuilt N times. Prints files/s and MB/s per core.
//   mugai_bench_cdr_ole2 [--iterations N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sanitizers/ole2/ole2.h"
#include "sanitizers/rtf/rtf.h"

using namespace mugai;
using Clock = std::chrono::steady_clock;

namespace {

std::string filler(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    s[i] = static_cast<char>(seed >> 24);
  }
  return s;
}

std::string ole2File(std::size_t bytes) {
  std::string word = filler(bytes * 6 / 10, 1);
  word[0] = '\xEC';
  word[1] = '\xA5';
  word[0x0A] = word[0x0B] = '\0';  // not encrypted
  std::vector<sanitizers::ole2::CompoundEntry> e = {
      {"WordDocument", word},
      {"1Table", filler(bytes / 10, 2)},
      {"Data", filler(bytes / 5, 3)},
      {"\x05SummaryInformation", filler(400, 4)},
      {"Macros/VBA/dir", filler(2000, 5)},
      {"Macros/VBA/ThisDocument", filler(bytes / 20, 6)},
      {"Macros/PROJECT", filler(300, 7)},
      {"ObjectPool/_1/\x01Ole10Native", filler(bytes / 20, 8)},
  };
  return sanitizers::ole2::writeCompoundFile(e);
}

std::string rtfFile(std::size_t bytes) {
  std::string s = "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\n";
  s += "{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata 0105000002000000}{\\result{\\pict\\pngblip 89504e47}}}\n";
  static const char* hex = "0123456789abcdef";
  while (s.size() < bytes) {
    s += "\\pard\\plain\\f0\\fs20 The municipal budget review meeting is scheduled for {\\b Monday}.\\par\n";
    if (s.size() % 7 == 0) {
      s += "{\\pict\\pngblip\\picw8\\pich8 ";
      for (int i = 0; i < 4096; ++i) s += hex[i % 16];
      s += "}\n";
    }
  }
  return s + "}";
}

template <class F>
void measure(const char* label, const std::string& input, int iterations, F&& once) {
  once();  // warm up (and check it works)
  auto t0 = Clock::now();
  for (int i = 0; i < iterations; ++i) once();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  double mb = static_cast<double>(input.size()) / 1e6;
  std::printf("%-22s %8.2f MB  %5d runs  %9.1f files/s  %8.1f MB/s  %8.2f ms/file (1 core)\n", label, mb, iterations,
              iterations / s, mb * iterations / s, 1000.0 * s / iterations);
}

}  // namespace

int main(int argc, char** argv) {
  int base = 100;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--iterations") == 0) base = std::max(1, std::atoi(argv[i + 1]));
  Limits limits;
  limits.decoded_bytes_limit = 1ull << 32;
  sanitizers::ole2::Ole2Sanitizer ole({});
  sanitizers::rtf::RtfSanitizer rtf({});
  for (std::size_t size : {std::size_t(1) << 20, std::size_t(20) << 20}) {
    int n = size > (1u << 20) ? std::max(1, base / 10) : base;
    std::string doc = ole2File(size);
    Part p;
    p.data = doc;
    measure(size > (1u << 20) ? "ole2 doc 20 MB" : "ole2 doc 1 MB", doc, n, [&] {
      Budget b(limits);
      MessageContext ctx{limits, b, nullptr, nullptr};
      Outcome o = ole.apply(p, ctx);
      if (o.verdict != Verdict::Modified || o.findings.size() != 2) {
        std::fprintf(stderr, "unexpected outcome %s\n", o.detail.c_str());
        std::exit(1);
      }
    });
    std::string r = rtfFile(size);
    Part q;
    q.data = r;
    measure(size > (1u << 20) ? "rtf 20 MB" : "rtf 1 MB", r, n, [&] {
      Budget b(limits);
      MessageContext ctx{limits, b, nullptr, nullptr};
      Outcome o = rtf.apply(q, ctx);
      if (o.verdict != Verdict::Modified) {
        std::fprintf(stderr, "unexpected outcome %s\n", o.detail.c_str());
        std::exit(1);
      }
    });
  }
  return 0;
}
