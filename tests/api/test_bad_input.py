"""Bad input: every request in the table must get the exact status, a JSON
{"error": string} body, and leave the database byte-for-byte unchanged
(not even an audit-log row)."""

import json

from harness import (Skip, assert_db_unchanged, assert_error, check, eq, random_pubkey,
                     setup_module, start_server, test)

S = None
T = {}   # tokens: admin, user, cookie, csrf, key (enrollment token), setup


@setup_module
def start():
    global S
    S = start_server()
    T["setup"] = S.read_setup_token()
    S.call("POST", "/setup", 201, {"setup_token": T["setup"], "username": "admin",
                                   "password": "admin password 1"})
    login = S.request("POST", "/login", {"username": "admin", "password": "admin password 1"})
    eq(login.status, 200, "login")
    S.admin_token = T["admin"] = login.body["token"]
    T["csrf"] = login.body["csrf"]
    T["cookie"] = [c for c in login.headers.get_all("Set-Cookie")
                   if c.startswith("mg_session=")][0].split(";", 1)[0].split("=", 1)[1]
    T["user"] = S.create_user("carol", "carol password")
    S.admin("POST", "/networks", 201, {"name": "base", "ipv4_range": "10.50.0.0/24",
                                       "ipv6_range": "fd00:50::/64"})
    T["key"] = S.admin("POST", "/enrollment-keys", 201, {"networks": ["base"], "uses": 10})["token"]
    reg = S.call("POST", "/hosts/register", 201, {"token": T["key"], "public_key": random_pubkey(),
                                                 "name": "existing"})
    T["host"] = reg["host_token"]
    T["host_id"] = reg["host"]["id"]
    T["host_pub"] = reg["host"]["public_key"]


NET = {"name": "net1", "ipv4_range": "10.60.0.0/24"}


def net(**kw):
    b = dict(NET)
    b.update(kw)
    return b


def reg(**kw):
    b = {"token": T["key"], "public_key": random_pubkey(), "name": "newhost"}
    b.update(kw)
    for k in [k for k, v in b.items() if v is DROP]:
        del b[k]
    return b


DROP = object()
BIG = 70 * 1024

# (description, method, path, body, options, expected status)
# body: a dict/list -> JSON-encoded; bytes/str -> sent raw; callable -> called at run time.
# options: auth = "admin" (default) | "user" | "host" | "none" | "cookie" | "cookie+csrf";
#          ctype = Content-Type to send (None: no header).
CASES = [
    # --- malformed bodies ---
    ("malformed JSON", "POST", "/networks", '{"name": "net1", "ipv4_range": ', {}, 400),
    ("trailing garbage", "POST", "/networks", json.dumps(NET) + " x", {}, 400),
    ("two JSON values", "POST", "/networks", json.dumps(NET) + json.dumps(NET), {}, 400),
    ("JSON array", "POST", "/networks", [NET], {}, 400),
    ("JSON string", "POST", "/networks", '"net1"', {}, 400),
    ("JSON number", "POST", "/networks", "42", {}, 400),
    ("JSON null", "POST", "/networks", "null", {}, 400),
    ("empty body", "POST", "/networks", b"", {}, 400),
    ("invalid UTF-8", "POST", "/networks", b'{"name": "n\xff\xfe", "ipv4_range": "10.60.0.0/24"}', {}, 400),
    ("NUL in string", "POST", "/networks", '{"name": "ne\\u0000t", "ipv4_range": "10.60.0.0/24"}', {}, 400),
    ("deep nesting", "POST", "/networks", '{"name": ' + "[" * 200 + "]" * 200 + "}", {}, 400),
    ("name is an int", "POST", "/networks", net(name=5), {}, 400),
    ("name is null", "POST", "/networks", net(name=None), {}, 400),
    ("name is a list", "POST", "/networks", net(name=["net1"]), {}, 400),
    ("ipv4_range is an int", "POST", "/networks", net(ipv4_range=10), {}, 400),
    ("ipv4_range is an object", "POST", "/networks", net(ipv4_range={"a": 1}), {}, 400),
    ("ipv6_range is an int", "POST", "/networks", net(ipv6_range=6), {}, 400),
    ("listen_port is a string", "POST", "/networks", net(listen_port="51820"), {}, 400),
    ("mtu is a float", "POST", "/networks", net(mtu=1400.5), {}, 400),
    ("mtu is 1400.0", "POST", "/networks", '{"name": "net1", "ipv4_range": "10.60.0.0/24", "mtu": 1400.0}', {}, 400),
    ("mtu huge", "POST", "/networks", '{"name": "net1", "ipv4_range": "10.60.0.0/24", "mtu": 99999999999999999999999}', {}, 400),
    ("keepalive is a bool", "POST", "/networks", net(keepalive=True), {}, 400),
    ("default_policy is an int", "POST", "/networks", net(default_policy=1), {}, 400),
    ("PATCH mtu as string", "PATCH", "/networks/base", {"mtu": "1400"}, {}, 400),
    ("PATCH keepalive float", "PATCH", "/networks/base", {"keepalive": 2.5}, {}, 400),
    ("key uses as string", "POST", "/enrollment-keys", {"networks": ["base"], "uses": "1"}, {}, 400),
    ("key uses as float", "POST", "/enrollment-keys", {"networks": ["base"], "uses": 1.5}, {}, 400),
    ("key networks as string", "POST", "/enrollment-keys", {"networks": "base", "uses": 1}, {}, 400),
    ("key unlimited as string", "POST", "/enrollment-keys", {"networks": ["base"], "unlimited": "true"}, {}, 400),
    ("key expires_at as string", "POST", "/enrollment-keys", {"networks": ["base"], "expires_at": "tomorrow"}, {}, 400),
    ("key tags as string", "POST", "/enrollment-keys", {"networks": ["base"], "uses": 1, "tags": "a"}, {}, 400),
    ("user password as int", "POST", "/users", {"username": "dave", "password": 1234567890, "role": "user"}, {}, 400),
    ("user username as int", "POST", "/users", {"username": 7, "password": "dave password", "role": "user"}, {}, 400),
    ("token name as int", "POST", "/tokens", {"name": 1}, {}, 400),
    ("token expires_in as string", "POST", "/tokens", {"name": "t", "expires_in": "60"}, {}, 400),
    ("login username as int", "POST", "/login", {"username": 1, "password": "admin password 1"}, {"auth": "none"}, 400),
    ("register public_key as int", "POST", "/hosts/register", lambda: reg(public_key=5), {"auth": "none"}, 400),
    ("register listen_port as string", "POST", "/hosts/register", lambda: reg(listen_port="51820"), {"auth": "none"}, 400),
    ("register local_endpoints as string", "POST", "/hosts/register", lambda: reg(local_endpoints="10.0.0.1"), {"auth": "none"}, 400),
    ("register name as int", "POST", "/hosts/register", lambda: reg(name=12), {"auth": "none"}, 400),
    ("PATCH host name as int", "PATCH", lambda: "/hosts/%s" % T["host_id"], {"name": 3}, {}, 400),
    # --- size and content type ---
    ("oversize body (70 KiB)", "POST", "/networks",
     '{"name": "net1", "ipv4_range": "10.60.0.0/24", "pad": "' + "a" * BIG + '"}', {}, 413),
    ("oversize body (1 MiB)", "POST", "/users", '{"username": "' + "u" * (1 << 20) + '"}', {}, 413),
    ("oversize register (unauthenticated)", "POST", "/hosts/register",
     '{"name": "' + "h" * BIG + '"}', {"auth": "none"}, 413),
    ("text/plain", "POST", "/networks", NET, {"ctype": "text/plain"}, 415),
    ("no Content-Type", "POST", "/networks", NET, {"ctype": None}, 415),
    ("form content type", "POST", "/networks", "name=net1&ipv4_range=10.60.0.0/24",
     {"ctype": "application/x-www-form-urlencoded"}, 415),
    ("application/jsonx", "POST", "/networks", NET, {"ctype": "application/jsonx"}, 415),
    ("text/plain on login", "POST", "/login", {"username": "admin", "password": "admin password 1"},
     {"auth": "none", "ctype": "text/plain"}, 415),
    ("text/plain on register", "POST", "/hosts/register", lambda: reg(), {"auth": "none", "ctype": "text/plain"}, 415),
    # --- CIDRs ---
    ("v4 without prefix", "POST", "/networks", net(ipv4_range="10.60.0.0"), {}, 400),
    ("v4 /33", "POST", "/networks", net(ipv4_range="10.60.0.0/33"), {}, 400),
    ("v4 octet 256", "POST", "/networks", net(ipv4_range="10.256.0.0/16"), {}, 400),
    ("v4 garbage", "POST", "/networks", net(ipv4_range="not-a-cidr"), {}, 400),
    ("v4 host bits", "POST", "/networks", net(ipv4_range="10.60.0.5/24"), {}, 400),
    ("v4 /31", "POST", "/networks", net(ipv4_range="10.60.0.0/31"), {}, 400),
    ("v4 /32", "POST", "/networks", net(ipv4_range="10.60.0.0/32"), {}, 400),
    ("v6 in ipv4_range", "POST", "/networks", net(ipv4_range="fd00:60::/64"), {}, 400),
    ("v4 in ipv6_range", "POST", "/networks", net(ipv6_range="10.61.0.0/24"), {}, 400),
    ("v6 /129", "POST", "/networks", net(ipv6_range="fd00:60::/129"), {}, 400),
    ("v6 /127", "POST", "/networks", net(ipv6_range="fd00:60::/127"), {}, 400),
    ("v6 host bits", "POST", "/networks", net(ipv6_range="fd00:60::1/64"), {}, 400),
    ("v6 garbage", "POST", "/networks", net(ipv6_range="fd00:::/64"), {}, 400),
    ("v4 overlap (same)", "POST", "/networks", net(ipv4_range="10.50.0.0/24"), {}, 409),
    ("v4 overlap (inside)", "POST", "/networks", net(ipv4_range="10.50.0.128/25"), {}, 409),
    ("v4 overlap (around)", "POST", "/networks", net(ipv4_range="10.0.0.0/8"), {}, 409),
    ("v6 overlap (same)", "POST", "/networks", net(ipv6_range="fd00:50::/64"), {}, 409),
    ("v6 overlap (inside)", "POST", "/networks", net(ipv6_range="fd00:50::/96"), {}, 409),
    ("v6 overlap (around)", "POST", "/networks", net(ipv6_range="fd00::/8"), {}, 409),
    ("duplicate network name", "POST", "/networks", net(name="base", ipv4_range="10.61.0.0/24"), {}, 409),
    # --- names ---
    ("network name with \\n", "POST", "/networks", net(name="net\n1"), {}, 400),
    ("network name with \\t", "POST", "/networks", net(name="net\t1"), {}, 400),
    ("network name with \\x7f", "POST", "/networks", net(name="net\x7f1"), {}, 400),
    ("network name with /", "POST", "/networks", net(name="net/1"), {}, 400),
    ("network name empty", "POST", "/networks", net(name=""), {}, 400),
    ("network name too long", "POST", "/networks", net(name="n" * 33), {}, 400),
    ("network name upper case", "POST", "/networks", net(name="Net1"), {}, 400),
    ("host name with \\n", "POST", "/hosts/register", lambda: reg(name="new\nhost"), {"auth": "none"}, 400),
    ("host name with \\t", "POST", "/hosts/register", lambda: reg(name="new\thost"), {"auth": "none"}, 400),
    ("host name with \\x7f", "POST", "/hosts/register", lambda: reg(name="new\x7fhost"), {"auth": "none"}, 400),
    ("host name with /", "POST", "/hosts/register", lambda: reg(name="new/host"), {"auth": "none"}, 400),
    ("host name empty", "POST", "/hosts/register", lambda: reg(name=""), {"auth": "none"}, 400),
    ("host name 64 chars", "POST", "/hosts/register", lambda: reg(name="h" * 64), {"auth": "none"}, 400),
    ("PATCH host name with \\n", "PATCH", lambda: "/hosts/%s" % T["host_id"], {"name": "a\nb"}, {}, 400),
    ("PATCH host name with /", "PATCH", lambda: "/hosts/%s" % T["host_id"], {"name": "a/b"}, {}, 400),
    ("user name with \\n", "POST", "/users", {"username": "dave\n", "password": "dave password", "role": "user"}, {}, 400),
    ("user name with \\t", "POST", "/users", {"username": "da\tve", "password": "dave password", "role": "user"}, {}, 400),
    ("user name with \\x7f", "POST", "/users", {"username": "da\x7fve", "password": "dave password", "role": "user"}, {}, 400),
    ("user name with /", "POST", "/users", {"username": "da/ve", "password": "dave password", "role": "user"}, {}, 400),
    ("token name with \\n", "POST", "/tokens", {"name": "tok\nen"}, {}, 400),
    ("token name with \\x7f", "POST", "/tokens", {"name": "tok\x7fen"}, {}, 400),
    ("user role unknown", "POST", "/users", {"username": "dave", "password": "dave password", "role": "root"}, {}, 400),
    ("user password 9 bytes", "POST", "/users", {"username": "dave", "password": "123456789", "role": "user"}, {}, 400),
    ("user password 257 bytes", "POST", "/users", {"username": "dave", "password": "p" * 257, "role": "user"}, {}, 400),
    ("duplicate user", "POST", "/users", {"username": "carol", "password": "carol password", "role": "user"}, {}, 409),
    ("public key not base64", "POST", "/hosts/register", lambda: reg(public_key="not base64!"), {"auth": "none"}, 400),
    ("public key 31 bytes", "POST", "/hosts/register",
     lambda: reg(public_key="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="), {"auth": "none"}, 400),
    ("public key 33 bytes", "POST", "/hosts/register",
     lambda: reg(public_key="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), {"auth": "none"}, 400),
    ("duplicate public key", "POST", "/hosts/register", lambda: reg(public_key=T["host_pub"]), {"auth": "none"}, 409),
    ("duplicate host name", "POST", "/hosts/register", lambda: reg(name="existing"), {"auth": "none"}, 409),
    ("register listen_port 0", "POST", "/hosts/register", lambda: reg(listen_port=0), {"auth": "none"}, 400),
    ("register listen_port 65536", "POST", "/hosts/register", lambda: reg(listen_port=65536), {"auth": "none"}, 400),
    ("register bad endpoint", "POST", "/hosts/register", lambda: reg(endpoint="1.2.3.4"), {"auth": "none"}, 400),
    ("register bad local endpoint", "POST", "/hosts/register", lambda: reg(local_endpoints=["not an ip"]), {"auth": "none"}, 400),
    ("register invalid enrollment token", "POST", "/hosts/register", lambda: reg(token="mge_nope"), {"auth": "none"}, 403),
    ("network mtu too small", "POST", "/networks", net(mtu=1279), {}, 400),
    ("network keepalive too big", "POST", "/networks", net(keepalive=3601), {}, 400),
    ("network policy unknown", "POST", "/networks", net(default_policy="allow-all"), {}, 400),
    ("key uses 0", "POST", "/enrollment-keys", {"networks": ["base"], "uses": 0}, {}, 400),
    ("key uses and unlimited", "POST", "/enrollment-keys", {"networks": ["base"], "uses": 1, "unlimited": True}, {}, 400),
    ("token expires_in negative", "POST", "/tokens", {"name": "t", "expires_in": -5}, {}, 400),
    # --- unknown fields ---
    ("unknown field on network", "POST", "/networks", net(color="red"), {}, 400),
    ("unknown field on PATCH network", "PATCH", "/networks/base", {"mtu": 1400, "colour": 1}, {}, 400),
    ("ipv4_range not patchable", "PATCH", "/networks/base", {"ipv4_range": "10.62.0.0/24"}, {}, 400),
    ("unknown field on user", "POST", "/users", {"username": "dave", "password": "dave password", "role": "user", "admin": True}, {}, 400),
    ("unknown field on key", "POST", "/enrollment-keys", {"networks": ["base"], "uses": 1, "owner": "x"}, {}, 400),
    ("unknown field on token", "POST", "/tokens", {"name": "t", "scope": "all"}, {}, 400),
    ("unknown field on register", "POST", "/hosts/register", lambda: reg(address="10.50.0.99"), {"auth": "none"}, 400),
    ("unknown field on login", "POST", "/login", {"username": "admin", "password": "admin password 1", "remember": True}, {"auth": "none"}, 400),
    ("unknown field on password change", "POST", "/me/password", {"current_password": "admin password 1", "new_password": "admin password 2", "force": True}, {}, 400),
    # --- missing required fields ---
    ("network without ipv4_range", "POST", "/networks", {"name": "net1"}, {}, 400),
    ("network without name", "POST", "/networks", {"ipv4_range": "10.60.0.0/24"}, {}, 400),
    ("network empty object", "POST", "/networks", {}, {}, 400),
    ("user without password", "POST", "/users", {"username": "dave", "role": "user"}, {}, 400),
    ("user without username", "POST", "/users", {"password": "dave password", "role": "user"}, {}, 400),
    ("key without networks", "POST", "/enrollment-keys", {"uses": 1}, {}, 400),
    ("key with neither uses, unlimited nor expiry", "POST", "/enrollment-keys", {"networks": ["base"]}, {}, 400),
    ("token without name", "POST", "/tokens", {}, {}, 400),
    ("register without public_key", "POST", "/hosts/register", lambda: reg(public_key=DROP), {"auth": "none"}, 400),
    ("register without name", "POST", "/hosts/register", lambda: reg(name=DROP), {"auth": "none"}, 400),
    ("register without token", "POST", "/hosts/register", lambda: reg(token=DROP), {"auth": "none"}, 400),
    ("login without password", "POST", "/login", {"username": "admin"}, {"auth": "none"}, 400),
    ("password change without current", "POST", "/me/password", {"new_password": "admin password 2"}, {}, 400),
    # --- auth ---
    ("no auth: create network", "POST", "/networks", NET, {"auth": "none"}, 401),
    ("no auth: delete network", "DELETE", "/networks/base", None, {"auth": "none"}, 401),
    ("no auth: patch network", "PATCH", "/networks/base", {"mtu": 1400}, {"auth": "none"}, 401),
    ("no auth: create user", "POST", "/users", {"username": "dave", "password": "dave password", "role": "admin"}, {"auth": "none"}, 401),
    ("no auth: create key", "POST", "/enrollment-keys", {"networks": ["base"], "uses": 1}, {"auth": "none"}, 401),
    ("no auth: create token", "POST", "/tokens", {"name": "t"}, {"auth": "none"}, 401),
    ("no auth: delete host", "DELETE", lambda: "/hosts/%s" % T["host_id"], None, {"auth": "none"}, 401),
    ("no auth: list users", "GET", "/users", None, {"auth": "none"}, 401),
    ("no auth: audit", "GET", "/audit", None, {"auth": "none"}, 401),
    ("no auth: host config", "GET", "/hosts/self/config", None, {"auth": "none"}, 401),
    ("bad bearer token", "POST", "/networks", NET, {"auth": "bogus"}, 401),
    ("user role: create network", "POST", "/networks", NET, {"auth": "user"}, 403),
    ("user role: patch network", "PATCH", "/networks/base", {"mtu": 1400}, {"auth": "user"}, 403),
    ("user role: delete network", "DELETE", "/networks/base", None, {"auth": "user"}, 403),
    ("user role: create user", "POST", "/users", {"username": "dave", "password": "dave password", "role": "admin"}, {"auth": "user"}, 403),
    ("user role: create key", "POST", "/enrollment-keys", {"networks": ["base"], "uses": 1}, {"auth": "user"}, 403),
    ("user role: delete host", "DELETE", lambda: "/hosts/%s" % T["host_id"], None, {"auth": "user"}, 403),
    ("user role: list hosts", "GET", "/hosts", None, {"auth": "user"}, 403),
    ("user role: list users", "GET", "/users", None, {"auth": "user"}, 403),
    ("user role: audit", "GET", "/audit", None, {"auth": "user"}, 403),
    ("cookie write without CSRF", "POST", "/networks", NET, {"auth": "cookie"}, 403),
    ("cookie delete without CSRF", "DELETE", "/networks/base", None, {"auth": "cookie"}, 403),
    ("replayed setup token", "POST", "/setup",
     lambda: {"setup_token": T["setup"], "username": "mallory", "password": "mallory password"}, {"auth": "none"}, 409),
    # --- not found / method ---
    ("PATCH unknown network", "PATCH", "/networks/nosuch", {"mtu": 1400}, {}, 404),
    ("DELETE unknown network", "DELETE", "/networks/nosuch", None, {}, 404),
    ("DELETE unknown host", "DELETE", "/hosts/999999", None, {}, 404),
    ("DELETE unknown key", "DELETE", "/enrollment-keys/999999", None, {}, 404),
    ("DELETE unknown user", "DELETE", "/users/999999", None, {}, 404),
    ("unknown route", "POST", "/nosuch", NET, {}, 404),
    ("unknown route below networks", "POST", "/networks/base/bogus", NET, {}, 404),
    ("PUT on networks", "PUT", "/networks", NET, {}, 405),
    ("DELETE on networks collection", "DELETE", "/networks", None, {}, 405),
]


def run_case(desc, method, path, body, opts, status):
    if callable(path):
        path = path()
    if callable(body):
        body = body()
    auth = opts.get("auth", "admin")
    kw = {}
    if auth == "admin":
        kw["token"] = T["admin"]
    elif auth == "user":
        kw["token"] = T["user"]
    elif auth == "host":
        kw["token"] = T["host"]
    elif auth == "bogus":
        kw["token"] = "mgs_bogus"
    elif auth == "cookie":
        kw["cookie"] = T["cookie"]
    elif auth == "cookie+csrf":
        kw["cookie"], kw["csrf"] = T["cookie"], T["csrf"]
    if "ctype" in opts:
        kw["content_type"] = opts["ctype"]
    if isinstance(body, (bytes, str)):
        kw["raw"] = body
    elif body is not None:
        kw["body"] = body
    if method in ("POST", "PUT", "PATCH") and body is None and "content_type" not in kw:
        pass
    before = S.db_snapshot()
    r = S.request(method, path, **kw)
    assert_error(r, status, "%s %s" % (method, path))
    assert_db_unchanged(S, before)


def _make(case):
    desc = case[0]

    def t():
        run_case(*case)
    t.__name__ = "bad: " + desc
    return t


for _case in CASES:
    test(_make(_case))


@test
def server_still_healthy():
    eq(S.request("GET", "/me", token=T["admin"]).status, 200, "admin session")
    n = S.admin("GET", "/networks", 200)
    eq([x["name"] for x in n], ["base"], "networks after the bad requests")
    eq([h["name"] for h in S.admin("GET", "/hosts", 200)], ["existing"], "hosts")
    keys = S.admin("GET", "/enrollment-keys", 200)
    eq([k["uses_remaining"] for k in keys], [9], "enrollment key uses untouched")
    # the good variant of a rejected request works (charset parameter allowed)
    r = S.request("POST", "/networks", NET, token=T["admin"],
                  content_type="application/json; charset=utf-8")
    eq(r.status, 201, "POST /networks with charset (%r)" % (r.raw[:200],))
