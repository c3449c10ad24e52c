"""Networks: create/list/get/patch/delete, CIDR validation and overlap."""

from harness import (assert_db_unchanged, assert_error, check, eq, random_pubkey,
                     setup_module, start_server, test)

S = None
NETWORK_KEYS = {"name", "ipv4_range", "ipv6_range", "listen_port", "keepalive", "mtu",
                "default_policy", "revision", "created_at", "dns_address"}


@setup_module
def start():
    global S
    S = start_server()
    S.setup()


def create(body, expect=201):
    return S.admin("POST", "/networks", expect, body)


def rejected(body, status, what):
    before = S.db_snapshot()
    r = S.request("POST", "/networks", body, token=S.admin_token)
    assert_error(r, status, "%s: POST /networks %s" % (what, body))
    assert_db_unchanged(S, before, what)


@test
def create_v4_defaults():
    n = create({"name": "alpha", "ipv4_range": "10.1.0.0/16"})
    eq(set(n), NETWORK_KEYS, "NETWORK fields")
    eq(n["name"], "alpha", "name")
    eq(n["ipv4_range"], "10.1.0.0/16", "ipv4_range")
    eq(n["ipv6_range"], None, "ipv6_range")
    eq(n["listen_port"], 51821, "default listen_port")
    eq(n["keepalive"], 20, "default keepalive")
    eq(n["mtu"], 1420, "default mtu")
    eq(n["default_policy"], "allow", "default policy")
    check(isinstance(n["revision"], int), "revision is not an int: %r", n["revision"])


@test
def create_v4_v6_all_fields():
    n = create({"name": "beta", "ipv4_range": "10.2.0.0/24", "ipv6_range": "fd00:2::/64",
                "listen_port": 51999, "keepalive": 0, "mtu": 1280, "default_policy": "deny"})
    eq(n["ipv6_range"], "fd00:2::/64", "ipv6_range")
    eq((n["listen_port"], n["keepalive"], n["mtu"], n["default_policy"]),
       (51999, 0, 1280, "deny"), "explicit fields")


@test
def list_and_get():
    lst = S.admin("GET", "/networks", 200)
    eq(sorted(n["name"] for n in lst), ["alpha", "beta"], "network list")
    for n in lst:
        eq(set(n), NETWORK_KEYS, "NETWORK fields in list")
    g = S.admin("GET", "/networks/beta", 200)
    eq(g, [n for n in lst if n["name"] == "beta"][0], "GET equals list entry")
    assert_error(S.request("GET", "/networks/nosuch", token=S.admin_token), 404, "unknown network")


@test
def duplicate_name_409():
    rejected({"name": "alpha", "ipv4_range": "10.3.0.0/24"}, 409, "duplicate name")


@test
def patch_bumps_revision():
    before = S.admin("GET", "/networks/alpha", 200)
    p = S.admin("PATCH", "/networks/alpha", 200, {"mtu": 1380, "keepalive": 25})
    eq((p["mtu"], p["keepalive"]), (1380, 25), "patched fields")
    eq((p["listen_port"], p["default_policy"], p["ipv4_range"]),
       (before["listen_port"], before["default_policy"], before["ipv4_range"]), "untouched fields")
    check(p["revision"] > before["revision"], "revision not bumped: %r -> %r",
          before["revision"], p["revision"])
    g = S.admin("GET", "/networks/alpha", 200)
    eq(g, p, "GET after PATCH")
    p2 = S.admin("PATCH", "/networks/alpha", 200, {"default_policy": "deny", "listen_port": 40000})
    eq((p2["default_policy"], p2["listen_port"]), ("deny", 40000), "patched policy/port")
    check(p2["revision"] > p["revision"], "revision not bumped by 2nd patch")


@test
def patch_invalid_400():
    for body in ({"mtu": 100}, {"mtu": 9001}, {"keepalive": 3601}, {"keepalive": -1},
                 {"default_policy": "maybe"}, {"listen_port": 0}, {"listen_port": 65536},
                 {"ipv4_range": "10.9.0.0/24"}, {"name": "renamed"}, {"bogus": 1}):
        before = S.db_snapshot()
        r = S.request("PATCH", "/networks/alpha", body, token=S.admin_token)
        assert_error(r, 400, "PATCH /networks/alpha %s" % body)
        assert_db_unchanged(S, before, "PATCH %s" % body)
    assert_error(S.request("PATCH", "/networks/nosuch", {"mtu": 1400}, token=S.admin_token),
                 404, "PATCH unknown network")


@test
def create_limits_400():
    for extra in ({"mtu": 1279}, {"mtu": 9001}, {"keepalive": 3601}, {"listen_port": 0},
                  {"listen_port": 65536}, {"default_policy": "allow-all"}):
        body = {"name": "lim", "ipv4_range": "10.4.0.0/24"}
        body.update(extra)
        rejected(body, 400, "out-of-range %s" % extra)
    n = create({"name": "lim", "ipv4_range": "10.4.0.0/24", "mtu": 9000, "keepalive": 3600,
                "listen_port": 65535})
    eq((n["mtu"], n["keepalive"], n["listen_port"]), (9000, 3600, 65535), "boundary values")
    S.admin("DELETE", "/networks/lim", 204)


@test
def overlap_v4_409():
    for cidr in ("10.1.0.0/16", "10.1.5.0/24", "10.0.0.0/8", "10.1.255.252/30", "0.0.0.0/0"):
        rejected({"name": "ov", "ipv4_range": cidr}, 409, "v4 overlap with alpha (10.1.0.0/16): %s" % cidr)
    # adjacent ranges are fine
    create({"name": "adj", "ipv4_range": "10.0.255.252/30"})
    S.admin("DELETE", "/networks/adj", 204)


@test
def overlap_v6_409():
    for cidr in ("fd00:2::/64", "fd00:2::/80", "fd00::/16", "fd00:2:0:0:ffff::/96"):
        rejected({"name": "ov6", "ipv4_range": "10.5.0.0/24", "ipv6_range": cidr}, 409,
                 "v6 overlap with beta (fd00:2::/64): %s" % cidr)
    create({"name": "ov6", "ipv4_range": "10.5.0.0/24", "ipv6_range": "fd00:3::/64"})
    S.admin("DELETE", "/networks/ov6", 204)


@test
def too_small_400():
    for cidr in ("10.6.0.0/31", "10.6.0.0/32"):
        rejected({"name": "small", "ipv4_range": cidr}, 400, "v4 smaller than /30")
    for cidr in ("fd00:6::/127", "fd00:6::/128"):
        rejected({"name": "small", "ipv4_range": "10.6.0.0/24", "ipv6_range": cidr}, 400,
                 "v6 prefix > 126")
    n = create({"name": "small", "ipv4_range": "10.6.0.0/30", "ipv6_range": "fd00:6::/126"})
    eq((n["ipv4_range"], n["ipv6_range"]), ("10.6.0.0/30", "fd00:6::/126"), "/30 and /126 accepted")
    S.admin("DELETE", "/networks/small", 204)


@test
def non_canonical_400():
    rejected({"name": "nc", "ipv4_range": "10.0.0.5/24"}, 400, "host bits set")
    rejected({"name": "nc", "ipv4_range": "10.7.0.0/15"}, 400, "host bits set (/15)")
    rejected({"name": "nc", "ipv4_range": "10.7.0.0/24", "ipv6_range": "fd00:7::1/64"}, 400,
             "v6 host bits set")


@test
def invalid_cidr_400():
    for cidr in ("10.8.0.0", "10.8.0.0/", "10.8.0.0/33", "10.8.0.0/-1", "10.8.0.0/abc",
                 "300.8.0.0/24", "10.8.0/24", "10.8.0.0.0/24", "abc", "", " 10.8.0.0/24",
                 "10.8.0.0/24 ", "10.8.0.0/24/24", "fd00:8::/64", "10.8.0.0\n/24"):
        rejected({"name": "bad", "ipv4_range": cidr}, 400, "invalid ipv4_range %r" % cidr)
    for cidr in ("fd00:8::", "fd00:8::/129", "fd00:::8/64", "gd00::/64", "10.8.0.0/24", "",
                 "fd00:8::/64x"):
        rejected({"name": "bad", "ipv4_range": "10.8.0.0/24", "ipv6_range": cidr}, 400,
                 "invalid ipv6_range %r" % cidr)


@test
def invalid_name_400():
    for name in ("", "Alpha", "a_b", "a/b", "a.b", "a b", "x" * 33, "ab\ncd", "ab\tcd",
                 "ab\x7fcd", "caf\u00e9"):
        rejected({"name": name, "ipv4_range": "10.9.0.0/24"}, 400, "invalid name %r" % name)
    n = create({"name": "x" * 32, "ipv4_range": "10.9.0.0/24"})
    eq(n["name"], "x" * 32, "32-char name")
    S.admin("DELETE", "/networks/" + "x" * 32, 204)


@test
def delete_with_nodes_409():
    create({"name": "busy", "ipv4_range": "10.10.0.0/24"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["busy"], "uses": 1})
    reg = S.call("POST", "/hosts/register", 201,
                 {"token": key["token"], "public_key": random_pubkey(), "name": "h1"})
    hid = reg["host"]["id"]
    # the key is spent: delete it so only the node holds the network
    S.admin("DELETE", "/enrollment-keys/%s" % key["id"], 204)
    before = S.db_snapshot()
    r = S.request("DELETE", "/networks/busy", token=S.admin_token)
    assert_error(r, 409, "DELETE network with a node")
    assert_db_unchanged(S, before, "refused network delete")
    S.admin("GET", "/networks/busy", 200)
    S.admin("DELETE", "/hosts/%s" % hid, 204)
    S.admin("DELETE", "/networks/busy", 204)


@test
def delete():
    S.admin("DELETE", "/networks/beta", 204)
    assert_error(S.request("GET", "/networks/beta", token=S.admin_token), 404, "deleted network")
    assert_error(S.request("DELETE", "/networks/beta", token=S.admin_token), 404, "delete again")
    eq([n["name"] for n in S.admin("GET", "/networks", 200)], ["alpha"], "list after delete")
    # its ranges are free again
    create({"name": "beta2", "ipv4_range": "10.2.0.0/24", "ipv6_range": "fd00:2::/64"})
