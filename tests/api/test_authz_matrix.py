"""The authorization matrix, generated from server/routes.c: every route x
{anonymous, user, other user, admin, admin API token, user API token, admin
cookie without CSRF, host token, other host's token, expired session,
revoked API token, forged tokens} with the status its access level implies.
A route whose access level (or '*' parameter) this file does not know makes
the test fail. Plus: IDOR on owner-scoped resources (ext clients, API
tokens, users), private keys never in JSON responses, forged host tokens,
setup endpoint reuse and open redirects."""

import base64
import http.client
import os
import re
import shutil
import sqlite3
import tempfile

from harness import (ROOT, assert_db_unchanged, assert_error, check, eq, random_pubkey, setup_module,
                     start_server, teardown_module, test)

S = None
ST = {}
NET = "az"
WEB = None
MISSING_ID = "987654"          # an id no object has: "allowed" probes stay harmless
MISSING_NET = "no-such-net"

KNOWN_LEVELS = ("ACCESS_PUBLIC", "ACCESS_USER", "ACCESS_ADMIN", "ACCESS_HOST")
ROUTE_RE = re.compile(r'\{\s*"([A-Z]+)"\s*,\s*"(/[^"]*)"\s*,\s*(ACCESS_[A-Z_]+)\s*,\s*(\w+)\s*\}')
# The segment before a '*' says what the parameter is. A new kind of
# parameter must be added here (with a real target), or the test fails.
PARAM_KINDS = ("networks", "nodes", "hosts", "users", "tokens", "enrollment-keys", "extclients", "rules",
               "dns", "networks@self")


def db_write(sql, args=()):
    con = sqlite3.connect(S.db_path, timeout=5)
    try:
        n = con.execute(sql, args).rowcount
        con.commit()
        return n
    finally:
        con.close()


def register(name):
    r = S.call("POST", "/hosts/register", 201, {"token": ST["enroll"], "public_key": random_pubkey(), "name": name})
    return {"id": r["host"]["id"], "tok": r["host_token"]}


def user_session(name, pw):
    b = S.login(name, pw)
    return b["token"]


@setup_module
def start():
    global S, WEB
    WEB = tempfile.mkdtemp(prefix="meshgate-web-")
    os.makedirs(os.path.join(WEB, "js"))
    with open(os.path.join(WEB, "index.html"), "w") as f:
        f.write("<!doctype html><title>console</title>")
    with open(os.path.join(WEB, "js", "app.js"), "w") as f:
        f.write("export const x = 1;\n")
    S = start_server(extra_args=["--web-dir", WEB])
    S.setup()
    S.admin("POST", "/networks", 201, {"name": NET, "ipv4_range": "10.93.0.0/24", "ipv6_range": "fd00:93::/64"})
    S.admin("POST", "/networks", 201, {"name": "az2", "ipv4_range": "10.94.0.0/24"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "unlimited": True})
    ST["enroll"] = key["token"]
    ST["key_id"] = key["id"]
    ST["gw"] = register("gw")
    ST["host"] = register("h1")
    ST["other_host"] = register("h2")
    S.admin("PUT", "/networks/%s/nodes/%s/ingress" % (NET, ST["gw"]["id"]), 200)
    ST["admin_id"] = S.admin("GET", "/me", 200)["id"]
    ST["uma_pw"] = "uma password 1"
    ST["vic_pw"] = "vic password 1"
    ST["user"] = S.create_user("uma", ST["uma_pw"])
    ST["user_id"] = S.call("GET", "/me", 200, token=ST["user"])["id"]
    ST["other"] = S.create_user("vic", ST["vic_pw"])
    ST["other_id"] = S.call("GET", "/me", 200, token=ST["other"])["id"]
    # vic's objects: the targets of every denied probe (real ids, so a missing check would act)
    ST["vic_token"] = S.call("POST", "/tokens", 201, {"name": "vic-ci"}, token=ST["other"])
    ST["vic_client"] = S.call("POST", "/extclients", 201, {
        "network": NET, "gateway_host_id": ST["gw"]["id"], "name": "vic-phone"}, token=ST["other"])
    ST["uma_client"] = S.call("POST", "/extclients", 201, {
        "network": NET, "gateway_host_id": ST["gw"]["id"], "name": "uma-laptop"}, token=ST["user"])
    ST["admin_client"] = S.admin("POST", "/extclients", 201, {
        "network": NET, "gateway_host_id": ST["gw"]["id"], "name": "admin-box"})
    ST["user_api"] = S.call("POST", "/tokens", 201, {"name": "uma-ci"}, token=ST["user"])["token"]
    ST["admin_api"] = S.admin("POST", "/tokens", 201, {"name": "admin-ci"})["token"]
    # an expired admin session and a revoked admin API token: were either
    # accepted, every route would open up
    exp = S.login(S.admin_user, S.admin_password)["token"]
    S.call("GET", "/networks", 200, token=exp)
    eq(db_write("UPDATE sessions SET expires_at = 1 WHERE id = (SELECT MAX(id) FROM sessions WHERE user_id = ?)",
                (ST["admin_id"],)), 1, "expired session rows")
    ST["expired"] = exp
    rev = S.admin("POST", "/tokens", 201, {"name": "to-revoke"})
    S.call("GET", "/networks", 200, token=rev["token"])
    S.admin("DELETE", "/tokens/%s" % rev["id"], 204)
    ST["revoked"] = rev["token"]
    ST["cookie"] = S.login(S.admin_user, S.admin_password)


@teardown_module
def cleanup():
    if WEB:
        shutil.rmtree(WEB, ignore_errors=True)


# ---- the route table -------------------------------------------------------

def routes():
    with open(os.path.join(ROOT, "server", "routes.c")) as f:
        text = f.read()
    found = ROUTE_RE.findall(text)
    # every line that names an access level must be a route we parsed
    lines = [l for l in text.splitlines() if re.search(r"\bACCESS_\w+", l) and "{" in l]
    eq(len(found), len(lines), "parsed routes vs route-like lines in routes.c (unparsed: %r)"
       % [l for l in lines if not ROUTE_RE.search(l)])
    check(len(found) >= 40, "only %d routes parsed from routes.c", len(found))
    unknown = sorted(set("%s %s %s" % (m, p, lvl) for m, p, lvl, _ in found if lvl not in KNOWN_LEVELS))
    check(not unknown, "routes with an access level this matrix does not know (extend it): %r", unknown)
    for m, p, lvl, h in found:
        segs = p.split("/")
        for i, s in enumerate(segs):
            if s == "*":
                kind = segs[i - 1] + ("@self" if "/self/" in p else "")
                check(kind in PARAM_KINDS, "route %s %s: parameter after %r unknown to the matrix (extend fill())",
                      m, p, segs[i - 1])
    return found


def fill(path, real):
    """The '*' segments: real ids of another user's / host's objects
    (denied probes), or ids that do not exist (allowed probes)."""
    segs = path.split("/")
    out = []
    self_route = "/self/" in path
    for i, s in enumerate(segs):
        if s != "*":
            out.append(s)
            continue
        prev = segs[i - 1]
        if not real:
            out.append(MISSING_NET if prev == "networks" else MISSING_ID)
            continue
        if self_route and prev == "networks":
            out.append(NET)
            continue
        out.append({"networks": NET, "nodes": str(ST["gw"]["id"]), "hosts": str(ST["host"]["id"]),
                    "users": str(ST["other_id"]), "tokens": str(ST["vic_token"]["id"]),
                    "enrollment-keys": str(ST["key_id"]), "rules": "1", "dns": "1",
                    "extclients": str(ST["vic_client"]["id"])}[prev])
    return "/".join(out)


# ---- principals ------------------------------------------------------------

def forged(prefix):
    return prefix + base64.b64encode(os.urandom(32)).decode().rstrip("=").replace("+", "-").replace("/", "_")


PRINCIPALS = ("anonymous", "user", "other user", "admin", "admin API token", "user API token",
              "admin cookie without CSRF", "admin cookie with CSRF", "host", "other host",
              "expired session", "revoked API token", "forged host token", "forged session", "forged API token")
USERISH = ("user", "other user", "admin", "admin API token", "user API token", "admin cookie without CSRF",
           "admin cookie with CSRF")
ADMINISH = ("admin", "admin API token", "admin cookie without CSRF", "admin cookie with CSRF")
HOSTISH = ("host", "other host")
NOBODY = ("anonymous", "expired session", "revoked API token", "forged host token", "forged session",
          "forged API token")


def creds(who):
    """request() keyword arguments for a principal."""
    if who == "anonymous":
        return {}
    if who in ("admin cookie without CSRF", "admin cookie with CSRF"):
        kw = {"cookie": ST["cookie"]["token"]}
        if who.endswith("with CSRF"):
            kw["csrf"] = ST["cookie"]["csrf"]
        return kw
    tok = {"user": ST["user"], "other user": ST["other"], "admin": S.admin_token,
           "admin API token": ST["admin_api"], "user API token": ST["user_api"],
           "host": ST["host"]["tok"], "other host": ST["other_host"]["tok"],
           "expired session": ST["expired"], "revoked API token": ST["revoked"],
           "forged host token": ST.setdefault("forged_h", forged("mgh_")),
           "forged session": ST.setdefault("forged_s", forged("mgs_")),
           "forged API token": ST.setdefault("forged_a", forged("mga_"))}[who]
    return {"token": tok}


def still_valid(who):
    kw = creds(who)
    if who in HOSTISH:
        return S.request("GET", "/hosts/self/config", **kw).status == 200
    if who in USERISH:
        return S.request("GET", "/me", **kw).status == 200
    return True


def refresh(who):
    """An allowed probe may consume its credential (logout, DELETE /hosts/self): mint a new one."""
    if who == "user":
        ST["user"] = user_session("uma", ST["uma_pw"])
    elif who == "other user":
        ST["other"] = user_session("vic", ST["vic_pw"])
    elif who == "admin":
        S.admin_token = user_session(S.admin_user, S.admin_password)
    elif who.startswith("admin cookie"):
        ST["cookie"] = S.login(S.admin_user, S.admin_password)
    elif who == "host":
        ST["host"] = register("h1b%d" % len(ST.setdefault("regs", [None])))
        ST["regs"].append(1)
    elif who == "other host":
        ST["other_host"] = register("h2b%d" % len(ST.setdefault("regs", [None])))
        ST["regs"].append(1)


def expectation(level, who, method, path):
    """("public", None) | ("allow", None) | ("deny", {statuses})."""
    write = method not in ("GET", "HEAD")
    if level == "ACCESS_PUBLIC":
        return ("public", None)
    if who in NOBODY:
        return ("deny", {401})
    if who == "admin cookie without CSRF" and write:
        return ("deny", {403})
    if level == "ACCESS_HOST":
        return ("allow", None) if who in HOSTISH else ("deny", {401, 403})
    if who in HOSTISH:
        return ("deny", {401, 403})
    if level == "ACCESS_ADMIN" and who not in ADMINISH:
        return ("deny", {403})
    # API tokens cannot mint API tokens (test_expiry_authz.api_token_cannot_mint_tokens)
    if (method, path) == ("POST", "/api/v1/tokens") and who.endswith("API token"):
        return ("deny", {403})
    return ("allow", None)


def body_for(method):
    return {} if method in ("POST", "PUT", "PATCH") else None


@test
def authorization_matrix_complete():
    table = routes()
    bad = []
    counts = {}
    cells = 0
    # 1. denied probes and public routes, against real targets: nothing may change
    before = S.db_snapshot()
    public_answers = {}
    for method, path, level, handler in table:
        counts[level] = counts.get(level, 0) + 1
        url = fill(path, real=True)
        for who in PRINCIPALS:
            kind, want = expectation(level, who, method, path)
            if kind == "allow":
                continue
            cells += 1
            if kind == "public":
                # public routes answer the same whoever calls; POST /setup is
                # done already, the others get an empty (invalid) body
                r = S.request(method, url, body_for(method), **creds(who))
                public_answers.setdefault((method, path), {})[who] = r.status
                if r.status >= 500 or r.status in (401,):
                    bad.append("%s %s (public) as %s: %s %r" % (method, url, who, r.status, r.raw[:120]))
                continue
            r = S.request(method, url, body_for(method), **creds(who))
            if r.status not in want:
                bad.append("%s %s (%s, %s) as %s: expected %s, got %s %r" % (
                    method, url, level, handler, who, "/".join(map(str, sorted(want))), r.status, r.raw[:120]))
                continue
            try:
                assert_error(r, r.status, "%s %s as %s" % (method, url, who))
            except AssertionError as e:
                bad.append(str(e))
    for (method, path), by in public_answers.items():
        if len(set(by.values())) != 1:
            bad.append("public %s %s answers differently by caller: %r" % (method, path, by))
    check(not bad, "authorization matrix, denied cells (%d routes):\n  %s" % (len(table), "\n  ".join(bad)))
    assert_db_unchanged(S, before, "denied probes of the authorization matrix")
    # 2. allowed probes, against ids that do not exist (harmless): past the
    #    authorization check (not 401/403), and no 500
    for method, path, level, handler in table:
        url = fill(path, real=False)
        for who in PRINCIPALS:
            kind, _ = expectation(level, who, method, path)
            if kind != "allow":
                continue
            cells += 1
            r = S.request(method, url, body_for(method), **creds(who))
            if r.status in (401, 403) or r.status == 500 or r.status > 503:
                bad.append("%s %s (%s, %s) as %s: expected to pass authorization, got %s %r" % (
                    method, url, level, handler, who, r.status, r.raw[:120]))
            if not still_valid(who):
                refresh(who)
    check(S.alive(), "server died during the matrix")
    check(not bad, "authorization matrix, allowed cells:\n  %s" % "\n  ".join(bad))
    check(counts.get("ACCESS_ADMIN", 0) >= 25 and counts.get("ACCESS_USER", 0) >= 10
          and counts.get("ACCESS_HOST", 0) >= 4 and counts.get("ACCESS_PUBLIC", 0) >= 3,
          "route counts per level: %r", counts)
    check(cells >= len(table) * len(PRINCIPALS), "cells probed: %d", cells)
    # the denied probes' targets are all still there
    S.admin("GET", "/users/%s" % ST["other_id"], 200)
    S.admin("GET", "/extclients/%s" % ST["vic_client"]["id"], 200)
    S.admin("GET", "/hosts/%s" % ST["gw"]["id"], 200)


@test
def matrix_knows_every_level():
    """The parser refuses a routes.c line with an unknown access level."""
    fake = '{ "GET", "/api/v1/new-thing", ACCESS_OPERATOR, handle_new },'
    found = ROUTE_RE.findall(fake)
    eq(len(found), 1, "the route regex parses a new route")
    check(found[0][2] not in KNOWN_LEVELS, "ACCESS_OPERATOR would be unknown")


@test
def acl_matrix_is_admin_only():
    """The matrix above derives what it expects from each route's level, so
    it would follow a downgrade: the ACL matrix (who reaches whom, every
    node's name and address) is pinned to admins here."""
    levels = {(m, p): lvl for m, p, lvl, _ in routes()}
    eq(levels.get(("GET", "/api/v1/networks/*/acl/matrix")), "ACCESS_ADMIN", "GET /networks/*/acl/matrix level")
    for who in ("user", "user API token", "host", "anonymous"):
        r = S.request("GET", "/networks/%s/acl/matrix" % NET, **creds(who))
        check(r.status in (401, 403), "acl matrix as %s: %s", who, r.status)
        check(b"\"gw\"" not in r.raw and b"10.93." not in r.raw, "acl matrix as %s leaks nodes: %r", who, r.raw[:200])
    m = S.request("GET", "/networks/%s/acl/matrix" % NET, **creds("admin"))
    eq(m.status, 200, "acl matrix as admin")
    check(any(n["name"] == "gw" for n in m.body["nodes"]), "admin sees the nodes: %r", m.body)


@test
def node_dns_is_admin_only():
    """Pinned like the ACL matrix: choosing the network's DNS server node
    points every ext client and agent of the network at it."""
    levels = {(m, p): lvl for m, p, lvl, _ in routes()}
    for method in ("PUT", "DELETE"):
        eq(levels.get((method, "/api/v1/networks/*/nodes/*/dns")), "ACCESS_ADMIN",
           "%s /networks/*/nodes/*/dns level" % method)
    before = S.db_snapshot()
    for who in ("user", "user API token", "host", "anonymous", "admin cookie without CSRF"):
        r = S.request("PUT", "/networks/%s/nodes/%s/dns" % (NET, ST["host"]["id"]), **creds(who))
        check(r.status in (401, 403), "PUT node dns as %s: %s", who, r.status)
    assert_db_unchanged(S, before, "refused PUT .../dns")


# ---- IDOR ----------------------------------------------------------------------

@test
def idor_ext_clients():
    uma, vic_client = ST["user"], ST["vic_client"]
    cid = vic_client["id"]
    before = S.db_snapshot()
    for method, suffix, body in (("GET", "", None), ("PATCH", "", {"name": "stolen"}), ("DELETE", "", None),
                                 ("GET", "/config", None), ("GET", "/qr.png", None), ("GET", "/qr.svg", None),
                                 ("PATCH", "", {"enabled": False}), ("PATCH", "", {"owner_user_id": ST["user_id"]})):
        r = S.request(method, "/extclients/%s%s" % (cid, suffix), body, token=uma)
        # owner_user_id is refused as a field (400) before any lookup: that tells nothing either
        allowed = (400, 403, 404) if body and "owner_user_id" in body else (403, 404)
        check(r.status in allowed, "%s /extclients/%s%s as another user: expected 404/403, got %s %r",
              method, cid, suffix, r.status, r.raw[:160])
        assert_error(r, r.status, "IDOR %s %s" % (method, suffix))
    assert_db_unchanged(S, before, "another user's attempts on vic's ext client")
    ids = [c["id"] for c in S.call("GET", "/extclients", 200, token=uma)]
    eq(ids, [ST["uma_client"]["id"]], "uma lists only her own clients")
    ids = [c["id"] for c in S.call("GET", "/extclients?network=" + NET, 200, token=uma)]
    eq(ids, [ST["uma_client"]["id"]], "uma lists only her own clients (network filter)")
    # the admin's client is as foreign to a user as vic's
    r = S.request("GET", "/extclients/%s/config" % ST["admin_client"]["id"], token=uma)
    check(r.status in (403, 404), "a user downloading the admin's .conf: %s", r.status)


@test
def idor_ext_client_ownership_cannot_be_moved():
    uma = ST["user"]
    before = S.db_snapshot()
    # create one for somebody else (owner_user_id is admin only)
    r = S.request("POST", "/extclients", {"network": NET, "gateway_host_id": ST["gw"]["id"], "name": "planted",
                                          "owner_user_id": ST["other_id"]}, token=uma)
    check(r.status in (400, 403), "a user creating a client owned by another user: %s %r", r.status, r.raw[:160])
    # give her own client away / take it over via PATCH
    r = S.request("PATCH", "/extclients/%s" % ST["uma_client"]["id"], {"owner_user_id": ST["other_id"]}, token=uma)
    check(r.status in (400, 403), "a user moving her client to another owner: %s %r", r.status, r.raw[:160])
    assert_db_unchanged(S, before, "ownership changes by a user")
    eq(S.call("GET", "/extclients/%s" % ST["uma_client"]["id"], 200, token=uma)["owner_user_id"], ST["user_id"],
       "owner")


@test
def idor_tokens_and_users():
    uma = ST["user"]
    vt = ST["vic_token"]
    before = S.db_snapshot()
    r = S.request("DELETE", "/tokens/%s" % vt["id"], token=uma)
    check(r.status in (403, 404), "a user revoking another user's token: %s %r", r.status, r.raw[:160])
    names = [t["name"] for t in S.call("GET", "/tokens", 200, token=uma)]
    check("vic-ci" not in names and "admin-ci" not in names, "a user lists others' tokens: %r", names)
    for m, body in (("GET", None), ("PATCH", {"role": "admin"}), ("PATCH", {"password": "taken over 123"}),
                    ("DELETE", None)):
        r = S.request(m, "/users/%s" % ST["other_id"], body, token=uma)
        eq(r.status, 403, "%s /users/{other} as a user" % m)
        r = S.request(m, "/users/%s" % ST["user_id"], body, token=uma)
        eq(r.status, 403, "%s /users/{self} as a user (role escalation)" % m)
    assert_db_unchanged(S, before, "a user's attempts on other users and tokens")
    S.call("GET", "/me", 200, token=vt["token"])        # vic's token still works
    eq(S.call("GET", "/me", 200, token=uma)["role"], "user", "uma's role")
    # the admin sees everybody's tokens (and can revoke them: not tested, it is allowed)
    names = [t["name"] for t in S.admin("GET", "/tokens", 200)]
    check("vic-ci" in names, "the admin lists all tokens: %r", names)


@test
def host_tokens_reach_only_self():
    h, o = ST["host"], ST["other_host"]
    before = S.db_snapshot()
    for method, path in (("GET", "/hosts/%s" % o["id"]), ("DELETE", "/hosts/%s" % o["id"]),
                         ("PATCH", "/hosts/%s" % o["id"]), ("GET", "/networks/%s/nodes" % NET),
                         ("DELETE", "/networks/%s/nodes/%s" % (NET, o["id"]))):
        r = S.request(method, path, {} if method == "PATCH" else None, token=h["tok"])
        check(r.status in (401, 403), "%s %s with a host token: %s", method, path, r.status)
    # leaving a network the host is not in
    r = S.request("DELETE", "/hosts/self/networks/az2", token=h["tok"])
    check(r.status in (404, 409), "a host leaving a network it is not in: %s %r", r.status, r.raw[:160])
    assert_db_unchanged(S, before, "host token probes")
    cfg = S.call("GET", "/hosts/self/config", 200, token=h["tok"])
    eq(cfg["host_id"], h["id"], "a host's config is its own")


# ---- forged tokens ----------------------------------------------------------------

@test
def forged_and_mangled_tokens_401():
    h = ST["host"]["tok"]
    cases = [("random mgh_", forged("mgh_")), ("random mgs_", forged("mgs_")), ("random mga_", forged("mga_")),
             ("host token, last char changed", h[:-1] + ("A" if h[-1] != "A" else "B")),
             ("host token, truncated", h[:-4]), ("host token + suffix", h + "AAAA"),
             ("host token with mgs_ prefix", "mgs_" + h[4:]), ("host token with mga_ prefix", "mga_" + h[4:]),
             ("bare prefix", "mgh_"), ("empty-ish", "x"), ("hash-looking", "0" * 64),
             ("sql", "mgh_' OR '1'='1"), ("NUL-free long", "mgh_" + "A" * 4000)]
    for what, tok in cases:
        for path in ("/hosts/self/config", "/me", "/networks"):
            r = S.request("GET", path, token=tok)
            eq(r.status, 401, "%s on %s" % (what, path))
    # the host-token hash column must not be a usable token (a DB reader cannot log in as a host)
    hashes = [x[0] for x in S.db_query("SELECT token_hash FROM hosts WHERE token_hash IS NOT NULL")]
    check(hashes, "no host token hashes in the database")
    for hsh in hashes[:3]:
        for tok in (hsh, "mgh_" + hsh):
            eq(S.request("GET", "/hosts/self/config", token=tok).status, 401, "a stored hash as the token")
    check(h not in "\n".join(S.db_snapshot()), "a host token is stored in the clear")


# ---- setup reuse ---------------------------------------------------------------------

@test
def setup_reuse_409():
    users = S.db_query("SELECT COUNT(*) FROM users")
    before = S.db_snapshot()
    eq(S.call("GET", "/setup", 200), {"needed": False}, "GET /setup after setup")
    for tok in (S.setup_token, forged("mgt_")):
        for who in ({}, {"token": ST["user"]}, {"token": S.admin_token}):
            r = S.request("POST", "/setup", {"setup_token": tok, "username": "evil", "password": "evil password 1"},
                          **who)
            if tok == S.setup_token:
                assert_error(r, 409, "POST /setup again with the used setup token")
            else:
                check(r.status in (403, 409), "POST /setup again with a wrong token: %s", r.status)
    assert_db_unchanged(S, before, "setup reuse")
    eq(S.db_query("SELECT COUNT(*) FROM users"), users, "users")
    check(not os.path.exists(S.setup_token_path), "the setup-token file is still there after setup")


# ---- private keys ----------------------------------------------------------------------

def conf_private_key(text):
    m = re.search(r"^PrivateKey\s*=\s*(\S+)\s*$", text, re.M)
    check(m, "no PrivateKey line in the .conf: %r" % text[:200])
    return m.group(1)


def key_variants(k):
    """The base64 key and other spellings a leak might use."""
    raw = base64.b64decode(k)
    return {k, k.rstrip("="), base64.urlsafe_b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("="),
            raw.hex(), k.replace("/", "\\/")}


@test
def private_keys_never_in_json():
    privs = {}
    for name, tok, c in (("vic", ST["other"], ST["vic_client"]), ("uma", ST["user"], ST["uma_client"]),
                         ("admin", S.admin_token, ST["admin_client"])):
        r = S.request("GET", "/extclients/%s/config" % c["id"], token=tok)
        eq(r.status, 200, "%s downloads the .conf of her client" % name)
        text = r.raw.decode()
        privs[name] = conf_private_key(text)
        check(c.get("has_private_key") is True, "has_private_key on a generated client: %r", c)
    variants = set()
    for k in privs.values():
        variants |= key_variants(k)
    # every GET route without parameters, and every GET with one, for admin and users
    table = routes()
    leaks = []
    scanned = 0
    for method, path, level, handler in table:
        if method != "GET" or level == "ACCESS_HOST":
            continue
        urls = [fill(path, real=True)]
        if "extclients/*" in path:
            urls = [path.replace("*", str(c["id"])) for c in (ST["vic_client"], ST["uma_client"], ST["admin_client"])]
        for url in urls:
            if url.endswith(("/config", "/qr.png", "/qr.svg")):
                continue        # the downloads are where the key is meant to go
            for who in ("admin", "user", "other user", "admin API token"):
                r = S.request(method, url, **creds(who))
                scanned += 1
                blob = r.raw.decode("utf-8", "replace")
                for v in variants:
                    if v in blob:
                        leaks.append("%s %s as %s (status %s) contains a private key" % (method, url, who, r.status))
    for path in ("/hosts/self/config",):
        for who in ("host", "other host"):
            r = S.request("GET", path, **creds(who))
            blob = r.raw.decode("utf-8", "replace")
            scanned += 1
            for v in variants:
                if v in blob:
                    leaks.append("%s as %s contains an ext client private key" % (path, who))
    # the gateway gets the client's public key, never the private one
    cfg = S.call("GET", "/hosts/self/config", 200, token=ST["gw"]["tok"])
    check(not any(v in str(cfg) for v in variants), "the gateway's config carries a client private key")
    check(scanned >= 30, "only %d responses scanned", scanned)
    check(not leaks, "private keys in responses:\n  %s" % "\n  ".join(leaks))
    # at rest: sealed, not in the clear anywhere in the database files
    for suffix in ("", "-wal"):
        p = S.db_path + suffix
        if os.path.exists(p):
            with open(p, "rb") as f:
                data = f.read()
            for k in privs.values():
                check(k.encode() not in data and base64.b64decode(k) not in data,
                      "an ext client private key in the clear in %s" % os.path.basename(p))


# ---- open redirects ---------------------------------------------------------------------

def raw_request(method, target, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", S.port, timeout=10)
    try:
        c.putrequest(method, target, skip_accept_encoding=True, skip_host=False)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("Location"), r.getheader("Refresh")
    finally:
        c.close()


@test
def no_open_redirects():
    evil = ("//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil.example", "//evil.example/%2e%2e",
            "http:evil.example", "%2F%2Fevil.example")
    targets = ["//evil.example", "//evil.example/", "///evil.example", "/\\evil.example", "/%2F%2Fevil.example",
               "/..//evil.example", "/.//evil.example", "/js", "/js/..", "/js/", "/index.html/",
               "/api", "/api/", "/api/v1", "/api/v1/", "/api/v1//evil.example", "/api/v1/login/",
               "/api//v1/me", "/login", "/logout", "/redirect", "/oauth/callback", "/setup"]
    for e in evil:
        for base in ("/", "/index.html", "/api/v1/login", "/api/v1/logout", "/api/v1/setup", "/login", "/api/v1/me"):
            for arg in ("next", "redirect", "return_to", "url", "continue", "returnUrl"):
                targets.append("%s?%s=%s" % (base, arg, e))
    seen = []
    for t in targets:
        for method, body in (("GET", None), ("HEAD", None), ("POST", b"{}")):
            headers = {"Content-Type": "application/json", "Host": "evil.example"} if body else {"Host": "evil.example"}
            status, loc, refresh_hdr = raw_request(method, t, headers, body)
            if 300 <= status < 400 or loc or refresh_hdr:
                seen.append("%s %s -> %s Location %r Refresh %r" % (method, t, status, loc, refresh_hdr))
    # login with a next= argument answers JSON, never a redirect
    status, loc, _ = raw_request("POST", "/api/v1/login?next=//evil.example", {"Content-Type": "application/json"},
                                 ('{"username":"%s","password":"%s"}' % (S.admin_user, S.admin_password)).encode())
    if 300 <= status < 400 or loc:
        seen.append("POST /api/v1/login?next=//evil.example -> %s %r" % (status, loc))
    eq(status, 200, "login with ?next=")
    check(S.alive(), "server died")
    check(not seen, "redirects (%d probes):\n  %s" % (len(targets) * 3, "\n  ".join(seen[:30])))
