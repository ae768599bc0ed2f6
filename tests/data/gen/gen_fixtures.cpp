// Writes the generated test fixtures into the directory given as argv[1].
// The EICAR test string is stored XOR-ed (ClamAV unit_tests/input approach) so that the source
// tree itself never trips a scanner.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

constexpr unsigned char kKey = 0x5a;
// EICAR standard anti-virus test file, each byte XOR 0x5a.
const unsigned char kEicarXor[] = {
    0x02, 0x6f, 0x15, 0x7b, 0x0a, 0x7f, 0x1a, 0x1b, 0x0a, 0x01, 0x6e, 0x06, 0x0a, 0x00, 0x02, 0x6f,
    0x6e, 0x72, 0x0a, 0x04, 0x73, 0x6d, 0x19, 0x19, 0x73, 0x6d, 0x27, 0x7e, 0x1f, 0x13, 0x19, 0x1b,
    0x08, 0x77, 0x09, 0x0e, 0x1b, 0x14, 0x1e, 0x1b, 0x08, 0x1e, 0x77, 0x1b, 0x14, 0x0e, 0x13, 0x0c,
    0x13, 0x08, 0x0f, 0x09, 0x77, 0x0e, 0x1f, 0x09, 0x0e, 0x77, 0x1c, 0x13, 0x16, 0x1f, 0x7b, 0x7e,
    0x12, 0x71, 0x12, 0x70,
};

std::string unxor(const unsigned char* p, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(p[i] ^ kKey);
  return s;
}

void write(const std::filesystem::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) {
    std::fprintf(stderr, "gen_fixtures: cannot write %s\n", p.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gen_fixtures OUTDIR\n");
    return 1;
  }
  std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  write(out / "eicar.com", unxor(kEicarXor, sizeof kEicarXor));
  return 0;
}
