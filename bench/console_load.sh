#!/usr/bin/env bash
# Does the console's load change the relay's throughput (issue 13)? One vault (SQLite, N records
# made by mugai_bench_console), `mugai serve` writing to it and `mugai-console` reading it, side by
# side in one run: the relay's msg/s, p99 and CPU ms per message with the console idle, then with
# BROWSERS simulated staff and admins fetching list, search and detail pages as fast as the console
# answers, alternating idle/busy ROUNDS times. Prints figures; it is not a test.
#   bench/console_load.sh [RECORDS] [MESSAGES]      (defaults 100000 and 400; BROWSERS=4 ROUNDS=2)
#   RATE=N: the browsers together fetch about N pages a second (default 0: as fast as served)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${MUGAI_BUILD:-$here/build}"
records="${1:-100000}"
count="${2:-400}"
browsers="${BROWSERS:-4}"
rounds="${ROUNDS:-2}"
rate="${RATE:-0}"
sessions=8
for tool in /usr/sbin/smtp-sink /usr/sbin/smtp-source python3 "$build/mugai" "$build/mugai-console" \
  "$build/bench/mugai_bench_console"; do
  command -v "$tool" >/dev/null || { echo "console_load: $tool missing (scripts/build.sh)" >&2; exit 1; }
done
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
chmod 755 "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# The vault with its records, the console's accounts (admin, staff0, boss0) and the directory.
mkdir -p "$work/v"
"$build/bench/mugai_bench_console" "$records" "$work/v" > "$work/console_bench.txt"
sed 's|^  # directory: directory.yaml.*|  directory: directory.yaml|' "$here/rules/default.yaml" > "$work/v/rules.yaml"
grep -q '^  directory: directory.yaml' "$work/v/rules.yaml" || { echo "console_load: cannot name the directory in the rules" >&2; exit 1; }

# A plain 2 KB message and a 1 MB DOCX-like message (what the vault keeps: rebuilt mail).
python3 - "$work" <<'PY'
import base64, os, sys, zipfile, io
work = sys.argv[1]
head = "From: bench@example.com\nTo: staff0@city.example.lg.jp\nSubject: bench\nMIME-Version: 1.0\n"
open(f"{work}/plain.eml", "w").write(head + "Content-Type: text/plain; charset=UTF-8\n\n" + ("会議資料 meeting report 予算\n" * 80))
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' + "<w:p><w:r><w:t>予算 report</w:t></w:r></w:p>" * 2000 + "</w:body></w:document>")
    z.writestr("word/media/image1.bin", os.urandom(700000), zipfile.ZIP_STORED)
b64 = base64.encodebytes(buf.getvalue()).decode()
open(f"{work}/docx.eml", "w").write(head + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name="r.docx"\nContent-Disposition: attachment; filename="r.docx"\nContent-Transfer-Encoding: base64\n\n' + b64 + "--b--\n")
PY

sink_port="$(free_port)"; mugai_port="$(free_port)"; console_port="$(free_port)"
sink_user=(); [ "$(id -u)" = 0 ] && sink_user=(-u nobody)
/usr/sbin/smtp-sink "${sink_user[@]}" "127.0.0.1:$sink_port" 256 >/dev/null 2>&1 & pids+=($!)
wait_port "$sink_port"
"$build/mugai" serve --listen "127.0.0.1:$mugai_port" --next-hop "127.0.0.1:$sink_port" \
  --state-dir "$work/state" --vault "sqlite:$work/v/vault.db" 2>"$work/mugai.log" & mugai_pid=$!; pids+=($mugai_pid)
printf 'users = %s\n' "$work/v/users.db" > "$work/console.conf"
"$build/mugai-console" --config "$work/console.conf" --listen "127.0.0.1:$console_port" \
  --vault "sqlite:$work/v/vault.db" --rules "$work/v/rules.yaml" 2>"$work/console.log" & console_pid=$!; pids+=($console_pid)
wait_port "$mugai_port"
wait_port "$console_port"

cpu_ms() { python3 "$here/bench/cpu_ms.py" "$1"; }  # CPU ms of a process tree

# The browsers: each logs in (admin or staff0) and fetches pages in a loop until told to stop;
# they write how many pages they fetched and how many failed.
cat > "$work/browse.py" <<'PY'
import http.cookiejar, os, re, sys, time, urllib.parse, urllib.request
port, who, stop, out, pause = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
base = f"http://127.0.0.1:{port}"
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
page = op.open(base + "/login").read().decode()
csrf = re.search(r'name="csrf" value="([^"]*)"', page).group(1)
data = urllib.parse.urlencode({"csrf": csrf, "user": who, "password": "bench password 1"}).encode()
op.open(base + "/login", data)
if op.open(base + "/items").geturl().endswith("/login"):
    open(out, "w").write("0 0 login-failed\n")
    sys.exit(1)
open(out + ".ready", "w").close()  # logged in (Argon2id is not part of the measured window)
paths = ["/items", "/items?page=20", "/items?q=%E8%A6%8B%E7%A9%8D%E6%9B%B8", "/items?q=form1000",
         "/items?reason=av.infected", "/stats"] if who == "admin" else ["/items", "/items?q=form1000"]
go = os.path.join(os.path.dirname(stop), "go")
while not os.path.exists(go) and not os.path.exists(stop):  # every browser logged in first
    time.sleep(0.02)
ok = bad = i = 0
while not os.path.exists(stop):
    try:
        r = op.open(base + paths[i % len(paths)])
        r.read()
        ok += r.status == 200
        bad += r.status != 200
    except Exception:
        bad += 1
    i += 1
    if pause:
        time.sleep(pause)
open(out, "w").write(f"{ok} {bad}\n")
PY

relay() {  # file count -> "msg/s cpu_ms_per_msg"
  local c0 c1 t0 t1
  c0=$(cpu_ms "$mugai_pid"); t0=$(date +%s.%N)
  /usr/sbin/smtp-source -d -s "$sessions" -m "$2" -F "$1" -f bench@example.com -t staff0@city.example.lg.jp "127.0.0.1:$mugai_port" >/dev/null
  t1=$(date +%s.%N); c1=$(cpu_ms "$mugai_pid")
  python3 -c "print(f'{$2/($t1-$t0):.1f} {($c1-$c0)/$2:.2f}')"
}

echo "vault: $records records; relay: $sessions sessions; console: $browsers browsers ($([ "$rate" = 0 ] && echo "as fast as served" || echo "about $rate pages/s")); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %-5s %9s %12s %20s %12s\n" class round "msg/s" "CPU ms/msg" "console pages" "console CPU%"
for cls in plain docx; do
  n="$count"; [ "$cls" = docx ] && n=$(( count / 4 ))
  relay "$work/$cls.eml" 16 >/dev/null  # warm-up
  for r in $(seq 1 "$rounds"); do
    for state in idle busy; do
      rm -f "$work/stop" "$work/go" "$work"/pages.*
      if [ "$state" = busy ]; then
        for b in $(seq 1 "$browsers"); do
          who=admin; [ $(( b % 2 )) = 0 ] && who=staff0
          pause=$(python3 -c "print(0 if $rate == 0 else $browsers / $rate)")
          python3 "$work/browse.py" "$console_port" "$who" "$work/stop" "$work/pages.$b" "$pause" & pids+=($!)
        done
        for _ in $(seq 1 300); do [ "$(find "$work" -maxdepth 1 -name 'pages.*.ready' | wc -l)" -ge "$browsers" ] && break; sleep 0.1; done
        touch "$work/go"
      fi
      cc0=$(cpu_ms "$console_pid"); w0=$(date +%s.%N)
      read -r msgs cpu < <(relay "$work/$cls.eml" "$n")
      cc1=$(cpu_ms "$console_pid"); w1=$(date +%s.%N)
      touch "$work/stop"
      pages="-"
      if [ "$state" = busy ]; then
        for _ in $(seq 1 100); do [ "$(find "$work" -maxdepth 1 -name 'pages.[0-9]*' ! -name '*.ready' | wc -l)" -ge "$browsers" ] && break; sleep 0.1; done
        pages=$(cat $(find "$work" -maxdepth 1 -name 'pages.[0-9]*' ! -name '*.ready') |
          awk -v t="$(python3 -c "print($w1-$w0)")" '{ok+=$1; bad+=$2; if ($3 != "") lf++} END {printf "%.0f/s, %d failed%s", ok/t, bad, lf ? " LOGIN FAILED" : ""}')
      fi
      cpct=$(python3 -c "print(f'{100*($cc1-$cc0)/1000/($w1-$w0):.0f}')")
      printf "%-6s %-5s %9s %12s %20s %12s\n" "$cls" "$r $state" "$msgs" "$cpu" "$pages" "$cpct"
    done
  done
done
echo "not relayed: $(grep -c 'relay_status=\(deferred\|bounced\)\|busy' "$work/mugai.log" || true);" \
     "console errors logged: $(grep -ci 'error' "$work/console.log" || true)"
