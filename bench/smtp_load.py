#!/usr/bin/env python3
"""SMTP latency loader for bench/smtp_bench.sh: N sessions, each sending messages over one
connection (as Postfix's content_filter client does), timing each transaction from MAIL to the
reply after the final dot. Prints: count, seconds, msgs/s, p50 ms, p99 ms, failures."""
import re
import smtplib
import sys
import threading
import time


def main():
    host, port, path, sessions, per_session = (sys.argv[1], int(sys.argv[2]), sys.argv[3],
                                               int(sys.argv[4]), int(sys.argv[5]))
    # The wire form: CRLF line ends (mugai refuses bare LF in DATA, as Postfix can).
    data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    # Dot-stuffed and terminated once, here: smtplib's sendmail() would redo both regex passes
    # over every 1 MB message inside the timed window, and the loader shares the cores with mugai.
    wire = re.sub(rb"(?m)^\.", b"..", data)
    if not wire.endswith(b"\r\n"):
        wire += b"\r\n"
    wire += b".\r\n"
    lat, fails, lock = [], [0], threading.Lock()

    def worker():
        mine, bad = [], 0
        s = smtplib.SMTP(host, port, timeout=120)
        s.ehlo("bench.local")
        for _ in range(per_session):
            t0 = time.perf_counter()
            try:
                ok = (s.mail("bench@example.com")[0] == 250
                      and s.rcpt("staff@city.example.lg.jp")[0] == 250)
                if ok:
                    s.putcmd("data")
                    ok = s.getreply()[0] == 354
                if ok:
                    s.send(wire)
                    ok = s.getreply()[0] == 250
                if ok:
                    mine.append(time.perf_counter() - t0)
                else:
                    bad += 1
                    s.rset()
            except smtplib.SMTPException:
                bad += 1
        s.quit()
        with lock:
            lat.extend(mine)
            fails[0] += bad

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    lat.sort()
    pick = lambda q: 1000 * lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0
    print(f"{len(lat)} {secs:.2f} {len(lat) / secs:.1f} {pick(0.50):.1f} {pick(0.99):.1f} {fails[0]}")


if __name__ == "__main__":
    main()
