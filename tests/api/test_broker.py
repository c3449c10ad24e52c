"""Updates over a real mosquitto broker with the dynamic-security plugin:
per-host accounts that read only their own topic, delta messages on join,
change and leave, credential rotation, and check-ins."""

import sqlite3

from broker_harness import Broker, Subscriber
from harness import assert_error, check, eq, random_pubkey, setup_module, start_server, teardown_module, test

S = None
B = Broker()
ST = {}


@setup_module
def start():
    global S
    B.start("meshgate-broker-")
    S = start_server(extra_args=B.server_args())
    S.setup()
    S.admin("POST", "/networks", 201, {"name": "mq", "ipv4_range": "10.60.0.0/24"})
    ST["key"] = S.admin("POST", "/enrollment-keys", 201, {"networks": ["mq"], "unlimited": True})["token"]


@teardown_module
def stop():
    B.stop()


def register(name):
    r = S.call("POST", "/hosts/register", 201, {"token": ST["key"], "public_key": random_pubkey(),
                                                "name": name, "endpoint": "192.0.2.10:51821"})
    return r


@test
def register_returns_broker_account():
    a = register("mq-a")
    b = a["broker"]
    check(b is not None, "register response has broker credentials")
    eq(set(b), {"url", "username", "password", "topic"}, "BROKER fields")
    hid = a["host"]["id"]
    eq(b["username"], "host-%d" % hid, "broker username")
    eq(b["topic"], "meshgate/host-%d/update" % hid, "topic")
    eq(b["url"], "mqtt://127.0.0.1:%d" % B.port, "url")
    ST["a"] = a


@test
def join_sends_delta_to_existing_host():
    a = ST["a"]
    sub = Subscriber(B, a["broker"], a["broker"]["topic"])
    try:
        sub.wait_subscribed()
        rev = S.call("GET", "/hosts/self/config", 200, token=a["host_token"])["revision"]
        b = register("mq-b")
        ST["b"] = b
        m = sub.wait_message(lambda m: m.get("action") == "node.join", "node.join update")
        eq(m["base_revision"], rev, "base_revision is the host's revision before the change")
        eq(m["revision"], rev + 1, "revision")
        eq(m["host_id"], a["host"]["id"], "host_id")
        eq(m["peers_remove"], [], "peers_remove")
        eq(len(m["peers_upsert"]), 1, "exactly the new peer")
        p = m["peers_upsert"][0]
        eq(p["public_key"], b["host"]["public_key"], "new peer's key")
        eq(p["allowed_ips"], ["%s/32" % b["nodes"][0]["address"]], "new peer's allowed IPs")
        check("config" not in m, "an existing host gets a delta, not the whole config")
        cfg = S.call("GET", "/hosts/self/config", 200, token=a["host_token"])
        eq(cfg["revision"], m["revision"], "the message's revision is the config's")
    finally:
        sub.stop()


@test
def cannot_subscribe_to_another_hosts_topic():
    a, b = ST["a"], ST["b"]
    for topic in (b["broker"]["topic"], "meshgate/#", "#"):
        sub = Subscriber(B, a["broker"], topic)
        try:
            sub.wait_for(lambda l: "denied" in l or "SUBACK" in l, "SUBACK for %s" % topic)
            check(any("All subscription requests were denied" in l for l in sub.lines),
                  "host A subscribed to %s: %r", topic, sub.lines[-5:])
        finally:
            sub.stop()


@test
def wrong_password_refused():
    creds = dict(ST["a"]["broker"], password="not-the-password")
    sub = Subscriber(B, creds, creds["topic"])
    try:
        sub.wait_for(lambda l: "not authorised" in l or "SUBACK" in l, "connection result")
        check(any("not authorised" in l for l in sub.lines), "wrong password accepted: %r", sub.lines)
    finally:
        sub.stop()


@test
def checkin_marks_online_and_port_change_reaches_peers():
    a, b = ST["a"], ST["b"]
    sub = Subscriber(B, a["broker"], a["broker"]["topic"])
    try:
        sub.wait_subscribed()
        r = S.call("POST", "/hosts/self/checkin", 200,
                   {"listen_port": 51999, "local_endpoints": ["192.0.2.77"], "revision": 1,
                    "peers": [{"public_key": a["host"]["public_key"], "last_handshake": 0,
                               "rx_bytes": 10, "tx_bytes": 20, "endpoint": "192.0.2.10:51821"}]},
                   token=b["host_token"])
        h = S.admin("GET", "/hosts/%d" % b["host"]["id"], 200)
        eq(h["online"], True, "online after a check-in")
        eq(h["listen_port"], 51999, "listen port from the check-in")
        eq(h["local_endpoints"], ["192.0.2.77"], "local endpoints from the check-in")
        eq(r["revision"], h["revision"], "check-in answers the host's revision")
        m = sub.wait_message(lambda m: m.get("action") == "host.moved", "host.moved update")
        eq([p["public_key"] for p in m["peers_upsert"]], [b["host"]["public_key"]], "moved peer")
        # endpoint_override is set, so the override stays the endpoint
        eq(m["peers_upsert"][0]["endpoint"], "192.0.2.10:51821", "endpoint override kept")
        # Missed check-ins: 91 s after the last one the host and its nodes read offline
        # (the window is 90 s; the clock is moved in the database rather than waited for).
        db = sqlite3.connect(S.db_path, timeout=5)
        with db:
            db.execute("UPDATE hosts SET last_checkin = last_checkin - 91 WHERE id = ?", (b["host"]["id"],))
        db.close()
        eq(S.admin("GET", "/hosts/%d" % b["host"]["id"], 200)["online"], False, "offline after 91 s")
        nodes = [n for n in S.admin("GET", "/networks/mq/nodes", 200) if n["host_id"] == b["host"]["id"]]
        eq([n["online"] for n in nodes], [False], "its node reads offline too")
        S.call("POST", "/hosts/self/checkin", 200, {"listen_port": 51999, "revision": r["revision"]},
               token=b["host_token"])
        eq(S.admin("GET", "/hosts/%d" % b["host"]["id"], 200)["online"], True, "online again after a check-in")
    finally:
        sub.stop()


@test
def checkin_bad_input():
    b = ST["b"]
    for body in ({"peers": [{"public_key": "x"}]}, {"peers": "no"}, {"listen_port": 0},
                 {"local_endpoints": ["not an ip"]}, {"peers": [{"public_key": random_pubkey(),
                                                                 "rx_bytes": -1}]}):
        r = S.request("POST", "/hosts/self/checkin", body, token=b["host_token"])
        assert_error(r, 400, "check-in %r" % body)
    r = S.request("POST", "/hosts/self/checkin", {}, token=S.admin_token)
    check(r.status == 403, "admin token on a host route: %s", r.status)


@test
def credential_rotation():
    a = ST["a"]
    new = S.call("POST", "/hosts/self/broker", 200, token=a["host_token"])
    check(new["password"] != a["broker"]["password"], "a fresh password")
    old = Subscriber(B, a["broker"], a["broker"]["topic"])
    try:
        old.wait_for(lambda l: "not authorised" in l or "SUBACK" in l, "old password result")
        check(any("not authorised" in l for l in old.lines), "old password still accepted")
    finally:
        old.stop()
    a["broker"] = new
    sub = Subscriber(B, new, new["topic"])
    try:
        sub.wait_subscribed()
    finally:
        sub.stop()


@test
def leave_sends_removal():
    a, b = ST["a"], ST["b"]
    sub = Subscriber(B, a["broker"], a["broker"]["topic"])
    try:
        sub.wait_subscribed()
        S.call("DELETE", "/hosts/self", 204, token=b["host_token"])
        m = sub.wait_message(lambda m: m.get("action") == "host.leave", "host.leave update")
        eq(m["peers_remove"], [b["host"]["public_key"]], "the leaving host is removed")
        eq(m["peers_upsert"], [], "nothing added")
        cfg = S.call("GET", "/hosts/self/config", 200, token=a["host_token"])
        eq(cfg["peers"], [], "A has no peers left")
        eq(cfg["revision"], m["revision"], "revision")
    finally:
        sub.stop()
    # The left host's broker account is gone.
    gone = Subscriber(B, b["broker"], b["broker"]["topic"])
    try:
        gone.wait_for(lambda l: "not authorised" in l or "SUBACK" in l, "deleted account result")
        check(any("not authorised" in l for l in gone.lines), "deleted host can still connect")
    finally:
        gone.stop()


@test
def join_sends_whole_config_where_filters_list_members():
    """A network whose ACL rules name tags: a newcomer's address goes into
    other hosts' packet filters, so they get their whole configuration."""
    S.admin("POST", "/networks", 201, {"name": "mqacl", "ipv4_range": "10.61.0.0/24"})
    key = S.admin("POST", "/enrollment-keys", 201, {"networks": ["mqacl"], "unlimited": True})["token"]
    opskey = S.admin("POST", "/enrollment-keys", 201, {"networks": ["mqacl"], "unlimited": True,
                                                       "tags": ["ops"]})["token"]
    a = S.call("POST", "/hosts/register", 201, {"token": key, "public_key": random_pubkey(), "name": "mqacl-a"})
    S.admin("POST", "/networks/mqacl/acl/rules", 201, {
        "src": {"kind": "tag", "value": "ops"}, "dst": {"kind": "node", "value": str(a["host"]["id"])},
        "action": "deny", "proto": "tcp", "ports": "22"})
    sub = Subscriber(B, a["broker"], a["broker"]["topic"])
    try:
        sub.wait_subscribed()
        c = S.call("POST", "/hosts/register", 201, {"token": opskey, "public_key": random_pubkey(),
                                                    "name": "mqacl-c"})
        m = sub.wait_message(lambda m: m.get("action") == "node.join", "node.join update")
        check("config" in m, "a host whose filters name the newcomer's tag gets its whole config: %r", m)
        mine = "%s/32" % a["nodes"][0]["address"]
        eq([(f["chain"], f["src"], f["dst"], f["proto"], f["ports"], f["action"]) for f in m["config"]["acl"]],
           [("input", ["%s/32" % c["nodes"][0]["address"]], [mine], "tcp", [22, 22], "drop")],
           "ssh from the ops-tagged newcomer is dropped")
        # A rule change reaches the host it names with its new filters.
        r = S.admin("POST", "/networks/mqacl/acl/rules", 201, {
            "src": {"kind": "any"}, "dst": {"kind": "node", "value": str(a["host"]["id"])},
            "action": "deny", "proto": "udp", "ports": "53"})
        m = sub.wait_message(lambda m: m.get("action") == "acl.create", "acl.create update")
        check(("input", ["10.61.0.0/24"], [mine], "udp", [53, 53], "drop") in
              [(f["chain"], f["src"], f["dst"], f["proto"], f["ports"], f["action"]) for f in m["config"]["acl"]],
              "the new rule is in the published filters: %r", m["config"]["acl"])
        S.admin("DELETE", "/networks/mqacl/acl/rules/%d" % r["id"], 204)
        m = sub.wait_message(lambda m: m.get("action") == "acl.delete", "acl.delete update")
        eq(len(m["config"]["acl"]), 1, "after the delete only the tag rule is left")
    finally:
        sub.stop()
