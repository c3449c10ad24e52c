"""Gateways: egress ranges (NAT on/off, internet gateway, overlaps between
gateways with "wins"), ingress on and off, what the other hosts and the
gateway itself see in their configs, revisions, roles and unknown nodes."""

from harness import (NODE_KEYS, assert_db_unchanged, assert_error, check, eq, random_pubkey, setup_module,
                     start_server, test)

S = None
ST = {}
NET = "gw"
V4, V6 = "10.70.0.0/24", "fd00:70::/64"


@setup_module
def start():
    global S
    S = start_server()
    S.setup()
    S.admin("POST", "/networks", 201, {"name": NET, "ipv4_range": V4, "ipv6_range": V6})
    S.admin("POST", "/networks", 201, {"name": "other", "ipv4_range": "10.71.0.0/24"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "unlimited": True})["token"]
    okey = S.admin("POST", "/enrollment-keys", 201, {"networks": ["other"], "unlimited": True})["token"]
    for name, k in (("g1", key), ("g2", key), ("p", key), ("o", okey)):
        r = S.call("POST", "/hosts/register", 201, {"token": k, "public_key": random_pubkey(),
                                                    "name": name})
        ST[name] = {"id": r["host"]["id"], "tok": r["host_token"], "pub": r["host"]["public_key"],
                    "addr": r["nodes"][0]["address"].split("/")[0],
                    "addr6": (r["nodes"][0]["address6"] or "").split("/")[0] or None}
    eq((ST["g1"]["addr"], ST["g1"]["addr6"]), ("10.70.0.1", "fd00:70::1"), "g1's addresses")
    eq((ST["g2"]["addr"], ST["g2"]["addr6"]), ("10.70.0.2", "fd00:70::2"), "g2's addresses")
    ST["user"] = S.create_user("ursula", "ursula password")


def config(name):
    return S.call("GET", "/hosts/self/config", 200, token=ST[name]["tok"])


def peer(cfg, name):
    """The peer entry for host `name` in a CONFIG."""
    hid = ST[name]["id"]
    found = [p for p in cfg["peers"] if p.get("host_id") == hid]
    eq(len(found), 1, "peer entries for %s in %s's config" % (name, cfg["name"]))
    return found[0]


def own(name):
    """What every other host must see for `name` before its gateway ranges."""
    return ["%s/32" % ST[name]["addr"], "%s/128" % ST[name]["addr6"]]


def node_path(name, what=""):
    return "/networks/%s/nodes/%s%s" % (NET, ST[name]["id"], what)


def revisions():
    """Every host's config revision, and the network's revision."""
    revs = {n: config(n)["revision"] for n in ("g1", "g2", "p", "o")}
    revs["net"] = S.admin("GET", "/networks/" + NET, 200)["revision"]
    revs["other-net"] = S.admin("GET", "/networks/other", 200)["revision"]
    return revs


def check_bumped(before, what, hosts=("g1", "g2", "p", "net")):
    """Each named revision rose by exactly 1; the rest (host o and network
    `other`, which the change does not touch) stayed."""
    after = revisions()
    for k in before:
        want = before[k] + (1 if k in hosts else 0)
        eq(after[k], want, "revision of %s after %s (was %s)" % (k, what, before[k]))


def check_node(n, name, ingress, egress):
    eq(set(n), NODE_KEYS, "NODE fields")
    eq((n["network"], n["host_id"], n["host_name"]), (NET, ST[name]["id"], name), "node identity")
    eq(n["ingress"], ingress, "NODE.ingress of %s" % name)
    eq(n["egress"], egress, "NODE.egress of %s" % name)


@test
def nodes_start_without_gateway_roles():
    for name in ("g1", "g2", "p"):
        check_node(S.admin("GET", node_path(name), 200), name, False, [])
    eq(config("g1")["gateway"], {"egress": [], "ingress_clients": []}, "g1's gateway section")
    eq(peer(config("p"), "g1")["allowed_ips"], own("g1"), "p's view of g1 before egress")


@test
def put_egress():
    before = revisions()
    body = {"ranges": [{"range": "192.168.10.0/24"},
                       {"range": "172.16.5.0/24", "nat": False},
                       {"range": "fd99:1::/64", "nat": True}]}
    n = S.admin("PUT", node_path("g1", "/egress"), 200, body)
    want = [{"range": "192.168.10.0/24", "nat": True, "wins": False},
            {"range": "172.16.5.0/24", "nat": False, "wins": False},
            {"range": "fd99:1::/64", "nat": True, "wins": False}]
    check_node(n, "g1", False, want)
    check_node(S.admin("GET", node_path("g1"), 200), "g1", False, want)
    listed = [x for x in S.admin("GET", "/networks/%s/nodes" % NET, 200) if x["host_id"] == ST["g1"]["id"]]
    eq([x["egress"] for x in listed], [want], "g1's egress in the node list")
    check_bumped(before, "PUT egress on g1")
    ranges = ["192.168.10.0/24", "172.16.5.0/24", "fd99:1::/64"]
    for viewer in ("p", "g2"):
        eq(peer(config(viewer), "g1")["allowed_ips"], own("g1") + ranges,
           "%s's peer entry for gateway g1" % viewer)
    eq(peer(config("p"), "g2")["allowed_ips"], own("g2"), "p's view of g2 (no gateway)")
    c = config("g1")
    eq(c["gateway"], {"egress": [{"network": NET, "range": "192.168.10.0/24", "nat": True},
                                 {"network": NET, "range": "172.16.5.0/24", "nat": False},
                                 {"network": NET, "range": "fd99:1::/64", "nat": True}],
                      "ingress_clients": []}, "g1's own gateway section")
    eq(peer(c, "p")["allowed_ips"], own("p"), "g1's view of p")
    eq(config("o")["peers"], [], "host o in another network sees nothing")


@test
def put_egress_replaces_and_nat_round_trips():
    before = revisions()
    n = S.admin("PUT", node_path("g1", "/egress"), 200,
                {"ranges": [{"range": "172.16.5.0/24", "nat": False}, {"range": "192.168.10.0/24", "nat": True}]})
    want = [{"range": "172.16.5.0/24", "nat": False, "wins": False},
            {"range": "192.168.10.0/24", "nat": True, "wins": False}]
    check_node(n, "g1", False, want)
    check_bumped(before, "second PUT egress on g1")
    eq(peer(config("p"), "g1")["allowed_ips"], own("g1") + ["172.16.5.0/24", "192.168.10.0/24"],
       "p's view after the replacement (fd99:1::/64 gone)")
    eq(config("g1")["gateway"]["egress"],
       [{"network": NET, "range": "172.16.5.0/24", "nat": False},
        {"network": NET, "range": "192.168.10.0/24", "nat": True}], "g1's egress after the replacement")
    rows = sorted(S.db_query("SELECT range, nat FROM egress_ranges"))
    eq(rows, [("172.16.5.0/24", 0), ("192.168.10.0/24", 1)], "egress_ranges rows")


INVALID = [
    ("host bits", {"ranges": [{"range": "192.168.20.1/24"}]}),
    ("v6 host bits", {"ranges": [{"range": "fd99:2::1/64"}]}),
    ("garbage", {"ranges": [{"range": "garbage"}]}),
    ("no prefix length", {"ranges": [{"range": "192.168.20.0"}]}),
    ("prefix too long", {"ranges": [{"range": "192.168.20.0/33"}]}),
    ("empty string", {"ranges": [{"range": ""}]}),
    ("newline inside", {"ranges": [{"range": "192.168.20.0/24\n[Peer]"}]}),
    ("trailing newline", {"ranges": [{"range": "192.168.20.0/24\n"}]}),
    ("comma list", {"ranges": [{"range": "192.168.20.0/24,10.1.0.0/16"}]}),
    ("overlapping each other", {"ranges": [{"range": "10.1.0.0/16"}, {"range": "10.1.2.0/24"}]}),
    ("duplicate range", {"ranges": [{"range": "10.1.0.0/16"}, {"range": "10.1.0.0/16", "nat": False}]}),
    ("v6 overlapping each other", {"ranges": [{"range": "fd99::/16"}, {"range": "fd99:5::/64"}]}),
    ("covers the network range", {"ranges": [{"range": "10.70.0.0/16"}]}),
    ("inside the network range", {"ranges": [{"range": "10.70.0.128/25"}]}),
    ("equals the network range", {"ranges": [{"range": V4}]}),
    ("overlaps the v6 network range", {"ranges": [{"range": "fd00:70::/48"}]}),
    ("range is an int", {"ranges": [{"range": 5}]}),
    ("range missing", {"ranges": [{"nat": True}]}),
    ("nat is a string", {"ranges": [{"range": "192.168.20.0/24", "nat": "yes"}]}),
    ("unknown field in a range", {"ranges": [{"range": "192.168.20.0/24", "via": "x"}]}),
    ("range entry is a string", {"ranges": ["192.168.20.0/24"]}),
    ("ranges is an object", {"ranges": {"range": "192.168.20.0/24"}}),
    ("unknown top-level field", {"ranges": [{"range": "192.168.20.0/24"}], "nat": True}),
    ("internet_gateway is a string", {"ranges": [], "internet_gateway": "true"}),
    ("wins is an int", {"ranges": [{"range": "192.168.20.0/24"}], "wins": 1}),
    ("257 ranges", {"ranges": [{"range": "10.%d.%d.0/24" % (100 + i // 256, i % 256)} for i in range(257)]}),
]


@test
def invalid_egress_400_db_unchanged():
    bad = []
    for what, body in INVALID:
        for name in ("g1", "g2"):    # g1 already has ranges, g2 none
            before = S.db_snapshot()
            r = S.request("PUT", node_path(name, "/egress"), body, token=S.admin_token)
            if r.status != 400:
                bad.append("%s on %s: expected 400, got %s %s" % (what, name, r.status, r.raw[:200]))
                continue
            assert_error(r, 400, "PUT egress (%s)" % what)
            assert_db_unchanged(S, before, "PUT egress (%s) on %s" % (what, name))
    check(not bad, "invalid egress bodies:\n  " + "\n  ".join(bad))
    # 256 ranges are the documented maximum
    many = {"ranges": [{"range": "10.%d.%d.0/24" % (100 + i // 256, i % 256)} for i in range(256)]}
    n = S.admin("PUT", node_path("g2", "/egress"), 200, many)
    eq(len(n["egress"]), 256, "256 egress ranges accepted")
    S.admin("DELETE", node_path("g2", "/egress"), 200)
    eq(peer(config("p"), "g2")["allowed_ips"], own("g2"), "g2 back to no ranges")


@test
def overlap_with_another_gateway_409_then_wins():
    # g1: 172.16.5.0/24 (nat off), 192.168.10.0/24
    before_db = S.db_snapshot()
    r = S.request("PUT", node_path("g2", "/egress"), {"ranges": [{"range": "192.168.0.0/16"}]},
                  token=S.admin_token)
    assert_error(r, 409, "g2's range overlapping g1's")
    assert_db_unchanged(S, before_db, "refused overlapping egress")
    r = S.request("PUT", node_path("g2", "/egress"),
                  {"ranges": [{"range": "10.200.0.0/16"}, {"range": "192.168.10.128/25"}], "wins": False},
                  token=S.admin_token)
    assert_error(r, 409, "g2's range inside g1's, wins false")
    assert_db_unchanged(S, before_db, "refused overlapping egress (wins false)")

    before = revisions()
    n = S.admin("PUT", node_path("g2", "/egress"), 200,
                {"ranges": [{"range": "192.168.0.0/16"}, {"range": "10.200.0.0/16", "nat": False}], "wins": True})
    check_node(n, "g2", False, [{"range": "192.168.0.0/16", "nat": True, "wins": True},
                                {"range": "10.200.0.0/16", "nat": False, "wins": True}])
    check_bumped(before, "winning PUT egress on g2")
    for viewer in ("p",):
        c = config(viewer)
        eq(peer(c, "g1")["allowed_ips"], own("g1") + ["172.16.5.0/24"],
           "%s's view of g1 after g2 won 192.168.0.0/16" % viewer)
        eq(peer(c, "g2")["allowed_ips"], own("g2") + ["192.168.0.0/16", "10.200.0.0/16"],
           "%s's view of the winning g2" % viewer)
    eq(peer(config("g2"), "g1")["allowed_ips"], own("g1") + ["172.16.5.0/24"],
       "g2's own view of g1 (no overlapping route)")
    eq(peer(config("g1"), "g2")["allowed_ips"], own("g2") + ["192.168.0.0/16", "10.200.0.0/16"],
       "g1's view of g2")
    # g1 may not now re-take an overlapping range without wins
    before_db = S.db_snapshot()
    r = S.request("PUT", node_path("g1", "/egress"), {"ranges": [{"range": "192.168.10.0/24"},
                                                                 {"range": "10.200.7.0/24"}]},
                  token=S.admin_token)
    assert_error(r, 409, "g1's range overlapping g2's winning range")
    assert_db_unchanged(S, before_db, "refused overlap with the winner")

    # the winner leaves: g1's range comes back
    before = revisions()
    n = S.admin("DELETE", node_path("g2", "/egress"), 200)
    check_node(n, "g2", False, [])
    check_bumped(before, "DELETE egress on g2")
    c = config("p")
    eq(peer(c, "g1")["allowed_ips"], own("g1") + ["172.16.5.0/24", "192.168.10.0/24"],
       "p's view of g1 after g2 dropped its ranges")
    eq(peer(c, "g2")["allowed_ips"], own("g2"), "p's view of g2 without ranges")
    eq(config("g2")["gateway"]["egress"], [], "g2's own egress after DELETE")


@test
def delete_egress():
    before = revisions()
    n = S.admin("DELETE", node_path("g1", "/egress"), 200)
    check_node(n, "g1", False, [])
    check_bumped(before, "DELETE egress on g1")
    for viewer in ("p", "g2"):
        eq(peer(config(viewer), "g1")["allowed_ips"], own("g1"), "%s's view of g1 after DELETE" % viewer)
    eq(config("g1")["gateway"], {"egress": [], "ingress_clients": []}, "g1's gateway section after DELETE")
    eq(S.db_query("SELECT COUNT(*) FROM egress_ranges"), [(0,)], "egress_ranges rows left")


@test
def internet_gateway():
    before = revisions()
    n = S.admin("PUT", node_path("g1", "/egress"), 200,
                {"ranges": [{"range": "192.168.10.0/24", "nat": False}], "internet_gateway": True})
    check_node(n, "g1", False, [{"range": "192.168.10.0/24", "nat": False, "wins": False},
                                {"range": "0.0.0.0/0", "nat": True, "wins": False},
                                {"range": "::/0", "nat": True, "wins": False}])
    check_bumped(before, "internet gateway on g1")
    eq(peer(config("p"), "g1")["allowed_ips"], own("g1") + ["192.168.10.0/24", "0.0.0.0/0", "::/0"],
       "p's view of the internet gateway")
    eq(config("g1")["gateway"]["egress"],
       [{"network": NET, "range": "192.168.10.0/24", "nat": False},
        {"network": NET, "range": "0.0.0.0/0", "nat": True},
        {"network": NET, "range": "::/0", "nat": True}], "the internet gateway's own egress")
    # everything overlaps 0.0.0.0/0: another gateway needs "wins"
    before_db = S.db_snapshot()
    r = S.request("PUT", node_path("g2", "/egress"), {"ranges": [{"range": "203.0.113.0/24"}]},
                  token=S.admin_token)
    assert_error(r, 409, "a range under another gateway's 0.0.0.0/0")
    assert_db_unchanged(S, before_db, "refused range under the internet gateway")
    # internet_gateway alone (no ranges)
    n = S.admin("PUT", node_path("g1", "/egress"), 200, {"ranges": [], "internet_gateway": True})
    eq(n["egress"], [{"range": "0.0.0.0/0", "nat": True, "wins": False},
                     {"range": "::/0", "nat": True, "wins": False}], "internet gateway only")
    eq(peer(config("p"), "g1")["allowed_ips"], own("g1") + ["0.0.0.0/0", "::/0"], "p's view")
    S.admin("DELETE", node_path("g1", "/egress"), 200)
    eq(peer(config("p"), "g1")["allowed_ips"], own("g1"), "p's view after the internet gateway left")


@test
def ingress_put_and_delete():
    before = revisions()
    n = S.admin("PUT", node_path("g2", "/ingress"), 200)
    check_node(n, "g2", True, [])
    check_node(S.admin("GET", node_path("g2"), 200), "g2", True, [])
    check_bumped(before, "PUT ingress on g2")
    # idempotent in effect
    n = S.admin("PUT", node_path("g2", "/ingress"), 200)
    eq(n["ingress"], True, "second PUT ingress")
    # with an ext client the role cannot be dropped
    c = S.admin("POST", "/extclients", 201, {"network": NET, "gateway_host_id": ST["g2"]["id"],
                                             "name": "phone", "public_key": random_pubkey()})
    before_db = S.db_snapshot()
    r = S.request("DELETE", node_path("g2", "/ingress"), token=S.admin_token)
    assert_error(r, 409, "DELETE ingress with an ext client")
    assert_db_unchanged(S, before_db, "refused DELETE ingress")
    eq(S.admin("GET", node_path("g2"), 200)["ingress"], True, "still ingress")
    S.admin("DELETE", "/extclients/%s" % c["id"], 204)
    before = revisions()
    n = S.admin("DELETE", node_path("g2", "/ingress"), 200)
    check_node(n, "g2", False, [])
    check_bumped(before, "DELETE ingress on g2")
    # no longer an ingress gateway: ext clients are refused
    before_db = S.db_snapshot()
    r = S.request("POST", "/extclients", {"network": NET, "gateway_host_id": ST["g2"]["id"],
                                          "name": "phone2", "public_key": random_pubkey()},
                  token=S.admin_token)
    check(r.status in (400, 409), "ext client on a non-ingress node: expected 400/409, got %s %r",
          r.status, r.raw[:200])
    assert_error(r, r.status, "ext client on a non-ingress node")
    assert_db_unchanged(S, before_db, "ext client on a non-ingress node")


@test
def ingress_body_rejects_unknown_fields():
    """API.md: request bodies reject unknown fields. PUT .../ingress takes
    none, so {"ingress": false} must not quietly turn the role on."""
    bad = []
    for body in ({"ingress": False}, {"x": 1}):
        before = S.db_snapshot()
        r = S.request("PUT", node_path("g2", "/ingress"), body, token=S.admin_token)
        if r.status != 400:
            bad.append("PUT ingress %s: expected 400, got %s %s" % (body, r.status, r.raw[:160]))
            if r.status == 200:
                S.admin("DELETE", node_path("g2", "/ingress"), 200)    # undo, for the next tests
                ST["extra_ingress_audit"] = ST.get("extra_ingress_audit", 0) + 2
            continue
        assert_error(r, 400, "PUT ingress %s" % body)
        assert_db_unchanged(S, before, "PUT ingress %s" % body)
    check(not bad, "\n  ".join(bad))


ROUTES = [("PUT", "/egress", {"ranges": [{"range": "192.168.77.0/24"}]}),
          ("DELETE", "/egress", None),
          ("PUT", "/ingress", None),
          ("DELETE", "/ingress", None)]


@test
def user_role_403_and_no_auth_401():
    S.admin("PUT", node_path("g1", "/egress"), 200, {"ranges": [{"range": "192.168.10.0/24"}]})
    S.admin("PUT", node_path("g1", "/ingress"), 200)
    before = S.db_snapshot()
    for method, what, body in ROUTES:
        for name in ("g1", "g2"):
            r = S.request(method, node_path(name, what), body, token=ST["user"])
            assert_error(r, 403, "user: %s %s" % (method, node_path(name, what)))
            r = S.request(method, node_path(name, what), body)
            assert_error(r, 401, "no auth: %s %s" % (method, node_path(name, what)))
            r = S.request(method, node_path(name, what), body, token=ST[name]["tok"])
            check(r.status in (401, 403), "host token: %s %s: %s", method, node_path(name, what), r.status)
    assert_db_unchanged(S, before, "gateway routes by a user, without auth, by a host")
    S.admin("DELETE", node_path("g1", "/ingress"), 200)
    S.admin("DELETE", node_path("g1", "/egress"), 200)


@test
def unknown_node_404():
    before = S.db_snapshot()
    paths = ["/networks/%s/nodes/999999" % NET,                       # no such host
             "/networks/nope/nodes/%s" % ST["g1"]["id"],              # no such network
             "/networks/%s/nodes/%s" % (NET, ST["o"]["id"]),          # host not in this network
             "/networks/other/nodes/%s" % ST["g1"]["id"]]             # nor this one
    for p in paths:
        for method, what, body in ROUTES:
            r = S.request(method, p + what, body, token=S.admin_token)
            assert_error(r, 404, "%s %s%s" % (method, p, what))
    assert_db_unchanged(S, before, "gateway routes on unknown nodes")


@test
def gateway_changes_audited():
    acts = [(e["actor"], e["action"], e["target"]) for e in S.admin("GET", "/audit", 200)]
    egress = [a for a in acts if a[0] == "user:admin" and "egress" in a[1]]
    ingress = [a for a in acts if a[0] == "user:admin" and "ingress" in a[1]]
    # PUT/DELETE egress: put_egress, replace, 256, DELETE g2, wins PUT, DELETE g2,
    # DELETE g1, 2x internet, DELETE, user test PUT + DELETE
    eq(len(egress), 12, "egress audit entries (%r)" % (egress,))
    eq(len(ingress), 5 + ST.get("extra_ingress_audit", 0), "ingress audit entries (%r)" % (ingress,))
    check(all(a[2] for a in egress + ingress), "audit entries without a target: %r", egress + ingress)
