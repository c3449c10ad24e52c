"""Expiry and authorization: ext clients disabled by the server when they
expire; expired API tokens and sessions; what API tokens and password
resets may do; the /me/password throttle; empty PATCH bodies; and that user routes work for users. (The authorization
matrix generated from server/routes.c is in test_authz_matrix.py.)"""

import sqlite3
import time

from harness import (assert_db_unchanged, assert_error, check, eq, random_pubkey, setup_module,
                     start_server, test)

S = None
ST = {}
NET = "ex"
EXPIRY_POLL = 10.0


@setup_module
def start():
    global S
    S = start_server()
    S.setup()
    S.admin("POST", "/networks", 201, {"name": NET, "ipv4_range": "10.90.0.0/24", "ipv6_range": "fd00:90::/64"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": [NET], "uses": 5})
    ST["key_id"] = key["id"]
    for name, extra in (("gw", {"endpoint": "198.51.100.9:51821"}), ("p", {})):
        body = {"token": key["token"], "public_key": random_pubkey(), "name": name}
        body.update(extra)
        r = S.call("POST", "/hosts/register", 201, body)
        ST[name] = {"id": r["host"]["id"], "tok": r["host_token"]}
    S.admin("PUT", "/networks/%s/nodes/%s/ingress" % (NET, ST["gw"]["id"]), 200)
    ST["admin_id"] = S.admin("GET", "/me", 200)["id"]
    ST["user"] = S.create_user("uma", "uma password 1")
    ST["user_id"] = S.call("GET", "/me", 200, token=ST["user"])["id"]


def config(name):
    return S.call("GET", "/hosts/self/config", 200, token=ST[name]["tok"])


def ext_ids(cfg):
    return [p["ext_client_id"] for p in cfg["peers"] if "ext_client_id" in p]


def db_write(sql, args=()):
    """A direct write to the database, as an attacker with file access or a clock jump would do."""
    con = sqlite3.connect(S.db_path, timeout=5)
    try:
        n = con.execute(sql, args).rowcount
        con.commit()
        return n
    finally:
        con.close()


def new_user(name):
    pw = "%s password 1" % name
    tok = S.create_user(name, pw)
    uid = S.call("GET", "/me", 200, token=tok)["id"]
    return tok, uid, pw


# ---- (a) ext client expiry ------------------------------------------------

@test
def ext_client_expires():
    exp = int(time.time()) + 2
    c = S.admin("POST", "/extclients", 201, {"network": NET, "gateway_host_id": ST["gw"]["id"], "name": "temp",
                                             "expires_at": exp})
    eq((c["expires_at"], c["expired"], c["enabled"]), (exp, False, True), "new expiring client")
    eq(ext_ids(config("gw")), [c["id"]], "the gateway lists the client before expiry")
    deadline = time.monotonic() + EXPIRY_POLL
    while True:
        cur = S.admin("GET", "/extclients/%s" % c["id"], 200)
        if not cur["enabled"]:
            break
        check(time.monotonic() < deadline, "client not disabled within %ss of expiry: %r", EXPIRY_POLL, cur)
        time.sleep(0.1)
    check(time.time() >= exp - 0.01, "disabled before its expiry (now %s, expires_at %s)", time.time(), exp)
    eq((cur["enabled"], cur["expired"], cur["expires_at"]), (False, True, exp), "expired client")
    eq(ext_ids(config("gw")), [], "the gateway dropped the expired client")
    eq(config("gw")["gateway"]["ingress_clients"], [], "ingress_clients after expiry")
    entries = [e for e in S.admin("GET", "/audit", 200) if e["action"] == "extclient.expire"]
    eq([(e["actor"], e["target"]) for e in entries], [("system", "temp")], "extclient.expire audit entries")
    # re-enabling an expired client is refused or keeps it off the gateway
    r = S.request("PATCH", "/extclients/%s" % c["id"], {"enabled": True}, token=S.admin_token)
    if r.status == 200:
        eq(ext_ids(config("gw")), [], "a re-enabled but expired client stays off the gateway")
    else:
        assert_error(r, r.status, "re-enabling an expired client")
    # clearing the expiry (null) and re-enabling brings it back
    u = S.admin("PATCH", "/extclients/%s" % c["id"], 200, {"expires_at": None, "enabled": True})
    eq((u["expires_at"], u["expired"], u["enabled"]), (None, False, True), "expiry cleared")
    eq(ext_ids(config("gw")), [c["id"]], "back on the gateway")
    S.admin("DELETE", "/extclients/%s" % c["id"], 204)


# ---- (b) review gaps ------------------------------------------------------

@test
def expired_api_token_401():
    t = S.admin("POST", "/tokens", 201, {"name": "soon-old", "expires_in": 3600})
    S.call("GET", "/me", 200, token=t["token"])
    eq(db_write("UPDATE api_tokens SET expires_at = 1 WHERE id = ?", (t["id"],)), 1, "rows updated")
    for method, path in (("GET", "/me"), ("GET", "/networks"), ("GET", "/tokens")):
        assert_error(S.request(method, path, token=t["token"]), 401, "expired API token on %s %s" % (method, path))
    # a token with no expiry that is pushed into the past as well
    t2 = S.admin("POST", "/tokens", 201, {"name": "forever"})
    S.call("GET", "/me", 200, token=t2["token"])
    db_write("UPDATE api_tokens SET expires_at = 1 WHERE id = ?", (t2["id"],))
    assert_error(S.request("GET", "/me", token=t2["token"]), 401, "API token expired in the DB")


@test
def expired_session_401():
    tok, uid, pw = new_user("sam")
    S.call("GET", "/me", 200, token=tok)
    check(db_write("UPDATE sessions SET expires_at = 1 WHERE user_id = ?", (uid,)) >= 1, "no session rows")
    assert_error(S.request("GET", "/me", token=tok), 401, "expired session")
    assert_error(S.request("GET", "/tokens", token=tok), 401, "expired session on /tokens")
    # an expired admin session must not reach admin routes either
    adm = S.login(S.admin_user, S.admin_password)
    S.call("GET", "/networks", 200, token=adm["token"])
    # the newest admin session is the one just made
    eq(db_write("UPDATE sessions SET expires_at = 1 WHERE id = (SELECT MAX(id) FROM sessions WHERE user_id = ?)",
                (ST["admin_id"],)), 1, "rows updated")
    assert_error(S.request("GET", "/networks", token=adm["token"]), 401, "expired admin session")
    S.call("GET", "/networks", 200, token=S.admin_token)


@test
def api_token_cannot_mint_tokens():
    t = S.admin("POST", "/tokens", 201, {"name": "ci"})
    before = S.db_snapshot()
    r = S.request("POST", "/tokens", {"name": "child"}, token=t["token"])
    assert_error(r, 403, "an API token creating an API token")
    r = S.request("POST", "/tokens", {"name": "child", "expires_in": 60}, token=t["token"])
    assert_error(r, 403, "an API token creating an expiring API token")
    assert_db_unchanged(S, before, "refused token minting")
    ut = S.call("POST", "/tokens", 201, {"name": "user-ci"}, token=ST["user"])
    assert_error(S.request("POST", "/tokens", {"name": "child"}, token=ut["token"]), 403,
                 "a user's API token creating an API token")


@test
def admin_password_reset_ends_sessions_and_tokens():
    tok, uid, pw = new_user("rita")
    sess2 = S.login("rita", pw)["token"]
    api = S.call("POST", "/tokens", 201, {"name": "rita-ci"}, token=tok)["token"]
    for t in (tok, sess2, api):
        S.call("GET", "/me", 200, token=t)
    S.admin("PATCH", "/users/%s" % uid, 200, {"password": "rita new password"})
    for what, t in (("session", tok), ("second session", sess2), ("API token", api)):
        assert_error(S.request("GET", "/me", token=t), 401, "rita's %s after the reset" % what)
    eq(S.db_query("SELECT COUNT(*) FROM sessions WHERE user_id = ?", (uid,)), [(0,)], "rita's sessions")
    eq(S.db_query("SELECT COUNT(*) FROM api_tokens WHERE user_id = ?", (uid,)), [(0,)], "rita's API tokens")
    assert_error(S.request("POST", "/login", {"username": "rita", "password": pw}), 401, "old password")
    S.call("GET", "/me", 200, token=S.login("rita", "rita new password")["token"])
    # a role change alone does not log anyone out
    t3 = S.login("rita", "rita new password")["token"]
    S.admin("PATCH", "/users/%s" % uid, 200, {"role": "user"})
    S.call("GET", "/me", 200, token=t3)


@test
def me_password_throttled():
    tok, uid, pw = new_user("pat")
    before = S.db_snapshot()
    for i in range(5):
        r = S.request("POST", "/me/password", {"current_password": "wrong password %d" % i,
                                               "new_password": "pat new password"}, token=tok)
        check(r.status in (401, 403), "wrong current password #%d: expected 401/403, got %s %r",
              i + 1, r.status, r.raw[:200])
        assert_error(r, r.status, "wrong current password #%d" % (i + 1))
    for what, cur in (("6th wrong", "wrong password 6"), ("right password while throttled", pw)):
        r = S.request("POST", "/me/password", {"current_password": cur, "new_password": "pat new password"},
                      token=tok)
        assert_error(r, 429, "%s current password" % what)
        ra = r.headers.get("Retry-After")
        check(ra is not None and ra.isdigit() and 1 <= int(ra) <= 3600, "Retry-After: %r", ra)
    assert_db_unchanged(S, before, "refused password changes")
    # the session itself still works, and other users are not throttled
    S.call("GET", "/me", 200, token=tok)
    tok2, _, pw2 = new_user("quinn")
    S.call("POST", "/me/password", 204, {"current_password": pw2, "new_password": "quinn new password"},
           token=tok2)


@test
def empty_patch_400():
    for path in ("/networks/" + NET, "/hosts/%s" % ST["p"]["id"], "/users/%s" % ST["user_id"]):
        before = S.db_snapshot()
        r = S.request("PATCH", path, {}, token=S.admin_token)
        assert_error(r, 400, "PATCH %s {}" % path)
        check("nothing to update" in r.body["error"], "PATCH %s {}: error %r", path, r.body["error"])
        assert_db_unchanged(S, before, "PATCH %s {}" % path)


@test
def network_named_by_a_key_409():
    S.admin("POST", "/networks", 201, {"name": "keyed", "ipv4_range": "10.91.0.0/24"})
    k = S.admin("POST", "/enrollment-keys", 201, {"networks": ["keyed"], "uses": 1})
    before = S.db_snapshot()
    assert_error(S.request("DELETE", "/networks/keyed", token=S.admin_token), 409,
                 "DELETE a network an enrollment key names")
    assert_db_unchanged(S, before, "refused network deletion")
    S.admin("DELETE", "/enrollment-keys/%s" % k["id"], 204)
    S.admin("DELETE", "/networks/keyed", 204)


@test
def token_name_with_slash_400():
    for name in ("a/b", "/", "ci/deploy"):
        before = S.db_snapshot()
        assert_error(S.request("POST", "/tokens", {"name": name}, token=S.admin_token), 400,
                     "token name %r" % name)
        assert_db_unchanged(S, before, "token name %r" % name)


@test
def user_routes_work_for_users():
    """The other half of the matrix: the ACCESS_USER routes a plain user may
    use answer them (not 403), and admin-only data stays out of their reach."""
    u = ST["user"]
    ST["victim_token_id"] = S.admin("POST", "/tokens", 201, {"name": "victim-target"})["id"]
    ST["victim_client_id"] = S.admin("POST", "/extclients", 201, {
        "network": NET, "gateway_host_id": ST["gw"]["id"], "name": "admins-client",
        "public_key": random_pubkey()})["id"]
    eq(S.call("GET", "/me", 200, token=u)["username"], "uma", "GET /me")
    names = [t["name"] for t in S.call("GET", "/tokens", 200, token=u)]
    check("victim-target" not in names, "a user sees the admin's tokens: %r", names)
    eq(S.call("GET", "/extclients", 200, token=u), [], "a user's ext clients")
    assert_error(S.request("GET", "/extclients/%s" % ST["victim_client_id"], token=u), 404,
                 "the admin's client for a user")
    r = S.request("DELETE", "/tokens/%s" % ST["victim_token_id"], token=u)
    check(r.status in (403, 404), "a user revoking the admin's token: %s", r.status)
    assert_error(r, r.status, "a user revoking the admin's token")
