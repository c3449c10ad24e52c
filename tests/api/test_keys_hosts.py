"""Main flow: network + enrollment key, host registration, peer configs,
key uses/expiry, host deletion and revisions, host tokens, audit."""

import json
import re
import time

from harness import (NODE_KEYS, assert_db_unchanged, assert_error, b64url_decode, check, eq,
                     random_pubkey, setup_module, start_server, test)

S = None
PUBLIC_URL = "https://meshgate.example.test"
ST = {}
KEY_KEYS = {"id", "networks", "uses_remaining", "unlimited", "expires_at", "tags", "created_at"}
HOST_KEYS = {"id", "name", "public_key", "listen_port", "endpoint", "endpoint_override",
             "observed_ip", "local_endpoints", "os", "version", "revision", "last_checkin",
             "created_at", "online", "tags"}
CONFIG_KEYS = {"host_id", "name", "revision", "listen_port", "mtu", "addresses", "networks", "peers",
               "gateway", "acl"}
PEER_KEYS = {"host_id", "name", "public_key", "endpoint", "allowed_ips", "persistent_keepalive"}


@setup_module
def start():
    global S
    S = start_server(public_url=PUBLIC_URL)
    S.setup()


def register(token, name, pubkey=None, expect=201, **extra):
    body = {"token": token, "public_key": pubkey or random_pubkey(), "name": name}
    body.update(extra)
    r = S.call("POST", "/hosts/register", expect, body)
    return r, body["public_key"]


def config(host_token):
    return S.call("GET", "/hosts/self/config", 200, token=host_token)


def bare(addr):
    """NODE.address may or may not carry the prefix length."""
    return None if addr is None else addr.split("/")[0]


@test
def create_network_and_key():
    S.admin("POST", "/networks", 201, {"name": "mesh", "ipv4_range": "10.20.0.0/24",
                                       "ipv6_range": "fd00:20::/64", "keepalive": 25})
    k = S.admin("POST", "/enrollment-keys", 201, {"networks": ["mesh"], "uses": 5,
                                                  "tags": ["lab"]})
    eq(set(k), KEY_KEYS | {"token"}, "KEY fields")
    eq(k["networks"], ["mesh"], "networks")
    eq(k["uses_remaining"], 5, "uses_remaining")
    eq(k["unlimited"], False, "unlimited")
    eq(k["expires_at"], None, "expires_at")
    eq(k["tags"], ["lab"], "tags")
    tok = k["token"]
    check("=" not in tok, "token has base64 padding: %r", tok)
    payload = json.loads(b64url_decode(tok))
    eq(set(payload), {"server", "key"}, "token payload fields")
    eq(payload["server"], PUBLIC_URL, "token server")
    check(payload["key"].startswith("mge_"), "enrollment key prefix: %r", payload["key"])
    lst = S.admin("GET", "/enrollment-keys", 200)
    eq(len(lst), 1, "key list")
    eq(set(lst[0]), KEY_KEYS, "listed KEY fields (no token)")
    check(payload["key"] not in json.dumps(lst), "key list reveals the key")
    ST["key"] = k
    ST["mge"] = payload["key"]


@test
def register_first_host():
    r, pub = register(ST["key"]["token"], "host-a", os="linux", version="0.1.0",
                      endpoint="198.51.100.1:51821")
    eq(set(r), {"host", "host_token", "nodes", "config", "broker"}, "register response fields")
    eq(r["broker"], None, "no broker account when the server runs without a broker")
    h = r["host"]
    eq(set(h), HOST_KEYS, "HOST fields")
    eq((h["name"], h["public_key"], h["os"], h["version"]), ("host-a", pub, "linux", "0.1.0"), "host")
    eq(h["listen_port"], 51821, "listen_port defaults to the network's")
    check(r["host_token"].startswith("mgh_"), "host token prefix: %r", r["host_token"])
    eq(len(r["nodes"]), 1, "nodes")
    n = r["nodes"][0]
    eq(set(n), NODE_KEYS, "NODE fields")
    eq((n["network"], n["host_id"], n["host_name"]), ("mesh", h["id"], "host-a"), "node")
    eq(bare(n["address"]), "10.20.0.1", "first host gets .1")
    eq(bare(n["address6"]), "fd00:20::1", "first host gets ::1")
    c = r["config"]
    eq(set(c), CONFIG_KEYS, "CONFIG fields")
    eq(c["gateway"], {"egress": [], "ingress_clients": []}, "no gateway roles yet")
    eq(c["addresses"], ["10.20.0.1/24", "fd00:20::1/64"], "config addresses")
    eq(c["peers"], [], "no peers yet")
    eq(c["host_id"], h["id"], "config host_id")
    ST["a"] = {"id": h["id"], "pub": pub, "tok": r["host_token"]}


@test
def register_second_host_bare_key():
    r, pub = register(ST["mge"], "host-b", listen_port=51900)
    h = r["host"]
    eq(h["listen_port"], 51900, "explicit listen_port")
    eq(bare(r["nodes"][0]["address"]), "10.20.0.2", "second host gets .2")
    eq(bare(r["nodes"][0]["address6"]), "fd00:20::2", "second host gets ::2")
    ST["b"] = {"id": h["id"], "pub": pub, "tok": r["host_token"]}
    eq(S.admin("GET", "/enrollment-keys", 200)[0]["uses_remaining"], 3, "uses decremented twice")


@test
def configs_list_each_other():
    a, b = ST["a"], ST["b"]
    ca, cb = config(a["tok"]), config(b["tok"])
    eq(set(ca), CONFIG_KEYS, "CONFIG fields")
    eq((ca["host_id"], ca["name"], ca["listen_port"], ca["mtu"]),
       (a["id"], "host-a", 51821, 1420), "A's config header")
    eq(ca["addresses"], ["10.20.0.1/24", "fd00:20::1/64"], "A's addresses")
    eq(cb["addresses"], ["10.20.0.2/24", "fd00:20::2/64"], "B's addresses")
    eq(len(ca["networks"]), 1, "A's networks")
    net = ca["networks"][0]
    eq((net["name"], net["ipv4_range"], net["ipv6_range"], bare(net["address"]), bare(net["address6"])),
       ("mesh", "10.20.0.0/24", "fd00:20::/64", "10.20.0.1", "fd00:20::1"), "A's network entry")
    for mine, other, c in ((a, b, ca), (b, a, cb)):
        eq(len(c["peers"]), 1, "exactly one peer")
        p = c["peers"][0]
        eq(set(p), PEER_KEYS, "PEER fields")
        eq((p["host_id"], p["public_key"]), (other["id"], other["pub"]), "peer identity")
        eq(p["persistent_keepalive"], 25, "peer keepalive from the network")
    eq(ca["peers"][0]["allowed_ips"], ["10.20.0.2/32", "fd00:20::2/128"], "A's peer allowed_ips")
    eq(cb["peers"][0]["allowed_ips"], ["10.20.0.1/32", "fd00:20::1/128"], "B's peer allowed_ips")
    eq(cb["peers"][0]["name"], "host-a", "peer name")
    eq(cb["peers"][0]["endpoint"], "198.51.100.1:51821", "peer endpoint")


@test
def admin_views_hosts_and_nodes():
    hosts = S.admin("GET", "/hosts", 200)
    eq(sorted(h["name"] for h in hosts), ["host-a", "host-b"], "host list")
    h = S.admin("GET", "/hosts/%s" % ST["a"]["id"], 200)
    eq(set(h), HOST_KEYS, "HOST fields")
    eq(h["public_key"], ST["a"]["pub"], "public key")
    nodes = S.admin("GET", "/networks/mesh/nodes", 200)
    eq(sorted(bare(n["address"]) for n in nodes), ["10.20.0.1", "10.20.0.2"], "node addresses")
    n = S.admin("GET", "/networks/mesh/nodes/%s" % ST["b"]["id"], 200)
    eq(set(n), NODE_KEYS, "NODE fields")
    eq(n["host_name"], "host-b", "node host_name")
    assert_error(S.request("GET", "/hosts/999999", token=S.admin_token), 404, "unknown host")


@test
def patch_host():
    a = ST["a"]
    rev = config(ST["b"]["tok"])["revision"]
    h = S.admin("PATCH", "/hosts/%s" % a["id"], 200, {"endpoint": "203.0.113.9:51000"})
    eq(h["endpoint_override"], "203.0.113.9:51000", "endpoint_override")
    eq(h["endpoint"], "203.0.113.9:51000", "effective endpoint")
    cb = config(ST["b"]["tok"])
    eq(cb["peers"][0]["endpoint"], "203.0.113.9:51000", "B sees A's new endpoint")
    check(cb["revision"] > rev, "B's revision not bumped by A's endpoint change")
    for body in ({"name": "bad/name"}, {"endpoint": "nope"}, {"listen_port": 0}, {"public_key": random_pubkey()}):
        before = S.db_snapshot()
        assert_error(S.request("PATCH", "/hosts/%s" % a["id"], body, token=S.admin_token), 400,
                     "PATCH host %s" % body)
        assert_db_unchanged(S, before, "PATCH host %s" % body)


@test
def duplicate_name_or_key_409():
    before = S.db_snapshot()
    r = S.request("POST", "/hosts/register", {"token": ST["key"]["token"],
                                              "public_key": random_pubkey(), "name": "host-a"})
    assert_error(r, 409, "duplicate host name")
    r = S.request("POST", "/hosts/register", {"token": ST["key"]["token"],
                                              "public_key": ST["a"]["pub"], "name": "host-z"})
    assert_error(r, 409, "duplicate public key")
    assert_db_unchanged(S, before, "refused duplicate registrations (key uses too)")


@test
def invalid_enrollment_token_403():
    before = S.db_snapshot()
    for tok in ("mge_doesnotexist", "garbage", ST["mge"] + "x", ""):
        r = S.request("POST", "/hosts/register", {"token": tok, "public_key": random_pubkey(),
                                                  "name": "host-x"})
        check(r.status in (400, 403) if tok == "" else r.status == 403,
              "token %r: got %s %r", tok, r.status, r.raw[:200])
        assert_error(r, r.status, "register with token %r" % tok)
    assert_db_unchanged(S, before, "registrations with invalid tokens")


@test
def single_use_key():
    S.admin("POST", "/networks", 201, {"name": "one", "ipv4_range": "10.30.0.0/24"})
    k = S.admin("POST", "/enrollment-keys", 201, {"networks": ["one"], "uses": 1})
    eq(k["uses_remaining"], 1, "uses_remaining")
    r, _ = register(k["token"], "solo-1")
    eq(bare(r["nodes"][0]["address"]), "10.30.0.1", "address")
    eq(r["config"]["addresses"], ["10.30.0.1/24"], "v4-only addresses")
    ST["solo"] = {"id": r["host"]["id"], "tok": r["host_token"]}
    keys = {x["id"]: x for x in S.admin("GET", "/enrollment-keys", 200)}
    check(k["id"] not in keys or keys[k["id"]]["uses_remaining"] == 0,
          "spent key: %r", keys.get(k["id"]))
    before = S.db_snapshot()
    r2 = S.request("POST", "/hosts/register", {"token": k["token"], "public_key": random_pubkey(),
                                               "name": "solo-2"})
    assert_error(r2, 403, "second registration with a uses=1 key")
    assert_db_unchanged(S, before, "refused registration")
    check("solo-2" not in [h["name"] for h in S.admin("GET", "/hosts", 200)], "solo-2 was created")


@test
def expired_key_403():
    now = int(time.time())
    r = S.request("POST", "/enrollment-keys", {"networks": ["one"], "expires_at": now - 60},
                  token=S.admin_token)
    if r.status == 201:
        k = r.body
    else:
        # the API may refuse past expiry times: use one that expires in 1 s
        check(r.status == 400, "past expires_at: expected 201 or 400, got %s", r.status)
        k = S.admin("POST", "/enrollment-keys", 201, {"networks": ["one"], "expires_at": now + 1})
        deadline = time.monotonic() + 5
        while time.time() < now + 2.05:
            check(time.monotonic() < deadline, "clock did not advance")
            time.sleep(0.05)
    eq(k["uses_remaining"], None, "expiring key without uses")
    check(isinstance(k["expires_at"], int), "expires_at: %r", k["expires_at"])
    before = S.db_snapshot()
    r = S.request("POST", "/hosts/register", {"token": k["token"], "public_key": random_pubkey(),
                                              "name": "late"})
    assert_error(r, 403, "registration with an expired key")
    assert_db_unchanged(S, before, "refused expired-key registration")


@test
def key_validation_400():
    now = int(time.time())
    for body in ({"networks": ["mesh"], "uses": 1, "unlimited": True},
                 {"networks": ["mesh"]},
                 {"networks": ["mesh"], "uses": 0},
                 {"networks": ["mesh"], "unlimited": False},
                 {"networks": ["mesh"], "uses": "1"},
                 {"networks": "mesh", "uses": 1},
                 {"networks": [1], "uses": 1},
                 {"uses": 1},
                 {"networks": ["mesh"], "uses": 1, "expires_at": now + 3600, "x": 1}):
        before = S.db_snapshot()
        r = S.request("POST", "/enrollment-keys", body, token=S.admin_token)
        assert_error(r, 400, "POST /enrollment-keys %s" % body)
        assert_db_unchanged(S, before, "bad key %s" % body)
    k = S.admin("POST", "/enrollment-keys", 201, {"networks": ["mesh"], "unlimited": True})
    eq((k["unlimited"], k["uses_remaining"]), (True, None), "unlimited key")
    S.admin("DELETE", "/enrollment-keys/%s" % k["id"], 204)
    assert_error(S.request("DELETE", "/enrollment-keys/%s" % k["id"], token=S.admin_token), 404,
                 "delete key again")


@test
def deleted_key_refused():
    k = S.admin("POST", "/enrollment-keys", 201, {"networks": ["one"], "uses": 3})
    S.admin("DELETE", "/enrollment-keys/%s" % k["id"], 204)
    r = S.request("POST", "/hosts/register", {"token": k["token"], "public_key": random_pubkey(),
                                              "name": "ghost"})
    assert_error(r, 403, "registration with a deleted key")


@test
def host_token_not_admin():
    tok = ST["a"]["tok"]
    before = S.db_snapshot()
    bad = []
    for method, path, body in (("GET", "/networks", None), ("GET", "/hosts", None),
                               ("GET", "/hosts/%s" % ST["a"]["id"], None),
                               ("DELETE", "/hosts/%s" % ST["b"]["id"], None),
                               ("POST", "/networks", {"name": "evil", "ipv4_range": "10.66.0.0/24"}),
                               ("POST", "/enrollment-keys", {"networks": ["mesh"], "uses": 1}),
                               ("GET", "/users", None), ("GET", "/audit", None),
                               ("GET", "/me", None), ("GET", "/tokens", None),
                               ("POST", "/tokens", {"name": "x"})):
        r = S.request(method, path, body, token=tok)
        if r.status not in (401, 403):
            bad.append("%s %s: %s" % (method, path, r.status))
        else:
            assert_error(r, r.status, "host token on %s %s" % (method, path))
    check(not bad, "host token on admin routes, expected 401/403:\n  " + "\n  ".join(bad))
    assert_db_unchanged(S, before, "host-token requests to admin routes")
    # and session tokens are not host tokens
    r = S.request("GET", "/hosts/self/config", token=S.admin_token)
    check(r.status in (401, 403), "admin session on /hosts/self/config: %s", r.status)


@test
def delete_host_updates_peers_and_revisions():
    a, b = ST["a"], ST["b"]
    hb = S.admin("GET", "/hosts/%s" % b["id"], 200)
    cb = config(b["tok"])
    net = S.admin("GET", "/networks/mesh", 200)
    S.admin("DELETE", "/hosts/%s" % a["id"], 204)
    cb2 = config(b["tok"])
    eq(cb2["peers"], [], "B's peers after A is deleted")
    check(cb2["revision"] > cb["revision"], "B's config revision not bumped: %r -> %r",
          cb["revision"], cb2["revision"])
    hb2 = S.admin("GET", "/hosts/%s" % b["id"], 200)
    check(hb2["revision"] > hb["revision"], "B's host revision not bumped: %r -> %r",
          hb["revision"], hb2["revision"])
    net2 = S.admin("GET", "/networks/mesh", 200)
    check(net2["revision"] > net["revision"], "network revision not bumped: %r -> %r",
          net["revision"], net2["revision"])
    assert_error(S.request("GET", "/hosts/%s" % a["id"], token=S.admin_token), 404, "deleted host")
    assert_error(S.request("GET", "/hosts/self/config", token=a["tok"]), 401,
                 "deleted host's token")
    eq([bare(n["address"]) for n in S.admin("GET", "/networks/mesh/nodes", 200)], ["10.20.0.2"],
       "nodes after delete")
    assert_error(S.request("DELETE", "/hosts/%s" % a["id"], token=S.admin_token), 404,
                 "delete host again")


@test
def new_host_sees_remaining_peer():
    r, pub = register(ST["key"]["token"], "host-c")
    c = r["config"]
    eq([p["host_id"] for p in c["peers"]], [ST["b"]["id"]], "C's peers")
    eq(c["peers"][0]["allowed_ips"], ["10.20.0.2/32", "fd00:20::2/128"], "C's peer allowed_ips")
    mine = bare(r["nodes"][0]["address"])
    cb = config(ST["b"]["tok"])
    eq([p["host_id"] for p in cb["peers"]], [r["host"]["id"]], "B's peers")
    eq(cb["peers"][0]["allowed_ips"], [mine + "/32", bare(r["nodes"][0]["address6"]) + "/128"],
       "B's peer allowed_ips for C")
    ST["c"] = {"id": r["host"]["id"], "pub": pub, "tok": r["host_token"]}


@test
def remove_node_from_network():
    b, c = ST["b"], ST["c"]
    S.admin("DELETE", "/networks/mesh/nodes/%s" % c["id"], 204)
    eq(config(b["tok"])["peers"], [], "B's peers after C left mesh")
    cc = config(c["tok"])
    eq((cc["peers"], cc["networks"], cc["addresses"]), ([], [], []), "C's config after leaving")
    assert_error(S.request("GET", "/networks/mesh/nodes/%s" % c["id"], token=S.admin_token), 404,
                 "removed node")


@test
def host_leaves_itself():
    c = ST["c"]
    eq(S.request("DELETE", "/hosts/self", token=c["tok"]).status, 204, "DELETE /hosts/self")
    assert_error(S.request("GET", "/hosts/self/config", token=c["tok"]), 401, "token after leaving")
    assert_error(S.request("GET", "/hosts/%s" % c["id"], token=S.admin_token), 404, "host after leaving")


@test
def multi_network_peers():
    """Peers: one entry per host, allowed IPs the union of its addresses in
    the networks both hosts share; hosts sharing no network are no peers."""
    S.admin("POST", "/networks", 201, {"name": "red", "ipv4_range": "10.40.0.0/24"})
    S.admin("POST", "/networks", 201, {"name": "blue", "ipv4_range": "10.41.0.0/24",
                                       "ipv6_range": "fd00:41::/64"})
    both = S.admin("POST", "/enrollment-keys", 201, {"networks": ["red", "blue"], "unlimited": True})
    blue = S.admin("POST", "/enrollment-keys", 201, {"networks": ["blue"], "uses": 1})
    red = S.admin("POST", "/enrollment-keys", 201, {"networks": ["red"], "uses": 1})
    x, _ = register(both["token"], "multi-x")
    y, _ = register(both["token"], "multi-y")
    z, _ = register(blue["token"], "multi-z")
    w, _ = register(red["token"], "multi-w")
    eq(sorted(n["network"] for n in x["nodes"]), ["blue", "red"], "X's nodes")
    ids = {h["host"]["id"]: name for name, h in (("x", x), ("y", y), ("z", z), ("w", w))}
    cx = config(x["host_token"])
    eq(sorted(cx["addresses"]), sorted(["10.40.0.1/24", "10.41.0.1/24", "fd00:41::1/64"]),
       "X's addresses")
    eq(sorted(n["name"] for n in cx["networks"]), ["blue", "red"], "X's networks")
    peers = {ids.get(p["host_id"]): sorted(p["allowed_ips"]) for p in cx["peers"]}
    eq(len(cx["peers"]), 3, "X's peers: one entry per host (%r)" % (peers,))
    eq(peers, {"y": sorted(["10.40.0.2/32", "10.41.0.2/32", "fd00:41::2/128"]),
               "z": sorted(["10.41.0.3/32", "fd00:41::3/128"]),
               "w": ["10.40.0.3/32"]}, "X's peers and allowed IPs")
    cz = config(z["host_token"])
    eq(sorted(ids.get(p["host_id"]) for p in cz["peers"]), ["x", "y"], "Z (blue only) peers")
    cw = config(w["host_token"])
    eq(sorted(ids.get(p["host_id"]) for p in cw["peers"]), ["x", "y"], "W (red only) peers")
    # a network change reaches the hosts in it, and only those
    revs = {n: config(h["host_token"])["revision"] for n, h in (("x", x), ("z", z), ("w", w))}
    S.admin("PATCH", "/networks/red", 200, {"keepalive": 15})
    cw2 = config(w["host_token"])
    check(cw2["revision"] > revs["w"], "W's revision not bumped by a change of its network")
    eq(sorted(p["persistent_keepalive"] for p in cw2["peers"]), [15, 15], "W's peers keepalive")
    check(config(x["host_token"])["revision"] > revs["x"], "X's revision not bumped")
    eq(config(z["host_token"])["revision"], revs["z"], "Z's revision (not in red)")
    for h in (x, y, z, w):
        S.admin("DELETE", "/hosts/%s" % h["host"]["id"], 204)
    for k in (both, blue, red):
        S.admin("DELETE", "/enrollment-keys/%s" % k["id"], (204, 404))


@test
def range_full_503():
    S.admin("POST", "/networks", 201, {"name": "tiny", "ipv4_range": "10.42.0.0/30"})
    k = S.admin("POST", "/enrollment-keys", 201, {"networks": ["tiny"], "unlimited": True})
    got = []
    for i in range(4):
        before = S.db_snapshot()
        r = S.request("POST", "/hosts/register", {"token": k["token"], "public_key": random_pubkey(),
                                                  "name": "tiny-%d" % i})
        if r.status == 503:
            assert_error(r, 503, "registration into a full /30")
            assert_db_unchanged(S, before, "registration into a full range")
            break
        eq(r.status, 201, "registration %d into a /30 (%r)" % (i, r.raw[:200]))
        got.append(bare(r.body["nodes"][0]["address"]))
    check(got in (["10.42.0.1", "10.42.0.2"], ["10.42.0.1", "10.42.0.2", "10.42.0.3"]),
          "addresses given out in a /30 before 503: %r", got)


@test
def audit_entries():
    entries = S.admin("GET", "/audit", 200)
    # the node removal names the network as target; the host may be in detail
    acts = [(e["actor"], e["action"], "%s %s" % (e["target"], e["detail"])) for e in entries]
    listing = "\n  ".join(map(repr, acts))

    def has(pred, what):
        check(any(pred(*x) for x in acts), "no audit entry for %s in:\n  %s", what, listing)
    admin = "user:admin"
    aid, cid = str(ST["a"]["id"]), str(ST["c"]["id"])
    has(lambda a, x, t: a == admin and x == "network.create" and "mesh" in t,
        "network.create mesh by user:admin")
    has(lambda a, x, t: a == admin and "key" in x and x.endswith("create"),
        "enrollment key creation by user:admin")
    has(lambda a, x, t: a == admin and "key" in x and x.endswith("delete"),
        "enrollment key deletion by user:admin")
    regs = [e for e in entries if e["action"] == "host.register"]
    for e in regs:
        check(isinstance(e["actor"], str) and e["actor"], "host.register without actor: %r", e)
    text = [json.dumps(e) for e in regs]
    for name in ("host-a", "host-b", "solo-1", "host-c"):
        eq(len([t for t in text if '"%s"' % name in t]), 1, "host.register entries for %s" % name)
    for name in ("solo-2", "late", "host-x", "host-z", "ghost"):   # refused registrations
        check(not any(name in json.dumps(e) for e in entries),
              "audit entry for the refused registration of %s", name)
    host_a_admin = set(x for a, x, t in acts
                       if a == admin and x.startswith("host.") and x != "host.register" and aid in t)
    check(len(host_a_admin) >= 2, "expected an update and a delete of host-a (id %s) by user:admin, "
          "got actions %r in:\n  %s", aid, sorted(host_a_admin), listing)
    has(lambda a, x, t: a == admin and "node" in x and cid in t,
        "removal of host-c's node by user:admin")
    has(lambda a, x, t: a == "host:" + cid and x.startswith("host."),
        "host-c leaving by itself (actor host:ID)")
    for e in entries:
        eq(e["source_ip"], "127.0.0.1", "source_ip of %r" % (e,))


@test
def audit_actor_and_target_documented():
    """API.md: actor is one of user:NAME, host:ID, token:ID, setup; every
    entry records its target."""
    bad = []
    for e in S.admin("GET", "/audit", 200):
        if not re.match(r"^(user:[A-Za-z0-9._-]+|host:[0-9]+|token:[0-9]+|setup|system)$", str(e["actor"])):
            bad.append("undocumented actor %r: %r" % (e["actor"], e))
        if not isinstance(e["target"], str) or not e["target"]:
            bad.append("empty target: %r" % (e,))
    check(not bad, "audit entries:\n  " + "\n  ".join(bad))
