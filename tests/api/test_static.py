"""The console's static files: served from --web-dir only, with the
console's Content-Security-Policy; nothing outside the directory (dot files,
symlinks, '..', encoded '..') is ever served."""

import http.client
import os
import shutil
import tempfile

from harness import check, eq, setup_module, start_server, teardown_module, test

S = None
WEB = None


@setup_module
def start():
    global S, WEB
    WEB = tempfile.mkdtemp(prefix="meshgate-web-")
    os.makedirs(os.path.join(WEB, "js"))
    with open(os.path.join(WEB, "index.html"), "w") as f:
        f.write("<!doctype html><title>console</title>")
    with open(os.path.join(WEB, "js", "app.js"), "w") as f:
        f.write("export const x = 1;\n")
    with open(os.path.join(WEB, ".env"), "w") as f:
        f.write("SECRET=1\n")
    os.symlink("/etc/passwd", os.path.join(WEB, "passwd.txt"))
    S = start_server(extra_args=["--web-dir", WEB])


@teardown_module
def cleanup():
    shutil.rmtree(WEB, ignore_errors=True)


def raw_get(path, method="GET"):
    """Send the path exactly as given (no client-side normalisation)."""
    c = http.client.HTTPConnection("127.0.0.1", S.port, timeout=10)
    c.putrequest(method, path, skip_accept_encoding=True)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), r.getheader("Content-Security-Policy"), body


@test
def index_and_module_served_with_console_csp():
    st, ct, csp, body = raw_get("/")
    eq(st, 200, "GET /")
    eq(ct, "text/html; charset=utf-8", "content type")
    check(b"console" in body, "index.html body")
    check("script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp,
          "console CSP without inline script: %r", csp)
    st, ct, _, _ = raw_get("/js/app.js")
    eq((st, ct), (200, "text/javascript; charset=utf-8"), "ES module")


@test
def api_keeps_its_own_csp():
    st, _, csp, _ = raw_get("/api/v1/setup")
    eq(st, 200, "GET /api/v1/setup")
    eq(csp, "default-src 'none'; frame-ancestors 'none'", "API CSP")


@test
def nothing_outside_the_directory():
    for path in ("/.env", "/passwd.txt", "/../etc/passwd", "/js/../index.html", "/%2e%2e/etc/passwd",
                 "/js/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd", "/js//app.js", "/missing.html",
                 "/index.html.bak", "/x.exe"):
        st, ct, _, body = raw_get(path)
        eq(st, 404, "GET %s" % path)
        check(b"root:" not in body and b"SECRET" not in body, "leaked content for %s" % path)


@test
def only_get_and_head():
    st, _, _, _ = raw_get("/index.html", method="POST")
    eq(st, 405, "POST to a static file")
