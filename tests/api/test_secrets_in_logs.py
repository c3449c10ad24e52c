"""Secrets never reach the server log: a full flow (setup, logins, API
tokens, users and password changes, an enrollment key, host registrations
with host tokens and broker credentials, ext clients with downloaded .conf
files, failed attempts carrying secrets) on a server at --log-level debug
with a real broker when mosquitto is installed; then every secret issued or
sent is searched for in the log (and in the audit log and the clear-text
parts of the database). The one-time setup token is printed by design: only
before setup, and only that one."""

import base64
import os
import re
import subprocess
import time

from broker_harness import Broker, SetupFailed
from harness import (Skip, b64url_decode, check, eq, meshgated_path, random_pubkey, setup_module, start_server,
                     teardown_module, test)

S = None
B = Broker()
SECRETS = {}          # description -> secret string
DEADLINE = 10.0


def start_broker():
    """mosquitto as tests/api/test_broker.py starts it (no mosquitto_sub needed);
    None when it is not installed or tools/broker-setup.sh fails."""
    try:
        B.start("meshgate-secrets-broker-", clients=False)
    except (Skip, SetupFailed):
        return None
    SECRETS["broker admin password"] = B.admin_password()
    return B.server_args()


@setup_module
def start():
    global S
    extra = start_broker() or []
    S = start_server(log_level="debug", extra_args=extra)


@teardown_module
def stop():
    B.stop()


def add(what, value):
    check(isinstance(value, str) and len(value) >= 8, "%s: not a secret-looking value: %r", what, value)
    SECRETS[what] = value


def read_log():
    with open(S.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def spellings(secret):
    """The secret and the encodings a careless log line might use."""
    out = {secret}
    if len(secret) >= 40 and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", secret):
        try:
            raw = base64.b64decode(secret)
            out |= {raw.hex(), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
        except ValueError:
            pass
    return out


@test
def full_flow_leaves_no_secret_in_the_log():
    # 1. setup: the token is in the log by design, before setup only
    setup_token = S.read_setup_token()
    time.sleep(0.1)
    eq(read_log().count(setup_token), 1, "the setup token printed once at first start")
    S.request("POST", "/setup", {"setup_token": "mgt_" + "x" * 43, "username": "admin",
                                 "password": "not the admin password"})
    admin_pw = "admin secret passphrase 1"
    S.call("POST", "/setup", 201, {"setup_token": setup_token, "username": "admin", "password": admin_pw})
    S.admin_user, S.admin_password, S.setup_token = "admin", admin_pw, setup_token
    add("admin password", admin_pw)
    login = S.login("admin", admin_pw)
    S.admin_token = login["token"]
    add("admin session token", login["token"])
    add("admin csrf", login["csrf"])
    add("a mistyped admin password", "admin secret passphrase 2")
    S.request("POST", "/login", {"username": "admin", "password": SECRETS["a mistyped admin password"]})
    add("a password tried for a user that does not exist", "ghost user password 9")
    S.request("POST", "/login", {"username": "ghost", "password": SECRETS["a password tried for a user that does not exist"]})
    cookie = S.login("admin", admin_pw)
    add("cookie session", cookie["token"])
    add("cookie csrf", cookie["csrf"])
    S.call("POST", "/tokens", 201, {"name": "via-cookie"}, cookie=cookie["token"], csrf=cookie["csrf"])
    S.request("POST", "/tokens", {"name": "no-csrf"}, cookie=cookie["token"], csrf="0" * 64)
    # 2. API tokens and users
    api = S.admin("POST", "/tokens", 201, {"name": "ci", "expires_in": 3600})
    add("API token", api["token"])
    S.call("GET", "/networks", 200, token=api["token"])
    gone = S.admin("POST", "/tokens", 201, {"name": "revoked"})
    add("revoked API token", gone["token"])
    S.admin("DELETE", "/tokens/%s" % gone["id"], 204)
    S.request("GET", "/me", token=gone["token"])
    add("user password", "user first password")
    u = S.admin("POST", "/users", 201, {"username": "ulla", "password": SECRETS["user password"], "role": "user"})
    ut = S.login("ulla", SECRETS["user password"])
    add("user session", ut["token"])
    add("user's new password", "user second password")
    S.call("POST", "/me/password", 204, {"current_password": SECRETS["user password"],
                                         "new_password": SECRETS["user's new password"]}, token=ut["token"])
    add("wrong current password", "user wrong current pw")
    ut2 = S.login("ulla", SECRETS["user's new password"])
    S.request("POST", "/me/password", {"current_password": SECRETS["wrong current password"],
                                       "new_password": "user third password"}, token=ut2["token"])
    add("password set by the admin", "admin set this password")
    S.admin("PATCH", "/users/%s" % u["id"], 200, {"password": SECRETS["password set by the admin"]})
    ut2 = S.login("ulla", SECRETS["password set by the admin"])    # the reset ended her sessions
    add("user session after the reset", ut2["token"])
    add("too short password", "shortpw9x")  # refused (< 10), but it was sent
    S.request("POST", "/users", {"username": "tiny", "password": SECRETS["too short password"], "role": "user"},
              token=S.admin_token)
    # 3. enrollment and hosts
    S.admin("POST", "/networks", 201, {"name": "sec", "ipv4_range": "10.97.0.0/24", "ipv6_range": "fd00:97::/64"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["sec"], "uses": 5})
    add("enrollment token", key["token"])
    inner = __import__("json").loads(b64url_decode(key["token"]))["key"]
    add("enrollment key (inner mge_)", inner)
    reg = S.call("POST", "/hosts/register", 201, {"token": key["token"], "public_key": random_pubkey(),
                                                   "name": "gw", "endpoint": "198.51.100.7:51821"})
    add("host token (gw)", reg["host_token"])
    reg2 = S.call("POST", "/hosts/register", 201, {"token": inner, "public_key": random_pubkey(), "name": "h2"})
    add("host token (h2, registered with the bare key)", reg2["host_token"])
    if B.proc:
        check(reg.get("broker") and reg["broker"].get("password"), "no broker credentials with a broker: %r",
              reg.get("broker"))
        add("broker password (gw)", reg["broker"]["password"])
        add("broker password (h2)", reg2["broker"]["password"])
        rot = S.call("POST", "/hosts/self/broker", 200, token=reg["host_token"])
        add("rotated broker password (gw)", rot["password"])
    S.call("GET", "/hosts/self/config", 200, token=reg["host_token"])
    S.call("POST", "/hosts/self/checkin", 200, {"listen_port": 51821}, token=reg["host_token"])
    # a forged host token and a used-up / wrong enrollment token
    S.request("GET", "/hosts/self/config", token="mgh_" + "A" * 43)
    add("wrong enrollment key", "mge_" + "B" * 43)
    S.request("POST", "/hosts/register", {"token": SECRETS["wrong enrollment key"], "public_key": random_pubkey(),
                                          "name": "nope"})
    # 4. ext clients: generated keys, downloads
    S.admin("PUT", "/networks/sec/nodes/%s/ingress" % reg["host"]["id"], 200)
    c = S.admin("POST", "/extclients", 201, {"network": "sec", "gateway_host_id": reg["host"]["id"], "name": "phone"})
    conf = S.request("GET", "/extclients/%s/config" % c["id"], token=S.admin_token)
    eq(conf.status, 200, "download the .conf")
    m = re.search(r"^PrivateKey\s*=\s*(\S+)", conf.raw.decode(), re.M)
    check(m, "no PrivateKey in the .conf")
    add("ext client private key", m.group(1))
    for fmt in ("qr.png", "qr.svg"):
        eq(S.request("GET", "/extclients/%s/%s" % (c["id"], fmt), token=S.admin_token).status, 200, fmt)
    cu = S.call("POST", "/extclients", 201, {"network": "sec", "gateway_host_id": reg["host"]["id"], "name": "ulla-pc"},
                token=ut2["token"])
    r = S.request("GET", "/extclients/%s/config" % cu["id"], token=ut2["token"])
    add("user's ext client private key", re.search(r"^PrivateKey\s*=\s*(\S+)", r.raw.decode(), re.M).group(1))
    # 5. a host leaves (its token is revoked), logouts
    S.call("DELETE", "/hosts/self", 204, token=reg2["host_token"])
    S.call("POST", "/logout", 204, token=ut2["token"])
    with open(os.path.join(S.dir, "master.key"), "rb") as f:
        mk = f.read()
    add("master key (base64)", base64.b64encode(mk).decode())
    add("master key (hex)", mk.hex())

    # the verdict: the log, then the audit log and the database in the clear
    time.sleep(0.3)   # let the log catch up
    log = read_log()
    check(len(log.splitlines()) > 10, "a suspiciously short debug log:\n%s" % log)
    leaks = []
    for what, secret in SECRETS.items():
        for sp in spellings(secret):
            if sp in log:
                line = next(l for l in log.splitlines() if sp in l)
                leaks.append("%s in the server log: %s" % (what, line[:200]))
    setup_lines = [i for i, l in enumerate(log.splitlines()) if setup_token in l]
    done = [i for i, l in enumerate(log.splitlines()) if "setup complete" in l]
    check(done, "no 'setup complete' line in the log")
    check(all(i < done[0] for i in setup_lines), "the setup token in the log after setup")
    eq(len(setup_lines), 1, "log lines with the setup token")
    audit = S.request("GET", "/audit?limit=1000", token=S.admin_token).raw.decode("utf-8", "replace")
    dump = "\n".join(S.db_snapshot())
    for what, secret in list(SECRETS.items()) + [("setup token", setup_token)]:
        if secret in audit:
            leaks.append("%s in GET /audit" % what)
        if secret in dump:
            leaks.append("%s in the database in the clear" % what)
    check(not leaks, "%d secret(s) leaked:\n  %s" % (len(leaks), "\n  ".join(leaks)))
    check(len(SECRETS) >= 18, "only %d secrets checked: %r", len(SECRETS), sorted(SECRETS))


@test
def setup_token_not_printed_again_after_restart():
    """A restart of a set-up server prints no new setup token."""
    S.proc.terminate()
    eq(S.proc.wait(timeout=DEADLINE), 0, "exit status on SIGTERM")
    S.log.close()
    before = read_log()
    # restart on the same data dir (start() makes a new temp dir: do it by hand)
    sp = subprocess
    port_file = os.path.join(S.dir, "port")
    os.unlink(port_file) if os.path.exists(port_file) else None
    log = open(S.log_path, "ab")
    S.log = log
    args = [meshgated_path(), "--data-dir", S.dir,
            "--listen", "127.0.0.1:0", "--port-file", port_file, "--log-level", "debug"]
    S.proc = sp.Popen(args, stdin=sp.DEVNULL, stdout=log, stderr=log, cwd=S.dir)
    deadline = time.monotonic() + DEADLINE
    while not S._read_port(port_file):
        check(S.proc.poll() is None and time.monotonic() < deadline, "restart failed:\n%s" % S.log_tail())
        time.sleep(0.02)
    S.port = S._read_port(port_file)
    eq(S.call("GET", "/setup", 200), {"needed": False}, "setup after the restart")
    after = read_log()[len(before):]
    check("mgt_" not in after, "a setup token printed after the restart of a set-up server: %r" % after[-300:])
    check(not os.path.exists(S.setup_token_path), "setup-token file present after the restart")
