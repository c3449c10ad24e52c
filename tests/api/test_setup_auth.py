"""Setup, login, sessions, cookies + CSRF, roles, API tokens, logout."""

import os
import stat
import time

from harness import (assert_db_unchanged, assert_error, check, eq, setup_module,
                     start_server, test)

S = None
ADMIN = "admin"
ADMIN_PW = "admin password 1"
ST = {}   # state shared by the tests of this module, in order

USER_KEYS = {"id", "username", "role", "created_at"}


def user_count():
    table = S.db_table_named("users", "user")
    return S.db_query("SELECT COUNT(*) FROM %s" % table)[0][0]


def check_user(u, username, role):
    check(isinstance(u, dict), "USER is not an object: %r", u)
    eq(set(u), USER_KEYS, "USER fields")
    eq(u["username"], username, "username")
    eq(u["role"], role, "role")
    check(isinstance(u["id"], (int, str)) and not isinstance(u["id"], bool), "bad id %r", u["id"])


@setup_module
def start():
    global S
    S = start_server()


@test
def setup_needed_before_setup():
    r = S.request("GET", "/setup")
    eq(r.status, 200, "GET /setup status")
    eq(r.body, {"needed": True}, "GET /setup body")


@test
def setup_token_file_mode_0600():
    tok = S.read_setup_token()
    check(len(tok) >= 16, "setup token too short: %r", tok)
    mode = stat.S_IMODE(os.stat(S.setup_token_path).st_mode)
    eq(oct(mode), oct(0o600), "setup-token file mode")
    ST["setup_token"] = tok


@test
def setup_wrong_token_403():
    before = S.db_snapshot()
    r = S.request("POST", "/setup", {"setup_token": "wrong-" + ST["setup_token"],
                                     "username": ADMIN, "password": ADMIN_PW})
    assert_error(r, 403, "setup with a wrong token")
    assert_db_unchanged(S, before, "setup with a wrong token")
    r = S.request("POST", "/setup", {"setup_token": "", "username": ADMIN, "password": ADMIN_PW})
    check(r.status in (400, 403), "empty setup token: expected 400/403, got %s", r.status)
    eq(S.request("GET", "/setup").body, {"needed": True}, "still needed")
    check(os.path.exists(S.setup_token_path), "setup-token file removed by a failed setup")


@test
def setup_short_password_400():
    before = S.db_snapshot()
    r = S.request("POST", "/setup", {"setup_token": ST["setup_token"],
                                     "username": ADMIN, "password": "short"})
    assert_error(r, 400, "setup with a 5-byte password")
    assert_db_unchanged(S, before, "setup with a short password")


@test
def setup_good_token_201():
    r = S.request("POST", "/setup", {"setup_token": ST["setup_token"],
                                     "username": ADMIN, "password": ADMIN_PW})
    eq(r.status, 201, "setup status (%r)" % (r.raw[:300],))
    check(isinstance(r.body, dict) and "user" in r.body, "setup body: %r", r.body)
    check_user(r.body["user"], ADMIN, "admin")
    check("hash" not in r.raw.decode().lower(), "setup response mentions a hash: %r", r.raw)
    ST["admin_id"] = r.body["user"]["id"]


@test
def setup_token_file_removed():
    check(not os.path.exists(S.setup_token_path), "setup-token file still exists after setup")
    eq(S.request("GET", "/setup").body, {"needed": False}, "GET /setup after setup")


@test
def setup_replay_409_one_user():
    before = S.db_snapshot()
    r = S.request("POST", "/setup", {"setup_token": ST["setup_token"],
                                     "username": "mallory", "password": "mallory password"})
    assert_error(r, 409, "replayed setup token")
    r = S.request("POST", "/setup", {"setup_token": ST["setup_token"],
                                     "username": ADMIN, "password": "another password"})
    assert_error(r, 409, "replayed setup token, same user name")
    assert_db_unchanged(S, before, "replayed setup")
    eq(user_count(), 1, "users in the database")


@test
def login_returns_token_csrf_cookie():
    r = S.request("POST", "/login", {"username": ADMIN, "password": ADMIN_PW})
    eq(r.status, 200, "login status (%r)" % (r.raw[:300],))
    b = r.body
    for k in ("token", "csrf", "expires_at", "user"):
        check(k in b, "login response lacks %r: %r", k, b)
    check(b["token"].startswith("mgs_"), "session token prefix: %r", b["token"])
    check(isinstance(b["csrf"], str) and len(b["csrf"]) >= 16, "csrf: %r", b["csrf"])
    check(isinstance(b["expires_at"], int) and b["expires_at"] > time.time(),
          "expires_at: %r", b["expires_at"])
    check_user(b["user"], ADMIN, "admin")
    cookies = r.headers.get_all("Set-Cookie") or []
    sess = [c for c in cookies if c.startswith("mg_session=")]
    check(sess, "no mg_session cookie in %r", cookies)
    c = sess[0]
    value = c.split(";", 1)[0].split("=", 1)[1]
    check(value, "empty cookie value")
    attrs = [a.strip().lower() for a in c.split(";")[1:]]
    check("httponly" in attrs, "cookie not HttpOnly: %r", c)
    check("samesite=strict" in attrs, "cookie not SameSite=Strict: %r", c)
    ST["admin"] = b["token"]
    ST["cookie"] = value
    ST["csrf"] = b["csrf"]
    S.admin_token = b["token"]


@test
def login_bad_credentials_401():
    r = S.request("POST", "/login", {"username": ADMIN, "password": "not the password"})
    assert_error(r, 401, "wrong password")
    r = S.request("POST", "/login", {"username": "nobody", "password": ADMIN_PW})
    assert_error(r, 401, "unknown user")


@test
def bearer_session_works():
    r = S.request("GET", "/me", token=ST["admin"])
    eq(r.status, 200, "GET /me with Bearer")
    check_user(r.body, ADMIN, "admin")
    eq(S.request("GET", "/networks", token=ST["admin"]).status, 200, "GET /networks with Bearer")


@test
def cookie_works_for_get():
    r = S.request("GET", "/me", cookie=ST["cookie"])
    eq(r.status, 200, "GET /me with the cookie")
    # A console tab that has only the cookie learns the session's CSRF value here.
    eq(r.body.pop("csrf", None), ST["csrf"], "csrf of the cookie's session")
    check_user(r.body, ADMIN, "admin")
    eq(S.request("GET", "/networks", cookie=ST["cookie"]).status, 200, "GET /networks with cookie")


@test
def cookie_write_without_csrf_403():
    before = S.db_snapshot()
    r = S.request("POST", "/networks", {"name": "csrf-net", "ipv4_range": "10.99.0.0/24"},
                  cookie=ST["cookie"])
    assert_error(r, 403, "cookie POST without X-CSRF-Token")
    r = S.request("POST", "/networks", {"name": "csrf-net", "ipv4_range": "10.99.0.0/24"},
                  cookie=ST["cookie"], csrf="wrong" + ST["csrf"])
    assert_error(r, 403, "cookie POST with a wrong X-CSRF-Token")
    r = S.request("POST", "/tokens", {"name": "via-cookie"}, cookie=ST["cookie"])
    assert_error(r, 403, "cookie POST /tokens without X-CSRF-Token")
    r = S.request("POST", "/logout", cookie=ST["cookie"])
    assert_error(r, 403, "cookie POST /logout without X-CSRF-Token")
    assert_db_unchanged(S, before, "cookie writes without CSRF")
    eq(S.request("GET", "/networks/csrf-net", token=ST["admin"]).status, 404, "network not created")


@test
def cookie_write_with_csrf_ok():
    r = S.request("POST", "/networks", {"name": "csrf-net", "ipv4_range": "10.99.0.0/24"},
                  cookie=ST["cookie"], csrf=ST["csrf"])
    eq(r.status, 201, "cookie POST with X-CSRF-Token (%r)" % (r.raw[:300],))
    r = S.request("PATCH", "/networks/csrf-net", {"mtu": 1400}, cookie=ST["cookie"], csrf=ST["csrf"])
    eq(r.status, 200, "cookie PATCH with X-CSRF-Token (%r)" % (r.raw[:300],))
    r = S.request("DELETE", "/networks/csrf-net", cookie=ST["cookie"])
    assert_error(r, 403, "cookie DELETE without X-CSRF-Token")
    r = S.request("DELETE", "/networks/csrf-net", cookie=ST["cookie"], csrf=ST["csrf"])
    eq(r.status, 204, "cookie DELETE with X-CSRF-Token (%r)" % (r.raw[:300],))


@test
def bearer_write_needs_no_csrf():
    r = S.request("POST", "/networks", {"name": "bearer-net", "ipv4_range": "10.98.0.0/24"},
                  token=ST["admin"])
    eq(r.status, 201, "Bearer POST without CSRF (%r)" % (r.raw[:300],))
    eq(S.request("DELETE", "/networks/bearer-net", token=ST["admin"]).status, 204, "delete")


ADMIN_ROUTES = [
    ("GET", "/networks", None),
    ("POST", "/networks", {"name": "nope", "ipv4_range": "10.97.0.0/24"}),
    ("GET", "/networks/nope", None),
    ("PATCH", "/networks/nope", {"mtu": 1400}),
    ("DELETE", "/networks/nope", None),
    ("GET", "/networks/nope/nodes", None),
    ("GET", "/enrollment-keys", None),
    ("POST", "/enrollment-keys", {"networks": ["nope"], "uses": 1}),
    ("DELETE", "/enrollment-keys/1", None),
    ("GET", "/hosts", None),
    ("GET", "/hosts/1", None),
    ("PATCH", "/hosts/1", {"name": "x"}),
    ("DELETE", "/hosts/1", None),
    ("GET", "/users", None),
    ("POST", "/users", {"username": "eve", "password": "eve password 1", "role": "admin"}),
    ("GET", "/users/1", None),
    ("PATCH", "/users/1", {"role": "user"}),
    ("DELETE", "/users/1", None),
    ("GET", "/audit", None),
]

NEED_AUTH = ADMIN_ROUTES + [
    ("GET", "/me", None),
    ("POST", "/me/password", {"current_password": ADMIN_PW, "new_password": "new password 12"}),
    ("GET", "/tokens", None),
    ("POST", "/tokens", {"name": "t"}),
    ("DELETE", "/tokens/1", None),
    ("POST", "/logout", None),
    ("GET", "/hosts/self/config", None),
]


@test
def missing_auth_401():
    before = S.db_snapshot()
    bad = []
    for method, path, body in NEED_AUTH:
        for tok in (None, "mgs_invalid", "garbage"):
            r = S.request(method, path, body, token=tok)
            if r.status != 401:
                bad.append("%s %s (token %r): %s %r" % (method, path, tok, r.status, r.raw[:120]))
            else:
                assert_error(r, 401, "%s %s" % (method, path))
    check(not bad, "expected 401:\n  " + "\n  ".join(bad))
    assert_db_unchanged(S, before, "unauthenticated requests")


@test
def create_user_role():
    r = S.request("POST", "/users", {"username": "alice", "password": "alice password",
                                     "role": "user"}, token=ST["admin"])
    eq(r.status, 201, "POST /users (%r)" % (r.raw[:300],))
    check_user(r.body, "alice", "user")
    ST["alice_id"] = r.body["id"]
    lst = S.call("GET", "/users", 200, token=ST["admin"])
    eq(sorted(u["username"] for u in lst), ["admin", "alice"], "user list")
    for u in lst:
        eq(set(u), USER_KEYS, "USER fields in list")
    r = S.request("POST", "/users", {"username": "alice", "password": "alice password",
                                     "role": "user"}, token=ST["admin"])
    assert_error(r, 409, "duplicate user name")
    b = S.login("alice", "alice password")
    check_user(b["user"], "alice", "user")
    ST["alice"] = b["token"]


@test
def user_role_403_on_admin_routes():
    before = S.db_snapshot()
    bad = []
    for method, path, body in ADMIN_ROUTES:
        r = S.request(method, path, body, token=ST["alice"])
        if r.status != 403:
            bad.append("%s %s: %s %r" % (method, path, r.status, r.raw[:120]))
        else:
            assert_error(r, 403, "%s %s as user" % (method, path))
    check(not bad, "user role, expected 403:\n  " + "\n  ".join(bad))
    assert_db_unchanged(S, before, "user-role requests to admin routes")


@test
def user_role_own_account():
    r = S.request("GET", "/me", token=ST["alice"])
    eq(r.status, 200, "GET /me as user")
    check_user(r.body, "alice", "user")
    r = S.request("POST", "/tokens", {"name": "alice-token"}, token=ST["alice"])
    eq(r.status, 201, "user creates own API token (%r)" % (r.raw[:300],))
    eq(r.body["user_id"], ST["alice_id"], "token user_id")
    lst = S.call("GET", "/tokens", 200, token=ST["alice"])
    eq([t["name"] for t in lst], ["alice-token"], "user sees only own tokens")
    alltok = S.call("GET", "/tokens", 200, token=ST["admin"])
    check("alice-token" in [t["name"] for t in alltok], "admin sees all tokens: %r", alltok)
    # the user token acts as alice: still no admin routes
    eq(S.request("GET", "/networks", token=r.body["token"]).status, 403, "user API token on admin route")


@test
def api_token_create_use_revoke():
    r = S.request("POST", "/tokens", {"name": "ci token", "expires_in": 3600}, token=ST["admin"])
    eq(r.status, 201, "POST /tokens (%r)" % (r.raw[:300],))
    t = r.body
    for k in ("id", "name", "user_id", "created_at", "expires_at", "token"):
        check(k in t, "TOKEN lacks %r: %r", k, t)
    check(t["token"].startswith("mga_"), "API token prefix: %r", t["token"])
    eq(t["name"], "ci token", "name")
    eq(t["user_id"], ST["admin_id"], "user_id")
    check(isinstance(t["expires_at"], int) and abs(t["expires_at"] - (time.time() + 3600)) < 120,
          "expires_at: %r", t["expires_at"])
    # use it
    r2 = S.request("GET", "/me", token=t["token"])
    eq(r2.status, 200, "GET /me with API token")
    eq(r2.body["username"], ADMIN, "API token user")
    eq(S.request("GET", "/networks", token=t["token"]).status, 200, "admin route with API token")
    r3 = S.request("POST", "/networks", {"name": "tok-net", "ipv4_range": "10.96.0.0/24"},
                   token=t["token"])
    eq(r3.status, 201, "write with API token, no CSRF (%r)" % (r3.raw[:200],))
    eq(S.request("DELETE", "/networks/tok-net", token=t["token"]).status, 204, "delete with API token")
    # listed without the secret
    lst = S.call("GET", "/tokens", 200, token=ST["admin"])
    mine = [x for x in lst if x["id"] == t["id"]]
    eq(len(mine), 1, "token listed once")
    check("token" not in mine[0], "token list shows the secret: %r", mine[0])
    check(t["token"] not in str(lst), "token list contains the secret")
    # revoke
    eq(S.request("DELETE", "/tokens/%s" % t["id"], token=ST["admin"]).status, 204, "revoke")
    r4 = S.request("GET", "/me", token=t["token"])
    assert_error(r4, 401, "revoked API token")
    eq(S.request("GET", "/networks", token=t["token"]).status, 401, "revoked API token on admin route")
    eq(S.request("DELETE", "/tokens/%s" % t["id"], token=ST["admin"]).status, 404, "revoke again")
    ids = [x["id"] for x in S.call("GET", "/tokens", 200, token=ST["admin"])]
    check(t["id"] not in ids, "revoked token still listed")


@test
def audit_actor_for_api_token():
    """API.md lists token:ID among the audit actors: a mutation made with an
    API token is recorded with that actor."""
    t = S.call("POST", "/tokens", 201, {"name": "audited"}, token=ST["admin"])
    S.call("POST", "/networks", 201, {"name": "by-token", "ipv4_range": "10.95.0.0/24"},
           token=t["token"])
    e = S.call("GET", "/audit?action=network.create&limit=1", 200, token=ST["admin"])
    eq(e[0]["target"], "by-token", "newest network.create")
    eq(e[0]["actor"], "token:%s" % t["id"], "actor of a mutation made with an API token")


@test
def api_token_no_expiry_is_null():
    t = S.call("POST", "/tokens", 201, {"name": "forever"}, token=ST["admin"])
    eq(t["expires_at"], None, "expires_at without expires_in")
    eq(S.request("DELETE", "/tokens/%s" % t["id"], token=ST["admin"]).status, 204, "revoke")


@test
def user_cannot_revoke_others_token():
    t = S.call("POST", "/tokens", 201, {"name": "admins"}, token=ST["admin"])
    r = S.request("DELETE", "/tokens/%s" % t["id"], token=ST["alice"])
    check(r.status in (403, 404), "user revoking admin's token: expected 403/404, got %s", r.status)
    eq(S.request("GET", "/me", token=t["token"]).status, 200, "admin token still works")
    eq(S.request("DELETE", "/tokens/%s" % t["id"], token=ST["admin"]).status, 204, "revoke")


@test
def change_password():
    r = S.request("POST", "/me/password", {"current_password": "wrong password",
                                           "new_password": "alice new password"}, token=ST["alice"])
    check(r.status in (401, 403), "wrong current password: expected 401/403, got %s", r.status)
    r = S.request("POST", "/me/password", {"current_password": "alice password",
                                           "new_password": "short"}, token=ST["alice"])
    assert_error(r, 400, "new password too short")
    r = S.request("POST", "/me/password", {"current_password": "alice password",
                                           "new_password": "alice new password"}, token=ST["alice"])
    eq(r.status, 204, "change password (%r)" % (r.raw[:200],))
    eq(S.request("POST", "/login", {"username": "alice", "password": "alice password"}).status,
       401, "login with the old password")
    ST["alice"] = S.login("alice", "alice new password")["token"]


@test
def last_admin_protected():
    r = S.request("PATCH", "/users/%s" % ST["admin_id"], {"role": "user"}, token=ST["admin"])
    assert_error(r, 409, "demote the last admin")
    r = S.request("DELETE", "/users/%s" % ST["admin_id"], token=ST["admin"])
    assert_error(r, 409, "delete yourself / the last admin")
    eq(S.call("GET", "/me", 200, token=ST["admin"])["role"], "admin", "still admin")


@test
def patch_and_delete_user():
    u = S.call("POST", "/users", 201, {"username": "bob", "password": "bob password 1",
                                       "role": "user"}, token=ST["admin"])
    bob = S.login("bob", "bob password 1")["token"]
    p = S.call("PATCH", "/users/%s" % u["id"], 200, {"role": "admin"}, token=ST["admin"])
    eq(p["role"], "admin", "patched role")
    eq(S.call("GET", "/users/%s" % u["id"], 200, token=ST["admin"])["role"], "admin", "GET user")
    eq(S.request("DELETE", "/users/%s" % u["id"], token=ST["admin"]).status, 204, "delete user")
    eq(S.request("GET", "/users/%s" % u["id"], token=ST["admin"]).status, 404, "deleted user")
    eq(S.request("GET", "/me", token=bob).status, 401, "deleted user's session")


@test
def logout_invalidates_session():
    b = S.login(ADMIN, ADMIN_PW)
    tok = b["token"]
    eq(S.request("GET", "/me", token=tok).status, 200, "fresh session works")
    r = S.request("POST", "/logout", token=tok)
    eq(r.status, 204, "logout (%r)" % (r.raw[:200],))
    assert_error(S.request("GET", "/me", token=tok), 401, "session after logout")
    # cookie logout with CSRF; the cookie is dead afterwards
    b = S.login(ADMIN, ADMIN_PW)
    r = S.request("POST", "/login", {"username": ADMIN, "password": ADMIN_PW})
    cookie = [c for c in r.headers.get_all("Set-Cookie") if c.startswith("mg_session=")][0]
    cookie = cookie.split(";", 1)[0].split("=", 1)[1]
    eq(S.request("GET", "/me", cookie=cookie).status, 200, "cookie works")
    eq(S.request("POST", "/logout", cookie=cookie, csrf=r.body["csrf"]).status, 204, "cookie logout")
    eq(S.request("GET", "/me", cookie=cookie).status, 401, "cookie after logout")
    eq(S.request("GET", "/me", token=r.body["token"]).status, 401, "token after cookie logout")
    # other sessions unaffected
    eq(S.request("GET", "/me", token=ST["admin"]).status, 200, "other session unaffected")
    eq(S.request("GET", "/me", token=b["token"]).status, 200, "other session unaffected")


@test
def audit_records_actor_and_action():
    entries = S.call("GET", "/audit", 200, token=ST["admin"])
    check(isinstance(entries, list) and entries, "audit is empty: %r", entries)
    for e in entries:
        eq(set(e), {"id", "at", "actor", "action", "target", "source_ip", "detail"}, "audit fields")
    ids = [e["id"] for e in entries]
    eq(ids, sorted(ids, reverse=True), "audit newest first")
    acts = [(e["actor"], e["action"]) for e in entries]
    check(("user:admin", "network.create") in acts, "no user:admin network.create in %r", acts)
    check(any(a == "setup" for a, _ in acts), "no entry with actor 'setup' in %r", acts)
    check(any(a == "user:admin" and x.startswith("user.") for a, x in acts),
          "no user.* action by user:admin in %r", acts)
    for e in entries:
        if e["action"] == "network.create":
            eq(e["source_ip"], "127.0.0.1", "source_ip")
    only = S.call("GET", "/audit?action=network.create", 200, token=ST["admin"])
    check(only and all(e["action"] == "network.create" for e in only), "action filter: %r", only)
    one = S.call("GET", "/audit?limit=1", 200, token=ST["admin"])
    eq(len(one), 1, "limit=1")
    eq(one[0]["id"], ids[0], "limit=1 is the newest")
    byactor = S.call("GET", "/audit?actor=setup", 200, token=ST["admin"])
    check(byactor and all(e["actor"] == "setup" for e in byactor), "actor filter: %r", byactor)
