#!/usr/bin/env bash
# Builds and installs mugai for docker/mugai.service (docs/deployment.md §7). Idempotent.
#
#   scripts/install.sh [--no-system] [PREFIX]          PREFIX defaults to /usr/local
#
# 1. scripts/bootstrap.sh (the build packages; needs root or sudo only when something is missing)
# 2. a separate build folder (build-install, or $MUGAI_INSTALL_BUILD_DIR) configured with
#    -DMUGAI_RULES_DIR=PREFIX/share/mugai/rules, so the binary's embedded rules find the
#    installed signatures and not the checkout's; builds the mugai target only (with the
#    executables it starts: mugai-scan, mugai-auth, mugai-console)
# 3. cmake --install: PREFIX/bin/mugai, PREFIX/bin/mugai-scan and PREFIX/bin/mugai-auth (the
#    scanner and the sender-authentication processes mugai starts from its own folder),
#    PREFIX/bin/mugai-console, PREFIX/share/mugai/rules/, PREFIX/share/mugai/mugai.service,
#    PREFIX/share/doc/mugai/
# 4. the system part (skipped with --no-system, or when DESTDIR is set, as for a package):
#    the clamav-freshclam package (keeps /var/lib/clamav current; docs/scanning.md, also for a
#    closed network), the `mugai` system user, /var/spool/mugai/quarantine (mugai, 0750),
#    /etc/mugai/mugai.conf from `mugai serve --print-config` when there is none,
#    /etc/systemd/system/mugai.service when there is none. An existing config or unit is never
#    overwritten.
# Steps needing root use sudo when not run as root.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

system=yes
prefix=""
for arg in "$@"; do
  case "$arg" in
    --no-system) system=no ;;
    -h | --help)
      sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "install.sh: unknown option $arg (see --help)" >&2
      exit 1
      ;;
    *)
      if [ -n "$prefix" ]; then
        echo "install.sh: one PREFIX only (see --help)" >&2
        exit 1
      fi
      prefix="$arg"
      ;;
  esac
done
prefix="${prefix:-/usr/local}"
case "$prefix" in
  /*) ;;
  *)
    echo "install.sh: PREFIX must be an absolute path, not '$prefix'" >&2
    exit 1
    ;;
esac
prefix="${prefix%/}"
prefix="${prefix:-/}"
if [ -n "${DESTDIR:-}" ]; then system=no; fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
# Run a command as root only when the nearest existing folder of $1 is not writable.
as_owner_of() {
  local dir="$1"
  shift
  while [ ! -e "$dir" ]; do dir="$(dirname "$dir")"; done
  if [ -w "$dir" ]; then "$@"; else as_root "$@"; fi
}

say() { echo "install.sh: $*" >&2; }

# 1-2. Packages and the build.
"$here/scripts/bootstrap.sh"
build="${MUGAI_INSTALL_BUILD_DIR:-$here/build-install}"
rules_dir="$prefix/share/mugai/rules"
say "configuring $build (MUGAI_RULES_DIR=$rules_dir)"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DMUGAI_RULES_DIR="$rules_dir" -DMUGAI_BUILD_TESTS=OFF -DMUGAI_BUILD_BENCH=OFF >/dev/null
say "building the mugai target (a few minutes the first time)"
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target mugai 2>&1 |
  { grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)' || true; }

# 3. Files under PREFIX (and DESTDIR, when set).
say "installing into ${DESTDIR:-}$prefix"
as_owner_of "${DESTDIR:-}$prefix" cmake --install "$build" >/dev/null
bin="$prefix/bin/mugai"
# Under DESTDIR the signatures are not where the binary will look for them yet.
if [ -z "${DESTDIR:-}" ] && ! "$bin" rules check >/dev/null; then
  say "the installed $bin cannot load its embedded rules (see above)"
  exit 1
fi

unit_src="$prefix/share/mugai/mugai.service"
conf=/etc/mugai/mugai.conf
unit=/etc/systemd/system/mugai.service
if [ "$system" = no ]; then
  say "--no-system (or DESTDIR): not creating the mugai user, /var/spool/mugai/quarantine,"
  say "$conf nor $unit; do that as in docs/deployment.md §7, or run without --no-system"
  exit 0
fi

# 4. The system part.
# ClamAV's databases in /var/lib/clamav (scanning: system_database: true) come from freshclam.
if dpkg-query -W -f='${Status}' clamav-freshclam 2>/dev/null | grep -q "install ok installed"; then
  say "clamav-freshclam is installed"
else
  say "installing clamav-freshclam (point it at your mirror on a closed network: docs/scanning.md)"
  as_root apt-get install -y --no-install-recommends clamav-freshclam
fi
if getent passwd mugai >/dev/null; then
  say "user mugai exists"
else
  say "creating the system user mugai"
  if getent group mugai >/dev/null; then group=(-g mugai); else group=(--user-group); fi
  as_root useradd --system "${group[@]}" --home-dir /var/spool/mugai --no-create-home \
    --shell /usr/sbin/nologin mugai
fi
as_root install -d -o root -g root -m 0755 /var/spool/mugai
as_root install -d -o mugai -g mugai -m 0750 /var/spool/mugai/quarantine
as_root install -d -o root -g root -m 0755 /etc/mugai
if as_root test -e "$conf"; then
  say "$conf exists: left as it is"
else
  say "writing $conf (the built-in defaults, from mugai serve --print-config)"
  tmp="$(mktemp)"
  trap 'rm -f "$tmp"' EXIT
  {
    echo "# mugai serve --config $conf (docs/deployment.md §4), written by scripts/install.sh"
    echo "# from \`mugai serve --print-config\`: the built-in defaults. Empty rules: the embedded"
    echo "# rules, which use the signatures in $rules_dir."
    "$bin" serve --print-config
  } >"$tmp"
  as_root install -o root -g root -m 0644 "$tmp" "$conf"
fi
if as_root test -e "$unit"; then
  if as_root cmp -s "$unit_src" "$unit"; then
    say "$unit is current"
  else
    say "$unit exists and differs from $unit_src: left as it is (compare them)"
  fi
else
  say "installing $unit"
  as_root install -o root -g root -m 0644 "$unit_src" "$unit"
fi

# The console (docs/console.md): its config (loopback HTTP until a certificate is set), the vault
# folder it shares with serve, and its unit — each only when there is none.
console_conf=/etc/mugai/console.conf
console_unit=/etc/systemd/system/mugai-console.service
as_root install -d -o mugai -g mugai -m 0750 /var/lib/mugai
if as_root test -e "$console_conf"; then
  say "$console_conf exists: left as it is"
else
  say "writing $console_conf (mugai console --print-config; HTTPS needs tls_cert_file/tls_key_file)"
  ctmp="$(mktemp)"
  {
    echo "# mugai console --config $console_conf (docs/console.md), written by scripts/install.sh"
    "$prefix/bin/mugai-console" --print-config --vault sqlite:/var/lib/mugai/vault.db
  } >"$ctmp"
  as_root install -o root -g mugai -m 0640 "$ctmp" "$console_conf"
  rm -f "$ctmp"
fi
if as_root test -e "$console_unit"; then
  as_root cmp -s "$prefix/share/mugai/mugai-console.service" "$console_unit" ||
    say "$console_unit exists and differs: left as it is (compare them)"
else
  say "installing $console_unit"
  as_root install -o root -g root -m 0644 "$prefix/share/mugai/mugai-console.service" "$console_unit"
fi

cat <<EOF

mugai is installed ($bin, rules in $rules_dir). Next:
  1. review $conf (listen, next_hop, myhostname; docs/deployment.md §4)
  2. systemctl daemon-reload && systemctl enable --now mugai
  3. journalctl -u mugai: the "listening on" line and any WARNING (run freshclam for ClamAV's
     databases in /var/lib/clamav; docs/scanning.md)
  4. Postfix: the main.cf and master.cf snippets in docs/deployment.md §1
     ($prefix/share/doc/mugai/deployment.md), then postfix reload
  5. the console: accounts (sudo -u mugai $prefix/bin/mugai-console --config $console_conf user add NAME),
     a certificate in $console_conf, then systemctl enable --now mugai-console (docs/console.md)
EOF
