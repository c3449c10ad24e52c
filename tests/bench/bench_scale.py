#!/usr/bin/env python3
"""Benchmarks 1 (control-plane scale) and 4 (API throughput), stdlib only.

A real meshgated with a real mosquitto (tools/broker-setup.sh, dynamic
security) on loopback, in a temporary directory. For each N in --sizes:

  - hosts are registered over HTTP (POST /api/v1/hosts/register, one
    keep-alive connection, no real WireGuard) until N or until the
    registration time budget is spent; the rest, if any, is seeded straight
    into the SQLite database (hosts + nodes rows as the server writes them,
    no broker accounts) with meshgated stopped, then meshgated is started
    again. The report says how many hosts came each way.
  - one extra join (register) and one leave (DELETE /hosts/self): server CPU
    time (sum of /proc/PID/task/*/schedstat, ns), messages and bytes
    published (counted by an observer: a dynsec client allowed to subscribe
    to meshgate/#, created with mosquitto_ctrl and the broker admin account,
    reading with mosquitto_sub -F '%U %l %t'), time from sending the request
    until the observer has the last message of the change, server RSS.
    The observer stands for all affected hosts (one subscriber for every
    host topic rather than N connections).
  - the anchor: the full-recompute broadcast Netmaker and headscale send
    (every host gets its full peer list), computed here by a reference
    implementation from the real peer entries of this network: exact bytes
    (checked against real dumps for sampled hosts) and the time to build
    the messages (Python json.dumps; timed for a sample of hosts and scaled
    to all of them).

With --api-out, at the largest N: wrk -t1/-t2 against GET /api/v1/hosts and
GET /api/v1/networks/bench/nodes, anchored on GET /api/v1/setup.

  bench_scale.py --out scale.json [--api-out api.json] [--sizes 1000,10000]
                 [--budget SECONDS]
"""

import argparse
import base64
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("BUILD", "build")
BIN = BUILD if os.path.isabs(BUILD) else os.path.join(ROOT, BUILD)
NET = "bench"
NET_RANGE = "10.64.0.0/16"
ADMIN_PASS = "bench correct horse battery"
TICK = os.sysconf("SC_CLK_TCK")


def say(fmt, *a):
    print("  " + (fmt % a if a else fmt), flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_tcp(port, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def pubkey():
    return base64.b64encode(os.urandom(32)).decode()


class Api:
    """One keep-alive HTTP connection to meshgated."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def call(self, method, path, body=None, token=None, ok=(200, 201, 204)):
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = "0"
        if token:
            headers["Authorization"] = "Bearer " + token
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request(method, "/api/v1" + path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if resp.status not in ok:
            raise RuntimeError("%s %s: HTTP %d %s" % (method, path, resp.status, raw[:300]))
        return json.loads(raw) if raw else None


class Cpu:
    """CPU time of a process: all its threads' schedstat run time (ns)."""

    @staticmethod
    def ns(pid):
        total = 0
        try:
            for t in os.listdir("/proc/%d/task" % pid):
                try:
                    with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                        total += int(f.read().split()[0])
                except OSError:
                    pass
        except OSError:
            pass
        return total

    @staticmethod
    def ticks(pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])     # utime + stime


def rss_kb(pid, key="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Lab:
    def __init__(self, tmp):
        self.t = tmp
        self.mosq = None
        self.srv = None
        self.srv_log = os.path.join(tmp, "meshgated.log")
        self.bport = free_port()
        self.admin_token = None
        self.api = None

    # --- processes ---------------------------------------------------------
    def broker_start(self):
        subprocess.run(["sh", os.path.join(ROOT, "tools", "broker-setup.sh"), self.t, str(self.bport), "127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL)
        # Bench only: the observer alone subscribes to every host's topic and
        # gets a whole change's burst at once; mosquitto's default per-client
        # queue (1000 messages) would drop the rest. Real hosts get one each.
        with open(os.path.join(self.t, "mosquitto.conf"), "a") as f:
            f.write("max_queued_messages 0\n")
        with open(os.path.join(self.t, "broker-admin")) as f:
            self.broker_user, self.broker_pass = f.read().split("\n")[:2]
        self.mosq = subprocess.Popen(["mosquitto", "-c", os.path.join(self.t, "mosquitto.conf")],
                                     stdout=open(os.path.join(self.t, "mosquitto.log"), "ab"),
                                     stderr=subprocess.STDOUT)
        if not wait_tcp(self.bport):
            raise RuntimeError("mosquitto did not start")

    def server_start(self):
        d = os.path.join(self.t, "srv")
        os.makedirs(d, mode=0o700, exist_ok=True)
        pf = os.path.join(d, "port")
        if os.path.exists(pf):
            os.unlink(pf)
        self.srv = subprocess.Popen(
            [os.path.join(BIN, "meshgated"), "--data-dir", d, "--listen", "127.0.0.1:0", "--port-file", pf,
             "--broker", "mqtt://127.0.0.1:%d" % self.bport,
             "--broker-admin-file", os.path.join(self.t, "broker-admin"), "--log-level", "debug"],
            stdin=subprocess.DEVNULL, stdout=open(self.srv_log, "ab"), stderr=subprocess.STDOUT)
        end = time.monotonic() + 15
        while True:
            if self.srv.poll() is not None:
                raise RuntimeError("meshgated exited: %s" % self.log_tail())
            try:
                txt = open(pf).read().strip()
                if txt.isdigit():
                    self.port = int(txt)
                    break
            except OSError:
                pass
            if time.monotonic() > end:
                raise RuntimeError("meshgated did not start")
            time.sleep(0.02)
        self.api = Api(self.port)
        self.db = os.path.join(d, "meshgate.db")
        # Wait until the publisher is connected (the first change publishes).
        time.sleep(1.0)

    def server_stop(self):
        if self.srv and self.srv.poll() is None:
            self.srv.send_signal(signal.SIGTERM)
            try:
                self.srv.wait(20)
            except subprocess.TimeoutExpired:
                self.srv.kill()
                self.srv.wait()
        self.srv = None

    def stop(self):
        self.server_stop()
        if self.mosq and self.mosq.poll() is None:
            self.mosq.terminate()
            try:
                self.mosq.wait(10)
            except subprocess.TimeoutExpired:
                self.mosq.kill()
                self.mosq.wait()

    def log_tail(self, n=20):
        try:
            return "\n".join(open(self.srv_log, errors="replace").read().splitlines()[-n:])
        except OSError:
            return ""

    # --- admin -------------------------------------------------------------
    def setup(self):
        tok = open(os.path.join(self.t, "srv", "setup-token")).read().strip()
        self.api.call("POST", "/setup", {"setup_token": tok, "username": "admin", "password": ADMIN_PASS})
        self.admin_token = self.api.call("POST", "/login", {"username": "admin", "password": ADMIN_PASS})["token"]
        self.api.call("POST", "/networks", {"name": NET, "ipv4_range": NET_RANGE}, self.admin_token)
        k = self.api.call("POST", "/enrollment-keys", {"networks": [NET], "unlimited": True}, self.admin_token)
        self.enroll = k["token"]

    def observer_account(self):
        base = ["mosquitto_ctrl", "-h", "127.0.0.1", "-p", str(self.bport), "-u", self.broker_user,
                "-P", self.broker_pass, "dynsec"]
        self.obs_pass = secrets.token_hex(16)
        for args in (["createRole", "bench-observer"],
                     ["addRoleACL", "bench-observer", "subscribePattern", "meshgate/#", "allow"],
                     ["createClient", "bench-observer", "-p", self.obs_pass],
                     ["addClientRole", "bench-observer", "bench-observer"]):
            subprocess.run(base + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)

    def register(self, name):
        return self.api.call("POST", "/hosts/register",
                             {"token": self.enroll, "public_key": pubkey(), "name": name,
                              "endpoint": "198.18.%d.%d:51821" % (random.randint(0, 255), random.randint(1, 254))})


class Observer:
    """mosquitto_sub on meshgate/#, one line per message: time, length, topic."""

    def __init__(self, lab, path):
        self.path = path
        self.proc = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(lab.bport), "-u", "bench-observer", "-P", lab.obs_pass,
             "-q", "1", "-t", "meshgate/#", "-F", "%U %l %t"],
            stdout=open(path, "w"), stderr=subprocess.DEVNULL)
        time.sleep(1.0)          # connected and subscribed

    def lines(self):
        out = []
        try:
            with open(self.path) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 3 and line.endswith("\n"):
                        out.append((float(p[0]), int(p[1]), p[2]))
        except OSError:
            pass
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


CHANGE_RE = re.compile(r"change (\d+): (\d+) of (\d+) update messages published")


def last_change(log, after_size):
    with open(log, errors="replace") as f:
        f.seek(after_size)
        found = None
        for line in f:
            m = CHANGE_RE.search(line)
            if m:
                found = tuple(int(x) for x in m.groups())
        return found


def measure_change(lab, obs, what, do):
    """Runs do() (one HTTP request) and measures the change it causes."""
    pid = lab.srv.pid
    seen_before = len(obs.lines())
    log_size = os.path.getsize(lab.srv_log)
    cpu0, tick0, mcpu0 = Cpu.ns(pid), Cpu.ticks(pid), Cpu.ns(lab.mosq.pid)
    t0 = time.time()
    result = do()
    t_http = time.time() - t0
    end = time.monotonic() + 60
    ch = None
    while time.monotonic() < end:
        ch = ch or last_change(lab.srv_log, log_size)
        msgs = obs.lines()[seen_before:]
        if ch and len(msgs) >= ch[1]:
            break
        time.sleep(0.05)
    time.sleep(0.3)              # nothing else arrives
    cpu1, tick1 = Cpu.ns(pid), Cpu.ticks(pid)
    msgs = obs.lines()[seen_before:]
    r = {
        "what": what,
        "http_s": round(t_http, 4),
        "server_cpu_ms": round((cpu1 - cpu0) / 1e6, 2),
        "server_cpu_ticks_ms": round((tick1 - tick0) * 1000 / TICK, 1),
        "broker_cpu_ms": round((Cpu.ns(lab.mosq.pid) - mcpu0) / 1e6, 2),
        "published": ch[1] if ch else None,
        "messages": len(msgs),
        "bytes": sum(m[1] for m in msgs),
        "max_message_bytes": max((m[1] for m in msgs), default=0),
        "last_subscriber_s": round(max(m[0] for m in msgs) - t0, 4) if msgs else None,
        "server_rss_kb": rss_kb(pid),
    }
    return r, result


def seed(lab, start, count):
    """Hosts start..start+count-1 straight into SQLite (meshgated stopped)."""
    db = sqlite3.connect(lab.db)
    db.execute("PRAGMA foreign_keys = ON")
    net_id = db.execute("SELECT id FROM networks WHERE name = ?", (NET,)).fetchone()[0]
    used = {r[0] for r in db.execute("SELECT address FROM nodes WHERE network_id = ?", (net_id,))}
    now = int(time.time())
    off = 1
    with db:
        for i in range(start, start + count):
            while True:
                addr = "10.64.%d.%d" % (off >> 8, off & 255)
                off += 1
                if addr not in used and (off - 1) & 255 not in (0, 255):
                    break
            cur = db.execute(
                "INSERT INTO hosts (name, public_key, listen_port, endpoint_override, observed_ip, os, version,"
                " token_hash, revision, created_at) VALUES (?, ?, 51821, ?, '127.0.0.1', '', '', ?, 1, ?)",
                ("h%05d" % i, pubkey(), "198.18.%d.%d:51821" % (i >> 8 & 255, 1 + i % 250),
                 secrets.token_hex(32), now))
            db.execute("INSERT INTO nodes (host_id, network_id, address, address6, connected, created_at)"
                       " VALUES (?, ?, ?, NULL, 1, ?)", (cur.lastrowid, net_id, addr, now))
    db.close()


def full_recompute(peers, n_hosts):
    """The anchor: every host gets its full peer list (all other hosts).

    peers: the compact JSON text of every host's peer entry (as CONFIG.peers
    has it). Returns (bytes, seconds), the time from building K sampled
    hosts' messages with json.dumps, scaled to all hosts."""
    lens = [len(p) for p in peers]
    total = sum(lens)
    n = len(peers)
    # A host's message: {"host_id":H,"base_revision":R,"revision":R+1,"action":"node.join","config":{...,"peers":[...]}}
    def msg(h, plist):
        return json.dumps({"host_id": h, "base_revision": 41, "revision": 42, "action": "node.join",
                           "config": {"host_id": h, "name": "h%05d" % h, "revision": 42, "listen_port": 51821,
                                      "mtu": 1420, "addresses": ["10.64.0.1/16"],
                                      "networks": [{"name": NET, "revision": 4242, "ipv4_range": NET_RANGE,
                                                    "ipv6_range": None, "address": "10.64.0.1",
                                                    "address6": None}],
                                      "peers": plist}}, separators=(",", ":"))
    objs = [json.loads(p) for p in peers]
    empty = [len(msg(h, [])) for h in range(n)]
    k = min(n, 20)
    sample = random.sample(range(n), k)
    t0 = time.perf_counter()
    exact = True
    for h in sample:
        m = msg(h, objs[:h] + objs[h + 1:])
        # formula: wrapper + entries of the others + commas between them
        exact = exact and len(m) == empty[h] + total - lens[h] + (n - 2)
    dt = time.perf_counter() - t0
    nbytes = sum(empty[h] + total - lens[h] + (n - 2) for h in range(n))
    return nbytes, dt / k * n, exact


def run_wrk(port, token, path, threads, seconds):
    hdr = "Authorization: Bearer " + token
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % (threads * 4), "-d%ds" % seconds, "--timeout", "30s",
                          "--latency",
                          "-H", hdr, "http://127.0.0.1:%d/api/v1%s" % (port, path)],
                         check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    n = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p99_ms": p99, "requests": n, "non2xx": int(errs.group(1)) if errs else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--api-out")
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--budget", type=float, default=float(os.environ.get("BENCH_REG_BUDGET", "90")),
                    help="seconds of HTTP registration in all; the rest is seeded")
    ap.add_argument("--wrk-seconds", type=int, default=5)
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]

    tmp = tempfile.mkdtemp(prefix="mgbench-scale.")
    os.chmod(tmp, 0o711)
    lab = Lab(tmp)
    res = {"bench": "scale", "network_range": NET_RANGE, "sizes": [], "method": __doc__.split("\n\n")[1]}
    try:
        lab.broker_start()
        lab.server_start()
        lab.setup()
        lab.observer_account()
        have = 0
        reg_spent = 0.0
        for n in sizes:
            # --- grow to n ---
            http_n = 0
            t0 = time.monotonic()
            chunk_rates = []
            c0, ct = have, time.monotonic()
            while have < n and reg_spent + (time.monotonic() - t0) < a.budget:
                lab.register("h%05d" % have)
                have += 1
                http_n += 1
                if have % 500 == 0:
                    now = time.monotonic()
                    chunk_rates.append((have, round((have - c0) / (now - ct), 1)))
                    c0, ct = have, now
            spent = time.monotonic() - t0
            reg_spent += spent
            seeded = n - have
            if seeded:
                lab.server_stop()
                seed(lab, have, seeded)
                have = n
                lab.server_start()
            size = {"n": n, "registered_http": http_n, "seeded_sql": seeded,
                    "register_s": round(spent, 2),
                    "register_per_s": round(http_n / spent, 1) if http_n else None,
                    "register_per_s_by_500": chunk_rates,
                    "server_rss_kb_at_n": rss_kb(lab.srv.pid), "server_hwm_kb": rss_kb(lab.srv.pid, "VmHWM"),
                    "broker_rss_kb": rss_kb(lab.mosq.pid)}
            say("N=%d hosts: %d registered over HTTP in %.1f s (%s/s%s), %d seeded into SQLite",
                n, http_n, spent, size["register_per_s"],
                ("; last 500: %s/s" % chunk_rates[-1][1]) if chunk_rates else "", seeded)

            # --- one join, one leave ---
            obs = Observer(lab, os.path.join(tmp, "observer-%d.log" % n))
            join, reg = measure_change(lab, obs, "join", lambda: lab.register("extra%05d" % n))
            host_token = reg["host_token"]
            peers = [json.dumps(p, separators=(",", ":")) for p in reg["config"]["peers"]]
            leave, _ = measure_change(lab, obs, "leave",
                                      lambda: lab.api.call("DELETE", "/hosts/self", token=host_token))
            obs.stop()
            # The joiner's own entry, as the others got it, completes the list.
            peers.append(peers[-1])
            ref_bytes, ref_s, exact = full_recompute(peers, n + 1)
            size.update({"join": join, "leave": leave,
                         "full_recompute": {"messages": n + 1, "bytes": ref_bytes, "build_s": round(ref_s, 3),
                                            "bytes_formula_checked": exact,
                                            "how": "python json.dumps, %d hosts timed, scaled" % min(n + 1, 20)},
                         "server_rss_kb": rss_kb(lab.srv.pid), "server_hwm_kb": rss_kb(lab.srv.pid, "VmHWM")})
            for ch in (join, leave):
                say("  %-5s: %5d msgs, %9d B (max msg %d B), server CPU %.1f ms, last subscriber %.3f s,"
                    " HTTP %.3f s", ch["what"], ch["messages"], ch["bytes"], ch["max_message_bytes"],
                    ch["server_cpu_ms"], ch["last_subscriber_s"] or -1, ch["http_s"])
            say("  anchor full recompute: %d msgs, %d B, %.2f s to build (Python)", n + 1, ref_bytes, ref_s)
            say("  ratio bytes join / full recompute: %.4f (%.0fx fewer); server RSS %.1f MB (peak %.1f MB)",
                join["bytes"] / ref_bytes, ref_bytes / max(join["bytes"], 1), size["server_rss_kb"] / 1024,
                size["server_hwm_kb"] / 1024)
            res["sizes"].append(size)

        big = res["sizes"][-1]
        res["targets"] = {
            "n": big["n"],
            "last_subscriber_under_1s": max(big["join"]["last_subscriber_s"] or 99,
                                            big["leave"]["last_subscriber_s"] or 99) < 1.0,
            "rss_under_200MB": big["server_hwm_kb"] < 200 * 1024,
            "bytes_per_affected_host_join": round(big["join"]["bytes"] / max(big["join"]["messages"], 1), 1),
        }
        if len(res["sizes"]) >= 2:
            s0, s1 = res["sizes"][0], res["sizes"][-1]
            res["targets"]["join_bytes_growth_vs_hosts"] = round(
                (s1["join"]["bytes"] / s0["join"]["bytes"]) / (s1["n"] / s0["n"]), 2)
        say("targets at N=%d: last subscriber < 1 s: %s; server RSS < 200 MB: %s; bytes per affected host %.0f",
            big["n"], res["targets"]["last_subscriber_under_1s"], res["targets"]["rss_under_200MB"],
            res["targets"]["bytes_per_affected_host_join"])
        if "join_bytes_growth_vs_hosts" in res["targets"]:
            say("join bytes grew %.2fx as fast as the host count (1.00 = linear in affected hosts)",
                res["targets"]["join_bytes_growth_vs_hosts"])
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)

        if a.api_out:
            api = {"bench": "api", "n_nodes": have, "wrk_seconds": a.wrk_seconds, "connections_per_thread": 4,
                   "routes": {}}
            say("API at %d nodes (wrk, %d s each, 4 connections per thread):", have, a.wrk_seconds)
            for path in ("/setup", "/hosts", "/networks/%s/nodes" % NET):
                for t in (1, 2):
                    r = run_wrk(lab.port, lab.admin_token, path, t, a.wrk_seconds)
                    api["routes"].setdefault(path, {})["t%d" % t] = r
            for t in (1, 2):
                base = api["routes"]["/setup"]["t%d" % t]["rps"]
                for path, v in api["routes"].items():
                    r = v["t%d" % t]
                    r["ratio_to_setup"] = round(r["rps"] / base, 5)
                    say("  -t%d %-22s %9.1f req/s  p99 %8.1f ms  (%d requests)  ratio to /setup %.5f%s", t, path,
                        r["rps"], r["p99_ms"], r["requests"], r["ratio_to_setup"], "  (%d non-2xx!)" % r["non2xx"] if r["non2xx"] else "")
            with open(a.api_out, "w") as f:
                json.dump(api, f, indent=1)
    except Exception:
        sys.stderr.write("bench_scale: failed; meshgated log tail:\n%s\n" % lab.log_tail())
        raise
    finally:
        lab.stop()
        if os.environ.get("KEEP_TMP"):
            say("KEEP_TMP: %s", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
