"""meshgatectl against a real server: setup, login, networks, keys, hosts,
errors. Skipped when the meshgatectl binary ($MESHGATECTL) doesn't exist."""

import json
import os
import subprocess

from harness import (Skip, ctl_env, check, eq, meshgatectl_path, random_pubkey, setup_module,
                     start_server, test)

S = None
CTL = None
ENV = {}
PW = "ctl admin password"


@setup_module
def start():
    global S, CTL
    CTL = meshgatectl_path()
    if not os.access(CTL, os.X_OK):
        raise Skip("meshgatectl not found at %s" % CTL)
    S = start_server()
    ENV.update(ctl_env(S))


def ctl(*args, env=None, stdin=None, expect=0):
    e = dict(ENV)
    e.update(env or {})
    p = subprocess.run([CTL] + list(args), env=e, input=stdin, capture_output=True,
                       text=True, timeout=20)
    if expect is not None and (p.returncode != expect if expect == 0 else p.returncode == 0):
        raise AssertionError("meshgatectl %s: exit %s (expected %s)\nstdout: %s\nstderr: %s" % (
            " ".join(args), p.returncode, "0" if expect == 0 else "non-zero",
            p.stdout[-2000:], p.stderr[-2000:]))
    return p


def ctl_json(*args):
    p = ctl("--json", *args)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise AssertionError("meshgatectl --json %s: stdout is not JSON: %r" % (
            " ".join(args), p.stdout[:500]))


@test
def ctl_help():
    p = ctl("--help")
    check("network" in p.stdout and "login" in p.stdout, "help output: %r", p.stdout[:300])
    p = ctl("no-such-command", expect=1)
    check(p.stderr.strip(), "unknown command: no message on stderr")


@test
def ctl_setup():
    tok = S.read_setup_token()
    p = ctl("setup", "admin", env={"MESHGATE_SETUP_TOKEN": "wrong" + tok, "MESHGATE_PASSWORD": PW},
            expect=1)
    check(p.stderr.strip(), "failed setup: no message on stderr")
    eq(S.request("GET", "/setup").body, {"needed": True}, "still needed after a failed ctl setup")
    ctl("setup", "admin", env={"MESHGATE_SETUP_TOKEN": tok, "MESHGATE_PASSWORD": PW})
    eq(S.request("GET", "/setup").body, {"needed": False}, "GET /setup after ctl setup")
    S.admin_token = S.login("admin", PW)["token"]


@test
def ctl_login():
    p = ctl("login", "admin", env={"MESHGATE_PASSWORD": "wrong password!"}, expect=1)
    check(p.stderr.strip(), "failed login: no message on stderr")
    ctl("login", "admin", env={"MESHGATE_PASSWORD": PW})
    cfg = ENV["MESHGATE_CONFIG"]
    check(os.path.exists(cfg), "login did not write %s", cfg)
    mode = os.stat(cfg).st_mode & 0o777
    check(mode & 0o077 == 0, "config file with a session is readable by others: %o", mode)
    p = ctl("whoami")
    check("admin" in p.stdout, "whoami output: %r", p.stdout)
    me = ctl_json("whoami")
    eq((me.get("username"), me.get("role")), ("admin", "admin"), "whoami --json")


@test
def ctl_network_create_list():
    ctl("network", "create", "ctlnet", "--ipv4", "10.70.0.0/24", "--ipv6", "fd00:70::/64",
        "--mtu", "1400")
    lst = ctl_json("network", "list")
    check(isinstance(lst, list), "network list --json is not a list: %r", lst)
    names = [n.get("name") for n in lst]
    eq(names, ["ctlnet"], "network names")
    n = lst[0]
    eq((n["ipv4_range"], n["ipv6_range"], n["mtu"]), ("10.70.0.0/24", "fd00:70::/64", 1400), "network")
    eq(S.admin("GET", "/networks/ctlnet", 200)["mtu"], 1400, "network via the API")
    p = ctl("network", "list")
    check("ctlnet" in p.stdout and "10.70.0.0/24" in p.stdout, "network list: %r", p.stdout)


@test
def ctl_bad_cidr():
    before = S.db_snapshot()
    for cidr in ("10.70.1.5/24", "not-a-cidr", "10.71.0.0/31"):
        p = ctl("network", "create", "badnet", "--ipv4", cidr, expect=1)
        check(p.stderr.strip(), "bad CIDR %s: no message on stderr", cidr)
    p = ctl("network", "create", "overlap", "--ipv4", "10.70.0.0/25", expect=1)
    check(p.stderr.strip(), "overlapping CIDR: no message on stderr")
    check(S.db_snapshot() == before, "database changed by refused ctl network creates")
    eq([n["name"] for n in S.admin("GET", "/networks", 200)], ["ctlnet"], "networks")


@test
def ctl_key_registers_host():
    p = ctl("key", "create", "--network", "ctlnet", "--uses", "2", "--tag", "ctl")
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    check(lines, "key create printed nothing")
    token = lines[-1].strip()
    pub = random_pubkey()
    r = S.call("POST", "/hosts/register", 201, {"token": token, "public_key": pub,
                                                "name": "ctl-host"})
    eq(r["host"]["public_key"], pub, "registered with the ctl token")
    keys = ctl_json("key", "list")
    eq([k["uses_remaining"] for k in keys], [1], "key uses after registration")
    k = ctl_json("key", "create", "--network", "ctlnet", "--unlimited")
    check(isinstance(k.get("token"), str), "key create --json: %r", k)


@test
def ctl_host_list():
    p = ctl("host", "list")
    check("ctl-host" in p.stdout, "host list does not show ctl-host: %r", p.stdout)
    hosts = ctl_json("host", "list")
    eq([h["name"] for h in hosts], ["ctl-host"], "host list --json")
    nodes = ctl_json("node", "list", "ctlnet")
    eq([n["address"].split("/")[0] for n in nodes], ["10.70.0.1"], "node list --json")
    hid = str(hosts[0]["id"])
    ctl("host", "delete", hid)
    eq(ctl_json("host", "list"), [], "host list after delete")


@test
def ctl_unauthenticated_fails():
    p = ctl("network", "list", env={"MESHGATE_CONFIG": os.path.join(S.dir, "nope.json")}, expect=1)
    check(p.stderr.strip(), "no message on stderr without credentials")
    p = ctl("network", "list", env={"MESHGATE_TOKEN": "mga_bogus"}, expect=1)
    check(p.stderr.strip(), "no message on stderr with a bogus token")


@test
def ctl_logout():
    ctl("logout")
    p = ctl("network", "list", expect=1)
    check(p.stderr.strip(), "no message on stderr after logout")
