// mugai-auth: the sender-authentication process. Started by mugai (serve, mail --authenticate)
// with a socket on fd 3; not a command for people. The only installed executable that links
// libopendkim, libopendmarc and libspf2: see LICENSE and docs/dependencies.md.
#include <cstdio>
#include <cstring>

#include "src/auth/auth_server.h"

int main(int argc, char** argv) {
  if (argc > 1 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::puts("mugai-auth: the sender-authentication process of mugai; it is started by mugai, not by hand.");
    return 0;
  }
  return mugai::auth::authServerMain();
}
