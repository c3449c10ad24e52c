"""Relays: a node relays chosen nodes of its network. A relayed node has
only the relay as a peer (in that network), whose entry carries everyone's
allowed IPs; every other host reaches the relayed node through the relay's
entry; the relay has it as a normal peer and forwards for it (its gateway
section lists what it forwards). Validation, node JSON, ACL, deltas over a
real broker (joins reach relayed hosts as whole configs, not as a direct
entry), un-relaying, the relay leaving, audit and roles."""

import time

from broker_harness import Broker, Subscriber
from harness import (assert_db_unchanged, assert_error, check, eq, random_pubkey, setup_module, start_server,
                     teardown_module, test)

S = None
ST = {}
B = Broker()
NET, NET2 = "rl", "rl2"


@setup_module
def start():
    global S
    B.start("meshgate-relay-")
    S = start_server(extra_args=B.server_args())
    S.setup()
    S.admin("POST", "/networks", 201, {"name": NET, "ipv4_range": "10.80.0.0/24", "ipv6_range": "fd00:80::/64"})
    S.admin("POST", "/networks", 201, {"name": NET2, "ipv4_range": "10.81.0.0/24"})
    ST["key"] = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "unlimited": True})["token"]
    ST["key2"] = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET2], "unlimited": True})["token"]
    ST["keyboth"] = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET, NET2], "unlimited": True})["token"]
    # r relays x; y is a plain node; w a second relay candidate; x is also in rl2 with o.
    for name, k in (("r", "key"), ("x", "keyboth"), ("y", "key"), ("w", "key"), ("o", "key2")):
        register(name, ST[k])
    ST["user"] = S.create_user("rita", "rita password 1")


@teardown_module
def stop():
    B.stop()


def register(name, key):
    r = S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": name,
                                                "endpoint": "192.0.2.%d:51821" % (len(ST) + 10)})
    nodes = {n["network"]: n for n in r["nodes"]}
    ST[name] = {"id": r["host"]["id"], "tok": r["host_token"], "broker": r["broker"], "nodes": nodes}
    return ST[name]


def subscribe(name):
    """mosquitto_sub on a host's own topic with its credentials, subscribed."""
    sub = Subscriber(B, ST[name]["broker"], exit_after=30)
    sub.wait_subscribed("SUBACK for %s" % name)
    return sub


def config(name):
    return S.call("GET", "/hosts/self/config", 200, token=ST[name]["tok"])


def addrs(name, net=NET):
    n = ST[name]["nodes"][net]
    out = ["%s/32" % n["address"].split("/")[0]]
    if n["address6"]:
        out.append("%s/128" % n["address6"].split("/")[0])
    return out


def peers(cfg):
    return {p["name"]: p for p in cfg["peers"]}


def path(name, what="/relay", net=NET):
    return "/networks/%s/nodes/%s%s" % (net, ST[name]["id"], what)


def hid(name):
    return ST[name]["id"]


@test
def no_relays_at_first():
    for name in ("r", "x", "y", "w"):
        n = S.admin("GET", path(name, ""), 200)
        eq((n["relay"], n["relayed_by"]), ([], None), "%s's relay fields" % name)
    eq(sorted(peers(config("x"))), ["o", "r", "w", "y"], "x's peers before relaying")
    check("relayed" not in config("r")["gateway"], "no relayed list without a relay")


BAD = [
    ("no field", {}, 400),
    ("empty list", {"relayed": []}, 400),
    ("not a list", {"relayed": "x"}, 400),
    ("not an id", {"relayed": ["x"]}, 400),
    ("zero", {"relayed": [0]}, 400),
    ("twice", {"relayed": ["X", "X"]}, 400),
    ("itself", {"relayed": ["R"]}, 400),
    ("other network", {"relayed": ["O"]}, 400),
    ("unknown host", {"relayed": [99999]}, 400),
    ("unknown field", {"relayed": ["X"], "extra": 1}, 400),
]


def subst(body):
    out = dict(body)
    if isinstance(out.get("relayed"), list):
        out["relayed"] = [hid(v.lower()) if isinstance(v, str) and v.isupper() else v for v in out["relayed"]]
    return out


@test
def bad_relay_requests_change_nothing():
    before = S.db_snapshot()
    for what, body, status in BAD:
        r = S.request("PUT", "/api/v1" + path("r"), body=subst(body), token=S.admin_token)
        assert_error(r, status, what)
    assert_error(S.request("PUT", "/api/v1" + path("o", net=NET), body={"relayed": [hid("x")]},
                           token=S.admin_token), 404, "relay without a node in the network")
    assert_error(S.request("PUT", "/api/v1/networks/nope/nodes/%d/relay" % hid("r"), body={"relayed": [hid("x")]},
                           token=S.admin_token), 404, "unknown network")
    assert_error(S.request("DELETE", "/api/v1" + path("r"), body={"relayed": [hid("x")]}, token=S.admin_token),
                 400, "DELETE with a body")
    assert_db_unchanged(S, before, "refused relay requests")


@test
def users_and_hosts_may_not_relay():
    before = S.db_snapshot()
    for tok, status in ((ST["user"], 403), (ST["x"]["tok"], 403), (None, 401)):
        r = S.request("PUT", "/api/v1" + path("r"), body={"relayed": [hid("x")]}, token=tok)
        eq(r.status, status, "PUT relay as %s" % ("nobody" if tok is None else "non-admin"))
        r = S.request("DELETE", "/api/v1" + path("r"), token=tok)
        eq(r.status, status, "DELETE relay as %s" % ("nobody" if tok is None else "non-admin"))
    assert_db_unchanged(S, before, "refused callers")


@test
def relay_x_through_r():
    revs = {n: config(n)["revision"] for n in ("r", "x", "y", "w", "o")}
    n = S.admin("PUT", path("r"), 200, {"relayed": [hid("x")]})
    eq((n["host_id"], n["relay"], n["relayed_by"]), (hid("r"), [hid("x")], None), "the relay's NODE")
    nx = S.admin("GET", path("x", ""), 200)
    eq((nx["relay"], nx["relayed_by"]), ([], hid("r")), "x's NODE")
    listed = {m["host_id"]: m for m in S.admin("GET", "/networks/%s/nodes" % NET, 200)}
    eq(listed[hid("x")]["relayed_by"], hid("r"), "x in the node list")
    nx2 = S.admin("GET", path("x", "", NET2), 200)
    eq(nx2["relayed_by"], None, "x is not relayed in rl2")
    # A network-wide change: every host of rl, and no one else.
    for name, rev in revs.items():
        eq(config(name)["revision"], rev + (0 if name == "o" else 1), "%s's revision" % name)


@test
def relayed_node_has_only_the_relay():
    c = config("x")
    p = peers(c)
    # In rl only r; in rl2 (not relayed there) o directly.
    eq(sorted(p), ["o", "r"], "x's peers")
    eq(p["r"]["allowed_ips"], addrs("r") + addrs("y") + addrs("w"), "the relay carries everyone of rl")
    eq(sorted(p["r"]["relaying"]), ["w", "y"], "whom r's entry stands for")
    eq(p["o"]["allowed_ips"], addrs("o", NET2), "o directly, in the other network")
    nets = {n["name"]: n for n in c["networks"]}
    eq(nets[NET].get("relayed_by"), "r", "x's rl network names its relay")
    check("relayed_by" not in nets[NET2], "x is not relayed in rl2")


@test
def others_reach_x_through_the_relay():
    for viewer in ("y", "w"):
        p = peers(config(viewer))
        check("x" not in p, "%s has no direct entry for x: %r" % (viewer, sorted(p)))
        eq(p["r"]["allowed_ips"], addrs("r") + addrs("x"), "%s's entry for r carries x" % viewer)
        eq(p["r"]["relaying"], ["x"], "%s's entry for r says whom it relays" % viewer)
    p = peers(config("o"))
    eq(p["x"]["allowed_ips"], addrs("x", NET2), "o (rl2) still sees x directly")
    check("relaying" not in p["x"], "no relaying key in a network without relays")


@test
def the_relay_has_x_and_forwards_for_it():
    c = config("r")
    p = peers(c)
    eq(sorted(p), ["w", "x", "y"], "r's peers")
    eq(p["x"]["allowed_ips"], addrs("x"), "r's entry for x: its rl addresses only")
    eq(c["gateway"]["relayed"], addrs("x"), "r's gateway section: what it forwards")
    eq({n["name"]: n.get("relaying") for n in c["networks"]}, {NET: ["x"]}, "r's networks say whom it relays")


@test
def relay_conflicts_are_409():
    before = S.db_snapshot()
    for what, relay, body in (("x already relayed by r", "w", [hid("x")]),
                              ("a relayed node cannot relay", "x", [hid("y")]),
                              ("a relay cannot be relayed", "w", [hid("r")])):
        assert_error(S.request("PUT", "/api/v1" + path(relay), body={"relayed": body}, token=S.admin_token), 409,
                     what)
    assert_db_unchanged(S, before, "refused relay conflicts")


@test
def gateways_ride_along():
    S.admin("PUT", path("y", "/egress"), 200, {"ranges": [{"range": "192.168.80.0/24"}]})
    S.admin("PUT", path("x", "/egress"), 200, {"ranges": [{"range": "192.168.81.0/24", "nat": False}]})
    eq(peers(config("x"))["r"]["allowed_ips"], addrs("r") + addrs("y") + ["192.168.80.0/24"] + addrs("w"),
       "x reaches y's egress range through r")
    eq(peers(config("w"))["r"]["allowed_ips"], addrs("r") + addrs("x") + ["192.168.81.0/24"],
       "w reaches x's egress range through r")
    eq(config("r")["gateway"]["relayed"], addrs("x") + ["192.168.81.0/24"], "r forwards x's egress range")
    S.admin("DELETE", path("y", "/egress"), 200)
    S.admin("DELETE", path("x", "/egress"), 200)
    eq(config("r")["gateway"]["relayed"], addrs("x"), "back to x's addresses")


@test
def join_after_relaying():
    """A newcomer: x (relayed) gets a whole config with the newcomer in r's
    entry and never a direct entry; the newcomer reaches x through r; in
    rl2, which has no relay, a join is still a one-entry delta."""
    subs = {n: subscribe(n) for n in ("x", "y", "r", "o")}
    try:
        revs = {n: config(n)["revision"] for n in subs}
        z = register("z", ST["key"])
        mx = subs["x"].wait_revision(revs["x"] + 1, "x's update for z's join")
        check("config" in mx and "peers_upsert" not in mx, "x gets a whole config: %r" % sorted(mx))
        p = peers(mx["config"])
        eq(sorted(p), ["o", "r"], "x's peers after z joined")
        eq(p["r"]["allowed_ips"], addrs("r") + addrs("y") + addrs("w") + addrs("z"), "r's entry carries z")
        my = subs["y"].wait_revision(revs["y"] + 1, "y's update for z's join")
        if "config" in my:
            p = peers(my["config"])
            eq(sorted(p), ["r", "w", "z"], "y's peers after z joined")
        else:
            eq([e["name"] for e in my["peers_upsert"]], ["z"], "y's delta names z")
        mr = subs["r"].wait_revision(revs["r"] + 1, "r's update for z's join")
        check("config" in mr and "z" in peers(mr["config"]), "r has z: %r" % sorted(mr))
        pz = peers(config("z"))
        eq(sorted(pz), ["r", "w", "y"], "z's peers")
        eq(pz["r"]["allowed_ips"], addrs("r") + addrs("x"), "z reaches x through r")
        # rl2 has no relay: a join there is a delta for o.
        revs = {n: config(n)["revision"] for n in subs}
        register("q", ST["key2"])
        mo = subs["o"].wait_revision(revs["o"] + 1, "o's update for q's join")
        eq(([e["name"] for e in mo.get("peers_upsert", [])], "config" in mo), (["q"], False),
           "o gets q's entry only")
        mx = subs["x"].wait_revision(revs["x"] + 1, "x's update for q's join")
        eq(([e["name"] for e in mx.get("peers_upsert", [])], "config" in mx), (["q"], False),
           "x (relayed only in rl) gets q's entry only")
        time.sleep(0.3)
        for n in ("y", "r"):
            check(not [m for m in subs[n].messages() if m.get("revision", 0) > revs[n]],
                  "%s (not in rl2) heard nothing of q" % n)
    finally:
        for s in subs.values():
            s.stop()


@test
def acl_with_relays():
    """Deny-all with x<->y allowed: x keeps its tunnel to r but r's own
    addresses are not in it; y's entry for r carries x but not r; r carries
    y for x (it forwards) though r and y may not talk."""
    S.admin("PATCH", "/networks/" + NET, 200, {"default_policy": "deny"})
    try:
        rule = S.admin("POST", "/networks/%s/acl/rules" % NET, 201,
                       {"src": {"kind": "node", "value": str(hid("x"))},
                        "dst": {"kind": "node", "value": str(hid("y"))}, "action": "allow"})
        p = peers(config("x"))
        eq(p["r"]["allowed_ips"], addrs("y"), "x's relay entry: only y")
        p = peers(config("y"))
        eq(sorted(p), ["r"], "y's peers")
        eq(p["r"]["allowed_ips"], addrs("x"), "y reaches x through r, not r itself")
        p = peers(config("r"))
        eq(sorted(p), ["x", "y"], "r's peers: x and, for x, y")
        eq((p["x"]["allowed_ips"], p["y"]["allowed_ips"]), (addrs("x"), addrs("y")), "r's entries")
        eq(sorted(peers(config("w"))), [], "w sees nobody")
        # Deleting the rule reaches the relay too (it forwarded for x).
        rev_r = config("r")["revision"]
        S.admin("DELETE", "/networks/%s/acl/rules/%s" % (NET, rule["id"]), 204)
        eq(config("r")["revision"], rev_r + 1, "the relay of a named host hears of a rule change")
        eq(sorted(peers(config("r"))), ["x"], "r keeps only its relayed x")
        eq(peers(config("x"))["r"]["allowed_ips"], [], "x's tunnel to r stays, carrying nothing")
    finally:
        S.admin("PATCH", "/networks/" + NET, 200, {"default_policy": "allow"})
    eq(sorted(peers(config("x"))), ["o", "q", "r"], "allow-all again")


@test
def put_replaces_the_set():
    S.admin("PUT", path("r"), 200, {"relayed": [hid("x"), hid("w")]})
    eq(S.admin("GET", path("r", ""), 200)["relay"], sorted([hid("x"), hid("w")]), "r relays x and w")
    eq(sorted(peers(config("w"))), ["r"], "w has only r")
    eq(sorted(peers(config("y"))), ["r", "z"], "y reaches x and w through r")
    n = S.admin("PUT", path("r"), 200, {"relayed": [hid("w")]})
    eq(n["relay"], [hid("w")], "the set was replaced")
    eq(S.admin("GET", path("x", ""), 200)["relayed_by"], None, "x is no longer relayed")
    eq(sorted(peers(config("x"))), ["o", "q", "r", "y", "z"], "x sees everyone but w directly")
    eq(peers(config("x"))["r"]["allowed_ips"], addrs("r") + addrs("w"), "x reaches w through r")
    S.admin("PUT", path("r"), 200, {"relayed": [hid("x")]})


@test
def unrelay_restores_direct_peers():
    revs = {n: config(n)["revision"] for n in ("r", "x", "y", "w", "o")}
    n = S.admin("DELETE", path("r"), 200)
    eq((n["relay"], n["relayed_by"]), ([], None), "r is no relay")
    eq(S.admin("GET", path("x", ""), 200)["relayed_by"], None, "x is not relayed")
    for name, rev in revs.items():
        eq(config(name)["revision"], rev + (0 if name == "o" else 1), "%s's revision" % name)
    eq(sorted(peers(config("x"))), ["o", "q", "r", "w", "y", "z"], "x's peers")
    eq(peers(config("y"))["x"]["allowed_ips"], addrs("x"), "y sees x directly")
    check("relaying" not in peers(config("y"))["r"], "r's entry is plain again")
    check("relayed" not in config("r")["gateway"], "r forwards nothing")
    S.admin("DELETE", path("r"), 200)   # idempotent


@test
def relay_leaving_unrelays():
    S.admin("PUT", path("w"), 200, {"relayed": [hid("x")]})
    eq(sorted(peers(config("x"))), ["o", "q", "w"], "x relayed by w")
    subs = {n: subscribe(n) for n in ("x", "y")}
    try:
        revs = {n: config(n)["revision"] for n in subs}
        S.admin("DELETE", "/networks/%s/nodes/%s" % (NET, hid("w")), 204)
        mx = subs["x"].wait_revision(revs["x"] + 1, "x's update for w leaving")
        check("config" in mx, "x gets a whole config when its relay leaves")
        eq(sorted(peers(mx["config"])), ["o", "q", "r", "y", "z"], "x's peers once its relay left")
        my = subs["y"].wait_revision(revs["y"] + 1, "y's update for w leaving")
        check("config" in my, "y gets a whole config (x's addresses moved)")
        eq(peers(my["config"])["x"]["allowed_ips"], addrs("x"), "y sees x directly again")
    finally:
        for s in subs.values():
            s.stop()
    eq(S.db_query("SELECT COUNT(*) FROM nodes WHERE relayed_by IS NOT NULL"), [(0,)], "no relayed nodes left")


@test
def relay_changes_audited():
    acts = [(e["actor"], e["action"], e["target"]) for e in S.admin("GET", "/audit", 200)]
    relay = [a for a in acts if a[1] == "node.relay"]
    removed = [a for a in acts if a[1] == "node.relay_remove"]
    eq(len(relay), 5, "node.relay audit entries (%r)" % (relay,))
    eq(len(removed), 2, "node.relay_remove audit entries (%r)" % (removed,))
    check(all(a[0] == "user:admin" and a[2] == NET for a in relay + removed), "actor and target: %r" % (relay,))
