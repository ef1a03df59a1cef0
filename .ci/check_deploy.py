"""Checks the deployment files in examples/deploy/ against the code and each other.

Every file is parsed by a real parser (PyYAML, tomllib, nginx -t, systemd-analyze verify;
the Dockerfile line by line) and every binary, flag, path and port it names is checked:
the binaries exist as [[bin]] targets, the exporter starts with exactly the flags given
(host paths remapped through compose's own mounts, listen address on a free loopback
port) and serves /metrics, the portal configuration passes --check-config, nginx serves
the page and proxies /api/ to a running portal, promtool accepts the Prometheus config,
and the ports agree everywhere (8000 for the portal, 9100 for the exporter).
All traffic stays on 127.0.0.1.

usage: check_deploy.py PATH/TO/kitestacks-portal PATH/TO/kitestacks-exporter
"""

import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from checklist import Checklist, free_port, get

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "examples" / "deploy"
PORTAL_PORT = 8000
EXPORTER_PORT = 9100
HOST_TREES = ("/proc", "/sys", "/")  # what the containers must see of the host
# What a hardened unit must set (key -> accepted values).
HARDENING = {
    "NoNewPrivileges": {"true", "yes"},
    "ProtectSystem": {"strict"},
    "ProtectHome": {"yes", "true", "read-only", "tmpfs"},
    "PrivateDevices": {"true", "yes"},
    "ProtectKernelTunables": {"true", "yes"},
    "ProtectKernelModules": {"true", "yes"},
    "ProtectControlGroups": {"true", "yes"},
    "RestrictSUIDSGID": {"true", "yes"},
    "CapabilityBoundingSet": {""},
}

checklist = Checklist()
check = checklist.check
work = Path(tempfile.mkdtemp(prefix="check_deploy."))
work.chmod(0o755)  # nginx's workers (nobody when CI runs as root) read the stand-in page
procs = []


def first_event(url, kind, seconds=10):
    """(content type, whether an event of `kind` arrived within `seconds`) of a stream."""
    assert url.startswith("http://127.0.0.1:"), url
    end = time.monotonic() + seconds
    try:
        with urllib.request.urlopen(url, timeout=seconds) as r:
            ctype = r.headers.get("Content-Type")
            while time.monotonic() < end:
                line = r.readline()
                if not line:
                    break
                if line.rstrip(b"\r\n") == b"event: " + kind.encode():
                    return ctype, True
            return ctype, False
    except OSError as e:
        return str(e), False


def wait_http(url, proc):
    for _ in range(100):
        status, _, _ = get(url, timeout=1)
        if status is not None:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def start(argv, log_name):
    log = open(work / log_name, "wb")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    procs.append(p)
    return p


def log_of(name):
    return (work / name).read_text(errors="replace")


def port_of(addr):
    """The port of 'host:port', ':port', '[::]:port' or 'http://host:port/...'."""
    m = re.search(r":(\d+)(/.*)?$", addr)
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------ the code's side

def bin_targets():
    cargo = tomllib.loads((ROOT / "bin" / "Cargo.toml").read_text())
    return {b["name"] for b in cargo.get("bin", [])}


def rust_version():
    ws = tomllib.loads((ROOT / "Cargo.toml").read_text())
    return ws["workspace"]["package"]["rust-version"]


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


# ------------------------------------------------------------------------ Dockerfile

def parse_dockerfile(path):
    """Instructions as (KEYWORD, argument text), continuation lines joined."""
    out, buf = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        kw, _, rest = buf.partition(" ")
        out.append((kw.upper(), rest.strip()))
        buf = ""
    return out


def check_dockerfile(bins):
    print("--- Dockerfile")
    ins = parse_dockerfile(DEPLOY / "Dockerfile")
    stages = []  # [name, base, instructions]
    for kw, arg in ins:
        if kw == "FROM":
            words = arg.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append([name, words[0], []])
        elif stages:
            stages[-1][2].append((kw, arg))
    check("Dockerfile has a builder and a runtime stage", len(stages) == 2, str(stages))
    if len(stages) != 2:
        return {}
    (bname, bbase, bins_b), (_, rbase, rins) = stages
    m = re.fullmatch(r"rust:(\d+\.\d+(?:\.\d+)?)(-[a-z-]+)?", bbase)
    check("builder is the official rust image", m is not None, bbase)
    if m:
        check(f"builder's Rust {m.group(1)} >= rust-version {rust_version()}",
              version_tuple(m.group(1)) >= version_tuple(rust_version()))
    runs = [a for k, a in bins_b if k == "RUN"]
    builds = [shlex.split(r) for r in runs if "cargo build" in r]
    check("builder runs one cargo build", len(builds) == 1, str(runs))
    built = set()
    if builds:
        argv = builds[0]
        check("cargo build --release --locked", "--release" in argv and "--locked" in argv, str(argv))
        built = {argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--bin"}
        check("cargo build --bin names are [[bin]] targets", built and built <= bins, f"{built} vs {bins}")
    check("runtime base is debian:bookworm-slim or distroless cc",
          rbase in ("debian:bookworm-slim", "gcr.io/distroless/cc-debian12",
                    "gcr.io/distroless/cc-debian12:nonroot"), rbase)
    copied = {}  # destination -> binary name
    for k, a in rins:
        if k == "COPY" and a.startswith(f"--from={bname}"):
            src, dest = a.split()[1:3]
            name = Path(src).name
            check(f"COPY {name}: built in the builder's target/release",
                  src.endswith(f"/target/release/{name}") and name in built, src)
            copied[dest if not dest.endswith("/") else dest + name] = name
    check("both binaries are copied", set(copied.values()) == bins, str(copied))
    users = [a for k, a in rins if k == "USER"]
    check("runtime runs as a non-root user", users and users[-1] not in ("root", "0", "0:0"), str(users))
    useradds = " ".join(a for k, a in rins if k == "RUN")
    if users and rbase.startswith("debian"):
        check(f"user {users[-1]} is created", re.search(rf"useradd\b[^&]*\b{re.escape(users[-1])}\b", useradds) is not None)
    exposed = {int(p.split("/")[0]) for k, a in rins if k == "EXPOSE" for p in a.split()}
    check("EXPOSE 8000 9100", exposed == {PORTAL_PORT, EXPORTER_PORT}, str(exposed))
    ep = [a for k, a in rins if k == "ENTRYPOINT"]
    entry = json.loads(ep[-1]) if ep else []
    check("ENTRYPOINT (exec form) is the copied kitestacks-portal",
          bool(entry) and copied.get(entry[0]) == "kitestacks-portal", str(entry))
    return copied


# -------------------------------------------------------------------- docker-compose

def parse_volume(v):
    parts = v.split(":")
    return parts[0], parts[1], set(parts[2].split(",")) if len(parts) > 2 else set()


def flag_values(argv):
    """--name=value / --name value pairs of a command line, as a list of (name, value)."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and "=" in a:
            out.append(tuple(a[2:].split("=", 1)))
        elif a.startswith("--"):
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                out.append((a[2:], argv[i + 1]))
                i += 1
            else:
                out.append((a[2:], None))
        i += 1
    return out


def check_compose(copied, bins):
    print("--- docker-compose.yml")
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    check("services portal and node-exporter", set(services) == {"portal", "node-exporter"}, str(set(services)))
    info = {}
    for name, svc in services.items():
        # No build: section: the folder is copied out of the repository (README, step 2)
        # and the image is built beforehand by name (step 1).
        check(f"{name}: runs the image kitestacks, with no build context to lose",
              svc.get("image") == "kitestacks" and "build" not in svc, str(svc.get("image")))
        check(f"{name}: network_mode host, pid host, read_only",
              svc.get("network_mode") == "host" and svc.get("pid") == "host" and svc.get("read_only") is True)
        mounts = {}  # container path -> (host path, options)
        for v in svc.get("volumes", []):
            host, cont, opts = parse_volume(v)
            mounts[cont] = (host, opts)
        trees = {h: c for c, (h, o) in mounts.items() if h in HOST_TREES}
        check(f"{name}: host's /proc, /sys, / mounted", set(trees) == set(HOST_TREES), str(trees))
        check(f"{name}: host trees read-only", all("ro" in mounts[c][1] for c in trees.values()))
        if "/" in trees:
            check(f"{name}: / mounted rslave", "rslave" in mounts[trees["/"]][1])
        info[name] = {"mounts": mounts, "trees": trees, "svc": svc}

    # The exporter: binary, flags against the mounts.
    exp = info.get("node-exporter")
    if exp:
        entry = exp["svc"].get("entrypoint") or []
        check("exporter entrypoint is the copied kitestacks-exporter",
              entry and copied.get(entry[0]) == "kitestacks-exporter" and "kitestacks-exporter" in bins, str(entry))
        flags = dict(flag_values(exp["svc"].get("command", [])))
        for flag, tree in (("path.procfs", "/proc"), ("path.sysfs", "/sys"), ("path.rootfs", "/")):
            check(f"exporter --{flag} is the mount of the host's {tree}",
                  flags.get(flag) == exp["trees"].get(tree), f"{flags.get(flag)} vs {exp['trees'].get(tree)}")
        listen = interpolate(flags.get("web.listen-address", ":9100"), {})
        check("exporter listens on :9100", port_of(listen) == EXPORTER_PORT, listen)
        check("exporter listens on loopback unless told otherwise (not the internet)",
              listen.startswith("127.0.0.1:"), listen)

    # The portal: its config file is mounted, its [metrics] roots are the mounts.
    por = info.get("portal")
    config_path = None
    if por:
        entry = por["svc"].get("entrypoint")
        check("portal runs the image's ENTRYPOINT (kitestacks-portal)", entry is None)
        flags = dict(flag_values(por["svc"].get("command", [])))
        in_container = flags.get("config")
        host_src = por["mounts"].get(in_container, (None,))[0]
        check("portal --config is a mounted file", host_src is not None, f"{in_container}")
        if host_src:
            config_path = (DEPLOY / host_src).resolve()
            check("the mounted config is examples/deploy/kitestacks.toml",
                  config_path == DEPLOY / "kitestacks.toml", str(config_path))
            check("portal config mount is read-only", "ro" in por["mounts"][in_container][1])
            cfg = tomllib.loads(config_path.read_text())
            metrics = cfg.get("metrics", {})
            for key, tree in (("procfs", "/proc"), ("sysfs", "/sys"), ("rootfs", "/")):
                check(f"[metrics] {key} is the mount of the host's {tree}",
                      metrics.get(key) == por["trees"].get(tree), f"{metrics.get(key)} vs {por['trees'].get(tree)}")
            check("[server] listen is 127.0.0.1:8000 (host network, for nginx)",
                  cfg.get("server", {}).get("listen") == f"127.0.0.1:{PORTAL_PORT}")
    return info


def interpolate(value, env):
    """Compose's ${VAR:-default} and ${VAR}."""
    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", lambda m: env.get(m.group(1)) or m.group(3) or "", value)


def remap(value, trees):
    """A container path under a mount of a host tree, as the host path it shows."""
    for host, cont in sorted(trees.items(), key=lambda t: -len(t[1])):
        if value == cont or value.startswith(cont.rstrip("/") + "/"):
            return host.rstrip("/") + value[len(cont.rstrip("/")):] or "/"
    return value


# ------------------------------------------------------------------------ the portal

def remapped_config(info, listen=None, status_off=False):
    """kitestacks.toml with the [metrics] roots remapped to the host's own trees."""
    trees = info["portal"]["trees"]
    text = (DEPLOY / "kitestacks.toml").read_text()
    for key in ("procfs", "sysfs", "rootfs"):
        text = re.sub(rf'(?m)^{key} = "([^"]*)"',
                      lambda m, k=key: f'{k} = "{remap(m.group(1), trees)}"', text)
    if listen:
        text = re.sub(r'(?m)^listen = "[^"]*"', f'listen = "{listen}"', text)
    if status_off:  # never probe the registry's public URLs from CI
        cfg = tomllib.loads(text)
        if "status" in cfg:
            text, n = re.subn(r"(?m)^(\[status\]\n(?:(?!\[).*\n)*?)enabled\s*=\s*true", r"\1enabled = false", text)
            if cfg["status"].get("enabled", True) and n != 1:
                raise SystemExit("check_deploy: cannot turn [status] enabled off in the live config")
        else:
            text += "\n[status]\nenabled = false\n"
        assert tomllib.loads(text)["status"]["enabled"] is False
    path = work / ("portal-live.toml" if listen else "portal.toml")
    path.write_text(text)
    return path


def check_portal_config(portal, info):
    print("--- kitestacks.toml")
    path = remapped_config(info)
    r = subprocess.run([portal, "--check-config", "--config", str(path)], capture_output=True, text=True)
    check("kitestacks-portal --check-config (roots remapped to /proc, /sys, /)", r.returncode == 0,
          (r.stdout + r.stderr).strip())
    ours = tomllib.loads((DEPLOY / "kitestacks.toml").read_text())
    default = tomllib.loads((ROOT / "kitestacks-core" / "src" / "default.toml").read_text())
    for table, key in (("hosts", "name"), ("services", "id")):
        a = [x[key] for x in ours.get(table, [])]
        b = [x[key] for x in default.get(table, [])]
        check(f"[[{table}]] are the embedded default's", a == b, f"{a} vs {b}")
    return ours


# ---------------------------------------------------------------------- the exporter

def run_exporter(exporter, argv, trees, label):
    """Starts the exporter with exactly these flags, paths remapped, on a free port."""
    port = free_port()
    args = []
    telemetry = "/metrics"
    for a in argv:
        a = interpolate(a, {})
        name, _, value = a.partition("=")
        if name in ("--path.procfs", "--path.sysfs", "--path.rootfs"):
            a = f"{name}={remap(value, trees)}"
        elif name == "--web.listen-address":
            a = f"{name}=127.0.0.1:{port}"
        elif name == "--web.telemetry-path":
            telemetry = value
        args.append(a)
    if not any(a.startswith("--web.listen-address") for a in args):
        args.append(f"--web.listen-address=127.0.0.1:{port}")
    log = f"exporter-{label}.log"
    p = start([exporter, *args], log)
    up = wait_http(f"http://127.0.0.1:{port}{telemetry}", p)
    check(f"exporter ({label}) starts with {' '.join(argv)}", up, log_of(log)[-500:])
    if up:
        status, body, _ = get(f"http://127.0.0.1:{port}{telemetry}")
        text = body.decode(errors="replace")
        check(f"exporter ({label}) {telemetry} answers 200 with node_ metrics",
              status == 200 and "\nnode_uname_info{" in text, f"status {status}")
        # A flag the exporter accepts but ignores is logged as a warning ending in "ignored".
        # (Collectors failing on hardware this machine lacks are not the files' business.)
        warnings = [line for line in log_of(log).splitlines() if "level=WARN" in line and "ignored" in line]
        check(f"exporter ({label}) ignores none of its flags", not warnings, "; ".join(warnings))
    p.terminate()
    p.wait(timeout=15)


def check_web_config(exporter):
    """web-config.yml works as its comments say: their openssl and htpasswd commands make
    the key pair and the hash, and the exporter then wants TLS and the password."""
    print("--- web-config.yml")
    path = DEPLOY / "web-config.yml"
    cfg = yaml.safe_load(path.read_text())
    tls, users = cfg.get("tls_server_config", {}), cfg.get("basic_auth_users", {})
    check("web-config.yml sets TLS and basic auth", bool(tls.get("cert_file") and users), str(cfg))
    comments = "\n".join(line.lstrip("# ") for line in path.read_text().splitlines() if line.startswith("#"))
    if not (shutil.which("openssl") and shutil.which("htpasswd")):
        print("skip the live web-config check (no openssl or htpasswd here)")
        return
    d = work / "webcfg"
    (d / "tls").mkdir(parents=True)
    cmd = re.search(r"openssl req[^\n]*", comments.replace("\\\n", " ").replace("\n  ", " "))
    r = subprocess.run(cmd.group(0) if cmd else "false", shell=True, cwd=d, capture_output=True, text=True)
    check("its openssl command makes the key pair it names",
          r.returncode == 0 and (d / tls["cert_file"]).exists() and (d / tls["key_file"]).exists(),
          (r.stderr or "no openssl command in its comments")[-300:])
    password = os.urandom(12).hex()
    user = next(iter(users))
    r = subprocess.run(["htpasswd", "-nbBC", "10", user, password], capture_output=True, text=True)
    text = path.read_text().replace(users[user], r.stdout.strip().split(":", 1)[1])
    (d / "web-config.yml").write_text(text)
    port = free_port()
    p = start([exporter, f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={d / 'web-config.yml'}"],
              "exporter-webcfg.log")
    ctx = ssl.create_default_context(cafile=str(d / tls["cert_file"]))
    ctx.check_hostname = False
    import base64
    def fetch(auth):
        req = urllib.request.Request(f"https://127.0.0.1:{port}/metrics")
        if auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError as e:
            return str(e)
    for _ in range(50):
        if isinstance(fetch(None), int):
            break
        time.sleep(0.1)
    check("exporter with web-config.yml: no password, 401", fetch(None) == 401, log_of("exporter-webcfg.log")[-300:])
    check("exporter with web-config.yml: the password, 200 over TLS", fetch(f"{user}:{password}") == 200)
    p.terminate()
    p.wait(timeout=15)


# ---------------------------------------------------------------------------- systemd

def parse_unit(path):
    """A unit file as {section: [(key, value)]} (keys may repeat, as systemd allows)."""
    sections, cur = {}, None
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            cur = sections.setdefault(line[1:-1], [])
            continue
        if cur is None or "=" not in line:
            raise ValueError(f"{path}:{n}: not a unit file line: {raw!r}")
        k, _, v = line.partition("=")
        cur.append((k.strip(), v.strip()))
    return sections


def check_units(portal, exporter, bins, info):
    print("--- systemd units")
    have_analyze = shutil.which("systemd-analyze") is not None
    for name in sorted(bins):
        path = DEPLOY / "systemd" / f"{name}.service"
        if not check(f"{path.name} exists", path.exists()):
            continue
        unit = parse_unit(path)
        check(f"{path.name}: [Unit] [Service] [Install]", set(unit) == {"Unit", "Service", "Install"}, str(set(unit)))
        svc = dict(unit.get("Service", []))
        user = svc.get("User", "")
        check(f"{path.name}: a dedicated user", user not in ("", "root", "0", "nobody"), user)
        for key, ok in HARDENING.items():
            check(f"{path.name}: {key}={'|'.join(sorted(ok)) or '(empty)'}", svc.get(key) in ok, str(svc.get(key)))
        execs = [v for k, v in unit["Service"] if k in ("ExecStart", "ExecStartPre")]
        for e in execs:
            argv = shlex.split(e.lstrip("-@+!:"))
            check(f"{path.name}: {Path(argv[0]).name} is a [[bin]] target under /usr/local/bin",
                  Path(argv[0]).name in bins and argv[0] == f"/usr/local/bin/{Path(argv[0]).name}", argv[0])
        start_argv = shlex.split(svc.get("ExecStart", ""))
        if name == "kitestacks-exporter":
            flags = dict(flag_values(start_argv[1:]))
            listen = flags.get("web.listen-address", ":9100")
            check(f"{path.name}: listens on :9100", port_of(listen) == EXPORTER_PORT)
            check(f"{path.name}: listens on loopback (not the internet)", listen.startswith("127.0.0.1:"), listen)
            run_exporter(exporter, start_argv[1:], {}, "systemd unit")
        if name == "kitestacks-portal":
            flags = dict(flag_values(start_argv[1:]))
            check(f"{path.name}: --config /etc/kitestacks/kitestacks.toml (compose's path)",
                  flags.get("config") == "/etc/kitestacks/kitestacks.toml")
            # The unit's file is kitestacks.toml with the roots back at /proc, /sys, /.
            cfg = remapped_config(info)
            for e in execs:
                argv = shlex.split(e)
                argv = [portal] + [str(cfg) if a == flags.get("config") else a for a in argv[1:]]
                if "--check-config" in argv:
                    r = subprocess.run(argv, capture_output=True, text=True)
                    check(f"{path.name}: ExecStartPre --check-config passes", r.returncode == 0, r.stderr.strip())
        if have_analyze:
            # Verify a copy whose commands are the real binaries (verify wants them to exist).
            copy = work / path.name
            text = path.read_text().replace("/usr/local/bin/kitestacks-portal", str(portal))
            text = text.replace("/usr/local/bin/kitestacks-exporter", str(exporter))
            copy.write_text(text)
            r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True)
            out = "\n".join(line for line in (r.stdout + r.stderr).splitlines()
                            if "kitestacks" in line or "Unknown" in line or "ignoring" in line.lower())
            check(f"systemd-analyze verify {path.name}", r.returncode == 0 and not out, out or r.stderr.strip())
            r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(copy)],
                               capture_output=True, text=True)
            m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout + r.stderr)
            check(f"systemd-analyze security {path.name}: exposure <= 3.0 (\"OK\")",
                  m is not None and float(m.group(1)) <= 3.0, (m.group(0) if m else (r.stdout + r.stderr)[-300:]))
        else:
            print(f"skip systemd-analyze verify {path.name} (no systemd-analyze here)")


# ------------------------------------------------------------------------------ nginx

def nginx_directives(text):
    """(location or None, directive, args) of a site file, comments dropped."""
    out, loc = [], None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"location\s+(?:[=~^*]+\s+)?(\S+)\s*\{", line)
        if m:
            loc = m.group(1)
            continue
        if line == "}":
            loc = None
            continue
        words = line.rstrip(";").split()
        out.append((loc, words[0], words[1:]))
    return out


NGINX_MAIN = """pid {p}/nginx.pid;
error_log {p}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {p}/logs/access.log;
    client_body_temp_path {p}/tmp_body;
    proxy_temp_path {p}/tmp_proxy;
    fastcgi_temp_path {p}/tmp_fastcgi;
    uwsgi_temp_path {p}/tmp_uwsgi;
    scgi_temp_path {p}/tmp_scgi;
    include {site};
}}
"""


def check_nginx(portal, info):
    print("--- nginx sites")
    site = DEPLOY / "nginx" / "kitestacks.conf"
    simple = DEPLOY / "nginx" / "kitestacks-simple.conf"
    ds = nginx_directives(site.read_text())
    proxies = [a[0] for loc, d, a in ds if d == "proxy_pass"]
    check("kitestacks.conf proxies /api/ (and /api/events unbuffered) and nothing else",
          [loc for loc, d, _ in ds if d == "proxy_pass"] == ["/api/events", "/api/"], str(proxies))
    check("kitestacks.conf proxy_pass is http://127.0.0.1:8000 (no URI: the path passes unchanged)",
          set(proxies) == {f"http://127.0.0.1:{PORTAL_PORT}"}, str(proxies))
    check("kitestacks.conf: /api/events with proxy_buffering off",
          ("/api/events", "proxy_buffering", ["off"]) in ds)
    roots = [a[0] for loc, d, a in ds if d == "root"]
    check("kitestacks.conf serves / from a root directory", len(roots) == 1 and roots[0].startswith("/"), str(roots))
    ds = nginx_directives(simple.read_text())
    check("kitestacks-simple.conf proxies everything to http://127.0.0.1:8000, serves no files",
          [(loc, a[0]) for loc, d, a in ds if d == "proxy_pass"]
          == [("/api/events", f"http://127.0.0.1:{PORTAL_PORT}"), ("/", f"http://127.0.0.1:{PORTAL_PORT}")]
          and not [d for _, d, _ in ds if d == "root"])
    check("kitestacks-simple.conf: /api/events with proxy_buffering off",
          ("/api/events", "proxy_buffering", ["off"]) in ds)
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not nginx:
        print("skip nginx -t and the live checks (no nginx here)")
        return
    page = ROOT / "examples" / "portal"
    serve_site(nginx, site, portal, info, page, None)
    serve_site(nginx, simple, portal, info, page, page)


def serve_site(nginx, path, portal, info, page, static_dir):
    """nginx -t on the site as written, then served live in front of a real portal."""
    name = path.stem
    prefix = work / f"nginx-{name}"
    (prefix / "logs").mkdir(parents=True)
    text = path.read_text()
    (prefix / "as-is.conf").write_text(NGINX_MAIN.format(p=prefix, site=path))
    r = subprocess.run([nginx, "-t", "-q", "-p", str(prefix), "-e", str(prefix / "logs/error.log"),
                        "-c", str(prefix / "as-is.conf")], capture_output=True, text=True)
    check(f"nginx -t ({path.name} as written)", r.returncode == 0, r.stderr.strip())

    # Live: the site with its listen port, root and upstream port remapped to loopback.
    portal_port, nginx_port = free_port(), free_port()
    live = re.sub(r"(?m)^(\s*)listen\s+\[::\]:80;\n", "", text)
    live = re.sub(r"(?m)^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{nginx_port};", live)
    live = re.sub(r"(?m)^(\s*)root\s+\S+;", rf"\1root {page};", live)
    live = live.replace(f"http://127.0.0.1:{PORTAL_PORT}", f"http://127.0.0.1:{portal_port}")
    (prefix / "site-live.conf").write_text(live)
    (prefix / "live.conf").write_text("daemon off;\n" + NGINX_MAIN.format(p=prefix, site=prefix / "site-live.conf"))
    cfg = remapped_config(info, listen=f"127.0.0.1:{portal_port}", status_off=True)
    if static_dir:
        text = cfg.read_text()
        text = re.sub(r"(?m)^\[server\]\n", f'[server]\nstatic_dir = "{static_dir}"\n', text, count=1)
        cfg = cfg.with_name(f"portal-{name}.toml")
        cfg.write_text(text)
    pp = start([portal, "--config", str(cfg)], f"portal-{name}.log")
    if not check(f"portal starts with kitestacks.toml for {path.name} (roots remapped, loopback port)",
                 wait_http(f"http://127.0.0.1:{portal_port}/api/health", pp), log_of(f"portal-{name}.log")[-500:]):
        return
    np = start([nginx, "-p", str(prefix), "-e", str(prefix / "logs/error.log"),
                "-c", str(prefix / "live.conf")], f"nginx-{name}.log")
    if not check(f"nginx serves {path.name} on loopback", wait_http(f"http://127.0.0.1:{nginx_port}/", np),
                 log_of(f"nginx-{name}.log")[-500:]):
        return
    base = f"http://127.0.0.1:{nginx_port}"
    status, body, _ = get(base + "/")
    check(f"{name}: / is the page's index.html", status == 200 and body == (page / "index.html").read_bytes(), str(status))
    status, body, _ = get(base + "/api/health")
    check(f"{name}: /api/health reaches the portal", status == 200 and json.loads(body) == {"ok": True}, f"{status} {body[:200]!r}")
    status, body, _ = get(base + "/api/services")
    check(f"{name}: /api/services reaches the portal", status == 200 and "services" in json.loads(body), str(status))
    status, body, _ = get(base + "/api/nope")
    check(f"{name}: the portal's JSON 404 passes through",
          status == 404 and json.loads(body).get("error", {}).get("code") == "not_found", f"{status} {body[:200]!r}")
    ctype, got = first_event(base + "/api/events", "sample")
    check(f"{name}: /api/events streams a sample event through nginx", got and ctype == "text/event-stream",
          f"{ctype} {got}")
    status, body, _ = get(f"http://127.0.0.1:{portal_port}/metrics")
    check("the portal serves /metrics (scraped by prometheus.yml)",
          status == 200 and body.startswith(b"#"), f"{status} {body[:120]!r}")
    # The portal stops: /api/ answers in its JSON error shape, not nginx's HTML page.
    pp.terminate()
    pp.wait(timeout=15)
    status, body, _ = get(base + "/api/health")
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    check(f"{name}: portal down: /api/ answers 502 with the JSON error shape",
          status == 502 and code == "portal_unavailable", f"{status} {body[:200]!r}")
    if static_dir:
        status, body, _ = get(base + "/")
        check(f"{name}: portal down: the page gets nginx's plain 502", status == 502 and b"{" not in body[:1], str(status))
    np.terminate()
    np.wait(timeout=15)


# ------------------------------------------------------------------------- Prometheus

def check_prometheus(config):
    print("--- prometheus.yml")
    path = DEPLOY / "prometheus.yml"
    prom = yaml.safe_load(path.read_text())
    jobs = {j["job_name"]: j for j in prom.get("scrape_configs", [])}
    node = jobs.get("node", {})
    targets = [t for sc in node.get("static_configs", []) for t in sc.get("targets", [])]
    labelled = sorted(sc.get("labels", {}).get("host") for sc in node.get("static_configs", []))
    hosts = sorted(h["name"] for h in config.get("hosts", []))
    check("job node scrapes every [[hosts]] name (its host label)", labelled == hosts, f"{labelled} vs {hosts}")
    check("job node's targets are on :9100", targets and all(port_of(x) == EXPORTER_PORT for x in targets), str(targets))
    node_path = node.get("metrics_path", "/metrics")
    check("job node scrapes /metrics (the exporter's --web.telemetry-path)", node_path == "/metrics")
    portal_jobs = [j for n, j in jobs.items() if n != "node"]
    ptargets = [t for j in portal_jobs for sc in j.get("static_configs", []) for t in sc.get("targets", [])]
    check("a job scrapes the portal on 127.0.0.1:8000", f"127.0.0.1:{PORTAL_PORT}" in ptargets, str(ptargets))
    check("every portal target is on :8000", all(port_of(x) == PORTAL_PORT for x in ptargets), str(ptargets))
    plabelled = sorted(sc.get("labels", {}).get("host") for j in portal_jobs for sc in j.get("static_configs", []))
    check("the portal job scrapes every [[hosts]] name (its host label, as [fleet] reads it)",
          plabelled == hosts, f"{plabelled} vs {hosts}")
    check("the portal job's path is /metrics", all(j.get("metrics_path", "/metrics") == "/metrics" for j in portal_jobs))
    promtool = shutil.which("promtool")
    if not promtool:
        print("skip promtool check config (no promtool here)")
        return
    r = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True)
    check("promtool check config", r.returncode == 0, (r.stdout + r.stderr).strip())


def main():
    portal, exporter = (Path(a).resolve() for a in sys.argv[1:3])
    try:
        bins = bin_targets()
        check("bin/Cargo.toml has the two [[bin]] targets", bins == {"kitestacks-portal", "kitestacks-exporter"}, str(bins))
        copied = check_dockerfile(bins)
        info = check_compose(copied, bins)
        config = check_portal_config(portal, info)
        exp = info["node-exporter"]
        run_exporter(exporter, exp["svc"]["command"], exp["trees"], "compose")
        check_web_config(exporter)
        check_units(portal, exporter, bins, info)
        check_nginx(portal, info)
        check_prometheus(config)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(checklist.summary("check deploy"))


if __name__ == "__main__":
    main()
