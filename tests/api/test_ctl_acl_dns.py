"""meshgatectl ACLs, host tags and DNS entries against a real server: acl
show/policy/add/delete, host tags, dns list/add/delete, checked through the
API, and bad usage (exit 2) or values the server refuses (exit 1). Skipped
when the meshgatectl binary ($MESHGATECTL) doesn't exist."""

import json
import os

from harness import (Skip, ctl_env, run_ctl, check, eq, meshgatectl_path, random_pubkey, setup_module,
                     start_server, test)

S = None
CTL = None
ENV = {}
ST = {}
PW = "ctl acl dns admin password"
NET = "ctlacl"
V4, V6 = "10.91.0.0/24", "fd00:91::/64"


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
    for name in ("n1", "n2", "n3"):
        r = S.call("POST", "/hosts/register", 201, {
            "token": key, "public_key": random_pubkey(), "name": name})
        ST[name] = r["host"]["id"]
        ST[name + "_token"] = r["host_token"]


def ctl(*args, env=None, expect=0):
    return run_ctl(CTL, ENV, args, env=env, expect=expect)


def ctl_json(*args):
    p = ctl("--json", *args)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise AssertionError("meshgatectl --json %s: stdout is not JSON: %r" % (
            " ".join(map(str, args)), p.stdout[:500]))


def api_acl():
    return S.admin("GET", "/networks/%s/acl" % NET, 200)


def peers(name):
    cfg = S.call("GET", "/hosts/self/config", 200, token=ST[name + "_token"])
    return sorted(p["name"] for p in cfg["peers"])


def api_error(p, code, what):
    check(p.stderr.startswith("meshgatectl: ") and ("(HTTP %d)" % code) in p.stderr,
          "%s: stderr %r", what, p.stderr)


@test
def ctl_host_tags():
    h = ctl_json("host", "tags", ST["n3"], "db", "web")
    eq(sorted(h["tags"]), ["db", "web"], "tags in the PATCH answer")
    eq(sorted(S.admin("GET", "/hosts/%s" % ST["n3"], 200)["tags"]), ["db", "web"], "tags via the API")
    p = ctl("host", "tags", ST["n3"], "db")
    check("tags:" in p.stdout and "db" in p.stdout, "host tags prints the host: %r", p.stdout)
    eq(S.admin("GET", "/hosts/%s" % ST["n3"], 200)["tags"], ["db"], "tags replaced")
    ctl("host", "tags", ST["n2"], "scratch")
    eq(S.admin("GET", "/hosts/%s" % ST["n2"], 200)["tags"], ["scratch"], "n2 tagged")
    ctl("host", "tags", ST["n2"])
    eq(S.admin("GET", "/hosts/%s" % ST["n2"], 200)["tags"], [], "no TAG clears")


@test
def ctl_host_tags_bad():
    before = S.db_snapshot()
    for args in (("host", "tags"), ("host", "tags", ST["n1"], "--bogus"),
                 ("host", "tags", ST["n1"], "")):
        p = ctl(*args, expect=2)
        check(p.stderr.strip(), "%s: no message on stderr", args)
    p = ctl("host", "tags", ST["n1"], "bad tag", expect=1)
    api_error(p, 400, "tag with a space")
    p = ctl("host", "tags", "999999", "db", expect=1)
    api_error(p, 404, "unknown host")
    check(S.db_snapshot() == before, "database changed by refused host tags commands")


@test
def ctl_acl_policy_and_show():
    eq(peers("n1"), ["n2", "n3"], "full mesh under allow")
    n = ctl_json("acl", "policy", NET, "deny")
    eq(n["default_policy"], "deny", "policy in the PATCH answer")
    eq(S.admin("GET", "/networks/%s" % NET, 200)["default_policy"], "deny", "policy via the API")
    eq(peers("n1"), [], "no tunnels under deny")
    a = ctl_json("acl", "show", NET)
    eq(a, api_acl(), "acl show --json is the API's JSON")
    eq((a["default_policy"], a["rules"]), ("deny", []), "empty deny ACL")
    p = ctl("acl", "show", NET)
    check("default_policy" in p.stdout and "deny" in p.stdout, "acl show policy: %r", p.stdout)
    hdr = [l for l in p.stdout.splitlines() if l.startswith("ID")]
    check(hdr and hdr[0].split() == ["ID", "ACTION", "SRC", "DST", "PROTO", "PORTS"], "rules header: %r", p.stdout)


@test
def ctl_acl_add_delete():
    r = ctl_json("acl", "add", NET, "--src", "node:%s" % ST["n1"], "--dst", "tag:db",
                 "--action", "allow")
    ST["rule1"] = r["id"]
    eq((r["src"], r["dst"], r["action"]),
       ({"kind": "node", "value": str(ST["n1"])}, {"kind": "tag", "value": "db"}, "allow"),
       "rule in the POST answer")
    eq(peers("n1"), ["n3"], "n1 reaches the db-tagged n3")
    eq(peers("n3"), ["n1"], "n3 sees n1")
    eq(peers("n2"), [], "n2 sees nobody")
    r2 = ctl_json("acl", "add", NET, "--src=any", "--dst=node:%s" % ST["n2"], "--action=deny")
    ST["rule2"] = r2["id"]
    eq((r2["src"]["kind"], r2["src"].get("value") or None, r2["dst"], r2["action"]),
       ("any", None, {"kind": "node", "value": str(ST["n2"])}, "deny"), "second rule")
    rules = {x["id"]: x for x in api_acl()["rules"]}
    eq(sorted(rules), sorted([ST["rule1"], ST["rule2"]]), "rules via the API")
    # The table.
    p = ctl("acl", "show", NET)
    rows = {l.split()[0]: l.split() for l in p.stdout.splitlines()
            if l.split() and l.split()[0].isdigit()}
    eq(rows.get(str(ST["rule1"]))[:5], [str(ST["rule1"]), "allow", "node:%s" % ST["n1"], "tag:db", "any"],
       "rule1's row")
    eq(rows.get(str(ST["rule2"]))[:5], [str(ST["rule2"]), "deny", "any", "node:%s" % ST["n2"], "any"],
       "rule2's row")
    # Protocol, ports and an egress range.
    r3 = ctl_json("acl", "add", NET, "--src", "node:%s" % ST["n2"], "--dst", "egress:172.31.9.0/24",
                  "--action", "allow", "--proto", "tcp", "--ports", "5432")
    eq((r3["dst"], r3["proto"], r3["ports"]), ({"kind": "egress", "value": "172.31.9.0/24"}, "tcp", "5432"),
       "a port rule to an egress range")
    p = ctl("acl", "show", NET)
    row = next(l.split() for l in p.stdout.splitlines() if l.split() and l.split()[0] == str(r3["id"]))
    eq(row, [str(r3["id"]), "allow", "node:%s" % ST["n2"], "egress:172.31.9.0/24", "tcp", "5432"], "its row")
    p = ctl("acl", "add", NET, "--src", "any", "--dst", "any", "--action", "allow", "--proto", "icmp",
            "--ports", "7", expect=1)
    api_error(p, 400, "ports with icmp")
    ctl("acl", "delete", NET, str(r3["id"]))
    # Delete.
    p = ctl("acl", "delete", NET, ST["rule2"])
    check("Deleted" in p.stdout, "acl delete output: %r", p.stdout)
    eq([x["id"] for x in api_acl()["rules"]], [ST["rule1"]], "rules after delete")
    p = ctl("acl", "delete", NET, ST["rule2"], expect=1)
    api_error(p, 404, "second delete")
    ctl("acl", "delete", NET, ST["rule1"])
    eq(api_acl()["rules"], [], "no rules left")
    eq(peers("n1"), [], "no tunnels after deleting the allow rule")
    ctl("acl", "policy", NET, "allow")
    eq(S.admin("GET", "/networks/%s" % NET, 200)["default_policy"], "allow", "policy back to allow")
    eq(peers("n1"), ["n2", "n3"], "full mesh again")


@test
def ctl_acl_bad_usage():
    before = S.db_snapshot()
    n1 = "node:%s" % ST["n1"]
    cases = [
        ("acl",),
        ("acl", "frob", NET),
        ("acl", "show"),
        ("acl", "show", NET, "extra"),
        ("acl", "policy", NET),
        ("acl", "policy", NET, "maybe"),
        ("acl", "policy", NET, "allow", "extra"),
        ("acl", "add", NET),
        ("acl", "add", NET, "--src", "any", "--dst", "any"),
        ("acl", "add", NET, "--src", "any", "--action", "allow"),
        ("acl", "add", NET, "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", "any", "--dst", "any", "--action", "permit"),
        ("acl", "add", NET, "--src", "host:1", "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", "any:x", "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", "node", "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", "node:", "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", "node:1x", "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", "node:-3", "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", "tag:", "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", n1, "--dst", "any", "--action", "allow", "--proto", "sctp"),
        ("acl", "add", NET, "--src", "egress", "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", "extclient:x", "--dst", "any", "--action", "allow"),
        ("acl", "add", NET, "--src", n1, "--dst", "any", "--action"),
        ("acl", "delete", NET),
        ("acl", "delete", NET, "1", "2"),
    ]
    for args in cases:
        p = ctl(*args, expect=2)
        check(p.stderr.strip(), "%s: no message on stderr", args)
    # The server's checks.
    p = ctl("acl", "add", NET, "--src", "node:999999", "--dst", "any", "--action", "allow", expect=1)
    api_error(p, 400, "unknown node")
    p = ctl("acl", "add", NET, "--src", "tag:bad tag", "--dst", "any", "--action", "allow", expect=1)
    api_error(p, 400, "bad tag")
    p = ctl("acl", "add", "nope", "--src", "any", "--dst", "any", "--action", "allow", expect=1)
    api_error(p, 404, "unknown network")
    p = ctl("acl", "show", "nope", expect=1)
    api_error(p, 404, "acl show of an unknown network")
    p = ctl("acl", "policy", "nope", "deny", expect=1)
    api_error(p, 404, "policy of an unknown network")
    check(S.db_snapshot() == before, "database changed by refused acl commands")


@test
def ctl_dns():
    eq(ctl_json("dns", "list", NET), [], "no custom entries")
    e = ctl_json("dns", "add", NET, "db", "10.91.0.200")
    ST["dns1"] = e["id"]
    eq((e["name"], e["network"], e["fqdn"], e["address"]),
       ("db", NET, "db.%s" % NET, "10.91.0.200"), "entry in the POST answer")
    p = ctl("dns", "add", NET, "pg.DB", "fd00:91::0:5")
    check("fqdn" in p.stdout and "pg.db.%s" % NET in p.stdout, "dns add output: %r", p.stdout)
    api = S.admin("GET", "/networks/%s/dns" % NET, 200)
    eq(sorted((x["name"], x["address"]) for x in api), [("db", "10.91.0.200"), ("pg.db", "fd00:91::5")],
       "entries via the API")
    ST["dns2"] = [x["id"] for x in api if x["name"] == "pg.db"][0]
    eq(ctl_json("dns", "list", NET), api, "dns list --json is the API's JSON")
    p = ctl("dns", "list", NET)
    lines = p.stdout.splitlines()
    eq(lines[0].split(), ["ID", "NAME", "FQDN", "ADDRESS"], "dns list header")
    rows = {l.split()[1]: l.split() for l in lines[1:]}
    eq(rows.get("db"), [str(ST["dns1"]), "db", "db.%s" % NET, "10.91.0.200"], "db's row")
    # The server refuses a name in use (a node's host or another entry).
    p = ctl("dns", "add", NET, "n1", "10.91.0.201", expect=1)
    api_error(p, 409, "name of a node")
    p = ctl("dns", "add", NET, "DB", "10.91.0.201", expect=1)
    api_error(p, 409, "duplicate name")
    p = ctl("dns", "delete", NET, ST["dns1"])
    check("Deleted" in p.stdout, "dns delete output: %r", p.stdout)
    eq([x["id"] for x in S.admin("GET", "/networks/%s/dns" % NET, 200)], [ST["dns2"]],
       "entries after delete")
    p = ctl("dns", "delete", NET, ST["dns1"], expect=1)
    api_error(p, 404, "second delete")
    ctl("dns", "delete", NET, ST["dns2"])
    eq(S.admin("GET", "/networks/%s/dns" % NET, 200), [], "no entries left")


@test
def ctl_dns_bad_usage():
    before = S.db_snapshot()
    cases = [
        ("dns",),
        ("dns", "frob", NET),
        ("dns", "list"),
        ("dns", "list", NET, "extra"),
        ("dns", "add", NET),
        ("dns", "add", NET, "db"),
        ("dns", "add", NET, "db", "not-an-ip"),
        ("dns", "add", NET, "db", "10.0.0.300"),
        ("dns", "add", NET, "db", "10.91.0.9", "extra"),
        ("dns", "add", NET, "db", "10.91.0.9", "--bogus"),
        ("dns", "delete", NET),
        ("dns", "delete", NET, "1", "2"),
    ]
    for args in cases:
        p = ctl(*args, expect=2)
        check(p.stderr.strip(), "%s: no message on stderr", args)
    p = ctl("dns", "add", NET, "bad_name!", "10.91.0.9", expect=1)
    api_error(p, 400, "bad name")
    p = ctl("dns", "add", "nope", "db", "10.91.0.9", expect=1)
    api_error(p, 404, "unknown network")
    p = ctl("dns", "list", "nope", expect=1)
    api_error(p, 404, "dns list of an unknown network")
    check(S.db_snapshot() == before, "database changed by refused dns commands")
