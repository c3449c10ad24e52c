"""meshgatectl gateways and ext clients against a real server: node egress and
ingress, extclient create/list/show/update/delete, the .conf to a 0600 file,
QR codes (PNG decoded with zbarimg, UTF-8 half blocks on the terminal) and
bad usage. Skipped when the meshgatectl binary ($MESHGATECTL) doesn't exist."""

import json
import os
import shutil
import stat
import subprocess

from harness import (Skip, ctl_env, run_ctl, check, eq, meshgatectl_path, random_pubkey, setup_module,
                     start_server, test)

S = None
CTL = None
ENV = {}
ST = {}
PW = "ctl gateways admin password"
NET = "ctlgw"
V4, V6 = "10.90.0.0/24", "fd00:90::/64"


@setup_module
def start():
    global S, CTL
    CTL = meshgatectl_path()
    if not os.access(CTL, os.X_OK):
        raise Skip("meshgatectl not found at %s" % CTL)
    S = start_server()
    ENV.update(ctl_env(S))
    S.setup("admin", PW)
    ctl("login", "admin", env={"MESHGATE_PASSWORD": PW})
    ctl("network", "create", NET, "--ipv4", V4, "--ipv6", V6)
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "unlimited": True})["token"]
    for name in ("gw1", "peer1"):
        r = S.call("POST", "/hosts/register", 201, {
            "token": key, "public_key": random_pubkey(), "name": name,
            "endpoint": "198.51.100.7:51821" if name == "gw1" else "198.51.100.8:51821"})
        ST[name] = r["host"]["id"]
    ST["outdir"] = os.path.join(S.dir, "out")
    os.mkdir(ST["outdir"], 0o700)


def ctl(*args, env=None, expect=0):
    return run_ctl(CTL, ENV, args, env=env, expect=expect)


def ctl_json(*args):
    p = ctl("--json", *args)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise AssertionError("meshgatectl --json %s: stdout is not JSON: %r" % (
            " ".join(map(str, args)), p.stdout[:500]))


def node(name):
    return S.admin("GET", "/networks/%s/nodes/%s" % (NET, ST[name]), 200)


def out(name):
    return os.path.join(ST["outdir"], name)


def api_config(cid):
    r = S.request("GET", "/extclients/%s/config" % cid, token=S.admin_token)
    eq(r.status, 200, "GET /extclients/%s/config" % cid)
    return r.raw


@test
def ctl_node_egress():
    n = ctl_json("node", "egress", NET, ST["gw1"], "--range", "192.168.50.0/24",
                 "--range", "172.20.0.0/16,nonat")
    eq(n["egress"], [{"range": "172.20.0.0/16", "nat": False, "wins": False},
                     {"range": "192.168.50.0/24", "nat": True, "wins": False}]
       if n["egress"][0]["range"].startswith("172") else
       [{"range": "192.168.50.0/24", "nat": True, "wins": False},
        {"range": "172.20.0.0/16", "nat": False, "wins": False}], "egress in the PUT answer")
    got = {(e["range"], e["nat"]) for e in node("gw1")["egress"]}
    eq(got, {("192.168.50.0/24", True), ("172.20.0.0/16", False)}, "egress via the API")
    # The node table shows it.
    p = ctl("node", "list", NET)
    lines = p.stdout.splitlines()
    check(lines and "INGRESS" in lines[0] and "EGRESS" in lines[0], "node list header: %r", lines[:1])
    row = [l for l in lines if l.startswith(str(ST["gw1"]) + " ")]
    check(row and "172.20.0.0/16(nonat)" in row[0] and "192.168.50.0/24" in row[0],
          "node list row of gw1: %r", row)
    # Replacing: --internet with --wins.
    ctl("node", "egress", NET, ST["gw1"], "--internet", "--wins")
    got = {(e["range"], e["nat"], e["wins"]) for e in node("gw1")["egress"]}
    eq(got, {("0.0.0.0/0", True, True), ("::/0", True, True)}, "internet gateway via the API")
    p = ctl("node", "egress", NET, ST["gw1"], "--remove")
    check("egress" in p.stdout, "egress --remove prints the node: %r", p.stdout)
    eq(node("gw1")["egress"], [], "egress after --remove")


@test
def ctl_node_egress_bad_usage():
    before = S.db_snapshot()
    for bad in ("10.1.2.3/16", "not-a-cidr", "10.0.0.0/33", "192.168.1.0/24,maybe"):
        p = ctl("node", "egress", NET, ST["gw1"], "--range", bad, expect=2)
        check(p.stderr.strip(), "bad --range %s: no message on stderr", bad)
    p = ctl("node", "egress", NET, ST["gw1"], expect=2)
    check("--range" in p.stderr, "egress without ranges: %r", p.stderr)
    p = ctl("node", "egress", NET, ST["gw1"], "--remove", "--range", "10.5.0.0/16", expect=2)
    check(p.stderr.strip(), "--remove with --range: no message")
    p = ctl("node", "ingress", NET, ST["gw1"], "--range", "10.5.0.0/16", expect=2)
    check("unknown option" in p.stderr, "ingress --range: %r", p.stderr)
    # The server's checks: the network's own range is refused (400).
    p = ctl("node", "egress", NET, ST["gw1"], "--range", "10.90.0.0/25", expect=1)
    check("HTTP 400" in p.stderr and p.stderr.startswith("meshgatectl: "),
          "own range: stderr %r", p.stderr)
    p = ctl("node", "egress", NET, "999999", "--range", "10.5.0.0/16", expect=1)
    check("HTTP 404" in p.stderr, "unknown node: stderr %r", p.stderr)
    check(S.db_snapshot() == before, "database changed by refused egress commands")


@test
def ctl_node_ingress():
    n = ctl_json("node", "ingress", NET, ST["gw1"])
    eq(n["ingress"], True, "ingress in the PUT answer")
    eq(node("gw1")["ingress"], True, "ingress via the API")
    nodes = ctl_json("node", "list", NET)
    eq({x["host_name"]: x["ingress"] for x in nodes}, {"gw1": True, "peer1": False}, "node list --json")
    ctl("node", "ingress", NET, ST["gw1"], "--remove")
    eq(node("gw1")["ingress"], False, "ingress after --remove")
    ctl("node", "ingress", NET, ST["gw1"])
    eq(node("gw1")["ingress"], True, "ingress again")


@test
def ctl_node_relay():
    n = ctl_json("node", "relay", NET, ST["gw1"], "--relayed", ST["peer1"])
    eq((n["relay"], n["relayed_by"]), ([ST["peer1"]], None), "relay in the PUT answer")
    eq(node("peer1")["relayed_by"], ST["gw1"], "peer1 relayed via the API")
    p = ctl("node", "list", NET)
    lines = p.stdout.splitlines()
    check(lines and "RELAY" in lines[0] and "RELAYED_BY" in lines[0], "node list header: %r", lines[:1])
    row = [l for l in lines if l.startswith(str(ST["peer1"]) + " ")]
    check(row and row[0].split()[-1] == str(ST["gw1"]), "node list row of peer1: %r", row)
    before = S.db_snapshot()
    for args in ((), ("--relayed", "x"), ("--relayed", "3,"), ("--relayed", "0"), ("--remove",)):
        p = ctl("node", "relay", NET, ST["gw1"], *args, expect=2)
        check(p.stderr.strip(), "node relay %s: no message on stderr", args)
    p = ctl("node", "unrelay", NET, ST["gw1"], "--relayed", ST["peer1"], expect=2)
    check("unknown option" in p.stderr, "unrelay --relayed: %r", p.stderr)
    # The server's checks: a node cannot relay itself (400).
    p = ctl("node", "relay", NET, ST["gw1"], "--relayed", "%s,%s" % (ST["peer1"], ST["gw1"]), expect=1)
    check("HTTP 400" in p.stderr and "itself" in p.stderr, "relaying itself: stderr %r", p.stderr)
    check(S.db_snapshot() == before, "database changed by refused relay commands")
    p = ctl("node", "unrelay", NET, ST["gw1"])
    check("relay" in p.stdout, "unrelay prints the node: %r", p.stdout)
    eq((node("gw1")["relay"], node("peer1")["relayed_by"]), ([], None), "after unrelay")


@test
def ctl_extclient_create_list_show():
    c = ctl_json("extclient", "create", NET, ST["gw1"], "phone", "--dns", "1.1.1.1",
                 "--dns", "9.9.9.9", "--mtu", "1380", "--keepalive", "25",
                 "--site", "192.168.77.0/24", "--expires-in", "3600")
    ST["phone"] = c["id"]
    eq((c["name"], c["network"], c["gateway_host_id"], c["dns"], c["mtu"], c["keepalive"],
        c["extra_allowed_ips"], c["full_tunnel"], c["enabled"], c["has_private_key"]),
       ("phone", NET, ST["gw1"], ["1.1.1.1", "9.9.9.9"], 1380, 25, ["192.168.77.0/24"], False,
        True, True), "created ext client")
    check(isinstance(c["expires_at"], int), "expires_at: %r", c["expires_at"])
    api = S.admin("GET", "/extclients/%s" % c["id"], 200)
    eq(api["name"], "phone", "ext client via the API")

    pub = random_pubkey()
    c2 = ctl_json("extclient", "create", NET, ST["gw1"], "laptop", "--public-key", pub,
                  "--full-tunnel", "--disabled")
    ST["laptop"] = c2["id"]
    eq((c2["public_key"], c2["full_tunnel"], c2["enabled"], c2["has_private_key"]),
       (pub, True, False, False), "ext client with its own key")

    p = ctl("extclient", "list")
    lines = p.stdout.splitlines()
    eq(lines[0].split(), ["ID", "NAME", "NETWORK", "GATEWAY", "ADDRESS", "ENABLED", "EXPIRES", "OWNER"],
       "extclient list header")
    rows = {l.split()[1]: l.split() for l in lines[1:]}
    eq(sorted(rows), ["laptop", "phone"], "extclient list rows")
    eq((rows["phone"][2], rows["phone"][3], rows["phone"][5]), (NET, "gw1", "yes"), "phone's row")
    eq(rows["laptop"][5], "no", "laptop's ENABLED")
    check(rows["phone"][6].endswith("Z") and rows["laptop"][6] == "-", "EXPIRES: %r", rows)
    lst = ctl_json("extclient", "list", "--network", NET)
    eq(sorted(x["name"] for x in lst), ["laptop", "phone"], "extclient list --network")
    eq(ctl_json("extclient", "list", "--network", "nope"), [], "list of an unknown network")

    p = ctl("extclient", "show", ST["phone"])
    check("name:" in p.stdout and "phone" in p.stdout, "extclient show: %r", p.stdout)
    check(not [l for l in p.stdout.splitlines() if l.startswith("private_key:")],
          "show printed a private key field: %r", p.stdout)


@test
def ctl_extclient_update():
    c = ctl_json("extclient", "update", ST["phone"], "--disable", "--no-expiry", "--dns", "8.8.8.8",
                 "--full-tunnel", "--name", "phone2")
    eq((c["enabled"], c["expires_at"], c["dns"], c["full_tunnel"], c["name"]),
       (False, None, ["8.8.8.8"], True, "phone2"), "updated ext client")
    api = S.admin("GET", "/extclients/%s" % ST["phone"], 200)
    eq((api["enabled"], api["name"]), (False, "phone2"), "update via the API")
    c = ctl_json("extclient", "update", ST["phone"], "--enable", "--split-tunnel", "--name", "phone")
    eq((c["enabled"], c["full_tunnel"], c["name"]), (True, False, "phone"), "updated back")
    for args in ((), ("--enable", "--disable"), ("--full-tunnel", "--split-tunnel"),
                 ("--expires-in", "60", "--no-expiry"), ("--dns", "not-an-ip"), ("--bogus",)):
        p = ctl("extclient", "update", ST["phone"], *args, expect=2)
        check(p.stderr.strip(), "update %s: no message", args)
    p = ctl("extclient", "update", "999999", "--disable", expect=1)
    check(p.stderr.startswith("meshgatectl: ") and "HTTP 404" in p.stderr, "unknown id: %r", p.stderr)


@test
def ctl_extclient_config_file():
    want = api_config(ST["phone"])
    check(want.startswith(b"[Interface]") and b"PrivateKey" in want, "API config: %r", want[:80])
    p = ctl("extclient", "config", ST["phone"])
    eq(p.out, want, "extclient config to stdout")
    path = out("phone.conf")
    old = os.umask(0o022)
    try:
        ctl("extclient", "config", ST["phone"], "-o", path)
    finally:
        os.umask(old)
    eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "mode of the .conf")
    with open(path, "rb") as f:
        eq(f.read(), want, "config -o FILE content")
    # Replacing an existing file keeps 0600 and leaves no temporary behind.
    os.chmod(path, 0o644)
    ctl("extclient", "config", ST["phone"], "-o", path)
    eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "mode of the replaced .conf")
    eq(sorted(os.listdir(ST["outdir"])), ["phone.conf"], "files in the output directory")
    # A client with its own key has no .conf: 409, nothing written.
    p = ctl("extclient", "config", ST["laptop"], "-o", out("laptop.conf"), expect=1)
    check("HTTP 409" in p.stderr, "config of a client without a private key: %r", p.stderr)
    check(not os.path.exists(out("laptop.conf")), "a file was written for a refused download")
    p = ctl("extclient", "config", ST["phone"], "-o", os.path.join(S.dir, "no", "such", "x.conf"),
            expect=1)
    check(p.stderr.strip(), "unwritable -o: no message")
    check(want.decode() not in p.stderr, "the config leaked to stderr")


@test
def ctl_extclient_qr_png():
    if not shutil.which("zbarimg"):
        raise Skip("zbarimg not installed")
    want = api_config(ST["phone"])
    path = out("phone.png")
    ctl("extclient", "qr", ST["phone"], "-o", path)
    eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "mode of the PNG")
    with open(path, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "not a PNG")
    z = subprocess.run(["zbarimg", "--raw", "-q", "-Sbinary", path], capture_output=True, timeout=30)
    eq(z.returncode, 0, "zbarimg exit (stderr %r)" % z.stderr[:300])
    eq(z.stdout, want, "decoded QR (zbarimg --raw -Sbinary)")
    ctl("extclient", "qr", ST["phone"], "-o", out("phone.svg"))
    with open(out("phone.svg"), "rb") as f:
        check(b"<svg" in f.read(), "qr -o FILE.svg is not an SVG")
    for args in (("-o", out("phone.jpg")), ("--invert", "-o", out("p.png"))):
        p = ctl("extclient", "qr", ST["phone"], *args, expect=2)
        check(p.stderr.strip(), "qr %s: no message", args)


@test
def ctl_extclient_qr_terminal():
    blocks = set("\u2580\u2584\u2588 ")
    for inv in ((), ("--invert",)):
        p = ctl("extclient", "qr", ST["phone"], *inv)
        lines = p.stdout.splitlines()
        check(len(lines) > 20, "qr to stdout: %d lines", len(lines))
        eq(len(set(len(l) for l in lines)), 1, "all QR lines the same width")
        bad = set("".join(lines)) - blocks
        check(not bad, "characters other than half blocks and spaces: %r", bad)
        check(any(ch in p.stdout for ch in "\u2580\u2584\u2588"), "no block characters")
    normal = ctl("extclient", "qr", ST["phone"]).stdout
    check(normal != p.stdout, "--invert printed the same code")
    check(b"PrivateKey" not in ctl("extclient", "qr", ST["phone"]).out, "qr printed the config")


@test
def ctl_extclient_delete():
    p = ctl("node", "ingress", NET, ST["gw1"], "--remove", expect=1)
    check("HTTP 409" in p.stderr, "ingress --remove with clients: %r", p.stderr)
    for name in ("phone", "laptop"):
        p = ctl("extclient", "delete", ST[name])
        check("Deleted" in p.stdout, "delete output: %r", p.stdout)
        S.admin("GET", "/extclients/%s" % ST[name], 404)
    eq(ctl_json("extclient", "list"), [], "extclient list after delete")
    p = ctl("extclient", "delete", ST["phone"], expect=1)
    check("HTTP 404" in p.stderr, "second delete: %r", p.stderr)
    ctl("node", "ingress", NET, ST["gw1"], "--remove")
    eq(node("gw1")["ingress"], False, "ingress removed after the clients")


@test
def ctl_extclient_bad_usage():
    before = S.db_snapshot()
    cases = [
        ("extclient",),
        ("extclient", "frob"),
        ("extclient", "create", NET, ST["gw1"]),
        ("extclient", "create", NET, "gw1", "x"),
        ("extclient", "create", NET, ST["gw1"], "x", "--site", "10.1.2.3/8"),
        ("extclient", "create", NET, ST["gw1"], "x", "--dns", "1.2.3"),
        ("extclient", "create", NET, ST["gw1"], "x", "--mtu", "100"),
        ("extclient", "create", NET, ST["gw1"], "x", "--enable"),
        ("extclient", "show"),
        ("extclient", "show", "1", "extra"),
        ("extclient", "config", "1", "-o"),
        ("extclient", "list", "--bogus"),
    ]
    for args in cases:
        p = ctl(*args, expect=2)
        check(p.stderr.strip(), "%s: no message on stderr", args)
    # The server's checks: a gateway that is not an ingress node.
    p = ctl("extclient", "create", NET, ST["peer1"], "x", expect=1)
    check(p.stderr.startswith("meshgatectl: ") and "(HTTP " in p.stderr, "not ingress: %r", p.stderr)
    check(S.db_snapshot() == before, "database changed by refused extclient commands")
