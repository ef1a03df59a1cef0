"""What the Python checks of .ci/ share: a list of named checks that counts what passed
and failed, a free loopback port, and a GET that never leaves 127.0.0.1.

Imported by check_deploy.py and follow_walkthrough.py (run from .ci/, which Python puts
first on the import path)."""

import socket
import urllib.error
import urllib.request


class Checklist:
    """Named checks, printed as they are made (`ok   name` / `FAIL name: detail`)."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        """Records one check and prints it; returns `ok`."""
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))
        return ok

    def summary(self, what):
        """Prints the closing line CI reads; the process's exit status."""
        print(f"{what}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, timeout=5):
    """GET on loopback only: (status, body, headers), or (None, error text, {})."""
    assert url.startswith("http://127.0.0.1:"), url
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)
    except OSError as e:
        return None, str(e).encode(), {}
