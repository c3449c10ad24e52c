"""ACL tunnels: a network's default policy and rules between nodes and tags
decide which pairs of hosts are peers; a rule change reaches only the hosts
its selectors name."""

from harness import (assert_db_unchanged, assert_error, check, eq, random_pubkey, setup_module, start_server,
                     test)

S = None
ST = {}


@setup_module
def start():
    global S
    S = start_server()
    S.setup()
    S.admin("POST", "/networks", 201, {"name": "acl", "ipv4_range": "10.91.0.0/24", "default_policy": "deny"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["acl"], "unlimited": True})["token"]
    dbkey = S.admin("POST", "/enrollment-keys", 201, {"networks": ["acl"], "unlimited": True,
                                                      "tags": ["db"]})["token"]
    for name, k in (("a1", key), ("a2", key), ("a3", key), ("d1", dbkey)):
        r = S.call("POST", "/hosts/register", 201, {"token": k, "public_key": random_pubkey(), "name": name})
        ST[name] = r


def peers(name):
    cfg = S.call("GET", "/hosts/self/config", 200, token=ST[name]["host_token"])
    return sorted(p["name"] for p in cfg["peers"])


def rev(name):
    return S.call("GET", "/hosts/self/config", 200, token=ST[name]["host_token"])["revision"]


def hid(name):
    return str(ST[name]["host"]["id"])


@test
def deny_all_has_no_tunnels():
    for n in ("a1", "a2", "a3", "d1"):
        eq(peers(n), [], "%s peers under deny-all" % n)
    eq(ST["d1"]["host"]["tags"], ["db"], "a key's tags are given to the host")


@test
def allow_rule_between_two_nodes():
    revs = {n: rev(n) for n in ("a1", "a2", "a3", "d1")}
    r = S.admin("POST", "/networks/acl/acl/rules", 201, {"src": {"kind": "node", "value": hid("a1")},
                                                         "dst": {"kind": "node", "value": hid("a2")},
                                                         "action": "allow"})
    ST["rule12"] = r["id"]
    eq((r["src"], r["dst"], r["action"], r["proto"], r["ports"]),
       ({"kind": "node", "value": hid("a1")}, {"kind": "node", "value": hid("a2")}, "allow", "any", None), "RULE")
    eq(peers("a1"), ["a2"], "a1 sees a2")
    eq(peers("a2"), ["a1"], "a2 sees a1 (tunnels are symmetric)")
    eq(peers("a3"), [], "a3 sees nobody")
    # Only the hosts the rule names heard of it.
    eq(rev("a1"), revs["a1"] + 1, "a1 revision")
    eq(rev("a2"), revs["a2"] + 1, "a2 revision")
    eq(rev("a3"), revs["a3"], "a3 untouched")
    eq(rev("d1"), revs["d1"], "d1 untouched")


@test
def tag_rule():
    r = S.admin("POST", "/networks/acl/acl/rules", 201, {"src": {"kind": "node", "value": hid("a3")},
                                                         "dst": {"kind": "tag", "value": "db"},
                                                         "action": "allow"})
    eq(r["ports"], None, "ports")
    eq(peers("a3"), ["d1"], "a3 reaches the db-tagged host")
    eq(peers("d1"), ["a3"], "and back")
    eq(peers("a1"), ["a2"], "a1 unchanged")
    acl = S.admin("GET", "/networks/acl/acl", 200)
    eq(acl["default_policy"], "deny", "policy")
    eq(len(acl["rules"]), 2, "two rules")


@test
def deny_rule_in_allow_all_removes_the_pair():
    S.admin("PATCH", "/networks/acl", 200, {"default_policy": "allow"})
    eq(peers("a3"), ["a1", "a2", "d1"], "allow-all: everyone")
    r = S.admin("POST", "/networks/acl/acl/rules", 201, {"src": {"kind": "node", "value": hid("a1")},
                                                         "dst": {"kind": "node", "value": hid("a3")},
                                                         "action": "deny"})
    eq(peers("a3"), ["a2", "d1"], "a3 lost a1")
    eq(peers("a1"), ["a2", "d1"], "a1 lost a3")
    S.admin("DELETE", "/networks/acl/acl/rules/%d" % r["id"], 204)
    eq(peers("a3"), ["a1", "a2", "d1"], "rule deleted: the pair is back")
    S.admin("PATCH", "/networks/acl", 200, {"default_policy": "deny"})
    eq(peers("a3"), ["d1"], "back to deny-all")


@test
def bad_rules_400_and_nothing_changes():
    bad = [
        {"src": {"kind": "host", "value": "1"}, "dst": {"kind": "any"}, "action": "allow"},
        {"src": {"kind": "any", "value": "x"}, "dst": {"kind": "any"}, "action": "allow"},
        {"src": {"kind": "node", "value": "999999"}, "dst": {"kind": "any"}, "action": "allow"},
        {"src": {"kind": "node", "value": "1x"}, "dst": {"kind": "any"}, "action": "allow"},
        {"src": {"kind": "tag", "value": "bad tag"}, "dst": {"kind": "any"}, "action": "allow"},
        {"src": {"kind": "egress", "value": "10.0.0.0/8"}, "dst": {"kind": "any"}, "action": "allow"},
        {"src": {"kind": "any"}, "dst": {"kind": "egress", "value": "10.0.0.5/8"}, "action": "allow"},
        {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "permit"},
        {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "allow", "proto": "sctp"},
        {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "allow", "ports": "22"},
        {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "allow", "proto": "tcp", "ports": "0"},
        {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "allow", "proto": "tcp", "ports": "90-80"},
        {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "allow", "proto": "tcp", "ports": "22\n"},
        {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "allow", "proto": "icmp", "ports": "7"},
        {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "allow", "proto": "tcp", "ports": "65536"},
        {"src": {"kind": "extclient", "value": "999999"}, "dst": {"kind": "any"}, "action": "allow"},
        {"src": {"kind": "any"}, "dst": {"kind": "egress", "value": "10.0.0.0/33"}, "action": "allow"},
        {"src": "any", "dst": {"kind": "any"}, "action": "allow"},
        {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "allow", "extra": 1},
    ]
    for body in bad:
        before = S.db_snapshot()
        r = S.request("POST", "/networks/acl/acl/rules", body, token=S.admin_token)
        assert_error(r, 400, "rule %r" % body)
        assert_db_unchanged(S, before, "rule %r" % body)
    r = S.request("POST", "/networks/nope/acl/rules", {"src": {"kind": "any"}, "dst": {"kind": "any"},
                                                        "action": "allow"}, token=S.admin_token)
    assert_error(r, 404, "unknown network")
    r = S.request("DELETE", "/networks/acl/acl/rules/999999", token=S.admin_token)
    assert_error(r, 404, "unknown rule")


@test
def users_cannot_touch_acls():
    tok = S.create_user("acluser")
    for method, path, body in (("GET", "/networks/acl/acl", None),
                               ("POST", "/networks/acl/acl/rules",
                                {"src": {"kind": "any"}, "dst": {"kind": "any"}, "action": "allow"}),
                               ("DELETE", "/networks/acl/acl/rules/%d" % ST["rule12"], None)):
        r = S.request(method, path, body, token=tok)
        eq(r.status, 403, "%s %s as a user" % (method, path))


# --- packet filters (protocol / port rules, egress and ext client selectors) -------------------------

def cfg(name):
    return S.call("GET", "/hosts/self/config", 200, token=ST[name]["host_token"])


def addr(name):
    return next(n["address"] for n in cfg(name)["networks"] if n["name"] == "aclport") + "/32"


def filters(name, chain=None):
    return [(f["chain"], f["src"], f["dst"], f["proto"], f["ports"], f["action"])
            for f in cfg(name)["acl"] if chain is None or f["chain"] == chain]


@test
def port_rule_to_an_egress_range():
    S.admin("POST", "/networks", 201, {"name": "aclport", "ipv4_range": "10.92.0.0/24", "default_policy": "deny"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["aclport"], "unlimited": True})["token"]
    for name in ("p1", "p3", "pgw"):
        ST[name] = S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": name})
    S.admin("PUT", "/networks/aclport/nodes/%s/egress" % hid("pgw"), 200,
            {"ranges": [{"range": "172.31.77.0/24", "nat": True}]})
    eq(peers("p3"), [], "deny-all: p3 has no peer")
    eq(filters("p3"), [("input", [], [addr("p3")], "any", None, "drop")], "p3: only the default drop")
    r = S.admin("POST", "/networks/aclport/acl/rules", 201, {
        "src": {"kind": "node", "value": hid("p3")}, "dst": {"kind": "egress", "value": "172.31.77.10/32"},
        "action": "allow", "proto": "tcp", "ports": "5432"})
    ST["rule_pg"] = r["id"]
    eq((r["proto"], r["ports"], r["dst"]), ("tcp", "5432", {"kind": "egress", "value": "172.31.77.10/32"}), "RULE")
    eq(peers("p3"), ["pgw"], "the egress rule gives p3 a tunnel to the gateway")
    eq(peers("pgw"), ["p3"], "and back")
    eq(peers("p1"), [], "p1 still alone")
    eq(filters("pgw", "forward"), [
        ("forward", [addr("p3")], ["172.31.77.10/32"], "tcp", [5432, 5432], "accept"),
        ("forward", ["10.92.0.0/24"], ["172.31.77.0/24"], "any", None, "drop")],
       "gateway: psql from p3, nothing else from the network")
    # The gateway's own addresses in its egress range (its LAN leg) are
    # delivered locally: the same rules in acl_input.
    eq(filters("pgw", "input"), [
        ("input", [addr("p3")], ["172.31.77.10/32"], "tcp", [5432, 5432], "accept"),
        ("input", [], [addr("pgw")], "any", None, "drop"),
        ("input", ["10.92.0.0/24"], ["172.31.77.0/24"], "any", None, "drop")],
       "the gateway itself stays closed to p3, on its mesh and LAN addresses")
    comments = [f["comment"] for f in cfg("pgw")["acl"]]
    check("rule %d" % r["id"] in comments, "filters name their rule: %r", comments)


@test
def full_rules_hold_both_ways_port_rules_one_way():
    both = S.admin("POST", "/networks/aclport/acl/rules", 201, {
        "src": {"kind": "node", "value": hid("p1")}, "dst": {"kind": "node", "value": hid("p3")}, "action": "allow"})
    eq(filters("p1", "input")[0], ("input", [addr("p3")], [addr("p1")], "any", None, "accept"), "p1 from p3")
    eq(filters("p3", "input")[0], ("input", [addr("p1")], [addr("p3")], "any", None, "accept"), "p3 from p1")
    S.admin("DELETE", "/networks/aclport/acl/rules/%d" % both["id"], 204)
    one = S.admin("POST", "/networks/aclport/acl/rules", 201, {
        "src": {"kind": "node", "value": hid("p1")}, "dst": {"kind": "node", "value": hid("p3")}, "action": "allow",
        "proto": "tcp", "ports": "22-23"})
    eq(peers("p1"), ["p3"], "a limited allow still gives the tunnel")
    eq(filters("p3", "input"), [("input", [addr("p1")], [addr("p3")], "tcp", [22, 23], "accept"),
                                ("input", [], [addr("p3")], "any", None, "drop")], "p3: ssh from p1 only")
    eq(filters("p1", "input"), [("input", [], [addr("p1")], "any", None, "drop")], "p1: nothing from p3")
    # A deny wins over an allow, whatever their order.
    deny = S.admin("POST", "/networks/aclport/acl/rules", 201, {
        "src": {"kind": "any"}, "dst": {"kind": "node", "value": hid("p3")}, "action": "deny", "proto": "tcp",
        "ports": "23"})
    eq(filters("p3", "input")[0], ("input", ["10.92.0.0/24"], [addr("p3")], "tcp", [23, 23], "drop"),
       "the deny comes first")
    for rid in (one["id"], deny["id"]):
        S.admin("DELETE", "/networks/aclport/acl/rules/%d" % rid, 204)
    eq(filters("p3", "input"), [("input", [], [addr("p3")], "any", None, "drop")], "rules gone")


@test
def allow_all_without_rules_has_no_filters():
    S.admin("POST", "/networks", 201, {"name": "aclopen", "ipv4_range": "10.93.0.0/24"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["aclopen"], "uses": 1})["token"]
    ST["o1"] = S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": "o1"})
    eq(cfg("o1")["acl"], [], "no filters")


@test
def node_rule_covers_the_gateways_own_addresses():
    r = S.admin("POST", "/networks/aclport/acl/rules", 201, {
        "src": {"kind": "node", "value": hid("p1")}, "dst": {"kind": "node", "value": hid("pgw")},
        "action": "allow", "proto": "tcp", "ports": "22"})
    eq(filters("pgw", "input")[1], ("input", [addr("p1")], [addr("pgw"), "172.31.77.0/24"], "tcp", [22, 22], "accept"),
       "ssh to the gateway host: its mesh address and its addresses in the egress range")
    S.admin("DELETE", "/networks/aclport/acl/rules/%d" % r["id"], 204)


@test
def ext_client_selectors():
    S.admin("PUT", "/networks/aclport/nodes/%s/ingress" % hid("pgw"), 200)
    c = S.admin("POST", "/extclients", 201, {"network": "aclport", "gateway_host_id": int(hid("pgw")), "name": "ph"})
    ca = "%s/32" % c["address"]
    # From the client to p1, port-limited: p1's inbound filter, and a tunnel p1 <-> the client's gateway.
    r1 = S.admin("POST", "/networks/aclport/acl/rules", 201, {
        "src": {"kind": "extclient", "value": str(c["id"])}, "dst": {"kind": "node", "value": hid("p1")},
        "action": "allow", "proto": "tcp", "ports": "80"})
    eq(filters("p1", "input")[0], ("input", [ca], [addr("p1")], "tcp", [80, 80], "accept"), "p1 from the client")
    check("pgw" in peers("p1"), "p1 gets a tunnel to the client's ingress gateway: %r", peers("p1"))
    # Into the client: filtered on its gateway (chain forward, back into the mesh), default drop.
    eq(filters("pgw", "mesh"), [("mesh", [], [ca], "any", None, "drop")], "nobody opens anything to the client")
    r2 = S.admin("POST", "/networks/aclport/acl/rules", 201, {
        "src": {"kind": "node", "value": hid("p1")}, "dst": {"kind": "extclient", "value": str(c["id"])},
        "action": "allow"})
    eq(filters("pgw", "mesh"), [("mesh", [addr("p1")], [ca], "any", None, "accept"),
                                ("mesh", [], [ca], "any", None, "drop")], "p1 may reach the client")
    for rid in (r1["id"], r2["id"]):
        S.admin("DELETE", "/networks/aclport/acl/rules/%d" % rid, 204)
    S.admin("DELETE", "/extclients/%d" % c["id"], 204)


@test
def ipv6_filters():
    S.admin("POST", "/networks", 201, {"name": "acl6", "ipv4_range": "10.94.0.0/24", "ipv6_range": "fd00:94::/64",
                                       "default_policy": "deny"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["acl6"], "uses": 2})["token"]
    for name in ("s1", "s2"):
        ST[name] = S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": name})
    S.admin("POST", "/networks/acl6/acl/rules", 201, {
        "src": {"kind": "node", "value": hid("s1")}, "dst": {"kind": "node", "value": hid("s2")},
        "action": "allow", "proto": "tcp", "ports": "22"})
    n1 = next(n for n in cfg("s1")["networks"] if n["name"] == "acl6")
    n2 = next(n for n in cfg("s2")["networks"] if n["name"] == "acl6")
    got = [(f["family"], f["src"], f["dst"], f["proto"], f["action"]) for f in cfg("s2")["acl"]]
    eq(got, [(4, [n1["address"] + "/32"], [n2["address"] + "/32"], "tcp", "accept"),
             (6, [n1["address6"] + "/128"], [n2["address6"] + "/128"], "tcp", "accept"),
             (4, [], [n2["address"] + "/32"], "any", "drop"),
             (6, [], [n2["address6"] + "/128"], "any", "drop")], "s2: both families")


@test
def dns_server_node_answers_under_deny_all():
    S.admin("PUT", "/networks/aclport/nodes/%s/dns" % hid("p1"), 200)
    check("p1" in peers("p3"), "every node reaches the DNS server node: %r", peers("p3"))
    eq(filters("p1", "input")[-3:], [("input", ["10.92.0.0/24"], [addr("p1")], "udp", [53, 53], "accept"),
                                      ("input", ["10.92.0.0/24"], [addr("p1")], "tcp", [53, 53], "accept"),
                                      ("input", [], [addr("p1")], "any", None, "drop")],
       "the DNS node opens port 53 to its network, nothing else")
    S.admin("DELETE", "/networks/aclport/nodes/%s/dns" % hid("p1"), 200)
    check("p1" not in peers("p3"), "no DNS node, no tunnel: %r", peers("p3"))


@test
def node_peers_are_what_the_host_reported():
    """NODE "peers": of the peers a host lists at a check-in, those that are
    nodes or ext clients of the node's network (the console's peer count,
    right under ACLs and relays because it is what the interface has)."""
    S.admin("POST", "/networks", 201, {"name": "rpeers", "ipv4_range": "10.97.0.0/24", "default_policy": "deny"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["rpeers"], "unlimited": True})["token"]
    for name in ("r1", "r2", "r3"):
        ST[name] = S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": name})
    S.admin("PUT", "/networks/rpeers/nodes/%s/ingress" % hid("r1"), 200)
    c = S.admin("POST", "/extclients", 201, {"network": "rpeers", "gateway_host_id": int(hid("r1")), "name": "rph"})

    def counts():
        return {n["host_name"]: n["peers"] for n in S.admin("GET", "/networks/rpeers/nodes", 200)}

    eq(counts(), {"r1": None, "r2": None, "r3": None}, "no check-in with peers yet")

    def checkin(name, body):
        S.call("POST", "/hosts/self/checkin", 200, body, token=ST[name]["host_token"])

    def peer(k):
        return {"public_key": k, "last_handshake": 0, "rx_bytes": 0, "tx_bytes": 0}

    # r2 (a node of rpeers), the ext client, and a key that is nobody here.
    # (Its own key, which no interface lists, is not counted either.)
    checkin("r1", {"peers": [peer(ST["r2"]["host"]["public_key"]), peer(c["public_key"]), peer(random_pubkey()),
                             peer(ST["r1"]["host"]["public_key"])]})
    checkin("r3", {"peers": []})
    eq(counts(), {"r1": 2, "r2": None, "r3": 0}, "r1 counts its node and its client, not the stranger nor itself")
    # A check-in without a peer list leaves the count as it was.
    checkin("r1", {"listen_port": 51821})
    eq(counts()["r1"], 2, "r1 after a check-in without peers")
    # A peer in another network is not one of this network's.
    checkin("r1", {"peers": [peer(ST["a1"]["host"]["public_key"])]})
    eq(counts()["r1"], 0, "a1 is a node of network acl, not rpeers")
    S.admin("DELETE", "/extclients/%d" % c["id"], 204)
