#!/usr/bin/env bash
# Installs the Debian 12 packages mugai needs to build, test and run. Idempotent: quiet and quick
# when everything is already there. Needs root (or sudo) only when something is missing.
set -euo pipefail

# Build and link dependencies.
BUILD_PKGS=(build-essential cmake pkg-config catch2
  libpoco-dev libmagic-dev libgumbo-dev libclamav-dev libyaml-cpp-dev zlib1g-dev libuchardet-dev
  libssl-dev libsqlite3-dev libpq-dev
  libqpdf-dev libarchive-dev libgsf-1-dev libjpeg62-turbo-dev libpng-dev libgif-dev libtiff-dev
  libwebp-dev libpoppler-cpp-dev ccache libicu-dev libexpat1-dev libseccomp-dev
  libopendkim-dev libspf2-dev libopendmarc-dev publicsuffix)
# Real peers and independent checkers the tests use (clamscan, Postfix, swaks, qpdf, ...).
# swaks only Recommends Net::SSLeay, which its -tls needs (the STARTTLS test); openssl makes the test cert.
# LibreOffice (headless, no GUI) proves rebuilt documents still open; 7z and lhasa list archives.
# unbound serves the sender-authentication tests' DNS on loopback; python3-dkim's dkimsign signs.
TEST_PKGS=(clamav postfix swaks libnet-ssleay-perl openssl qpdf poppler-utils libimage-exiftool-perl unzip zip python3
  python3-olefile p7zip-full lhasa libreoffice-writer-nogui libreoffice-calc-nogui
  libreoffice-impress-nogui postgresql
  unbound python3-dkim)
# Fuzzing only (bench/fuzz.sh calls bootstrap.sh --with-fuzz-tools): clang and its libFuzzer runtime.
FUZZ_PKGS=(clang libclang-rt-14-dev)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--with-test-tools" ]; then want+=("${TEST_PKGS[@]}"); fi
if [ "${1:-}" = "--with-fuzz-tools" ]; then want+=("${FUZZ_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "mugai bootstrap: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Postfix must not ask questions nor start a system MTA configuration of its own.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
