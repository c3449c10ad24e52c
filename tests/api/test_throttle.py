"""Login throttling (API.md: 5 failures per username or 10 per IP within 60 s
→ 429 with Retry-After). Each scenario uses its own server so the counters
start from zero and don't disturb other modules."""

from harness import assert_error, check, eq, start_server, test

PW = "admin password 1"


def check_429(r, what):
    assert_error(r, 429, what)
    ra = r.headers.get("Retry-After")
    check(ra is not None, "%s: 429 without a Retry-After header", what)
    check(ra.strip().isdigit() and 1 <= int(ra) <= 60,
          "%s: Retry-After should be 1..60 seconds, got %r", what, ra)


@test
def per_username_limit():
    s = start_server()
    s.setup("admin", PW)
    s.admin("POST", "/users", 201, {"username": "other", "password": "other password", "role": "user"})
    for i in range(5):
        r = s.request("POST", "/login", {"username": "admin", "password": "wrong password %d" % i})
        assert_error(r, 401, "failure %d for admin" % (i + 1))
    r = s.request("POST", "/login", {"username": "admin", "password": "wrong password 6"})
    check_429(r, "6th failed login for admin")
    # throttled means throttled: the right password is refused too
    r = s.request("POST", "/login", {"username": "admin", "password": PW})
    check_429(r, "correct password while admin is throttled")
    # another user from the same IP (6 failures < 10) still logs in
    r = s.request("POST", "/login", {"username": "other", "password": "other password"})
    eq(r.status, 200, "login of another user while admin is throttled (%r)" % (r.raw[:200],))
    # existing sessions keep working
    eq(s.request("GET", "/me", token=s.admin_token).status, 200, "existing session")


@test
def per_ip_limit():
    s = start_server()
    s.setup("admin", PW)
    for i in range(10):
        r = s.request("POST", "/login", {"username": "ghost%d" % i, "password": "wrong password"})
        assert_error(r, 401, "failure %d from this IP (user ghost%d)" % (i + 1, i))
    r = s.request("POST", "/login", {"username": "ghost10", "password": "wrong password"})
    check_429(r, "11th failed login from one IP")
    r = s.request("POST", "/login", {"username": "admin", "password": PW})
    check_429(r, "correct login from a throttled IP")
    eq(s.request("GET", "/me", token=s.admin_token).status, 200, "existing session")
