"""A real mosquitto broker for the meshgated API tests (stdlib only).

- Broker: prepares a temporary dir with tools/broker-setup.sh (the
  dynamic-security plugin, an admin account in DIR/broker-admin), runs
  mosquitto on a free loopback port until it listens, hands meshgated its
  --broker arguments (server_args()) and stops it again (stop()).
- Subscriber: mosquitto_sub with a host's broker credentials on a topic; a
  thread collects its output lines (-d: CONNACK, SUBACK, ... and the JSON
  messages), which the wait_* methods poll.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from harness import ROOT, Skip

DEADLINE = 10.0     # seconds to wait for a listener, a line, a message or an exit


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SetupFailed(AssertionError):
    """tools/broker-setup.sh failed (its output is in the message)."""


class Broker:
    """A mosquitto process on 127.0.0.1:port with its own dir."""

    def __init__(self):
        self.dir = None
        self.port = None
        self.proc = None

    @property
    def admin_file(self):
        return os.path.join(self.dir, "broker-admin")

    @property
    def log_path(self):
        return os.path.join(self.dir, "mosquitto.log")

    def start(self, prefix, clients=True):
        """Start mosquitto in a new temp dir named with prefix and wait until
        it listens. Raises Skip when mosquitto (or, with clients, the
        mosquitto_sub that Subscriber runs) is not installed, and SetupFailed
        (the dir removed again) when tools/broker-setup.sh fails."""
        if not shutil.which("mosquitto") or (clients and not shutil.which("mosquitto_sub")):
            raise Skip("mosquitto or mosquitto_sub not installed" if clients else "mosquitto not installed")
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.port = free_port()
        r = subprocess.run(["sh", os.path.join(ROOT, "tools", "broker-setup.sh"), self.dir, str(self.port)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            raise SetupFailed("tools/broker-setup.sh failed (exit status %d):\n%s"
                              % (r.returncode, r.stdout.decode("utf-8", "replace")))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(["mosquitto", "-c", os.path.join(self.dir, "mosquitto.conf")],
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    with open(self.log_path, "rb") as f:
                        raise AssertionError("mosquitto exited: %s" % f.read().decode("utf-8", "replace"))
                if time.monotonic() >= deadline:
                    raise AssertionError("mosquitto did not listen within %ss" % DEADLINE)
                time.sleep(0.05)

    def server_args(self):
        """meshgated's arguments for this broker."""
        return ["--broker", "mqtt://127.0.0.1:%d" % self.port, "--broker-admin-file", self.admin_file]

    def admin_password(self):
        """The dynamic-security admin's password (line 2 of DIR/broker-admin)."""
        with open(self.admin_file) as f:
            return f.read().split("\n")[1].strip()

    def stop(self):
        """Stop mosquitto (SIGTERM, SIGKILL after DEADLINE) and remove the
        dir; a no-op for a broker that never started."""
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class Subscriber:
    """mosquitto_sub with a host's credentials (creds: the "broker" object of
    a registration) on topic, by default the host's own; it exits by itself
    after exit_after seconds (-W). Lines are collected by a thread."""

    def __init__(self, broker, creds, topic=None, exit_after=20):
        # mosquitto_sub takes the password only in argv: acceptable for a
        # throwaway broker on loopback in a test, never in our own programs.
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", creds["username"],
             "-P", creds["password"], "-t", topic or creds["topic"], "-q", "1", "-d", "-W", str(exit_after)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def wait_for(self, pred, what):
        """The first output line for which pred is true."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            with self.lock:
                for line in self.lines:
                    if pred(line):
                        return line
            if self.proc.poll() is not None:
                time.sleep(0.1)   # let the reader drain
                with self.lock:
                    for line in self.lines:
                        if pred(line):
                            return line
                break
            time.sleep(0.02)
        raise AssertionError("%s: not seen; output:\n%s" % (what, "\n".join(self.lines[-20:])))

    def wait_subscribed(self, what="SUBACK"):
        self.wait_for(lambda l: "SUBACK" in l, what)

    def messages(self):
        """The JSON messages received so far."""
        with self.lock:
            return [json.loads(l) for l in self.lines if l.startswith("{")]

    def wait_message(self, pred, what):
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            for m in self.messages():
                if pred(m):
                    return m
            time.sleep(0.02)
        raise AssertionError("%s: no such message; got %r" % (what, self.messages()))

    def wait_revision(self, rev, what):
        """The first message with revision rev."""
        return json.loads(self.wait_for(lambda l: l.startswith("{") and json.loads(l).get("revision") == rev, what))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=DEADLINE)
