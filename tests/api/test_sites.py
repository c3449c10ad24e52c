"""Sites behind an ext client (extra_allowed_ips) are routed by every node of
the network, so only admins may set them, and they may not overlap an
egress range or another client's site."""

from harness import assert_db_unchanged, assert_error, eq, random_pubkey, setup_module, start_server, test

S = None
ST = {}


@setup_module
def start():
    global S
    S = start_server()
    S.setup()
    S.admin("POST", "/networks", 201, {"name": "sites", "ipv4_range": "10.93.0.0/24"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["sites"], "unlimited": True})["token"]
    gw = S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": "sgw",
                                                 "endpoint": "198.51.100.20:51821"})
    ST["gw"] = gw["host"]["id"]
    S.admin("PUT", "/networks/sites/nodes/%d/ingress" % ST["gw"], 200)
    S.admin("PUT", "/networks/sites/nodes/%d/egress" % ST["gw"], 200, {"ranges": [{"range": "172.30.5.0/24"}]})
    ST["user"] = S.create_user("siteuser")


def create(body, token=None, expect=201):
    base = {"network": "sites", "gateway_host_id": ST["gw"]}
    base.update(body)
    return S.request("POST", "/extclients", base, token=token or S.admin_token)


@test
def users_cannot_route_sites():
    before = S.db_snapshot()
    r = create({"name": "usersite", "extra_allowed_ips": ["192.168.77.0/24"]}, token=ST["user"])
    assert_error(r, 403, "a user routing a site")
    assert_db_unchanged(S, before, "user site")
    r = create({"name": "userplain"}, token=ST["user"])
    eq(r.status, 201, "a user's client without sites")


@test
def admin_sites_must_not_overlap():
    r = create({"name": "office", "extra_allowed_ips": ["192.168.60.0/24"]})
    eq(r.status, 201, "an admin's site")
    for sites, status in ((["172.30.5.128/25"], 409), (["192.168.60.0/25"], 409),
                          (["192.168.61.0/24", "192.168.61.0/25"], 400), (["0.0.0.0/0"], 400)):
        before = S.db_snapshot()
        r = create({"name": "clash", "extra_allowed_ips": sites})
        assert_error(r, status, "sites %r" % sites)
        assert_db_unchanged(S, before, "sites %r" % sites)
