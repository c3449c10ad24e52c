"""The ACL matrix (GET /networks/{name}/acl/matrix): for every ordered pair
of a network's nodes, whether the first can reach the second — "deny" (no
tunnel), "allow", or "limited" with the protocol/port limits that apply —
computed by the server from the same policy that decides the peers."""

import time

from harness import (assert_db_unchanged, assert_error, check, eq, random_pubkey, setup_module, start_server,
                     test)

S = None
ST = {}
NET = "mx"
NAMES = ("m1", "m2", "m3", "d1")     # the matrix lists nodes by name: d1, m1, m2, m3

DENY = {"access": "deny", "tunnel": False}
ALLOW = {"access": "allow", "tunnel": True}
CLOSED = {"access": "deny", "tunnel": True}     # peers, but this direction may open nothing


@setup_module
def start():
    global S
    S = start_server()
    S.setup()
    S.admin("POST", "/networks", 201, {"name": NET, "ipv4_range": "10.92.0.0/24", "default_policy": "deny"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "unlimited": True})["token"]
    dbkey = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "unlimited": True,
                                                      "tags": ["db"]})["token"]
    for name in NAMES:
        r = S.call("POST", "/hosts/register", 201, {"token": dbkey if name == "d1" else key,
                                                    "public_key": random_pubkey(), "name": name})
        ST[name] = r


def hid(name):
    return ST[name]["host"]["id"]


def matrix(net=NET):
    return S.admin("GET", "/networks/%s/acl/matrix" % net, 200)


def cells_by_name(m):
    """{(from, to): cell} for every ordered pair, checking the shape on the way."""
    names = [n["name"] for n in m["nodes"]]
    eq(len(m["cells"]), len(names), "rows")
    out = {}
    for i, row in enumerate(m["cells"]):
        eq(len(row), len(names), "row %d length" % i)
        for j, cell in enumerate(row):
            if i == j:
                eq(cell, None, "diagonal %s" % names[i])
            else:
                out[(names[i], names[j])] = cell
    return out


def peers(name):
    cfg = S.call("GET", "/hosts/self/config", 200, token=ST[name]["host_token"])
    return sorted(p["name"] for p in cfg["peers"])


def add_rule(body, expect=201):
    return S.admin("POST", "/networks/%s/acl/rules" % NET, expect, body)


def node(name):
    return {"kind": "node", "value": str(hid(name))}


@test
def deny_all_matrix():
    before = S.db_snapshot()
    m = matrix()
    assert_db_unchanged(S, before, "reading the matrix")
    eq([n["name"] for n in m["nodes"]], ["d1", "m1", "m2", "m3"], "nodes by name")
    d1 = m["nodes"][0]
    eq((d1["host_id"], d1["tags"]), (hid("d1"), ["db"]), "node id and tags")
    check(d1["address"].startswith("10.92.0."), "address %r", d1["address"])
    eq((m["network"], m["default_policy"], m["truncated"], m["total_nodes"]), (NET, "deny", False, 4), "header")
    cells = cells_by_name(m)
    eq(len(cells), 12, "ordered pairs")
    for pair, cell in cells.items():
        eq(cell, DENY, "%s -> %s under deny-all" % pair)


@test
def allow_rule_opens_the_pair_both_ways():
    r = add_rule({"src": node("m1"), "dst": node("m2"), "action": "allow"})
    ST["rule12"] = r["id"]
    cells = cells_by_name(matrix())
    for pair, cell in cells.items():
        want = ALLOW if set(pair) == {"m1", "m2"} else DENY
        eq(cell, want, "%s -> %s" % pair)
    # The matrix says what the peers are.
    eq(peers("m1"), ["m2"], "m1's peers")
    eq(peers("m3"), [], "m3's peers")


@test
def port_rule_limits_one_direction():
    # A rule limited to tcp/5432 gives m3 and d1 a tunnel, but only m3 may
    # open connections, and only to that port.
    r = S.request("POST", "/networks/%s/acl/rules" % NET, {"src": node("m3"), "dst": {"kind": "tag", "value": "db"},
                                                           "action": "allow", "proto": "tcp", "ports": "5432"},
                  token=S.admin_token)
    check(r.status == 201, "a tcp/5432 rule: %s %r", r.status, r.body)
    ST["rule_pg"] = r.body["id"]
    cells = cells_by_name(matrix())
    eq(cells[("m3", "d1")], {"access": "limited", "tunnel": True, "allow": ["tcp/5432"], "deny": []},
       "m3 -> d1: only tcp/5432")
    eq(cells[("d1", "m3")], CLOSED, "d1 -> m3: a tunnel, but the rule goes the other way")
    eq(cells[("m1", "m2")], ALLOW, "m1 -> m2 unchanged")
    for pair in (("m1", "d1"), ("d1", "m1"), ("m1", "m3"), ("m3", "m2")):
        eq(cells[pair], DENY, "%s -> %s" % pair)
    eq(peers("m3"), ["d1"], "the limited rule still makes the tunnel")
    # A limited deny where nothing is allowed changes nothing; where something is, it is listed.
    dd = add_rule({"src": node("d1"), "dst": node("m3"), "action": "deny", "proto": "udp", "ports": "53"})
    dm = add_rule({"src": node("m3"), "dst": node("d1"), "action": "deny", "proto": "tcp", "ports": "5432-5433"})
    cells = cells_by_name(matrix())
    eq(cells[("d1", "m3")], CLOSED, "d1 -> m3: still nothing to open")
    eq(cells[("m3", "d1")], {"access": "limited", "tunnel": True, "allow": ["tcp/5432"], "deny": ["tcp/5432-5433"]},
       "m3 -> d1: the deny is listed too (a deny wins)")
    for rule in (dd, dm):
        S.admin("DELETE", "/networks/%s/acl/rules/%d" % (NET, rule["id"]), 204)

    # Allow-all: every pair is open, and a limited deny takes a port away in its direction.
    S.admin("PATCH", "/networks/%s" % NET, 200, {"default_policy": "allow"})
    d = add_rule({"src": {"kind": "any"}, "dst": {"kind": "tag", "value": "db"}, "action": "deny",
                  "proto": "tcp", "ports": "22"})
    cells = cells_by_name(matrix())
    for src in ("m1", "m2"):
        eq(cells[(src, "d1")], {"access": "limited", "tunnel": True, "allow": [], "deny": ["tcp/22"]},
           "%s -> d1 under allow-all" % src)
    eq(cells[("m3", "d1")], {"access": "limited", "tunnel": True, "allow": [], "deny": ["tcp/22"]},
       "m3 -> d1: open already, tcp/22 denied")
    eq(cells[("d1", "m1")], ALLOW, "d1 -> m1")
    eq(cells[("m2", "m3")], ALLOW, "m2 -> m3")
    S.admin("DELETE", "/networks/%s/acl/rules/%d" % (NET, d["id"]), 204)
    S.admin("PATCH", "/networks/%s" % NET, 200, {"default_policy": "deny"})
    S.admin("DELETE", "/networks/%s/acl/rules/%d" % (NET, ST.pop("rule_pg")), 204)
    eq(cells_by_name(matrix())[("m3", "d1")], DENY, "rule deleted")


@test
def deny_rule_and_tags():
    # A whole-tunnel deny beats an allow; a tag rule covers every host with the tag.
    t = add_rule({"src": {"kind": "tag", "value": "db"}, "dst": {"kind": "any"}, "action": "allow"})
    cells = cells_by_name(matrix())
    for other in ("m1", "m2", "m3"):
        eq(cells[("d1", other)], ALLOW, "d1 -> %s via tag" % other)
        eq(cells[(other, "d1")], ALLOW, "%s -> d1 via tag" % other)
    eq(cells[("m1", "m3")], DENY, "m1 -> m3: no tag")
    d = add_rule({"src": node("m2"), "dst": node("d1"), "action": "deny"})
    cells = cells_by_name(matrix())
    eq((cells[("m2", "d1")], cells[("d1", "m2")]), (DENY, DENY), "denied both ways")
    eq(cells[("m1", "d1")], ALLOW, "m1 -> d1 still allowed")
    eq(peers("m2"), ["m1"], "m2's peers follow the matrix")
    # Retagging the host moves it out of the rule.
    S.admin("PATCH", "/hosts/%d" % hid("d1"), 200, {"tags": ["web"]})
    m = matrix()
    eq(m["nodes"][0]["tags"], ["web"], "new tags in the node list")
    eq(cells_by_name(m)[("m1", "d1")], DENY, "m1 -> d1 after retagging")
    S.admin("PATCH", "/hosts/%d" % hid("d1"), 200, {"tags": ["db"]})
    for rule in (t, d):
        S.admin("DELETE", "/networks/%s/acl/rules/%d" % (NET, rule["id"]), 204)


@test
def dns_server_node_is_limited_to_port_53():
    S.admin("PUT", "/networks/%s/nodes/%s/dns" % (NET, hid("m3")), 200)
    c = cells_by_name(matrix())
    eq(c[("m1", "m3")], {"access": "limited", "tunnel": True, "allow": ["udp/53", "tcp/53"], "deny": []},
       "deny-all: m1 may ask the DNS server node m3, nothing else")
    eq(c[("m3", "m1")]["tunnel"], True, "the tunnel holds both ways")
    eq(c[("m3", "m1")]["access"], "deny", "but m3 may open nothing to m1")
    S.admin("DELETE", "/networks/%s/nodes/%s/dns" % (NET, hid("m3")), 200)
    eq(cells_by_name(matrix())[("m1", "m3")]["tunnel"], False, "no DNS node: no tunnel")


@test
def unknown_network_404_and_users_403():
    assert_error(S.request("GET", "/networks/nope/acl/matrix", token=S.admin_token), 404, "unknown network")
    tok = S.create_user("mxuser")
    assert_error(S.request("GET", "/networks/%s/acl/matrix" % NET, token=tok), 403, "a user")
    assert_error(S.request("GET", "/networks/%s/acl/matrix" % NET), 401, "anonymous")


@test
def empty_network():
    S.admin("POST", "/networks", 201, {"name": "mxempty", "ipv4_range": "10.95.0.0/24"})
    m = matrix("mxempty")
    eq((m["nodes"], m["cells"], m["truncated"], m["total_nodes"]), ([], [], False, 0), "no nodes")


@test
def large_network_truncated_at_200():
    net = "mxbig"
    S.admin("POST", "/networks", 201, {"name": net, "ipv4_range": "10.96.0.0/23", "default_policy": "deny"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": [net], "unlimited": True,
                                                    "tags": ["fleet"]})["token"]
    deadline = time.monotonic() + 120
    for i in range(203):
        check(time.monotonic() < deadline, "registering 203 hosts took over 120 s (at %d)", i)
        S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": "b%03d" % i})
    S.admin("POST", "/networks/%s/acl/rules" % net, 201, {"src": {"kind": "tag", "value": "fleet"},
                                                          "dst": {"kind": "tag", "value": "fleet"},
                                                          "action": "allow"})
    t0 = time.monotonic()
    m = matrix(net)
    took = time.monotonic() - t0
    eq((m["truncated"], m["total_nodes"], len(m["nodes"]), len(m["cells"])), (True, 203, 200, 200), "capped")
    eq(m["nodes"][0]["name"], "b000", "first by name")
    eq(m["nodes"][-1]["name"], "b199", "last shown")
    check(all(c == ALLOW for row in m["cells"] for c in row if c is not None), "every shown pair allowed by tag")
    print("# 200x200 matrix with a tag rule: %.2f s" % took)
