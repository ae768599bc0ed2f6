#!/usr/bin/env python3
# The vault's storage of originals, measured (docs/vault.md, "Where originals are kept"): 1 MB
# incompressible originals stored (a) in SQLite (WAL, synchronous=FULL), one per transaction, (b) 8 per transaction (group commit), (c) beside the db as files (write,
# fsync file, fsync dir) with the record committed in SQLite after, one per transaction,
# (d) files beside + records 8 per transaction. Wall ms and CPU ms per record, disk bytes written.
import os, resource, shutil, sqlite3, sys, tempfile, time
#   python3 bench/vault_store.py [RECORDS]     (default 32; in a temporary folder under $TMPDIR)
# Prints figures; it is not a test.
N = int(sys.argv[1]) if len(sys.argv) > 1 else 32
root = tempfile.mkdtemp(prefix='mugai-vault-store-')
blob = os.urandom(1_000_000)
def io_bytes():
    for l in open('/proc/self/io'):
        if l.startswith('write_bytes'): return int(l.split()[1])
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
def run(name, group, beside):
    d = os.path.join(root, name.replace(' ', '').replace(',', '-').replace('/', '-')); os.makedirs(d)
    db = sqlite3.connect(f'{d}/v.db', isolation_level=None)
    db.execute('PRAGMA journal_mode=WAL'); db.execute('PRAGMA synchronous=FULL')
    db.execute('CREATE TABLE r(id TEXT PRIMARY KEY, meta TEXT)'); db.execute('CREATE TABLE o(id TEXT PRIMARY KEY, data BLOB)')
    dfd = os.open(d, os.O_RDONLY)
    w0, c0, t0 = io_bytes(), cpu(), time.time()
    for g in range(0, N, group):
        ids = [f'{g+i}' for i in range(group)]
        if beside:
            for i in ids:
                fd = os.open(f'{d}/{i}.tmp', os.O_WRONLY | os.O_CREAT, 0o600); os.write(fd, blob); os.fsync(fd); os.close(fd)
                os.rename(f'{d}/{i}.tmp', f'{d}/{i}')
            os.fsync(dfd)
        db.execute('BEGIN IMMEDIATE')
        for i in ids:
            db.execute('INSERT INTO r VALUES (?, ?)', (i, 'x' * 2000))
            if not beside: db.execute('INSERT INTO o VALUES (?, ?)', (i, blob))
        db.execute('COMMIT')
    db.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    t, c, w = time.time() - t0, cpu() - c0, io_bytes() - w0
    print(f'{name:<22} {1000*t/N:7.1f} ms wall/rec {1000*c/N:6.2f} ms CPU/rec {w/N/1e6:5.2f} MB written/rec')
run('in-db, 1/tx', 1, False)
run('in-db, 8/tx', 8, False)
run('beside, 1/tx', 1, True)
run('beside, 8/tx', 8, True)
shutil.rmtree(root)
