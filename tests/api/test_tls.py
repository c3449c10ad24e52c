"""HTTPS: meshgated with --tls-cert/--tls-key serves the API over TLS only,
verifiable with the certificate as CA, and its session cookie is Secure."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile

from harness import Skip, check, eq, setup_module, start_server, teardown_module, test

S = None
TMP = None


@setup_module
def start():
    global S, TMP
    if not shutil.which("openssl"):
        raise Skip("openssl not installed")
    TMP = tempfile.mkdtemp(prefix="meshgate-tls-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(TMP, "key.pem"), "-out", os.path.join(TMP, "cert.pem"), "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    S = start_server(extra_args=["--tls-cert", os.path.join(TMP, "cert.pem"),
                                 "--tls-key", os.path.join(TMP, "key.pem")])


@teardown_module
def cleanup():
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def https(method, path, body=None, verify=True):
    ctx = ssl.create_default_context(cafile=os.path.join(TMP, "cert.pem")) if verify else \
        ssl._create_unverified_context()
    c = http.client.HTTPSConnection("127.0.0.1", S.port, timeout=10, context=ctx)
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    c.request(method, "/api/v1" + path, body=json.dumps(body) if body is not None else None, headers=hdrs)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


@test
def https_with_the_certificate_as_ca():
    r, data = https("GET", "/setup")
    eq(r.status, 200, "GET /setup over HTTPS")
    eq(json.loads(data), {"needed": True}, "body")


@test
def plain_http_is_not_served():
    c = http.client.HTTPConnection("127.0.0.1", S.port, timeout=5)
    try:
        c.request("GET", "/api/v1/setup")
        r = c.getresponse()
        check(r.status != 200, "plain HTTP answered 200 on the TLS port")
    except (http.client.HTTPException, OSError):
        pass
    finally:
        c.close()


@test
def an_unknown_certificate_is_refused_by_clients():
    ctx = ssl.create_default_context()
    c = http.client.HTTPSConnection("127.0.0.1", S.port, timeout=5, context=ctx)
    try:
        c.request("GET", "/api/v1/setup")
        c.getresponse()
        check(False, "a client without the CA accepted the self-signed certificate")
    except ssl.SSLError:
        pass
    finally:
        c.close()


@test
def session_cookie_is_secure():
    token = S.read_setup_token()
    r, _ = https("POST", "/setup", {"setup_token": token, "username": "admin", "password": "correct horse battery"})
    eq(r.status, 201, "setup over HTTPS")
    r, data = https("POST", "/login", {"username": "admin", "password": "correct horse battery"})
    eq(r.status, 200, "login over HTTPS")
    cookie = r.getheader("Set-Cookie") or ""
    check("; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie,
          "cookie flags: %r", cookie)
