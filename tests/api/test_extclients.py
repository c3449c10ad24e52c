"""External clients: server-made key pairs kept sealed, the wg-quick .conf
and its QR codes, what the ingress gateway and the other hosts see,
enable/disable, client-supplied keys, bad input, audit of downloads, and
per-user isolation."""

import base64
import ipaddress
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time

from harness import (Skip, assert_db_unchanged, assert_error, check, eq, random_pubkey, setup_module,
                     start_server, test)

S = None
ST = {"downloads": {}}
NET = "ext"
V4, V6 = "10.80.0.0/24", "fd00:80::/64"
EGRESS = ["192.168.50.0/24", "172.20.0.0/16"]
GW_ENDPOINT = "198.51.100.7:51821"
EXT_KEYS = {"id", "name", "network", "gateway_host_id", "gateway_name", "public_key", "address", "address6",
            "dns", "mtu", "keepalive", "full_tunnel", "extra_allowed_ips", "enabled", "expires_at", "expired",
            "owner_user_id", "has_private_key", "created_at", "effective_dns"}
EXT_PEER_KEYS = {"ext_client_id", "name", "public_key", "endpoint", "allowed_ips", "persistent_keepalive"}


@setup_module
def start():
    global S
    S = start_server()
    S.setup()
    S.admin("POST", "/networks", 201, {"name": NET, "ipv4_range": V4, "ipv6_range": V6})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "unlimited": True})["token"]
    for name, extra in (("gw", {"endpoint": GW_ENDPOINT}), ("eg", {}), ("p", {})):
        body = {"token": key, "public_key": random_pubkey(), "name": name}
        body.update(extra)
        r = S.call("POST", "/hosts/register", 201, body)
        ST[name] = {"id": r["host"]["id"], "tok": r["host_token"], "pub": r["host"]["public_key"],
                    "addr": r["nodes"][0]["address"].split("/")[0],
                    "addr6": r["nodes"][0]["address6"].split("/")[0]}
    S.admin("PUT", "/networks/%s/nodes/%s/ingress" % (NET, ST["gw"]["id"]), 200)
    S.admin("PUT", "/networks/%s/nodes/%s/egress" % (NET, ST["eg"]["id"]), 200,
            {"ranges": [{"range": r} for r in EGRESS]})
    ST["admin_id"] = S.admin("GET", "/me", 200)["id"]
    for u in ("alice", "bob"):
        tok = S.create_user(u, "%s password 1" % u)
        ST[u] = {"tok": tok, "id": S.call("GET", "/me", 200, token=tok)["id"]}


def bare(addr):
    return None if addr is None else addr.split("/")[0]


def config(name):
    return S.call("GET", "/hosts/self/config", 200, token=ST[name]["tok"])


def peer_for_host(cfg, name):
    found = [p for p in cfg["peers"] if p.get("host_id") == ST[name]["id"]]
    eq(len(found), 1, "peer entries for host %s in %s's config" % (name, cfg["name"]))
    return found[0]


def ext_peers(cfg):
    return [p for p in cfg["peers"] if "ext_client_id" in p]


def own(name):
    return ["%s/32" % ST[name]["addr"], "%s/128" % ST[name]["addr6"]]


def client_ips(c):
    return ["%s/32" % bare(c["address"])] + (["%s/128" % bare(c["address6"])] if c["address6"] else [])


def parse_conf(text):
    """wg-quick INI: [(section, {key: value})] (keys case-insensitive, lowered)."""
    sections = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1], {}))
            continue
        check(sections and "=" in line, "line outside a section or without '=': %r", line)
        k, v = line.split("=", 1)
        k = k.strip().lower()
        check(k not in sections[-1][1], "duplicate key %r in [%s]", k, sections[-1][0])
        sections[-1][1][k] = v.strip()
    return sections


def split(v):
    return [x.strip() for x in v.split(",") if x.strip()]


def wg_pubkey(priv):
    r = subprocess.run(["wg", "pubkey"], input=priv + "\n", capture_output=True, text=True, timeout=10)
    eq(r.returncode, 0, "wg pubkey exit status (%s)" % r.stderr)
    return r.stdout.strip()


def download(cid, what, token=None, expect=200):
    r = S.request("GET", "/extclients/%s/%s" % (cid, what), token=token or S.admin_token)
    if expect != 200:
        assert_error(r, expect, "GET %s of client %s" % (what, cid))
        return r
    eq(r.status, 200, "GET %s of client %s (%r)" % (what, cid, r.raw[:300]))
    ST["downloads"][cid] = ST["downloads"].get(cid, 0) + 1
    return r


def create(body, token=None, expect=201):
    return S.call("POST", "/extclients", expect, body, token=token or S.admin_token)


def gw_body(name, **kw):
    b = {"network": NET, "gateway_host_id": ST["gw"]["id"], "name": name}
    b.update(kw)
    return b


def no_private(raw, what):
    """No JSON response names or carries a private key."""
    text = raw.decode() if isinstance(raw, bytes) else raw

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                check("private" not in k.lower() or k == "has_private_key",
                      "%s: field %s%s names a private key", what, path, k)
                walk(x, path + k + ".")
        elif isinstance(v, list):
            for x in v:
                walk(x, path)
    walk(json.loads(text), "")
    if ST.get("priv"):
        check(ST["priv"] not in text, "%s: the private key is in the JSON", what)


@test
def create_with_generated_key():
    now = int(time.time())
    r = S.request("POST", "/extclients", gw_body("laptop"), token=S.admin_token)
    eq(r.status, 201, "POST /extclients (%r)" % r.raw[:300])
    c = r.body
    eq(set(c), EXT_KEYS, "EXTCLIENT fields")
    eq((c["name"], c["network"], c["gateway_host_id"], c["gateway_name"]),
       ("laptop", NET, ST["gw"]["id"], "gw"), "identity")
    eq(bare(c["address"]), "10.80.0.254", "v4 address from the top of the /24")
    check(bare(c["address6"]) in ("fd00:80::ffff:ffff:ffff:ffff", "fd00:80::ffff:ffff:ffff:fffe"),
          "v6 address from the top of the /64: %r", c["address6"])
    eq((c["dns"], c["mtu"], c["keepalive"], c["full_tunnel"], c["extra_allowed_ips"]),
       ([], None, None, False, []), "defaults")
    eq((c["enabled"], c["expires_at"], c["expired"], c["has_private_key"]), (True, None, False, True), "state")
    check(c["owner_user_id"] in (None, ST["admin_id"]), "owner_user_id: %r", c["owner_user_id"])
    check(isinstance(c["created_at"], int) and abs(c["created_at"] - now) < 60, "created_at: %r",
          c["created_at"])
    check(len(base64.b64decode(c["public_key"], validate=True)) == 32, "public_key: %r", c["public_key"])
    no_private(r.raw, "POST /extclients")
    ST["laptop"] = c
    eq(S.admin("GET", "/extclients/%s" % c["id"], 200), c, "GET the client")
    eq(S.admin("GET", "/extclients", 200), [c], "list")


@test
def config_download():
    c = ST["laptop"]
    r = download(c["id"], "config")
    ctype = r.headers.get("Content-Type", "")
    check(ctype.split(";")[0].strip() == "text/plain", "Content-Type %r", ctype)
    disp = r.headers.get("Content-Disposition", "")
    check(disp.startswith("attachment") and ('filename="laptop.conf"' in disp or "filename=laptop.conf" in disp),
          "Content-Disposition %r", disp)
    text = r.raw.decode()
    ST["conf"] = r.raw
    secs = parse_conf(text)
    eq([s for s, _ in secs], ["Interface", "Peer"], "sections")
    itf, peer = secs[0][1], secs[1][1]
    priv = itf.get("privatekey")
    check(priv and len(base64.b64decode(priv, validate=True)) == 32, "PrivateKey %r", priv)
    ST["priv"] = priv
    eq(wg_pubkey(priv), c["public_key"], "public key of the .conf's PrivateKey")
    eq([bare(a) for a in split(itf.get("address", ""))], [bare(c["address"]), bare(c["address6"])],
       "Interface Address")
    check("dns" not in itf, "DNS line without dns: %r", itf)
    eq(peer.get("publickey"), ST["gw"]["pub"], "Peer PublicKey is the gateway host's")
    eq(peer.get("endpoint"), GW_ENDPOINT, "Peer Endpoint")
    allowed = split(peer.get("allowedips", ""))
    eq(sorted(allowed), sorted([V4, V6] + EGRESS), "split-tunnel AllowedIPs (network + egress ranges)")
    eq(len(allowed), len(set(allowed)), "AllowedIPs without duplicates")
    # wg-quick itself accepts it
    d = tempfile.mkdtemp(prefix="meshgate-ext-")
    try:
        path = os.path.join(d, "mgx0.conf")
        with open(path, "wb") as f:
            f.write(r.raw)
        os.chmod(path, 0o600)
        w = subprocess.run(["wg-quick", "strip", path], capture_output=True, text=True, timeout=10)
        eq(w.returncode, 0, "wg-quick strip exit status (stderr %r)" % w.stderr)
        check("PrivateKey = " + priv in w.stdout, "wg-quick strip output lacks the key: %r", w.stdout[:200])
    finally:
        shutil.rmtree(d, ignore_errors=True)
    # the JSON still never carries it
    for path in ("/extclients", "/extclients/%s" % c["id"], "/extclients?network=" + NET):
        no_private(S.request("GET", path, token=S.admin_token).raw, "GET " + path)


@test
def qr_png_is_the_conf():
    if not shutil.which("zbarimg"):
        raise Skip("zbarimg not installed")
    c = ST["laptop"]
    r = download(c["id"], "qr.png")
    eq(r.headers.get("Content-Type", "").split(";")[0], "image/png", "Content-Type")
    check(r.raw.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG: %r", r.raw[:16])
    d = tempfile.mkdtemp(prefix="meshgate-qr-")
    try:
        path = os.path.join(d, "qr.png")
        with open(path, "wb") as f:
            f.write(r.raw)
        z = subprocess.run(["zbarimg", "--raw", "-q", "-Sbinary", path], capture_output=True, timeout=20)
        eq(z.returncode, 0, "zbarimg exit status (%r)" % z.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    got = z.stdout
    conf = ST["conf"]
    # zbarimg ends its output with a newline of its own
    if got != conf and got.endswith(b"\n") and got[:-1] == conf:
        got = got[:-1]
    eq(got, conf, "decoded QR vs the .conf")


@test
def qr_svg():
    r = download(ST["laptop"]["id"], "qr.svg")
    eq(r.headers.get("Content-Type", "").split(";")[0], "image/svg+xml", "Content-Type")
    check(r.raw.startswith(b"<svg"), "SVG starts with %r", r.raw[:40])
    check(r.raw.rstrip().endswith(b"</svg>"), "SVG ends with %r", r.raw[-40:])


@test
def private_key_sealed_at_rest():
    priv = ST["priv"]
    raw = base64.b64decode(priv)
    blob = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = S.db_path + suffix
        if os.path.exists(p):
            with open(p, "rb") as f:
                blob += f.read()
    check(len(blob) > 0, "no database bytes read")
    check(priv.encode() not in blob, "the base64 private key is in the database files")
    check(raw not in blob, "the raw private key is in the database files")
    check(base64.urlsafe_b64encode(raw).rstrip(b"=") not in blob, "base64url private key in the database")
    check(raw.hex().encode() not in blob, "hex private key in the database")
    with open(S.log_path, "rb") as f:
        check(priv.encode() not in f.read(), "the private key is in the server log")
    mk = os.path.join(S.dir, "master.key")
    st = os.stat(mk)
    eq(stat.S_IMODE(st.st_mode), 0o600, "master.key mode")
    eq(st.st_size, 32, "master.key size")
    rows = S.db_query("SELECT private_key_enc FROM ext_clients WHERE id = ?", (ST["laptop"]["id"],))
    check(rows and rows[0][0], "no sealed private key stored: %r", rows)


@test
def gateway_and_peers_see_the_client():
    c = ST["laptop"]
    cg = config("gw")
    ep = ext_peers(cg)
    eq(len(ep), 1, "ext client peers of the gateway")
    p = ep[0]
    check(set(p) <= EXT_PEER_KEYS and "host_id" not in p, "ext client PEER fields: %r", sorted(p))
    check(p.get("endpoint") is None, "ext client peer with an endpoint: %r", p)
    eq((p["ext_client_id"], p["public_key"]), (c["id"], c["public_key"]), "ext client peer identity")
    eq(p["allowed_ips"], client_ips(c), "ext client peer allowed_ips")
    ic = cg["gateway"]["ingress_clients"]
    eq(len(ic), 1, "ingress_clients")
    eq(set(ic[0]), {"ext_client_id", "network", "address", "address6", "allowed_destinations"},
       "ingress_clients fields")
    eq((ic[0]["ext_client_id"], ic[0]["network"], bare(ic[0]["address"]), bare(ic[0]["address6"])),
       (c["id"], NET, bare(c["address"]), bare(c["address6"])), "ingress client")
    eq(sorted(ic[0]["allowed_destinations"]), sorted([V4, V6] + EGRESS), "allowed_destinations (split)")
    for viewer in ("p", "eg"):
        eq(peer_for_host(config(viewer), "gw")["allowed_ips"], own("gw") + client_ips(c),
           "%s's view of the ingress gateway" % viewer)
        eq(ext_peers(config(viewer)), [], "%s has no ext client peers" % viewer)


@test
def disable_and_enable():
    c = ST["laptop"]
    rg = config("gw")["revision"]
    rp = config("p")["revision"]
    d = S.admin("PATCH", "/extclients/%s" % c["id"], 200, {"enabled": False})
    eq(d["enabled"], False, "enabled after PATCH")
    cg = config("gw")
    eq(ext_peers(cg), [], "gateway peers after disable")
    eq(cg["gateway"]["ingress_clients"], [], "ingress_clients after disable")
    eq(cg["revision"], rg + 1, "gateway revision after disable")
    cp = config("p")
    eq(peer_for_host(cp, "gw")["allowed_ips"], own("gw"), "p's view of the gateway after disable")
    eq(cp["revision"], rp + 1, "p's revision after disable")
    e = S.admin("PATCH", "/extclients/%s" % c["id"], 200, {"enabled": True})
    eq(e["enabled"], True, "enabled after re-enable")
    eq(e, dict(c), "the client after re-enabling is as created")
    eq([x["ext_client_id"] for x in ext_peers(config("gw"))], [c["id"]], "gateway peers after re-enable")
    eq(peer_for_host(config("p"), "gw")["allowed_ips"], own("gw") + client_ips(c), "p's view after re-enable")
    eq(config("gw")["revision"], rg + 2, "gateway revision after re-enable")


@test
def settings_reach_conf_and_peers():
    c = ST["laptop"]
    u = S.admin("PATCH", "/extclients/%s" % c["id"], 200,
                {"dns": ["10.80.0.1", "2606:4700:4700::1111"], "mtu": 1380, "keepalive": 15,
                 "extra_allowed_ips": ["10.9.0.0/24"], "full_tunnel": True})
    eq((u["dns"], u["mtu"], u["keepalive"], u["extra_allowed_ips"], u["full_tunnel"]),
       (["10.80.0.1", "2606:4700:4700::1111"], 1380, 15, ["10.9.0.0/24"], True), "patched settings")
    secs = dict(parse_conf(download(c["id"], "config").raw.decode()))
    eq(split(secs["Interface"].get("dns", "")), ["10.80.0.1", "2606:4700:4700::1111"], "DNS line")
    eq(secs["Interface"].get("mtu"), "1380", "MTU line")
    eq(secs["Peer"].get("persistentkeepalive"), "15", "PersistentKeepalive line")
    eq(sorted(split(secs["Peer"]["allowedips"])), sorted(["0.0.0.0/0", "::/0"]), "full-tunnel AllowedIPs")
    cg = config("gw")
    eq(sorted(ext_peers(cg)[0]["allowed_ips"]), sorted(client_ips(c) + ["10.9.0.0/24"]),
       "gateway's peer entry routes the client's site")
    eq(sorted(cg["gateway"]["ingress_clients"][0]["allowed_destinations"]), sorted(["0.0.0.0/0", "::/0"]),
       "allowed_destinations (full tunnel)")
    eq(sorted(peer_for_host(config("p"), "gw")["allowed_ips"]),
       sorted(own("gw") + client_ips(c) + ["10.9.0.0/24"]), "p routes the client's site via the gateway")
    back = S.admin("PATCH", "/extclients/%s" % c["id"], 200,
                   {"dns": [], "extra_allowed_ips": [], "full_tunnel": False})
    eq((back["dns"], back["extra_allowed_ips"], back["full_tunnel"]), ([], [], False), "settings cleared")
    S.admin("PATCH", "/extclients/%s" % c["id"], 200, {"mtu": 1420, "keepalive": 25})


@test
def client_supplied_key():
    pub = random_pubkey()
    c = create(gw_body("byok", public_key=pub))
    eq(set(c), EXT_KEYS, "EXTCLIENT fields")
    eq((c["public_key"], c["has_private_key"]), (pub, False), "client-supplied key")
    eq(bare(c["address"]), "10.80.0.253", "next address from the top")
    rows = S.db_query("SELECT private_key_enc FROM ext_clients WHERE id = ?", (c["id"],))
    eq(rows, [(None,)], "no private key stored")
    before = S.db_snapshot()
    for what in ("config", "qr.png", "qr.svg"):
        download(c["id"], what, expect=409)
    assert_db_unchanged(S, before, "refused downloads (no audit entry)")
    eq([x["ext_client_id"] for x in ext_peers(config("gw"))], [ST["laptop"]["id"], c["id"]],
       "gateway peers with both clients")
    ST["byok"] = c
    # the same public key twice, or a host's key: 409
    for body in (gw_body("byok2", public_key=pub), gw_body("byok3", public_key=ST["p"]["pub"]),
                 gw_body("laptop")):
        before = S.db_snapshot()
        assert_error(S.request("POST", "/extclients", body, token=S.admin_token), 409,
                     "duplicate %s" % body)
        assert_db_unchanged(S, before, "duplicate %s" % body)


def bad(what, **kw):
    """A bad create body, and the same fields as a PATCH body (None: no PATCH form)."""
    body = gw_body(kw.pop("name", "bad1"), **kw)
    patch = {k: v for k, v in body.items() if k not in ("network", "gateway_host_id")}
    if "name" not in what:
        del patch["name"]
    if "public_key" in patch:
        patch = None          # not a PATCH field
    return (what, body, patch)


def bad_cases():
    return [
        bad("name with a newline", name="x\n[Peer]"),
        bad("name with a space", name="my phone"),
        bad("name with a slash", name="a/b"),
        bad("empty name", name=""),
        bad("name of 64 characters", name="a" * 64),
        bad("name not a string", name=5),
        bad("site with a newline", extra_allowed_ips=["10.9.0.0/24\n[Peer]"]),
        bad("site with host bits", extra_allowed_ips=["10.9.0.1/24"]),
        bad("site is garbage", extra_allowed_ips=["garbage"]),
        bad("site inside the network", extra_allowed_ips=["10.80.0.0/28"]),
        bad("site as a string", extra_allowed_ips="10.9.0.0/24"),
        bad("dns bad IP", dns=["999.1.1.1"]),
        bad("dns hostname", dns=["dns.example.com"]),
        bad("dns with a newline", dns=["1.1.1.1\n[Peer]"]),
        bad("dns as a string", dns="1.1.1.1"),
        bad("public_key garbage", public_key="not a key"),
        bad("public_key short", public_key=base64.b64encode(b"x" * 31).decode()),
        bad("public_key with a newline", public_key=random_pubkey()[:-1] + "\n"),
        bad("mtu too small", mtu=100),
        bad("keepalive negative", keepalive=-1),
        bad("full_tunnel string", full_tunnel="yes"),
        bad("enabled int", enabled=1),
        bad("expires_at in the past", expires_at=1000),
        bad("expires_at string", expires_at="tomorrow"),
        bad("unknown field", private_key="x"),
        ("no name", {"network": NET, "gateway_host_id": 1}, None),
        ("gateway_host_id string", {"network": NET, "gateway_host_id": "1", "name": "m1"}, None),
    ]


@test
def bad_input_400_db_unchanged():
    bad = []
    cid = ST["laptop"]["id"]
    for what, body, patch in bad_cases():
        for method, path, b in (("POST", "/extclients", body), ("PATCH", "/extclients/%s" % cid, patch)):
            if b is None:
                continue
            before = S.db_snapshot()
            r = S.request(method, path, b, token=S.admin_token)
            if r.status != 400:
                bad.append("%s %s %s: expected 400, got %s %s" % (method, what, json.dumps(b)[:120], r.status,
                                                                 r.raw[:200]))
                continue
            assert_error(r, 400, "%s /extclients (%s)" % (method, what))
            assert_db_unchanged(S, before, "%s /extclients (%s)" % (method, what))
    check(not bad, "bad ext client input:\n  " + "\n  ".join(bad))


@test
def downloads_audited():
    entries = S.admin("GET", "/audit?action=extclient.download", 200)
    entries = [e for e in entries if e["action"] == "extclient.download"]
    want = ST["downloads"].get(ST["laptop"]["id"], 0)
    check(want >= 4, "downloads counted: %r", ST["downloads"])
    eq(len([e for e in entries if e["target"] == "laptop"]), want, "extclient.download entries for laptop")
    for e in entries:
        eq(e["actor"], "user:admin", "download actor")
        check(ST["priv"] not in json.dumps(e), "the private key is in the audit log")


@test
def user_isolation():
    a, b = ST["alice"], ST["bob"]
    ca = create(gw_body("alice-phone"), token=a["tok"])
    cb = create(gw_body("bob-phone"), token=b["tok"])
    eq(ca["owner_user_id"], a["id"], "alice's client owner")
    eq(cb["owner_user_id"], b["id"], "bob's client owner")
    eq(S.call("GET", "/extclients", 200, token=a["tok"]), [ca], "alice's list")
    eq(S.call("GET", "/extclients", 200, token=b["tok"]), [cb], "bob's list")
    eq(S.call("GET", "/extclients?network=" + NET, 200, token=a["tok"]), [ca], "alice's filtered list")
    eq(S.call("GET", "/extclients/%s" % ca["id"], 200, token=a["tok"]), ca, "alice gets hers")
    r = download(ca["id"], "config", token=a["tok"])
    eq(wg_pubkey(dict(parse_conf(r.raw.decode()))["Interface"]["privatekey"]), ca["public_key"],
       "alice's own .conf")
    before = S.db_snapshot()
    for tok, other in ((a["tok"], cb), (b["tok"], ca), (a["tok"], ST["laptop"]), (b["tok"], ST["byok"])):
        for method, suffix, body in (("GET", "", None), ("PATCH", "", {"enabled": False}), ("DELETE", "", None),
                                     ("GET", "/config", None), ("GET", "/qr.png", None), ("GET", "/qr.svg", None)):
            r = S.request(method, "/extclients/%s%s" % (other["id"], suffix), body, token=tok)
            assert_error(r, 404, "%s of another user's client %s%s" % (method, other["name"], suffix))
    for tok, owner in ((a["tok"], b["id"]), (a["tok"], a["id"]), (b["tok"], ST["admin_id"])):
        r = S.request("POST", "/extclients", gw_body("stolen", owner_user_id=owner), token=tok)
        assert_error(r, 403, "user passing owner_user_id %s" % owner)
    assert_db_unchanged(S, before, "refused cross-user requests")
    everyone = S.admin("GET", "/extclients", 200)
    eq(sorted(x["name"] for x in everyone), ["alice-phone", "bob-phone", "byok", "laptop"], "admin sees all")
    # admins may create for another user
    cc = create(gw_body("for-bob", public_key=random_pubkey(), owner_user_id=b["id"]))
    eq(cc["owner_user_id"], b["id"], "admin-made client for bob")
    eq(sorted(x["name"] for x in S.call("GET", "/extclients", 200, token=b["tok"])), ["bob-phone", "for-bob"],
       "bob's list with the admin-made client")
    # a user may manage their own
    u = S.call("PATCH", "/extclients/%s" % cb["id"], 200, {"enabled": False}, token=b["tok"])
    eq(u["enabled"], False, "bob disabled his client")
    S.call("DELETE", "/extclients/%s" % cb["id"], 204, token=b["tok"])
    S.call("DELETE", "/extclients/%s" % cc["id"], 204, token=b["tok"])
    S.call("DELETE", "/extclients/%s" % ca["id"], 204, token=a["tok"])
    eq(S.call("GET", "/extclients", 200, token=a["tok"]), [], "alice's list after delete")


@test
def delete_removes_client_and_peer():
    c = ST["laptop"]
    rg = config("gw")["revision"]
    S.admin("DELETE", "/extclients/%s" % c["id"], 204)
    assert_error(S.request("GET", "/extclients/%s" % c["id"], token=S.admin_token), 404, "deleted client")
    assert_error(S.request("DELETE", "/extclients/%s" % c["id"], token=S.admin_token), 404, "delete again")
    assert_error(S.request("GET", "/extclients/%s/config" % c["id"], token=S.admin_token), 404,
                 "config of a deleted client")
    cg = config("gw")
    eq([x["ext_client_id"] for x in ext_peers(cg)], [ST["byok"]["id"]], "gateway peers after delete")
    eq([x["ext_client_id"] for x in cg["gateway"]["ingress_clients"]], [ST["byok"]["id"]],
       "ingress_clients after delete")
    eq(cg["revision"], rg + 1, "gateway revision after delete")
    eq(peer_for_host(config("p"), "gw")["allowed_ips"], own("gw") + client_ips(ST["byok"]),
       "p's view after delete")
    S.admin("DELETE", "/extclients/%s" % ST["byok"]["id"], 204)
    eq(ext_peers(config("gw")), [], "no ext client peers left")
    eq(S.db_query("SELECT COUNT(*) FROM ext_clients"), [(0,)], "ext_clients rows")
    # the freed top address is given out again
    n = create(gw_body("again", public_key=random_pubkey()))
    eq(bare(n["address"]), "10.80.0.254", "freed top address reused")
    S.admin("DELETE", "/extclients/%s" % n["id"], 204)
    check(all(isinstance(x, dict) for x in S.admin("GET", "/audit?action=extclient.delete", 200)), "audit")
    check(ipaddress.ip_address(bare(n["address"])) in ipaddress.ip_network(V4), "address in range")
