"""DNS names: custom entries (validation, duplicates with each other and with
node and ext client names, audit), and the hosts files meshgated keeps for
dnsmasq under --dns-dir: their exact content after join, rename and leave,
atomic replacement, removal with the network, stale files at startup, and
SIGHUP to the process named by --dnsmasq-pidfile only when a file changed."""

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

from harness import (assert_db_unchanged, assert_error, check, eq, random_pubkey, setup_module,
                     start_server, teardown_module, test)

S = None
ST = {}
NET = "office"
V4, V6 = "10.90.0.0/24", "fd00:90::/64"
ENTRY_KEYS = {"id", "network", "name", "fqdn", "address", "created_at"}
HUP_HELPER = r"""
import signal, sys
path = sys.argv[1]
def hup(*_):
    with open(path, "a") as f:
        f.write("hup\n")
signal.signal(signal.SIGHUP, hup)
print("ready", flush=True)
while True:
    signal.pause()
"""


@setup_module
def start():
    global S
    ST["dir"] = tempfile.mkdtemp(prefix="meshgate-dns-")
    ST["dns"] = os.path.join(ST["dir"], "dns")
    os.mkdir(ST["dns"])
    # A stale file of a network that does not exist, and a file that is not ours.
    with open(os.path.join(ST["dns"], "gone.hosts"), "w") as f:
        f.write("10.1.1.1 x.gone\n")
    with open(os.path.join(ST["dns"], "notes.txt"), "w") as f:
        f.write("keep me\n")
    # Stands in for dnsmasq: counts the SIGHUPs it gets.
    ST["hups"] = os.path.join(ST["dir"], "hups")
    open(ST["hups"], "w").close()
    ST["helper"] = subprocess.Popen([sys.executable, "-c", HUP_HELPER, ST["hups"]], stdout=subprocess.PIPE)
    eq(ST["helper"].stdout.readline().strip(), b"ready", "SIGHUP counter started")
    pidfile = os.path.join(ST["dir"], "dnsmasq.pid")
    with open(pidfile, "w") as f:
        f.write("%d\n" % ST["helper"].pid)
    S = start_server(extra_args=["--dns-dir", ST["dns"], "--dnsmasq-pidfile", pidfile])
    S.setup()
    ST["user"] = S.create_user("ulla", "ulla password 1")


@teardown_module
def stop():
    if ST.get("helper"):
        ST["helper"].kill()
        ST["helper"].wait()
    shutil.rmtree(ST["dir"], ignore_errors=True)


def hosts_path(net=NET):
    return os.path.join(ST["dns"], net + ".hosts")


def hosts_lines(net=NET):
    """The file's lines without comments; asserts the header comment."""
    with open(hosts_path(net)) as f:
        lines = f.read().splitlines()
    check(lines and lines[0].startswith("# meshgate"), "%s.hosts starts with its header: %r" % (net, lines[:1]))
    return [l for l in lines if not l.startswith("#")]


def hups():
    with open(ST["hups"]) as f:
        return len(f.read().splitlines())


def settled_hups():
    """The count once earlier signals have all been counted: a SIGHUP sent
    just before is delivered and written asynchronously. Stable for 0.3 s,
    within 5 s."""
    deadline = time.monotonic() + 5
    last, since = hups(), time.monotonic()
    while time.monotonic() - since < 0.3 and time.monotonic() < deadline:
        time.sleep(0.02)
        now = hups()
        if now != last:
            last, since = now, time.monotonic()
    return last


def wait_hups(n, what):
    deadline = time.monotonic() + 2
    while hups() < n and time.monotonic() < deadline:
        time.sleep(0.01)
    eq(hups(), n, "SIGHUPs after " + what)


def node_lines(*names):
    out = []
    for n in names:
        out += ["%s %s.%s" % (ST[n]["addr"], ST[n]["dns"], NET), "%s %s.%s" % (ST[n]["addr6"], ST[n]["dns"], NET)]
    return out


def register(name, expect=201):
    r = S.call("POST", "/hosts/register", expect, {"token": ST["key"], "public_key": random_pubkey(), "name": name})
    if expect != 201:
        return r
    ST[name] = {"id": r["host"]["id"], "tok": r["host_token"], "dns": name.lower(),
                "addr": r["nodes"][0]["address"].split("/")[0], "addr6": r["nodes"][0]["address6"].split("/")[0]}
    return r


def dns(method, expect, body=None, net=NET, what="", **kw):
    return S.admin(method, "/networks/%s/dns%s" % (net, what), expect, body, **kw)


@test
def startup_removes_stale_files_only():
    check(not os.path.exists(os.path.join(ST["dns"], "gone.hosts")), "the stale gone.hosts was removed")
    check(os.path.exists(os.path.join(ST["dns"], "notes.txt")), "a file that is not a hosts file is left alone")
    eq(stat.S_IMODE(os.stat(ST["dns"]).st_mode) & 0o555, 0o555, "the directory is readable by dnsmasq")


@test
def network_create_writes_its_file():
    before = settled_hups()
    S.admin("POST", "/networks", 201, {"name": NET, "ipv4_range": V4, "ipv6_range": V6})
    eq(hosts_lines(), [], "a new network's names")
    eq(stat.S_IMODE(os.stat(hosts_path()).st_mode), 0o644, "hosts file mode")
    wait_hups(before + 1, "network create")
    ST["key"] = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "unlimited": True})["token"]


@test
def join_adds_node_names():
    register("n1")
    register("N2")
    eq(hosts_lines(), node_lines("n1", "N2"), "names after two joins")
    check(not [f for f in os.listdir(ST["dns"]) if f.startswith(".")], "no temporary file is left behind")


@test
def entry_validation():
    cases = [
        ({"name": "-db", "address": "10.1.0.1"}, 400),
        ({"name": "db-", "address": "10.1.0.1"}, 400),
        ({"name": "a..b", "address": "10.1.0.1"}, 400),
        ({"name": "", "address": "10.1.0.1"}, 400),
        ({"name": "a b", "address": "10.1.0.1"}, 400),
        ({"name": "d_b", "address": "10.1.0.1"}, 400),
        ({"name": "x" * 64, "address": "10.1.0.1"}, 400),
        ({"name": "db\n10.0.0.9 evil", "address": "10.1.0.1"}, 400),
        ({"name": "db", "address": "10.1.0.256"}, 400),
        ({"name": "db", "address": "10.1.0.0/24"}, 400),
        ({"name": "db", "address": "db.example"}, 400),
        ({"name": "db", "address": " 10.1.0.1"}, 400),
        ({"name": "db"}, 400),
        ({"address": "10.1.0.1"}, 400),
        ({"name": "db", "address": "10.1.0.1", "ttl": 5}, 400),
        ({"name": 5, "address": "10.1.0.1"}, 400),
    ]
    before = S.db_snapshot()
    for body, status in cases:
        assert_error(S.request("POST", "/networks/%s/dns" % NET, body=body, token=S.admin_token), status,
                     "POST dns %r" % body)
    assert_error(S.request("POST", "/networks/nope/dns", body={"name": "db", "address": "10.1.0.1"},
                           token=S.admin_token), 404, "unknown network")
    assert_error(S.request("GET", "/networks/nope/dns", token=S.admin_token), 404, "list of an unknown network")
    assert_error(S.request("POST", "/networks/%s/dns" % NET, body={"name": "db", "address": "10.1.0.1"},
                           token=ST["user"]), 403, "a user may not add entries")
    assert_error(S.request("GET", "/networks/%s/dns" % NET, token=ST["user"]), 403, "a user may not list entries")
    assert_error(S.request("POST", "/networks/%s/dns" % NET, body={"name": "db", "address": "10.1.0.1"}), 401,
                 "anonymous")
    assert_db_unchanged(S, before, "refused DNS entries")


@test
def entries_are_created_listed_and_written():
    rev = S.admin("GET", "/networks/" + NET, 200)["revision"]
    hosts_rev = {n: S.call("GET", "/hosts/self/config", 200, token=ST[n]["tok"])["revision"] for n in ("n1", "N2")}
    before = settled_hups()
    e = dns("POST", 201, {"name": "DB", "address": "192.168.50.10"})
    eq(set(e), ENTRY_KEYS, "ENTRY fields")
    eq((e["network"], e["name"], e["fqdn"], e["address"]), (NET, "db", "db." + NET, "192.168.50.10"), "entry")
    ST["db"] = e["id"]
    e6 = dns("POST", 201, {"name": "v6.db", "address": "FD00:90:0:0::10"})
    eq((e6["name"], e6["fqdn"], e6["address"]), ("v6.db", "v6.db." + NET, "fd00:90::10"), "canonical v6 entry")
    fq = dns("POST", 201, {"name": "pg.db.%s" % NET, "address": "10.90.0.200"})
    eq((fq["name"], fq["fqdn"]), ("pg.db", "pg.db." + NET), "a name ending in .NETWORK is fully qualified")
    eq(dns("GET", 200), [e, e6, fq], "list of entries")
    eq(hosts_lines(), node_lines("n1", "N2") + ["192.168.50.10 db.office", "fd00:90::10 v6.db.office",
                                                "10.90.0.200 pg.db.office"], "names with custom entries")
    wait_hups(before + 3, "three entries")
    eq(S.admin("GET", "/networks/" + NET, 200)["revision"], rev + 3, "each entry bumps the network revision")
    for n in ("n1", "N2"):
        eq(S.call("GET", "/hosts/self/config", 200, token=ST[n]["tok"])["revision"], hosts_rev[n],
           "an entry affects no host's configuration (%s)" % n)
    audit = S.admin("GET", "/audit?action=dns.create", 200)
    eq(len(audit), 3, "dns.create audit records")
    check("db.office" in audit[-1]["detail"] and "192.168.50.10" in audit[-1]["detail"], "audit detail: %r",
          audit[-1]["detail"])


@test
def duplicates_are_refused():
    S.admin("PUT", "/networks/%s/nodes/%s/ingress" % (NET, ST["n1"]["id"]), 200)
    c = S.admin("POST", "/extclients", 201, {"network": NET, "gateway_host_id": ST["n1"]["id"], "name": "phone"})
    ST["phone"] = {"id": c["id"], "addr": c["address"].split("/")[0], "addr6": c["address6"].split("/")[0]}
    before = S.db_snapshot()
    hb = settled_hups()
    for name in ("db", "Db", "db.office", "pg.DB", "n1", "N1", "n2", "phone", "PHONE.office"):
        assert_error(S.request("POST", "/networks/%s/dns" % NET, body={"name": name, "address": "10.1.0.9"},
                               token=S.admin_token), 409, "entry %r" % name)
    # Ext clients and hosts may not take a name that is in use either.
    for name in ("db", "n2", "N1", "phone"):
        assert_error(S.request("POST", "/extclients", body={"network": NET, "gateway_host_id": ST["n1"]["id"],
                                                            "name": name}, token=S.admin_token),
                     409, "ext client %r" % name)
    for name in ("db", "n1", "N2"):
        assert_error(S.request("PATCH", "/extclients/%s" % ST["phone"]["id"], body={"name": name},
                               token=S.admin_token), 409, "ext client renamed to %r" % name)
    for name in ("db", "phone", "PHONE"):
        assert_error(S.request("PATCH", "/hosts/%s" % ST["N2"]["id"], body={"name": name}, token=S.admin_token),
                     409, "host renamed to %r" % name)
        assert_error(S.request("POST", "/hosts/register", body={"token": ST["key"], "public_key": random_pubkey(),
                                                                "name": name}), 409, "host %r joins" % name)
    assert_db_unchanged(S, before, "refused duplicates")
    eq(hups(), hb, "no SIGHUP for refused changes")
    # The same name in another network is fine.
    S.admin("POST", "/networks", 201, {"name": "lab", "ipv4_range": "10.91.0.0/24"})
    dns("POST", 201, {"name": "db", "address": "10.91.0.5"}, net="lab")
    dns("POST", 201, {"name": "n1", "address": "10.91.0.6"}, net="lab")
    eq(hosts_lines("lab"), ["10.91.0.5 db.lab", "10.91.0.6 n1.lab"], "the other network's names")


@test
def ext_clients_are_named():
    lines = hosts_lines()
    check("%s phone.%s" % (ST["phone"]["addr"], NET) in lines and "%s phone.%s" % (ST["phone"]["addr6"], NET) in lines,
          "ext client lines in %r", lines)
    S.admin("PATCH", "/extclients/%s" % ST["phone"]["id"], 200, {"name": "tablet"})
    lines = hosts_lines()
    check("%s tablet.%s" % (ST["phone"]["addr"], NET) in lines and not [l for l in lines if "phone" in l],
          "renamed ext client in %r", lines)
    S.admin("DELETE", "/extclients/%s" % ST["phone"]["id"], 204)
    check(not [l for l in hosts_lines() if "tablet" in l], "a deleted ext client's name is gone")


@test
def rename_and_leave_rewrite_the_file_atomically():
    path = hosts_path()
    ino = os.stat(path).st_ino
    entries = ["192.168.50.10 db.office", "fd00:90::10 v6.db.office", "10.90.0.200 pg.db.office"]
    eq(hosts_lines(), node_lines("n1", "N2") + entries, "names before the rename")
    # A change that does not touch names leaves the file (and dnsmasq) alone.
    before = settled_hups()
    S.admin("PATCH", "/hosts/%s" % ST["N2"]["id"], 200, {"listen_port": 51999})
    eq(os.stat(path).st_ino, ino, "the file is not rewritten when its content stays the same")
    time.sleep(0.1)
    eq(hups(), before, "no SIGHUP when nothing changed")
    S.admin("PATCH", "/hosts/%s" % ST["N2"]["id"], 200, {"name": "n2b"})
    ST["N2"]["dns"] = "n2b"
    eq(hosts_lines(), node_lines("n1", "N2") + entries, "names after the rename")
    check(os.stat(path).st_ino != ino, "the file was replaced by a rename, not rewritten in place")
    wait_hups(before + 1, "the rename")
    check(not [f for f in os.listdir(ST["dns"]) if f.startswith(".")], "no temporary file is left behind")
    S.admin("DELETE", "/networks/%s/nodes/%s" % (NET, ST["N2"]["id"]), 204)
    eq(hosts_lines(), node_lines("n1") + entries, "names after n2b left")
    S.call("DELETE", "/hosts/self", 204, token=ST["n1"]["tok"])
    eq(hosts_lines(), entries, "names after n1 left everything")


@test
def entries_are_deleted():
    before = S.db_snapshot()
    assert_error(S.request("DELETE", "/networks/lab/dns/%s" % ST["db"], token=S.admin_token), 404,
                 "an entry of another network")
    assert_error(S.request("DELETE", "/networks/%s/dns/999999" % NET, token=S.admin_token), 404, "unknown entry")
    assert_error(S.request("DELETE", "/networks/%s/dns/x" % NET, token=S.admin_token), 404, "bad id")
    assert_error(S.request("DELETE", "/networks/%s/dns/%s" % (NET, ST["db"]), token=ST["user"]), 403, "a user")
    assert_db_unchanged(S, before, "refused deletes")
    dns("DELETE", 204, what="/%s" % ST["db"])
    eq(hosts_lines(), ["fd00:90::10 v6.db.office", "10.90.0.200 pg.db.office"], "names after the delete")
    dns("DELETE", 404, what="/%s" % ST["db"])
    eq([a["target"] for a in S.admin("GET", "/audit?action=dns.delete", 200)], [NET], "dns.delete audited")
    # The name is free again.
    dns("POST", 201, {"name": "db", "address": "10.90.0.201"})


@test
def network_delete_removes_its_file():
    before = settled_hups()
    for k in S.admin("GET", "/enrollment-keys", 200):
        S.admin("DELETE", "/enrollment-keys/%s" % k["id"], 204)
    S.admin("DELETE", "/networks/" + NET, 204)
    check(not os.path.exists(hosts_path()), "office.hosts is removed with the network")
    eq(S.db_query("SELECT COUNT(*) FROM dns_entries WHERE network_id NOT IN (SELECT id FROM networks)"), [(0,)],
       "entries go with their network")
    wait_hups(before + 1, "network delete")
    check(os.path.exists(hosts_path("lab")), "the other network's file stays")
