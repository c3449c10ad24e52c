#!/usr/bin/env python3
"""Small stdlib-only client for the meshgated REST API, for the e2e lab
(run it inside the lab's namespaces with `ip netns exec`).

  mgapi.py setup URL DATADIR USER PASSWORD
        waits (bounded) for DATADIR/setup-token, POST /setup, login;
        prints the admin session token
  mgapi.py login URL USER PASSWORD        prints a session token
  mgapi.py call URL TOKEN METHOD PATH [JSON_BODY]
        prints the JSON response; exit 1 (message on stderr) unless 2xx.
        TOKEN "-" means no Authorization header. PATH is below /api/v1.
  mgapi.py status URL TOKEN METHOD PATH [JSON_BODY]
        like call, but prints only the HTTP status (exit 0 whatever it is)
  mgapi.py download URL TOKEN PATH FILE
        writes the raw response body to FILE; exit 1 (message on stderr) unless 2xx
  mgapi.py faketoken URL                  an enrollment token for URL with a key the server never issued
  mgapi.py jget PATH                      reads JSON on stdin, prints the value at PATH
        (dot-separated keys / list indexes; strings bare, other values as JSON;
        a list of strings or numbers prints one per line)
  mgapi.py wait-tcp HOST PORT SECONDS     exit 0 once HOST:PORT accepts a connection
"""

import base64
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

HTTP_TIMEOUT = 10.0


def request(url, token, method, path, body=None):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=HTTP_TIMEOUT)
    headers = {}
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif method in ("POST", "PUT", "PATCH"):
        headers["Content-Length"] = "0"
    if token and token != "-":
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request(method, "/api/v1" + path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, raw
    finally:
        conn.close()


def call(url, token, method, path, body=None):
    status, raw = request(url, token, method, path, body)
    if not 200 <= status < 300:
        sys.stderr.write("mgapi: %s %s: HTTP %d: %s\n" % (method, path, status, raw[:500].decode("utf-8", "replace")))
        sys.exit(1)
    return json.loads(raw) if raw else None


def login(url, user, password):
    return call(url, "-", "POST", "/login", {"username": user, "password": password})["token"]


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd = argv[1]
    if cmd == "setup" and len(argv) == 6:
        url, datadir, user, password = argv[2:6]
        path = os.path.join(datadir, "setup-token")
        deadline = time.monotonic() + 10
        tok = ""
        while True:
            try:
                with open(path) as f:
                    tok = f.read().strip()
            except OSError:
                pass
            if tok:
                break
            if time.monotonic() > deadline:
                sys.stderr.write("mgapi: no setup token in %s after 10 s\n" % path)
                return 1
            time.sleep(0.05)
        call(url, "-", "POST", "/setup", {"setup_token": tok, "username": user, "password": password})
        print(login(url, user, password))
        return 0
    if cmd == "login" and len(argv) == 5:
        print(login(*argv[2:5]))
        return 0
    if cmd == "call" and len(argv) in (6, 7):
        url, token, method, path = argv[2:6]
        out = call(url, token, method, path, argv[6] if len(argv) == 7 else None)
        if out is not None:
            print(json.dumps(out))
        return 0
    if cmd == "status" and len(argv) in (6, 7):
        url, token, method, path = argv[2:6]
        status, _ = request(url, token, method, path, argv[6] if len(argv) == 7 else None)
        print(status)
        return 0
    if cmd == "download" and len(argv) == 6:
        url, token, path, out = argv[2:6]
        status, raw = request(url, token, "GET", path)
        if not 200 <= status < 300:
            sys.stderr.write("mgapi: GET %s: HTTP %d: %s\n" % (path, status, raw[:500].decode("utf-8", "replace")))
            return 1
        with open(out, "wb") as f:
            f.write(raw)
        return 0
    if cmd == "faketoken" and len(argv) == 3:
        key = "mge_" + base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        tok = json.dumps({"server": argv[2], "key": key}, separators=(",", ":"))
        print(base64.urlsafe_b64encode(tok.encode()).decode().rstrip("="))
        return 0
    if cmd == "jget" and len(argv) == 3:
        try:
            v = json.load(sys.stdin)
        except ValueError:
            return 1        # no JSON (the command before it failed): print nothing
        for part in argv[2].split(".") if argv[2] else []:
            if isinstance(v, list):
                v = v[int(part)]
            elif isinstance(v, dict):
                v = v.get(part)
            else:
                v = None
        if isinstance(v, str):
            print(v)
        elif isinstance(v, list) and all(isinstance(x, (str, int)) for x in v):
            for x in v:
                print(x)
        else:
            print(json.dumps(v))
        return 0
    if cmd == "wait-tcp" and len(argv) == 5:
        host, port, secs = argv[2], int(argv[3]), float(argv[4])
        deadline = time.monotonic() + secs
        while True:
            try:
                socket.create_connection((host, port), timeout=1).close()
                return 0
            except OSError:
                if time.monotonic() > deadline:
                    return 1
                time.sleep(0.05)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
