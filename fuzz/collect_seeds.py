#!/usr/bin/env python3
"""Collects seed corpora for the fuzz targets from the test fixtures.

usage: fuzz/collect_seeds.py OUT_DIR [SOURCE_DIR...]

Writes OUT_DIR/<target>/<sha1> for every target in fuzz/CMakeLists.txt. Sources (files are
sorted by their own bytes, never by name or extension):
  - the fixtures tests/data/gen makes at build time (<build>/tests/data; $MUGAI_BUILD_DIR or
    build/ of this checkout),
  - the shared third-party corpus ($MUGAI_CORPUS or ../shared/corpus), when present,
  - rules/ (the shipped rules) and fuzz/seeds/<target>/ (small hand-written seeds),
  - any SOURCE_DIR given.
Nothing is copied into the repository: seeds live in the build directory. Targets that read
choice bytes first (fuzz/targets/*.cpp) get a zero byte in front, so a seed is read as it is.
"""
import hashlib
import io
import os
import struct
import sys
import zipfile
import zlib

MAX_SEED = 256 * 1024  # bigger seeds make every execution slow; libFuzzer mutates towards size
PER_TARGET = 400

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Registry::names() order (sorted): the uber target's first byte picks one of these.
SANITIZERS = ["sanitizer.archive", "sanitizer.clamav_scan", "sanitizer.filename_sanitize",
              "sanitizer.html_to_text", "sanitizer.image", "sanitizer.odf", "sanitizer.ole2",
              "sanitizer.ooxml", "sanitizer.pdf", "sanitizer.rtf", "sanitizer.text_normalize"]
PACKAGE_MEMBERS = {"[Content_Types].xml": ("ooxml_parts", 0), "_rels/.rels": ("ooxml_parts", 1),
                   "word/_rels/document.xml.rels": ("ooxml_parts", 2),
                   "word/document.xml": ("ooxml_parts", 3), "META-INF/manifest.xml": ("odf_parts", 0),
                   "content.xml": ("odf_parts", 1), "styles.xml": ("odf_parts", 2)}
PREFIXED = {"smtp_session": b"\x00\x00", "header_decode": b"\x00", "transfer_decode": b"\x00",
            "xml_lite": b"\x00", "charset_cp932": b"\x00", "charset_iso2022jp": b"\x00",
            "charset_eucjp": b"\x00", "charset_iconv": b"\x00"}


def kinds(data, path):
    """The targets a file seeds, by its bytes (and, for text formats, its folder)."""
    head = data[:1024]
    low = head.lower()
    out = []
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        out += ["zip_reader", "archive"]
        if b"[Content_Types].xml" in data or b"word/" in data or b"xl/" in data or b"ppt/" in data:
            out.append("ooxml")
        if b"mimetypeapplication/vnd.oasis" in data[:200]:
            out.append("odf")
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        out.append("ole2")
    elif b"%PDF" in head:
        out += ["pdf", "pdf_flatten"]
    elif head.startswith(b"{\\rt"):
        out.append("rtf")
    elif head.startswith(b"\xff\xd8\xff"):
        out.append("image_jpeg")
    elif head.startswith(b"\x89PNG"):
        out.append("image_png")
    elif head.startswith(b"GIF8"):
        out.append("image_gif")
    elif head.startswith(b"BM"):
        out.append("image_bmp")
    elif head.startswith(b"II*\x00") or head.startswith(b"MM\x00*"):
        out.append("image_tiff")
    elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        out.append("image_webp")
    elif (head.startswith(b"7z\xbc\xaf") or head.startswith(b"Rar!") or head.startswith(b"\x1f\x8b")
          or head.startswith(b"BZh") or head.startswith(b"\xfd7zXZ") or head.startswith(b"MSCF")
          or head[257:262] == b"ustar" or head[2:5] in (b"-lh", b"-lz", b"-pm")):
        out.append("archive")
    elif b"<html" in low or b"<!doctype html" in low or path.endswith((".html", ".htm")):
        out += ["html_to_text", "html_sanitizer"]
    elif head.lstrip().startswith(b"<?xml") or path.endswith(".xml"):
        out.append("xml_lite")
    elif path.endswith((".yaml", ".yml")):
        out.append("rules_loader")
    if "/mail/" in path or "derived-mail" in path or "rfc2047" in path or path.endswith(".eml"):
        out += ["mime_parse", "smtp_session", "header_decode"]
    if "/japanese/" in path:
        out += ["charset_cp932", "charset_iso2022jp", "charset_eucjp", "charset_iconv",
                "charset_detect", "charset_utf8"]
    return out


def smtp_dialogue(mail):
    """A whole SMTP session that sends `mail` (CRLF lines, dot-stuffed)."""
    lines = mail.replace(b"\r\n", b"\n").split(b"\n")
    body = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
    return (b"EHLO client.example\r\nMAIL FROM:<a@example.org> SIZE=%d\r\nRCPT TO:<b@example.jp>\r\n"
            b"DATA\r\n" % len(mail)) + body + b".\r\nQUIT\r\n"


def headers(mail):
    """The unfolded header fields of a message, one seed each (Subject, From, To, ...)."""
    head = mail.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    fields, cur = [], b""
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            cur += b" " + line.strip()
        else:
            if cur:
                fields.append(cur)
            cur = line
    if cur:
        fields.append(cur)
    return [f.split(b":", 1)[1].strip() for f in fields if b":" in f and b"=?" in f]


def generated_images():
    """Small valid images of each format (the codecs' tests make theirs in C++; these are made
    here so that a checkout without a build still has seeds): PNG gray/RGB/RGBA/palette/
    interlaced/16-bit, BMP 24-bit and 8-bit palette, GIF, TIFF (uncompressed, RGB and gray)."""
    out = []

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    def png(w, h, depth, color, interlace=0, extra=b""):
        ch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
        row = bytes(range(w * ch * depth // 8 or 1))
        raw = b"".join(b"\x00" + row[: (w * ch * depth + 7) // 8].ljust((w * ch * depth + 7) // 8, b"\x7f")
                       for _ in range(h))
        ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
        plte = chunk(b"PLTE", bytes(range(48))) if color == 3 else b""
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + plte + extra +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

    out += [png(4, 3, 8, 0), png(5, 4, 8, 2), png(3, 3, 8, 6), png(4, 4, 8, 3),
            png(8, 8, 8, 2, interlace=1), png(2, 2, 16, 2),
            png(3, 2, 8, 2, extra=chunk(b"tEXt", b"Comment\x00secret") + chunk(b"eXIf", b"MM\x00*\x00\x00\x00\x08\x00\x00"))]

    def bmp(w, h, bpp):
        stride = (w * bpp // 8 + 3) & ~3
        pal = bytes(4 * 256) if bpp == 8 else b""
        pixels = bytes((i * 7) & 0xFF for i in range(stride * h))
        off = 14 + 40 + len(pal)
        return (b"BM" + struct.pack("<IHHI", off + len(pixels), 0, 0, off) +
                struct.pack("<IiiHHIIiiII", 40, w, h, 1, bpp, 0, len(pixels), 2835, 2835, 0, 0) + pal + pixels)

    out += [bmp(3, 2, 24), bmp(4, 4, 8), bmp(2, 3, 32)]
    # 1x1 GIF89a (one black pixel) and a two-frame animation of it.
    frame = b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00"
    gif_head = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    out += [gif_head + frame + b"\x3b",
            gif_head + b"\x21\xf9\x04\x00\x0a\x00\x00\x00" + frame + b"\x21\xf9\x04\x00\x0a\x00\x00\x00" + frame + b"\x3b"]

    def tiff(w, h, spp):
        pixels = bytes((i * 5) & 0xFF for i in range(w * h * spp))
        entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 8), (259, 3, 1, 1),
                   (262, 3, 1, 2 if spp == 3 else 1), (273, 4, 1, 0), (277, 3, 1, spp),
                   (278, 3, 1, h), (279, 4, 1, len(pixels)), (274, 3, 1, 6)]
        entries.sort()
        ifd_off = 8
        data_off = ifd_off + 2 + 12 * len(entries) + 4
        ifd = struct.pack("<H", len(entries))
        for tag, typ, cnt, val in entries:
            if tag == 273:
                val = data_off
            ifd += struct.pack("<HHI", tag, typ, cnt) + (struct.pack("<HH", val, 0) if typ == 3 else struct.pack("<I", val))
        return b"II*\x00" + struct.pack("<I", ifd_off) + ifd + b"\x00\x00\x00\x00" + pixels

    out += [tiff(3, 2, 3), tiff(4, 3, 1)]
    # 1x1 lossless WebP.
    out.append(b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    build = os.environ.get("MUGAI_BUILD_DIR", os.path.join(HERE, "build"))
    corpus = os.environ.get("MUGAI_CORPUS", os.path.join(HERE, "..", "shared", "corpus"))
    sources = [os.path.join(build, "tests", "data"), corpus, os.path.join(HERE, "rules"),
               os.path.join(HERE, "tests")] + sys.argv[2:]
    seeds = {}
    per_sanitizer = {}

    def add(target, data):
        if len(data) > MAX_SEED:
            return
        bucket = seeds.setdefault(target, {})
        if len(bucket) < PER_TARGET:
            data = PREFIXED.get(target, b"") + data
            bucket[hashlib.sha1(data).hexdigest()] = data

    for src in sources:
        for root, dirs, files in os.walk(src):
            dirs[:] = sorted(d for d in dirs if d not in ("_licenses", "fuzz-regressions"))
            for name in sorted(files):
                path = os.path.join(root, name)
                if name.endswith((".cpp", ".h", ".txt.license")) or name == "CMakeLists.txt":
                    continue
                try:
                    with open(path, "rb") as f:
                        data = f.read(MAX_SEED + 1)
                except OSError:
                    continue
                for t in kinds(data, path.replace(os.sep, "/")):
                    if t == "smtp_session":
                        add(t, smtp_dialogue(data))
                    elif t == "header_decode":
                        for h in headers(data)[:8]:
                            add(t, h)
                    else:
                        add(t, data)
                    if t in ("zip_reader", "ooxml", "odf"):
                        try:
                            z = zipfile.ZipFile(io.BytesIO(data))
                            for info in z.infolist()[:40]:
                                if info.filename.endswith((".xml", ".rels")) and info.file_size < MAX_SEED:
                                    add("xml_lite", z.read(info))
                                    # fuzz/targets/packages.cpp: byte 0 picks the member it replaces
                                    pick = PACKAGE_MEMBERS.get(info.filename)
                                    if pick is None and info.filename.startswith("xl/worksheets/sheet"):
                                        pick = ("ooxml_parts", 4)
                                    if pick:
                                        add(pick[0], bytes([pick[1]]) + z.read(info))
                        except Exception:
                            pass
                k = kinds(data, path)
                if k and not data.startswith(b"\x00"):
                    idx = {"archive": 0, "zip_reader": 0, "html_to_text": 3, "image_jpeg": 4,
                           "image_png": 4, "image_gif": 4, "image_bmp": 4, "image_tiff": 4,
                           "image_webp": 4, "odf": 5, "ole2": 6, "ooxml": 7, "pdf": 8, "rtf": 9,
                           "mime_parse": 10}.get(k[-1] if k[-1] in ("ooxml", "odf") else k[0])
                    if idx is not None and per_sanitizer.get(idx, 0) < 40:
                        per_sanitizer[idx] = per_sanitizer.get(idx, 0) + 1
                        add("sanitizer", bytes([idx, 0]) + data)
    for img in generated_images():
        for t in kinds(img, "generated"):
            add(t, img)
        add("sanitizer", bytes([4, 8]) + img)
    # Hand-written seeds, as they are (they already carry their choice bytes).
    seed_root = os.path.join(HERE, "fuzz", "seeds")
    for target in sorted(os.listdir(seed_root)) if os.path.isdir(seed_root) else []:
        for name in sorted(os.listdir(os.path.join(seed_root, target))):
            with open(os.path.join(seed_root, target, name), "rb") as f:
                data = f.read()
            seeds.setdefault(target, {})[hashlib.sha1(data).hexdigest()] = data
    # Short samples for the text-only targets.
    for sample in (b"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= =?utf-8?q?caf=C3=A9?=",
                   b"\"=?Shift_JIS?B?g2WDWINn?=\" <a@example.jp>, b@example.org (c)",
                   b"SGVsbG8sIHdvcmxkIQ==", b"caf=C3=A9 =\r\nsoft break=3D"):
        add("header_decode", sample)
        add("transfer_decode", sample)
        add("charset_detect", sample)
        add("charset_utf8", sample)
    total = 0
    for target, bucket in sorted(seeds.items()):
        d = os.path.join(out_dir, target)
        os.makedirs(d, exist_ok=True)
        for h, data in bucket.items():
            with open(os.path.join(d, h), "wb") as f:
                f.write(data)
        total += len(bucket)
        print(f"{target}: {len(bucket)} seeds")
    print(f"{total} seeds in {out_dir}")


if __name__ == "__main__":
    main()
