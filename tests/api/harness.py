"""Test harness for the meshgated REST API tests (stdlib only).

- Server: starts a real meshgated on 127.0.0.1 with a temporary data dir,
  waits for its port file, drives it over HTTP and stops it with SIGTERM
  (asserting a clean exit, status 0).
- A tiny test registry: @test registers a function under its module;
  @setup_module / @teardown_module run once around a module's tests.
  run_all() prints "ok - name", "not ok - name" (+ traceback) or
  "skip - name # reason", then the closing line "N passed, N failed",
  and returns the process exit status (1 when anything failed).
"""

import base64
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
API = "/api/v1"

STARTUP_DEADLINE = 10.0     # seconds to wait for the port file
SHUTDOWN_DEADLINE = 10.0    # seconds to wait for exit after SIGTERM
HTTP_TIMEOUT = 10.0


def meshgated_path():
    return os.path.abspath(os.environ.get("MESHGATED") or os.path.join(ROOT, "build", "meshgated"))


def meshgatectl_path():
    return os.path.abspath(os.environ.get("MESHGATECTL") or os.path.join(ROOT, "build", "meshgatectl"))


def ctl_env(server):
    """The environment meshgatectl runs in for a test: its own HOME and config
    under the server's directory, the server's URL, no MESHGATE_* from outside
    and no proxies."""
    home = os.path.join(server.dir, "home")
    os.mkdir(home, 0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHGATE_")}
    env.update({"HOME": home, "MESHGATE_CONFIG": os.path.join(server.dir, "ctl", "ctl.json"),
                "MESHGATE_SERVER": server.url, "NO_PROXY": "*", "no_proxy": "*"})
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env.pop(k, None)
    return env


def run_ctl(ctl_path, base_env, args, env=None, expect=0):
    """Runs meshgatectl; expect 0 (success), another int (that exit code) or
    None (any). Returns the CompletedProcess with text stdout and stderr, the
    raw stdout bytes in .out."""
    e = dict(base_env)
    e.update(env or {})
    p = subprocess.run([ctl_path] + [str(a) for a in args], env=e, capture_output=True, timeout=20)
    p.out = p.stdout
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    if expect is not None and p.returncode != expect:
        raise AssertionError("meshgatectl %s: exit %s (expected %s)\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), p.returncode, expect, p.stdout[-2000:], p.stderr[-2000:]))
    return p


class Skip(Exception):
    """Raise to report a test as skipped."""


class Response:
    """Result of Server.request(); unpacks as (status, body, headers)."""

    def __init__(self, status, body, headers, raw):
        self.status = status
        self.body = body          # parsed JSON, or text when not JSON
        self.headers = headers    # http.client.HTTPMessage (case-insensitive)
        self.raw = raw            # bytes

    def __iter__(self):
        return iter((self.status, self.body, self.headers))

    def __repr__(self):
        return "<HTTP %s %r>" % (self.status, self.raw[:300])


# The fields of NODE (docs/API.md), exactly.
NODE_KEYS = {"network", "host_id", "host_name", "address", "address6", "connected", "created_at",
             "last_checkin", "online", "ingress", "egress", "last_handshake", "relay", "relayed_by",
             "dns_server", "peers"}


def random_pubkey():
    """A WireGuard public key: base64 of 32 random bytes."""
    return base64.b64encode(os.urandom(32)).decode()


def b64url_decode(s):
    pad = "=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s + pad)


class Server:
    """A meshgated process on a loopback port with its own data dir."""

    def __init__(self, public_url=None, log_level="debug", extra_args=()):
        self.public_url = public_url
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.dir = None
        self.proc = None
        self.port = None
        self.log = None
        self.setup_token = None
        self.admin_token = None
        self.admin_user = None
        self.admin_password = None
        self.stopped = False

    # ---- lifecycle -------------------------------------------------------

    @property
    def db_path(self):
        return os.path.join(self.dir, "meshgate.db")

    @property
    def log_path(self):
        return os.path.join(self.dir, "server.log")

    @property
    def setup_token_path(self):
        return os.path.join(self.dir, "setup-token")

    def start(self):
        binary = meshgated_path()
        if not os.access(binary, os.X_OK):
            raise AssertionError("meshgated binary not found or not executable: %s" % binary)
        self.dir = tempfile.mkdtemp(prefix="meshgate-api-")
        port_file = os.path.join(self.dir, "port")
        args = [binary, "--data-dir", self.dir, "--listen", "127.0.0.1:0",
                "--port-file", port_file]
        if self.public_url:
            args += ["--public-url", self.public_url]
        if self.log_level:
            args += ["--log-level", self.log_level]
        args += self.extra_args
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     cwd=self.dir)
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError("meshgated exited with status %s during startup\n%s"
                                     % (rc, self.log_tail()))
            port = self._read_port(port_file)
            if port:
                self.port = port
                break
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("meshgated did not write its port file within %ss\n%s"
                                     % (STARTUP_DEADLINE, self.log_tail()))
            time.sleep(0.02)
        self.url = "http://127.0.0.1:%d" % self.port
        return self

    @staticmethod
    def _read_port(path):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            return None
        text = text.strip()
        if not text.isdigit():
            return None          # not (completely) written yet
        port = int(text)
        return port if 0 < port < 65536 else None

    def stop(self):
        """SIGTERM; assert a clean exit (status 0) within the deadline."""
        if self.proc is None or self.stopped:
            return
        self.stopped = True
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=SHUTDOWN_DEADLINE)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("meshgated did not exit within %ss of SIGTERM\n%s"
                                     % (SHUTDOWN_DEADLINE, self.log_tail()))
            self.log.close()
            if rc != 0:
                raise AssertionError("meshgated exited with status %s after SIGTERM\n%s"
                                     % (rc, self.log_tail()))
        else:
            self.log.close()
            raise AssertionError("meshgated had already exited (status %s) before teardown\n%s"
                                 % (rc, self.log_tail()))
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stopped = True

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no server log)"
        return "--- server.log (last %d lines, %s) ---\n%s\n--- end of server.log ---" % (
            min(n, len(lines)), self.log_path, "\n".join(lines[-n:]))

    # ---- HTTP ------------------------------------------------------------

    def request(self, method, path, body=None, token=None, headers=None,
                raw=None, content_type="application/json", cookie=None, csrf=None):
        """Send one request. path is relative to /api/v1 unless it starts
        with "/api" or is absolute-with-"//". body is JSON-encoded; raw is
        sent as is (bytes or str). Returns Response (status, body, headers)."""
        if not path.startswith("/api"):
            path = API + path
        hdrs = {}
        data = None
        if raw is not None:
            data = raw.encode() if isinstance(raw, str) else raw
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type is not None:
            hdrs["Content-Type"] = content_type
        if token:
            hdrs["Authorization"] = "Bearer " + token
        if cookie:
            hdrs["Cookie"] = "mg_session=" + cookie
        if csrf:
            hdrs["X-CSRF-Token"] = csrf
        if headers:
            hdrs.update(headers)
        if data is None and method in ("POST", "PUT", "PATCH"):
            hdrs.setdefault("Content-Length", "0")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            try:
                conn.request(method, path, body=data, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer (e.g. 413) and close before reading
                # the whole body; the response can still be read.
                pass
            resp = conn.getresponse()
            rawresp = resp.read()
            rheaders = resp.headers
            status = resp.status
        except Exception as e:
            raise AssertionError("%s %s: no HTTP response (%s: %s)%s" % (
                method, path, type(e).__name__, e,
                "" if self.alive() else "\nserver died:\n" + self.log_tail()))
        finally:
            conn.close()
        parsed = rawresp.decode("utf-8", "replace")
        if rawresp:
            try:
                parsed = json.loads(rawresp)
            except ValueError:
                pass
        else:
            parsed = None
        return Response(status, parsed, rheaders, rawresp)

    # convenience wrappers that assert the status
    def call(self, method, path, expect, body=None, **kw):
        r = self.request(method, path, body=body, **kw)
        expect_set = expect if isinstance(expect, (tuple, list, set)) else (expect,)
        if r.status not in expect_set:
            raise AssertionError("%s %s%s: expected %s, got %s: %s" % (
                method, path, "" if body is None else " " + json.dumps(body)[:300],
                "/".join(map(str, expect_set)), r.status, r.raw[:500].decode("utf-8", "replace")))
        return r.body

    # ---- setup and login ------------------------------------------------

    def read_setup_token(self):
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            try:
                with open(self.setup_token_path) as f:
                    tok = f.read().strip()
                if tok:
                    return tok
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("no setup token in %s\n%s" % (self.setup_token_path, self.log_tail()))
            time.sleep(0.02)

    def setup(self, username="admin", password="correct horse battery"):
        self.setup_token = self.read_setup_token()
        self.call("POST", "/setup", 201, {"setup_token": self.setup_token,
                                          "username": username, "password": password})
        self.admin_user = username
        self.admin_password = password
        self.admin_token = self.login(username, password)["token"]
        return self.admin_token

    def login(self, username, password):
        """POST /login; returns the parsed body (token, csrf, expires_at, user)."""
        body = self.call("POST", "/login", 200, {"username": username, "password": password})
        return body

    def admin(self, method, path, expect, body=None, **kw):
        return self.call(method, path, expect, body, token=self.admin_token, **kw)

    def create_user(self, username, password="user password 1", role="user"):
        self.admin("POST", "/users", 201, {"username": username, "password": password, "role": role})
        return self.login(username, password)["token"]

    # ---- database --------------------------------------------------------

    def db_connect(self):
        return sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=5)

    def db_snapshot(self):
        """Full SQL dump of the database through a read-only connection."""
        con = self.db_connect()
        try:
            return list(con.iterdump())
        finally:
            con.close()

    def db_query(self, sql, args=()):
        con = self.db_connect()
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def db_tables(self):
        return [r[0] for r in self.db_query(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]

    def db_table_named(self, *candidates):
        tables = self.db_tables()
        for c in candidates:
            if c in tables:
                return c
        raise AssertionError("none of the tables %s in the database (tables: %s)" % (
            candidates, tables))


def diff_dumps(before, after, limit=20):
    """A short human-readable difference between two SQL dumps."""
    b, a = set(before), set(after)
    lines = ["-" + x for x in before if x not in a][:limit]
    lines += ["+" + x for x in after if x not in b][:limit]
    return "\n".join(l[:300] for l in lines) or "(same lines, different order)"


def assert_db_unchanged(server, before, what=""):
    after = server.db_snapshot()
    if before != after:
        raise AssertionError("database changed%s:\n%s" % (
            " by " + what if what else "", diff_dumps(before, after)))


def assert_error(r, status, what=""):
    """r must have the exact status and a JSON body {"error": string}."""
    label = what or "request"
    if r.status != status:
        raise AssertionError("%s: expected %s, got %s: %s" % (
            label, status, r.status, r.raw[:500].decode("utf-8", "replace")))
    ctype = r.headers.get("Content-Type", "")
    if not ctype.startswith("application/json"):
        raise AssertionError("%s: error response Content-Type is %r, not application/json (body %r)"
                             % (label, ctype, r.raw[:200]))
    if not isinstance(r.body, dict) or not isinstance(r.body.get("error"), str) or not r.body["error"]:
        raise AssertionError("%s: error body is not {\"error\": string}: %r" % (label, r.raw[:300]))


def check(cond, msg="check failed", *args):
    if not cond:
        raise AssertionError(msg % args if args else msg)


def eq(actual, expected, what="value"):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


# ---- registry --------------------------------------------------------------

_modules = {}   # module name -> {"tests": [...], "setup": fn, "teardown": fn}
_order = []
_servers = []   # servers started by the module being run


def start_server(**kw):
    """Start a Server that the runner stops (asserting a clean exit) after
    the current module's tests."""
    srv = Server(**kw)
    _servers.append(srv)
    return srv.start()


def _mod(fn):
    name = fn.__module__
    if name not in _modules:
        _modules[name] = {"tests": [], "setup": None, "teardown": None}
        _order.append(name)
    return _modules[name]


def test(fn):
    _mod(fn)["tests"].append(fn)
    return fn


def setup_module(fn):
    _mod(fn)["setup"] = fn
    return fn


def teardown_module(fn):
    _mod(fn)["teardown"] = fn
    return fn


def _short(modname):
    return modname.rsplit(".", 1)[-1]


def _print_failure(name, exc_info):
    print("not ok - %s" % name)
    text = "".join(traceback.format_exception(*exc_info))
    for line in text.rstrip().splitlines():
        print("#   " + line)
    sys.stdout.flush()


def run_all(selected=None):
    """Run every registered test (or those whose "module.name" contains one
    of the strings in selected). Returns the exit status."""
    passed = failed = skipped = 0
    for modname in _order:
        mod = _modules[modname]
        short = _short(modname)
        tests = [t for t in mod["tests"]
                 if not selected or any(s in "%s.%s" % (short, t.__name__) for s in selected)]
        if not tests:
            continue
        del _servers[:]
        skip_reason = None
        setup_exc = None
        if mod["setup"]:
            try:
                mod["setup"]()
            except Skip as e:
                skip_reason = str(e)
            except Exception:
                setup_exc = sys.exc_info()
        for t in tests:
            name = "%s.%s" % (short, t.__name__)
            if skip_reason is not None:
                print("skip - %s # %s" % (name, skip_reason))
                skipped += 1
                continue
            if setup_exc is not None:
                if setup_exc is not True:
                    _print_failure(name + " (module setup failed)", setup_exc)
                    setup_exc = True    # the traceback once per module
                else:
                    print("not ok - %s (module setup failed)" % name)
                failed += 1
                continue
            try:
                t()
            except Skip as e:
                print("skip - %s # %s" % (name, e))
                skipped += 1
            except Exception:
                _print_failure(name, sys.exc_info())
                for srv in _servers:
                    if srv.proc is not None and "server.log" not in str(sys.exc_info()[1]):
                        for line in srv.log_tail(15).splitlines():
                            print("#   " + line)
                failed += 1
            else:
                print("ok - %s" % name)
                passed += 1
            sys.stdout.flush()
        if mod["teardown"]:
            try:
                mod["teardown"]()
            except Exception:
                _print_failure("%s.teardown" % short, sys.exc_info())
                failed += 1
        for i, srv in enumerate(_servers):
            if srv.proc is None:
                continue
            name = "%s.server%s_exits_cleanly_on_sigterm" % (short, "" if i == 0 else i + 1)
            try:
                srv.stop()
            except Exception:
                _print_failure(name, sys.exc_info())
                failed += 1
            else:
                print("ok - %s" % name)
                passed += 1
        del _servers[:]
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    return 1 if failed else 0
