#!/usr/bin/env bash
# Installs the Debian 12 packages mugai needs to build, test and run. Idempotent: quiet and quick
# when everything is already there. Needs root (or sudo) only when something is missing.
set -euo pipefail

# Build and link dependencies.
BUILD_PKGS=(build-essential cmake pkg-config catch2
  libpoco-dev libmagic-dev libgumbo-dev libclamav-dev libyaml-cpp-dev zlib1g-dev libuchardet-dev
  libssl-dev libsqlite3-dev libpq-dev libzstd-dev
  libqpdf-dev libarchive-dev libgsf-1-dev libjpeg62-turbo-dev libpng-dev libgif-dev libtiff-dev
  libwebp-dev libpoppler-cpp-dev libpoppler-private-dev ccache libicu-dev libexpat1-dev libseccomp-dev
  libsodium-dev libldap-dev
  libopendkim-dev libspf2-dev libopendmarc-dev publicsuffix)
# Real peers and independent checkers the tests use (clamscan, Postfix, swaks, qpdf, ...).
# swaks only Recommends Net::SSLeay, which its -tls needs (the STARTTLS test); openssl makes the test cert.
# LibreOffice (headless, no GUI) proves rebuilt documents still open; 7z and lhasa list archives.
# unbound serves the sender-authentication tests' DNS on loopback; python3-dkim's dkimsign signs.
# python3-msoffcrypto-tool decrypts the encrypted Office fixtures the unlock tests write, so they
# are known to be what MS-OFFCRYPTO says (tests/unit/release/offcrypto_test.cpp).
# nodejs: its WHATWG URL parser gives the expected href resolutions (tests/unit/text/url_test.cpp).
TEST_PKGS=(clamav postfix swaks libnet-ssleay-perl openssl qpdf poppler-utils libimage-exiftool-perl unzip zip python3
  python3-olefile p7zip-full lhasa libreoffice-writer-nogui libreoffice-calc-nogui
  libreoffice-impress-nogui postgresql nodejs
  unbound python3-dkim python3-msoffcrypto-tool
  rsyslog prometheus slapd ldap-utils chromium fonts-noto-cjk)
# rsyslog and prometheus (for promtool; Debian has no promtool alone): the monitoring test starts
# its own rsyslogd to receive mugai's events and lints /metrics with `promtool check metrics`.
# The console's browser test drives chromium with puppeteer-core from npm (tests/browser/): npm
# from Debian unless the node there has it already (e.g. NodeSource's nodejs bundles npm).
if ! command -v npm >/dev/null 2>&1; then TEST_PKGS+=(npm); fi
# Fuzzing only (bench/fuzz.sh calls bootstrap.sh --with-fuzz-tools): clang and its libFuzzer runtime.
FUZZ_PKGS=(clang libclang-rt-14-dev)
# Side-by-side bench only (bench/peers.sh calls bootstrap.sh --with-bench-peers): the scan-only
# gateways a mail admin would otherwise run (Amavis and ClamSMTP, both in front of clamd).
BENCH_PEER_PKGS=(amavisd-new clamav-daemon clamdscan clamsmtp altermime libnet-patricia-perl)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--with-test-tools" ]; then want+=("${TEST_PKGS[@]}"); fi
if [ "${1:-}" = "--with-fuzz-tools" ]; then want+=("${FUZZ_PKGS[@]}"); fi
if [ "${1:-}" = "--with-bench-peers" ]; then want+=("${BENCH_PEER_PKGS[@]}"); fi

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
