#!/usr/bin/env bash
# File-drop benchmark: files/s and MB/s for a folder of 1,000 mixed files renamed into the inbox at
# once, then time-to-outbox for single files after they are complete. Prints figures; not a test.
# Usage: bench/filedrop_bench.sh [path/to/mugai] [files]
set -euo pipefail
MUGAI=${1:-build/mugai}
N=${2:-1000}
T=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/inbox" "$T/stage"
now() { date +%s.%N; }
# Files handled: the log's one finished line per file (the disposition layer's call point).
count() { grep -c ' filedrop: [0-9T-]* ' "$T/log" 2>/dev/null || true; }

# 1,000 mixed small files in 10 user folders: text, CSV (Shift_JIS-free UTF-8), HTML, PDF bytes, PE.
for i in $(seq 1 "$N"); do
  d="$T/stage/user$((i % 10))"; mkdir -p "$d"
  case $((i % 5)) in
    0) head -c 2000 /dev/urandom | base64 > "$d/memo$i.txt" ;;
    1) printf '氏名,金額\n山田,%d\n' "$i" > "$d/報告書$i.csv" ;;
    2) printf '<html><body><script>x()</script><p>本文 %d</p></body></html>' "$i" > "$d/page$i.html" ;;
    3) printf '%%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%%%EOF\n' > "$d/doc$i.pdf" ;;
    4) printf 'MZ\x90\x00PE fake %d' "$i" > "$d/tool$i.exe" ;;
  esac
done
BYTES=$(du -sb "$T/stage" | cut -f1)

${MUGAI_WRAP:-} "$MUGAI" serve --no-smtp --inbox "$T/inbox" --outbox "$T/outbox" --state-dir "$T/state" \
  2> "$T/log" &
PID=$!
until grep -q "file drop: watching" "$T/log"; do sleep 0.05; done

cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$PID/stat"; }
CPU0=$(cpu)   # start-up (signature loading) is not part of the batch
START=$(now)
for d in "$T/stage"/*; do mv "$d" "$T/inbox/"; done   # every file complete at START
until [ "$(count)" -ge "$N" ]; do sleep 0.05; done
END=$(now)
# CPU the service used (user + system, all threads): what the batch costs on a loaded host too.
CPU=$(awk -v a="$(cpu)" -v b="$CPU0" 'BEGIN { printf "%.2f", a - b }')
awk -v n="$N" -v b="$BYTES" -v s="$START" -v e="$END" 'BEGIN {
  t = e - s; printf "batch: %d files, %.2f MB in %.2f s: %.0f files/s, %.2f MB/s (includes filedrop_settle_ms)\n",
  n, b / 1e6, t, n / t, b / 1e6 / t }'
awk -v n="$N" -v c="$CPU" 'BEGIN { printf "service CPU: %.2f s user+system, %.2f ms per file (%.0f files per CPU-second)\n", c, 1000 * c / n, n / c }'

# Time to outbox: one file at a time, measured from the moment it is complete.
LAT=()
for i in $(seq 1 10); do
  printf 'latency probe %d\n' "$i" > "$T/probe$i.txt"
  S=$(now)
  mv "$T/probe$i.txt" "$T/inbox/user0/"
  until [ -e "$T/outbox/user0/probe$i.txt" ]; do sleep 0.01; done
  LAT+=("$(awk -v s="$S" -v e="$(now)" 'BEGIN { printf "%.3f", e - s }')")
done
printf '%s\n' "${LAT[@]}" | sort -n | awk '{ a[NR] = $1 } END {
  printf "time to outbox (10 files): min %.3f s, median %.3f s, max %.3f s\n", a[1], a[int((NR + 1) / 2)], a[NR] }'
