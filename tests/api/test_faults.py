"""Faults: (a) kill -9 during a burst of writes: every acknowledged write
survives the restart and the database passes PRAGMA integrity_check; (b) a
full disk under the data directory (a 2 MiB tmpfs, root only): writes fail
with 503 and a clear log line, nothing half-written, and they work again
once there is space; (d) oversize bodies (announced by Content-Length, or chunked) get 413
without the server reading them; (c, last) 1,000 concurrent API clients
(bounded time, FAULTS_LOAD_SECONDS, default 30): no crash, nothing but 2xx
or an explicit 429/503, no request left unanswered for 15 s, still
responsive afterwards."""

import errno
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

from harness import (Server, Skip, assert_error, check, eq, random_pubkey, setup_module, start_server,
                     teardown_module, test)

LOAD_SECONDS = float(os.environ.get("FAULTS_LOAD_SECONDS", "30"))
N_CLIENTS = int(os.environ.get("FAULTS_CLIENTS", "1000"))
MOUNTS = []           # tmpfs mount points to unmount in teardown
S = None


def note(msg):
    for line in str(msg).splitlines():
        print("# " + line)


class DirServer(Server):
    """A meshgated on a given data dir (a restart on the same dir, or a
    tmpfs), its log optionally outside the data dir."""

    def __init__(self, data_dir, log_path=None, **kw):
        super().__init__(**kw)
        self.fixed_dir = data_dir
        self._log_path = log_path

    @property
    def log_path(self):
        return self._log_path or os.path.join(self.dir or self.fixed_dir, "server.log")

    def start(self):
        os.makedirs(self.fixed_dir, mode=0o700, exist_ok=True)
        if os.path.exists(os.path.join(self.fixed_dir, "port")):
            os.unlink(os.path.join(self.fixed_dir, "port"))      # the previous run's port
        if os.path.exists(self.log_path):
            os.replace(self.log_path, self.log_path + ".1")    # keep the previous run's log
        orig = tempfile.mkdtemp
        tempfile.mkdtemp = lambda *a, **k: self.fixed_dir
        try:
            return super().start()
        finally:
            tempfile.mkdtemp = orig


def integrity(db_path):
    con = sqlite3.connect(db_path, timeout=10)
    try:
        return con.execute("PRAGMA integrity_check").fetchall(), con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()


def check_integrity(db_path, what):
    ic, fk = integrity(db_path)
    eq(ic, [("ok",)], "PRAGMA integrity_check %s" % what)
    eq(fk, [], "PRAGMA foreign_key_check %s" % what)


@setup_module
def start():
    global S
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096
    if soft < want and (hard == resource.RLIM_INFINITY or hard >= want):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    S = start_server(log_level="info")
    S.setup()


@teardown_module
def cleanup():
    for m in MOUNTS:
        subprocess.run(["umount", "-l", m], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(m, ignore_errors=True)


# ---- (a) kill -9 during a burst of writes ------------------------------------------

@test
def kill9_during_write_burst_loses_no_acknowledged_write():
    data = tempfile.mkdtemp(prefix="meshgate-kill9-")
    srv = DirServer(data, log_level="info")
    try:
        srv.start()
        srv.setup()
        srv.admin("POST", "/networks", 201, {"name": "base", "ipv4_range": "10.200.0.0/16"})
        key = srv.admin("POST", "/enrollment-keys", 201, {"networks": ["base"], "unlimited": True})["token"]
        acked = {"networks": set(), "hosts": set()}
        errors = []
        lock = threading.Lock()
        stop = threading.Event()

        def worker(t):
            i = 0
            while not stop.is_set() and i < 250:
                i += 1
                try:
                    if t % 2 == 0:
                        name = "n%d-%d" % (t, i)
                        r = srv.request("POST", "/networks", {"name": name, "ipv4_range": "10.%d.%d.0/24" % (t, i)},
                                        token=srv.admin_token)
                        kind = "networks"
                    else:
                        name = "h%d-%d" % (t, i)
                        r = srv.request("POST", "/hosts/register", {"token": key, "public_key": random_pubkey(),
                                                                    "name": name})
                        kind = "hosts"
                except AssertionError:
                    if not stop.is_set():
                        time.sleep(0.01)
                    continue     # no answer: the server is gone (or going)
                if 200 <= r.status < 300:
                    with lock:
                        acked[kind].add(name)
                elif not stop.is_set():
                    with lock:
                        errors.append("%s %s: %s %r" % (kind, name, r.status, r.raw[:100]))

        threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(8)]
        for th in threads:
            th.start()
        time.sleep(1.5)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        stop.set()
        for th in threads:
            th.join(timeout=15)
        srv.log.close()
        srv.stopped = True
        check(not errors, "errors during the burst (before the kill):\n  %s" % "\n  ".join(errors[:10]))
        n_acked = len(acked["networks"]) + len(acked["hosts"])
        check(len(acked["networks"]) >= 10 and len(acked["hosts"]) >= 10,
              "too few acknowledged writes to mean anything: %d networks, %d hosts",
              len(acked["networks"]), len(acked["hosts"]))
        # the database as the crash left it (sqlite3 recovers the WAL), then a restart on it
        check_integrity(os.path.join(data, "meshgate.db"), "after kill -9")
        srv2 = DirServer(data, log_level="info")
        srv2.start()
        try:
            srv2.admin_token = srv2.login(srv.admin_user, srv.admin_password)["token"]
            nets = set(n["name"] for n in srv2.admin("GET", "/networks", 200))
            hosts = set(h["name"] for h in srv2.admin("GET", "/hosts", 200))
            lost_n = acked["networks"] - nets
            lost_h = acked["hosts"] - hosts
            check(not lost_n and not lost_h, "acknowledged writes lost by kill -9: networks %r, hosts %r",
                  sorted(lost_n)[:10], sorted(lost_h)[:10])
            # whole registrations only: each host has its node, each write its audit entry
            orphans = srv2.db_query("SELECT name FROM hosts h WHERE NOT EXISTS "
                                    "(SELECT 1 FROM nodes n WHERE n.host_id = h.id)")
            eq(orphans, [], "hosts without their node (half a registration)")
            audited = set(r[0] for r in srv2.db_query("SELECT target FROM audit_log"))
            missing = (nets | hosts) - audited - {"base"}
            check(not missing, "writes without their audit entry: %r", sorted(missing)[:10])
            check_integrity(srv2.db_path, "after the restart")
            # and it keeps working
            srv2.admin("POST", "/networks", 201, {"name": "after", "ipv4_range": "10.201.0.0/24"})
            note("kill -9 burst: %d acknowledged writes (%d networks, %d hosts), all present after the restart"
                 % (n_acked, len(acked["networks"]), len(acked["hosts"])))
        finally:
            srv2.stop()
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.kill()
        shutil.rmtree(data, ignore_errors=True)


# ---- (b) disk full -----------------------------------------------------------------

def fill_up(path):
    """Write PATH until the file system is full; returns the bytes written."""
    n = 0
    chunk = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            try:
                w = os.write(fd, chunk)
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    break
                raise
            n += w
            if w < len(chunk):
                break
    finally:
        os.close(fd)
    return n


@test
def disk_full_503_then_recovers():
    if os.geteuid() != 0:
        raise Skip("not root (needs mount -t tmpfs)")
    mnt = tempfile.mkdtemp(prefix="meshgate-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", mnt],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        os.rmdir(mnt)
        raise Skip("cannot mount a tmpfs: %s" % r.stdout.decode().strip())
    MOUNTS.append(mnt)
    logdir = tempfile.mkdtemp(prefix="meshgate-full-log-")
    srv = DirServer(os.path.join(mnt, "data"), log_path=os.path.join(logdir, "server.log"), log_level="info")
    try:
        srv.start()
        srv.setup()
        srv.admin("POST", "/networks", 201, {"name": "roomy", "ipv4_range": "10.210.0.0/24"})
        filler = os.path.join(mnt, "filler")
        filled = fill_up(filler)
        check(filled > 0, "the filler got no space at all")
        statuses = {}
        failed = []
        ok_names = []
        for i in range(400):
            name = "full-%d" % i
            r = srv.request("POST", "/networks", {"name": name, "ipv4_range": "10.%d.%d.0/24" % (211 + i // 256, i % 256)},
                            token=srv.admin_token)
            statuses[r.status] = statuses.get(r.status, 0) + 1
            check(srv.alive(), "meshgated died on a full disk:\n%s" % srv.log_tail())
            if r.status == 201:
                ok_names.append(name)
                continue
            assert_error(r, 503, "POST /networks %s on a full disk" % name)
            failed.append(name)
            if len(failed) >= 5:
                break
        note("disk full: statuses %r after %d bytes of filler" % (statuses, filled))
        check(len(failed) >= 5, "writes did not fail on a full disk: %r" % statuses)
        # a host registration and a token: also 503, and not 500
        key_r = srv.request("POST", "/tokens", {"name": "while-full"}, token=srv.admin_token)
        assert_error(key_r, 503, "POST /tokens on a full disk")
        # reads still work
        srv.admin("GET", "/networks", 200)
        with open(srv.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        check(any(("full" in l.lower() or "no space" in l.lower()) for l in log.splitlines()),
              "no clear log line about the full disk:\n%s" % srv.log_tail(15))
        # free the space: writes work again
        os.unlink(filler)
        deadline = time.monotonic() + 5
        while True:
            r = srv.request("POST", "/networks", {"name": "after-full", "ipv4_range": "10.220.0.0/24"},
                            token=srv.admin_token)
            if r.status == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        eq(r.status, 201, "a write after the space came back (%r)" % r.raw[:200])
        srv.admin("POST", "/tokens", 201, {"name": "after-full"})
        names = set(n["name"] for n in srv.admin("GET", "/networks", 200))
        check(set(ok_names) <= names, "acknowledged writes missing after the disk-full episode")
        half = set(failed) & names
        check(not half, "refused writes present afterwards: %r" % sorted(half))
        audited = set(r[0] for r in srv.db_query("SELECT target FROM audit_log"))
        check(not (set(failed) & audited), "audit entries of refused writes: %r" % sorted(set(failed) & audited))
        eq(srv.db_query("SELECT COUNT(*) FROM api_tokens WHERE name = 'while-full'"), [(0,)], "refused token rows")
        check_integrity(srv.db_path, "after the disk-full episode")
    finally:
        try:
            if srv.proc is not None:
                if os.path.exists(os.path.join(mnt, "filler")):
                    os.unlink(os.path.join(mnt, "filler"))
                srv.stop()
        finally:
            subprocess.run(["umount", mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if not os.path.ismount(mnt):
                MOUNTS.remove(mnt)
                shutil.rmtree(mnt, ignore_errors=True)
            shutil.rmtree(logdir, ignore_errors=True)


# ---- (d) oversize bodies -------------------------------------------------------------

def parse_response(buf):
    """(status, total length) of the first complete response in buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    try:
        status = int(head[0].split()[1])
    except (IndexError, ValueError):
        return (-1, len(buf))
    length = 0
    for h in head[1:]:
        k, _, v = h.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    if len(buf) < end + 4 + length:
        return None
    return status, end + 4 + length


def raw_exchange(head, body_chunks=(), wait=5.0):
    """Send head (and chunks, tolerating the server closing first); return
    (status, seconds until the status line, body)."""
    s = socket.create_connection(("127.0.0.1", S.port), timeout=wait)
    t0 = time.monotonic()
    try:
        s.sendall(head)
        for ch in body_chunks:
            try:
                s.sendall(ch)
            except (BrokenPipeError, ConnectionResetError):
                break
        buf = b""
        while True:
            got = parse_response(buf)
            if got:
                break
            try:
                data = s.recv(65536)
            except socket.timeout:
                return None, time.monotonic() - t0, buf
            except ConnectionResetError:
                data = b""
            if not data:
                break
            buf += data
        got = parse_response(buf)
        return (got[0] if got else None), time.monotonic() - t0, buf
    finally:
        s.close()


@test
def announced_oversize_body_413_without_reading():
    for cl in ("100000000", "65537", "18446744073709551615", "99999999999999999999999"):
        head = ("POST /api/v1/networks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %s\r\n\r\n" % (S.admin_token, cl)).encode()
        status, took, buf = raw_exchange(head, wait=3.0)
        if cl == "99999999999999999999999":
            check(status in (400, 413), "Content-Length %s: %s %r" % (cl, status, buf[:200]))
        else:
            eq(status, 413, "Content-Length %s with no body sent: status (%r)" % (cl, buf[:200]))
        check(took < 2.0, "Content-Length %s: 413 took %.1f s (waiting for the body?)" % (cl, took))
    # and without authentication: refused just as early
    head = b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
    status, took, _ = raw_exchange(head, wait=3.0)
    eq(status, 413, "oversize login body")
    check(S.alive(), "server died")


@test
def chunked_oversize_413():
    head = ("POST /api/v1/networks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % S.admin_token).encode()
    chunk = b"x" * 8192
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 16 + [b"0\r\n\r\n"]     # 128 KiB
    status, took, buf = raw_exchange(head, chunks)
    eq(status, 413, "chunked 128 KiB body (%r)" % buf[:200])
    # a long chunked stream (8 MiB) is not collected: answered quickly, memory bounded
    rss0 = proc_rss(S.proc.pid)
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 1024 + [b"0\r\n\r\n"]
    status, took, buf = raw_exchange(head, chunks, wait=10.0)
    eq(status, 413, "chunked 8 MiB body (%r)" % buf[:200])
    rss1 = proc_rss(S.proc.pid)
    check(rss1 - rss0 < 6 * 1024 * 1024, "RSS grew by %d KiB on an 8 MiB chunked body" % ((rss1 - rss0) // 1024))
    # exactly at the cap is not 413 (it is read, and refused as JSON)
    body = b'{"name": "' + b"a" * (64 * 1024 - 12) + b'"}'
    eq(len(body), 64 * 1024, "cap-sized body")
    r = S.request("POST", "/networks", raw=body, token=S.admin_token)
    check(r.status == 400, "a body of exactly 64 KiB: expected 400 (bad name), got %s" % r.status)
    r = S.request("POST", "/networks", raw=body + b" ", token=S.admin_token)
    assert_error(r, 413, "a body of 64 KiB + 1")
    check(S.alive(), "server died")
    S.admin("GET", "/networks", 200)


def proc_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# ---- (c) 1,000 concurrent clients ---------------------------------------------------

class Conn:
    __slots__ = ("sock", "buf", "req", "sent", "src", "busy_since", "answered")


@test
def thousand_concurrent_clients():
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < N_CLIENTS + 200:
        raise Skip("RLIMIT_NOFILE %d is too small for %d clients" % (soft, N_CLIENTS))
    S.admin("POST", "/networks", 201, {"name": "load", "ipv4_range": "10.230.0.0/16"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["load"], "unlimited": True})["token"]
    hosts = [S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": "ld%d" % i})
             ["host_token"] for i in range(4)]
    api = S.admin("POST", "/tokens", 201, {"name": "load"})["token"]
    user = S.create_user("loader", "loader password 1")
    hostport = "127.0.0.1:%d" % S.port

    def req(i):
        k = i % 10
        if k < 4:
            return ("GET /api/v1/networks HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
                    % (hostport, api)).encode()
        if k < 6:
            return ("GET /api/v1/me HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
                    % (hostport, user)).encode()
        if k < 8:
            return ("GET /api/v1/hosts/self/config HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
                    % (hostport, hosts[i % 4])).encode()
        if k < 9:
            body = json.dumps({"listen_port": 51821}).encode()
            return (("POST /api/v1/hosts/self/checkin HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n") % (hostport, hosts[i % 4], len(body))
                    ).encode() + body
        return ("GET /api/v1/setup HTTP/1.1\r\nHost: %s\r\n\r\n" % hostport).encode()

    # MHD allows 256 connections per IP: spread the clients over 127.0.0.x
    n_src = max(1, (N_CLIENTS + 199) // 200)
    sel = selectors.DefaultSelector()
    stats = {"statuses": {}, "refused": 0, "reset": 0, "timeouts": 0, "reconnects": 0, "max_open": 0,
             "stalls": {}}
    conns = []

    def connect(c):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((c.src, 0))
        try:
            s.connect(("127.0.0.1", S.port))
        except BlockingIOError:
            pass
        c.sock, c.buf, c.sent, c.answered = s, b"", 0, 0
        c.busy_since = time.monotonic()
        sel.register(s, selectors.EVENT_WRITE, c)

    def drop(c, why):
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        stats[why] += 1
        stats["reconnects"] += 1
        connect(c)

    for i in range(N_CLIENTS):
        c = Conn()
        c.src = "127.0.0.%d" % (2 + i % n_src)
        c.req = req(i)
        connect(c)
        conns.append(c)
    stats["max_open"] = len(conns)
    end = time.monotonic() + LOAD_SECONDS
    bad = []
    while time.monotonic() < end:
        for key_, ev in sel.select(timeout=0.5):
            c = key_.data
            if ev & selectors.EVENT_WRITE:
                try:
                    n = c.sock.send(c.req[c.sent:])
                except (ConnectionRefusedError,):
                    drop(c, "refused")
                    continue
                except (ConnectionResetError, BrokenPipeError, OSError):
                    drop(c, "reset")
                    continue
                c.sent += n
                if c.sent == len(c.req):
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                data = c.sock.recv(65536)
            except (ConnectionRefusedError,):
                drop(c, "refused")
                continue
            except (ConnectionResetError, OSError):
                drop(c, "reset")
                continue
            if not data:
                drop(c, "reset")
                continue
            c.buf += data
            got = parse_response(c.buf)
            if not got:
                continue
            status, used = got
            stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
            if not (200 <= status < 300 or status in (429, 503)) and len(bad) < 20:
                bad.append("%s -> %s %r" % (c.req.split(b"\r\n")[0].decode(), status, c.buf[:200]))
            c.buf = c.buf[used:]
            c.sent = 0
            c.answered += 1
            c.busy_since = time.monotonic()
            sel.modify(c.sock, selectors.EVENT_WRITE, c)
        now = time.monotonic()
        for c in conns:          # a request unanswered for 15 s: a stall
            if now - c.busy_since > 15:
                stall = "connecting" if c.sent == 0 else "sending" if c.sent < len(c.req) else \
                    "awaiting response %s on its connection (%d bytes of it)" % (
                        "1" if not c.answered else ">1", len(c.buf))
                stats["stalls"][stall] = stats["stalls"].get(stall, 0) + 1
                drop(c, "timeouts")
        if not S.alive():
            break
    for c in conns:
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
    sel.close()
    total = sum(stats["statuses"].values())
    note("%d clients over %d source addresses for %.0f s: %d responses (%.0f/s), statuses %r, "
         "connection refused %d, reset/closed %d, stalled %d" % (
             N_CLIENTS, n_src, LOAD_SECONDS, total, total / LOAD_SECONDS, stats["statuses"], stats["refused"],
             stats["reset"], stats["timeouts"]))
    check(S.alive(), "meshgated died under load:\n%s" % S.log_tail())
    check(not bad, "responses other than 2xx / 429 / 503:\n  %s" % "\n  ".join(bad))
    check(total >= N_CLIENTS, "only %d responses in %.0f s for %d clients" % (total, LOAD_SECONDS, N_CLIENTS))
    check(stats["timeouts"] == 0, "%d requests unanswered for 15 s: %r" % (stats["timeouts"], stats["stalls"]))
    # responsive afterwards: a read and a write within 2 s each
    for method, path, body, want in (("GET", "/setup", None, 200), ("GET", "/networks", None, 200),
                                     ("POST", "/networks", {"name": "after-load", "ipv4_range": "10.231.0.0/24"}, 201)):
        t0 = time.monotonic()
        S.admin(method, path, want, body)
        check(time.monotonic() - t0 < 2, "%s %s took %.1f s after the load" % (method, path, time.monotonic() - t0))
    check_integrity(S.db_path, "after the load")
