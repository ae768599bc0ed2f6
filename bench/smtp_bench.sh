#!/usr/bin/env bash
# SMTP benchmark: smtp-source -> mugai serve -> smtp-sink, with isolation (the default: sandboxed
# workers and the scanner process) and with isolation = none side by side in one run, and the
# isolated service once more with the vault off (the bench-only discard: vault) for the vault's
# cost, beside
# smtp-source -> smtp-sink directly
# (the ceiling of the plumbing), for plain 2 KB, HTML 50 KB and 1 MB PDF- and DOCX-attachment mail, 8
# sessions. Prints msgs/s (smtp-source, connections reused like Postfix's), p50/p99 latency per
# transaction (bench/smtp_load.py), CPU milliseconds per message of each service (serve with its
# workers and scanner; robust to a busy machine, unlike msg/s), and mugai's peak RSS. Prints
# figures; it is not a test.
#   bench/smtp_bench.sh [MESSAGES_PER_CLASS]     (MUGAI=path/to/mugai, default build/mugai)
#   MUGAI_BENCH_CLASSES="plain docx" bench/smtp_bench.sh 64    (only those classes; default all four)
#   MUGAI_BENCH_VAULT=postgresql://...  (the "on" service's vault; default SQLite in its state dir)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
mugai="${MUGAI:-$here/build/mugai}"
count="${1:-2000}"
sessions=8
for tool in /usr/sbin/smtp-sink /usr/sbin/smtp-source python3 "$mugai"; do
  command -v "$tool" >/dev/null || { echo "smtp_bench: $tool missing (scripts/bootstrap.sh --with-test-tools; scripts/build.sh)" >&2; exit 1; }
done
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
chmod 755 "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

python3 - "$work" <<'PY'
import base64, os, random, sys, zlib
work = sys.argv[1]
random.seed(7)
words = "令和 住民票 申請 会議 資料 予算 the of and meeting report budget 報告 確認 お願い".split()
def text(n):
    out = []
    while sum(len(w) + 1 for w in out) < n:
        out.append(random.choice(words))
    return " ".join(out)
head = "From: bench@example.com\nTo: staff@city.example.lg.jp\nSubject: bench\nMIME-Version: 1.0\n"
body = "\n".join(text(70) for _ in range(2000 // 80))
open(f"{work}/plain.eml", "w").write(head + "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n" + body + "\n")
html = "<html><body>" + "".join(f"<p>{text(150)} <a href='https://example.com/{i}'>link</a> <b>{text(20)}</b></p>\n" for i in range(200))
html = html[:50000] + "</body></html>"
open(f"{work}/html.eml", "w").write(head + "Content-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n" + html + "\n")
# A 1 MB PDF: one page of text plus an incompressible image stream.
img = os.urandom(1000000)
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >> >>"]
content = b"q 100 0 0 100 50 600 cm /Im1 Do Q"
objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
objs.append(b"<< /Type /XObject /Subtype /Image /Width 1000 /Height 333 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length %d >>\nstream\n" % len(img) + img + b"\nendstream")
pdf, offs = b"%PDF-1.4\n", []
for i, o in enumerate(objs, 1):
    offs.append(len(pdf)); pdf += b"%d 0 obj\n" % i + o + b"\nendobj\n"
xref = len(pdf)
pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % x for x in offs)
pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
b64 = base64.encodebytes(pdf).decode()
open(f"{work}/pdf.eml", "w").write(head + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=UTF-8\n\n' + text(500) +
    '\n--b\nContent-Type: application/pdf; name="report.pdf"\nContent-Disposition: attachment; filename="report.pdf"\nContent-Transfer-Encoding: base64\n\n' + b64 + "--b--\n")
# A 1 MB DOCX: a few pages of text plus a 1 MB picture (incompressible, as a JPEG is), built the
# way Word lays a package out; the picture is referenced, so the rebuild keeps and copies it raw.
import zipfile
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
paras = "".join(f"<w:p><w:r><w:t>{text(300)}</w:t></w:r></w:p>" for _ in range(60))
pic = ('<w:p><w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing">'
       '<wp:extent cx="3000000" cy="2000000"/><wp:docPr id="1" name="Picture 1"/>'
       '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
       '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="1" name="image1.jpeg"/><pic:cNvPicPr/></pic:nvPicPr>'
       '<pic:blipFill><a:blip r:embed="rId2"/></pic:blipFill><pic:spPr/></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>')
with zipfile.ZipFile(f"{work}/report.docx", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
               '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
               '<Default Extension="jpeg" ContentType="image/jpeg"/>'
               '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    z.writestr("word/_rels/document.xml.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.jpeg"/></Relationships>')
    z.writestr("word/document.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {W}><w:body>{paras}{pic}</w:body></w:document>')
    z.writestr("word/media/image1.jpeg", b"\xff\xd8\xff\xe0" + os.urandom(1000000), zipfile.ZIP_STORED)
b64 = base64.encodebytes(open(f"{work}/report.docx", "rb").read()).decode()
open(f"{work}/docx.eml", "w").write(head + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=UTF-8\n\n' + text(500) +
    '\n--b\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name="report.docx"\nContent-Disposition: attachment; filename="report.docx"\nContent-Transfer-Encoding: base64\n\n' + b64 + "--b--\n")
PY

sink_port="$(free_port)"; mugai_port="$(free_port)"
sink_user=(); [ "$(id -u)" = 0 ] && sink_user=(-u nobody)
/usr/sbin/smtp-sink "${sink_user[@]}" "127.0.0.1:$sink_port" 256 >/dev/null 2>&1 & pids+=($!)
wait_port "$sink_port"
vault_arg=(); [ -n "${MUGAI_BENCH_VAULT:-}" ] && vault_arg=(--vault "$MUGAI_BENCH_VAULT")
"$mugai" serve --listen "127.0.0.1:$mugai_port" --next-hop "127.0.0.1:$sink_port" \
  --state-dir "$work/state" "${vault_arg[@]}" 2>"$work/mugai.log" & mugai_pid=$!; pids+=($mugai_pid)
# The same service with isolation = none (the engine in serve's own threads), for the comparison.
inproc_port="$(free_port)"
printf 'isolation = none\n' > "$work/inproc.conf"
"$mugai" serve --config "$work/inproc.conf" --listen "127.0.0.1:$inproc_port" \
  --next-hop "127.0.0.1:$sink_port" --state-dir "$work/state-inproc" 2>"$work/inproc.log" &
inproc_pid=$!; pids+=($inproc_pid)
# Vault off: the shipped service (isolated) with the bench-only discard: vault, which keeps
# nothing (src/vault/discard_vault.h; refused without this variable, which only this script sets).
# The difference to the first column is what writing every kept original to the vault costs.
off_port="$(free_port)"
MUGAI_BENCH_DISCARD_VAULT=bench/smtp_bench.sh "$mugai" serve --listen "127.0.0.1:$off_port" \
  --next-hop "127.0.0.1:$sink_port" --state-dir "$work/state-off" --vault discard: 2>"$work/off.log" &
off_pid=$!; pids+=($off_pid)
wait_port "$mugai_port"
wait_port "$inproc_port"
wait_port "$off_port"

throughput() {  # port file count -> msgs/s
  local t0 t1
  t0=$(date +%s.%N)
  /usr/sbin/smtp-source -d -s "$sessions" -m "$3" -F "$2" -f bench@example.com -t staff@city.example.lg.jp "127.0.0.1:$1" >/dev/null
  t1=$(date +%s.%N)
  python3 -c "print(f'{$3/($t1-$t0):.0f}')"
}

# "isolated": mugai serve as shipped (sandboxed worker processes, scanner process); "in-process":
# isolation = none; both run side by side on the same cores, measured one after the other.
# CPU milliseconds a service spent (serve, its workers and scanner, and the children it reaped):
# unlike msg/s, hardly moved by what else the machine runs.
cpu_ms() { python3 "$here/bench/cpu_ms.py" "$1"; }  # CPU ms of a process tree
# Bytes serve itself sent to the disk (the vault's WAL, its checkpoints and the database file).
disk_bytes() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }

vault_rows=()
printf "%-14s %10s %11s %8s %10s %9s %9s %12s %14s\n" class "isolated/s" "in-proc/s" "iso/in" "direct/s" "iso p50" "iso p99" "in-proc p99" "CPU ms/msg i/n"
for cls in ${MUGAI_BENCH_CLASSES:-plain html pdf docx}; do
  case "$cls" in plain | html | pdf | docx) ;; *) echo "smtp_bench: unknown class $cls (plain html pdf docx)" >&2; exit 1 ;; esac
  n="$count"; case "$cls" in pdf | docx) n=$(( count / 4 )) ;; esac
  per=$(( n / sessions / 2 )); [ "$per" -lt 5 ] && per=5
  # Warm-up (workers spawned, the scanner's signatures loaded, caches filled), not measured.
  for p in "$mugai_port" "$off_port" "$inproc_port"; do throughput "$p" "$work/$cls.eml" 16 >/dev/null; done
  # Vault on and off one right after the other (the order alternates per class), then in-process.
  if [ "$cls" = plain ] || [ "$cls" = pdf ]; then
    c0=$(cpu_ms "$mugai_pid"); w0=$(disk_bytes "$mugai_pid"); m=$(throughput "$mugai_port" "$work/$cls.eml" "$n"); c1=$(cpu_ms "$mugai_pid"); w1=$(disk_bytes "$mugai_pid")
    c4=$(cpu_ms "$off_pid"); o=$(throughput "$off_port" "$work/$cls.eml" "$n"); c5=$(cpu_ms "$off_pid")
  else
    c4=$(cpu_ms "$off_pid"); o=$(throughput "$off_port" "$work/$cls.eml" "$n"); c5=$(cpu_ms "$off_pid")
    c0=$(cpu_ms "$mugai_pid"); w0=$(disk_bytes "$mugai_pid"); m=$(throughput "$mugai_port" "$work/$cls.eml" "$n"); c1=$(cpu_ms "$mugai_pid"); w1=$(disk_bytes "$mugai_pid")
  fi
  c2=$(cpu_ms "$inproc_pid")
  i=$(throughput "$inproc_port" "$work/$cls.eml" "$n")
  c3=$(cpu_ms "$inproc_pid")
  vault_rows+=("$(python3 -c "on,off,con,coff,mb=$m,$o,($c1-$c0)/$n,($c5-$c4)/$n,($w1-$w0)/$n/1e6; print(f'{\"$cls\":<8} {on:>9} {off:>10} {100*(off-on)/off:>+9.1f}% {con:>12.2f} {coff:>13.2f} {con-coff:>+10.2f} {mb:>14.2f}')")")
  cpu=$(python3 -c "print(f'{($c1-$c0)/$n:.2f}/{($c3-$c2)/$n:.2f}')")
  d=$(throughput "$sink_port" "$work/$cls.eml" "$n")
  read -r _ _ _ p50 p99 fail < <(python3 "$here/bench/smtp_load.py" 127.0.0.1 "$mugai_port" "$work/$cls.eml" "$sessions" "$per")
  read -r _ _ _ _ ip99 ifail < <(python3 "$here/bench/smtp_load.py" 127.0.0.1 "$inproc_port" "$work/$cls.eml" "$sessions" "$per")
  ratio=$(python3 -c "print(f'{$m/$i:.2f}')")
  printf "%-14s %10s %11s %8s %10s %9s %9s %12s %14s%s\n" "$cls ($(( $(stat -c %s "$work/$cls.eml") / 1024 )) KB)" "$m" "$i" "$ratio" "$d" "$p50" "$p99" "$ip99" "$cpu" \
    "$([ "$fail$ifail" != 00 ] && echo "  ($fail/$ifail failed)")"
done
echo
echo "the vault's cost (isolated; 'off' is the bench-only discard: vault, the same run, one after the other):"
printf "%-8s %9s %10s %10s %12s %13s %10s %14s\n" class "on msg/s" "off msg/s" "on loses" "CPU ms on" "CPU ms off" "CPU diff" "disk MB/msg on"
for row in "${vault_rows[@]}"; do echo "$row"; done
echo "(msg/s moves with whatever else the machine runs; CPU ms/msg of serve, its workers and scanner is the steadier figure)"
rss() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
children() { cat /proc/"$1"/task/*/children 2>/dev/null; }
iso_rss=$(( $(rss "$mugai_pid") )); for c in $(children "$mugai_pid"); do iso_rss=$(( iso_rss + $(rss "$c") )); done
echo "peak RSS: isolated $iso_rss MB (serve + workers + scanner now alive), in-process $(rss "$inproc_pid") MB;" \
     "$(grep -o '[0-9]* workers' "$work/mugai.log" | head -1);" \
     "not relayed: $(cat "$work/mugai.log" "$work/inproc.log" "$work/off.log" | grep -c 'relay_status=\(deferred\|bounced\)\|busy\|engine timeout' || true)"
