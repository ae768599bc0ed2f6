// mugai-scan: the scanner process. Started by mugai (serve, mail, file) with a socket on fd 3;
// not a command for people. The only executable that links libclamav (GPL-2.0-only): see
// LICENSE and docs/dependencies.md.
#include <cstdio>
#include <cstring>

#include "src/scan/scan_server.h"

int main(int argc, char** argv) {
  if (argc > 1 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::puts("mugai-scan: the scanner process of mugai; it is started by mugai, not by hand.");
    return 0;
  }
  return mugai::scanServerMain();
}
