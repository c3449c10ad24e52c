"""The network's DNS server node (PUT/DELETE /networks/{n}/nodes/{host}/dns):
node and network JSON, validation and roles (a rejected request changes
nothing), the role moving between nodes, every host of the network getting
its whole configuration with the network's "dns" section over a real broker
(also when the DNS node leaves), ext client .conf files carrying the address
as DNS when they have no DNS servers of their own (resolved at download, so
clients made before the DNS node follow it), explicit DNS kept, the audit
log, and `meshgatectl node dns`."""

import json
import os
import subprocess

from broker_harness import Broker, Subscriber
from harness import (Skip, assert_db_unchanged, assert_error, check, eq, meshgatectl_path, random_pubkey, setup_module,
                     start_server, teardown_module, test)

S = None
ST = {}
B = Broker()
NET, NET2 = "dz", "dz2"


@setup_module
def start():
    global S
    B.start("meshgate-dnssrv-")
    S = start_server(extra_args=B.server_args())
    S.setup()
    S.admin("POST", "/networks", 201, {"name": NET, "ipv4_range": "10.84.0.0/24", "ipv6_range": "fd00:84::/64"})
    S.admin("POST", "/networks", 201, {"name": NET2, "ipv4_range": "10.85.0.0/24"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "unlimited": True})["token"]
    key2 = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET2], "unlimited": True})["token"]
    for name, k in (("gw", key), ("n1", key), ("n2", key), ("o", key2)):
        register(name, k)
    S.admin("PUT", "/networks/%s/nodes/%s/ingress" % (NET, hid("gw")), 200)
    ST["user"] = S.create_user("dora", "dora password 1")


@teardown_module
def stop():
    B.stop()


def register(name, key):
    r = S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": name,
                                                "endpoint": "192.0.2.%d:51821" % (len(ST) + 10)})
    ST[name] = {"id": r["host"]["id"], "tok": r["host_token"], "broker": r["broker"],
                "addr": r["nodes"][0]["address"].split("/")[0]}
    return ST[name]


def hid(name):
    return ST[name]["id"]


def path(name, net=NET):
    return "/networks/%s/nodes/%s/dns" % (net, hid(name))


def config(name):
    return S.call("GET", "/hosts/self/config", 200, token=ST[name]["tok"])


def net_of(cfg, net=NET):
    return [n for n in cfg["networks"] if n["name"] == net][0]


def node(name, net=NET):
    return S.admin("GET", "/networks/%s/nodes/%s" % (net, hid(name)), 200)


def host_revision(name):
    return S.admin("GET", "/hosts/%s" % hid(name), 200)["revision"]


def dns_lines(cid):
    r = S.request("GET", "/extclients/%s/config" % cid, token=S.admin_token)
    eq(r.status, 200, "GET the .conf of client %s (%r)" % (cid, r.raw[:300]))
    return [l for l in r.raw.decode().splitlines() if l.startswith("DNS")]


def expect_dns(server, what):
    """Every host of NET has the dns section for `server` (None: none); o (in NET2 only) never does."""
    for name in ("gw", "n1", "n2"):
        n = net_of(config(name))
        if server is None:
            check("dns" not in n, "%s: no dns section %s: %r", name, what, n)
        else:
            eq(n.get("dns"), {"server": ST[server]["addr"], "domain": NET, "serve": name == server},
               "%s's dns section %s" % (name, what))
    check(all("dns" not in n for n in config("o")["networks"]), "o has no dns section")


def subscribers(names):
    """mosquitto_sub on each host's own topic with its credentials, subscribed."""
    subs = {}
    for n in names:
        subs[n] = Subscriber(B, ST[n]["broker"], exit_after=30)
        subs[n].wait_subscribed("SUBACK for %s" % n)
    return subs


@test
def no_dns_server_at_first():
    eq(S.admin("GET", "/networks/%s" % NET, 200)["dns_address"], None, "dns_address of a fresh network")
    for n in S.admin("GET", "/networks/%s/nodes" % NET, 200):
        eq(n["dns_server"], False, "%s's dns_server" % n["host_name"])
    expect_dns(None, "before any DNS server node")
    # Clients made now: one without DNS, one with its own.
    ST["plain"] = S.admin("POST", "/extclients", 201, {"network": NET, "gateway_host_id": hid("gw"),
                                                       "name": "plain"})
    ST["own"] = S.admin("POST", "/extclients", 201, {"network": NET, "gateway_host_id": hid("gw"),
                                                     "name": "own", "dns": ["192.0.2.53", "2001:db8::53"]})
    eq(dns_lines(ST["plain"]["id"]), [], "DNS lines of a client without DNS, no DNS server node")
    eq(dns_lines(ST["own"]["id"]), ["DNS = 192.0.2.53, 2001:db8::53"], "DNS line of a client with its own")
    eq((ST["plain"]["dns"], ST["plain"]["effective_dns"]), ([], []), "plain client's dns fields")


@test
def bad_requests_change_nothing():
    before = S.db_snapshot()
    assert_error(S.request("PUT", path("gw"), body={"on": True}, token=S.admin_token), 400, "PUT with a body")
    assert_error(S.request("DELETE", path("gw"), body={"on": False}, token=S.admin_token), 400, "DELETE with a body")
    assert_error(S.request("PUT", "/networks/%s/nodes/987654/dns" % NET, token=S.admin_token), 404, "no such node")
    assert_error(S.request("PUT", "/networks/%s/nodes/abc/dns" % NET, token=S.admin_token), 404, "host id 'abc'")
    assert_error(S.request("PUT", "/networks/nope/nodes/%s/dns" % hid("gw"), token=S.admin_token), 404,
                 "no such network")
    # o is a host, but not in dz: its node there does not exist.
    assert_error(S.request("PUT", path("o"), token=S.admin_token), 404, "a host of another network")
    assert_error(S.request("PUT", path("gw"), token=ST["user"]), 403, "a user")
    r = S.request("PUT", path("gw"), token=ST["gw"]["tok"])
    check(r.status in (401, 403), "a host token: %s", r.status)
    assert_error(S.request("DELETE", path("gw"), token=ST["user"]), 403, "a user's DELETE")
    assert_db_unchanged(S, before, "refused DNS server requests")


@test
def put_makes_the_dns_server_and_every_host_hears():
    subs = subscribers(("gw", "n1", "n2", "o"))
    try:
        revs = {n: host_revision(n) for n in subs}
        n = S.admin("PUT", path("gw"), 200)
        eq((n["host_id"], n["dns_server"], n["ingress"]), (hid("gw"), True, True), "the PUT's NODE")
        eq(S.admin("GET", "/networks/%s" % NET, 200)["dns_address"], ST["gw"]["addr"], "dns_address")
        eq([x["host_name"] for x in S.admin("GET", "/networks/%s/nodes" % NET, 200) if x["dns_server"]], ["gw"],
           "nodes with dns_server")
        for name in ("gw", "n1", "n2"):
            eq(host_revision(name), revs[name] + 1, "%s's revision" % name)
            msg = subs[name].wait_revision(revs[name] + 1, "%s's update" % name)
            eq(msg["action"], "node.dns", "%s's message action" % name)
            check("config" in msg, "%s got its whole configuration: %r", name, sorted(msg))
            eq(net_of(msg["config"]).get("dns"), {"server": ST["gw"]["addr"], "domain": NET, "serve": name == "gw"},
               "%s's dns section in the message" % name)
        eq(host_revision("o"), revs["o"], "o (another network) untouched")
    finally:
        for s in subs.values():
            s.stop()
    expect_dns("gw", "after PUT gw")
    audit = S.admin("GET", "/audit?action=node.dns", 200)
    eq([(a["action"], a["target"], a["detail"]) for a in audit if a["action"] == "node.dns"],
       [("node.dns", NET, "host=%d" % hid("gw"))], "audit")


@test
def ext_clients_get_the_address_at_download():
    a = ST["gw"]["addr"]
    eq(dns_lines(ST["plain"]["id"]), ["DNS = %s" % a], "a client made before the DNS node follows it")
    eq(dns_lines(ST["own"]["id"]), ["DNS = 192.0.2.53, 2001:db8::53"], "a client's own DNS servers win")
    c = S.admin("POST", "/extclients", 201, {"network": NET, "gateway_host_id": hid("gw"), "name": "late"})
    ST["late"] = c
    eq((c["dns"], c["effective_dns"]), ([], [a]), "new client's dns / effective_dns")
    eq(dns_lines(c["id"]), ["DNS = %s" % a], "a new client without DNS")
    own = S.admin("GET", "/extclients/%s" % ST["own"]["id"], 200)
    eq(own["effective_dns"], ["192.0.2.53", "2001:db8::53"], "effective_dns of a client with its own")
    # Giving a client DNS servers of its own, then none: back to the network's.
    S.admin("PATCH", "/extclients/%s" % c["id"], 200, {"dns": ["192.0.2.99"]})
    eq(dns_lines(c["id"]), ["DNS = 192.0.2.99"], "after PATCH dns")
    S.admin("PATCH", "/extclients/%s" % c["id"], 200, {"dns": []})
    eq(dns_lines(c["id"]), ["DNS = %s" % a], "after PATCH dns []")
    # A user's own client too (users may not mark DNS nodes, but their clients follow them).
    u = S.call("POST", "/extclients", 201, {"network": NET, "gateway_host_id": hid("gw"), "name": "dora-phone"},
               token=ST["user"])
    r = S.request("GET", "/extclients/%s/config" % u["id"], token=ST["user"])
    eq(r.status, 200, "the user's .conf")
    check(("DNS = %s" % a) in r.raw.decode().splitlines(), "the user's .conf carries DNS: %r", r.raw[:400])


@test
def put_on_another_node_moves_the_role():
    subs = subscribers(("n2",))
    try:
        rev = host_revision("n2")
        n = S.admin("PUT", path("n1"), 200)
        eq(n["dns_server"], True, "n1's dns_server")
        eq(node("gw")["dns_server"], False, "gw no longer serves")
        msg = subs["n2"].wait_revision(rev + 1, "n2's update")
        eq(net_of(msg["config"])["dns"]["server"], ST["n1"]["addr"], "n2 learns the new server")
    finally:
        for s in subs.values():
            s.stop()
    eq(S.admin("GET", "/networks/%s" % NET, 200)["dns_address"], ST["n1"]["addr"], "dns_address moved")
    expect_dns("n1", "after PUT n1")
    eq(dns_lines(ST["plain"]["id"]), ["DNS = %s" % ST["n1"]["addr"]], "the .conf follows the move")
    last = S.admin("GET", "/audit?action=node.dns", 200)
    check(any(a["detail"] == "host=%d previous=%d" % (hid("n1"), hid("gw")) for a in last),
          "the move names the previous node: %r", last[:3])
    # PUT again on the same node: still one DNS server.
    S.admin("PUT", path("n1"), 200)
    eq([x["host_name"] for x in S.admin("GET", "/networks/%s/nodes" % NET, 200) if x["dns_server"]], ["n1"],
       "one DNS server node")


@test
def delete_removes_the_role():
    n = S.admin("DELETE", path("n1"), 200)
    eq(n["dns_server"], False, "n1's dns_server after DELETE")
    eq(S.admin("GET", "/networks/%s" % NET, 200)["dns_address"], None, "dns_address after DELETE")
    expect_dns(None, "after DELETE")
    eq(dns_lines(ST["plain"]["id"]), [], "no DNS line once the network has no DNS server")
    eq(dns_lines(ST["own"]["id"]), ["DNS = 192.0.2.53, 2001:db8::53"], "own DNS kept")
    # DELETE on a node that is not the DNS server: nothing to remove, still 200.
    eq(S.admin("DELETE", path("n2"), 200)["dns_server"], False, "DELETE on a non-DNS node")
    check(any(a["action"] == "node.dns_remove" for a in S.admin("GET", "/audit?action=node.dns_remove", 200)),
          "node.dns_remove audited")


@test
def dns_node_leaving_sends_whole_configs():
    S.admin("PUT", path("n2"), 200)
    expect_dns("n2", "after PUT n2")
    subs = subscribers(("n1",))
    try:
        rev = host_revision("n1")
        S.admin("DELETE", "/networks/%s/nodes/%s" % (NET, hid("n2")), 204)
        msg = subs["n1"].wait_revision(rev + 1, "n1's update after the DNS node left")
        check("config" in msg, "n1 got its whole configuration when the DNS node left: %r", sorted(msg))
        check("dns" not in net_of(msg["config"]), "no dns section left: %r", net_of(msg["config"]))
        check(all(p["name"] != "n2" for p in msg["config"]["peers"]), "n2 is no longer a peer")
    finally:
        for s in subs.values():
            s.stop()
    eq(S.admin("GET", "/networks/%s" % NET, 200)["dns_address"], None, "dns_address once the DNS node left")
    expect_dns_after = [n for n in config("n1")["networks"] if n["name"] == NET][0]
    check("dns" not in expect_dns_after, "n1's config has no dns section: %r", expect_dns_after)


@test
def meshgatectl_node_dns():
    ctl_bin = meshgatectl_path()
    if not os.access(ctl_bin, os.X_OK):
        raise Skip("meshgatectl not found at %s" % ctl_bin)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHGATE_") and "proxy" not in k.lower()}
    env.update({"MESHGATE_SERVER": S.url, "MESHGATE_TOKEN": S.admin_token, "HOME": S.dir, "NO_PROXY": "*",
                "MESHGATE_CONFIG": os.path.join(S.dir, "ctl-dns.json")})

    def ctl(*args, expect=0):
        p = subprocess.run([ctl_bin] + [str(a) for a in args], env=env, capture_output=True, timeout=20, text=True)
        eq(p.returncode, expect, "meshgatectl %s exit (stdout %r, stderr %r)" % (" ".join(map(str, args)),
                                                                               p.stdout[-500:], p.stderr[-500:]))
        return p

    ctl("node", "dns", NET, hid("gw"), "on")
    eq(node("gw")["dns_server"], True, "gw serves after `node dns ... on`")
    out = ctl("--json", "node", "show", NET, hid("gw")).stdout
    eq(json.loads(out)["dns_server"], True, "node show --json")
    ctl("node", "dns", NET, hid("gw"), "off")
    eq(node("gw")["dns_server"], False, "gw no longer serves after `off`")
    before = S.db_snapshot()
    ctl("node", "dns", NET, hid("gw"), "maybe", expect=2)
    ctl("node", "dns", NET, hid("gw"), expect=2)
    ctl("node", "dns", NET, hid("gw"), "on", "extra", expect=2)
    ctl("node", "dns", NET, 987654, "on", expect=1)
    assert_db_unchanged(S, before, "refused meshgatectl node dns")
