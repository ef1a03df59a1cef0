"""Follows README.md's "Deploy on a host with docker compose and nginx" step by step.

The section's ```sh blocks are joined in order and run by bash (-euo pipefail) from the
repository root, as a reader would paste them. This machine has no Docker engine and
must not touch its own /etc/nginx, so a few commands are stood in for, each by a small
program in a scratch PATH directory, and everything else runs as written:

  docker build ...            the release binaries are the image (the Dockerfile is
                              checked by check_deploy.py)
  docker compose run/up/ps/   the services of the docker-compose.yml in the current
    logs/stop/down            directory, run as processes: entrypoint and command as
                              written, `${VAR:-default}` interpolated, container paths
                              turned back into the host paths mounted there (a mounted
                              kitestacks.toml gets a copy with its /host/... roots
                              remapped), ports moved to free loopback ports
  sudo CMD                    CMD
  nginx, systemctl ... nginx  Debian's nginx under a scratch prefix, the enabled sites
                              with their ports, roots and upstream moved likewise
  "${EDITOR:-nano}" FILE      the edits step 3 asks for, made to point every upstream
                              at fakes on loopback (no CI traffic leaves 127.0.0.1)

The script's own text gets only path and port rewrites (/etc/nginx/ and /var/www/ into
the scratch root, 127.0.0.1:8000/9100/80 onto the free ports), printed before it runs.
A command the follower does not know fails the check, so the section cannot drift into
steps nobody ran. After the script: the page and the API through nginx, the edited
configuration in effect, and nginx's 502 in the portal's JSON shape once the portal
stops.

usage: follow_walkthrough.py PATH/TO/kitestacks-portal PATH/TO/kitestacks-exporter
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from checklist import Checklist, free_port, get

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Deploy on a host with docker compose and nginx"
# Commands the section may use: run as they are, or (second set) stood in for.
PLAIN = {"cp", "cd", "mkdir", "curl", "head", "grep", "echo", "sed", "ln", "cat", "ls", "chmod", "test"}
STOOD_IN = {"docker", "sudo", "nginx", "systemctl", '"${EDITOR:-nano}"'}
IMAGE_BINARIES = ("/usr/local/bin/kitestacks-portal", "/usr/local/bin/kitestacks-exporter")

checklist = Checklist()
check = checklist.check


def wait_port(port, seconds=15):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


# ---------------------------------------------------------------- the README section

def section_script():
    """The section's sh blocks, in order."""
    text = (ROOT / "README.md").read_text()
    start = text.index("\n" + SECTION + "\n")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end != -1 else len(text)]
    blocks = re.findall(r"(?ms)^```sh\n(.*?)^```", body)
    return blocks


def commands_of(script):
    """The first word of every command (after sudo), for the known-commands check."""
    words = []
    for line in script.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", line):
            argv = part.split()
            while argv and argv[0] == "sudo":
                words.append("sudo")
                argv = argv[1:]
            if argv:
                words.append(argv[0])
    return words


def rewrite(script, state):
    """The path and port rewrites, and nothing else."""
    sandbox, ports = state["sandbox"], state["ports"]
    rules = [
        (r"(?<![\w/])/etc/nginx/", f"{sandbox}/etc/nginx/"),
        (r"(?<![\w/])/var/www/", f"{sandbox}/var/www/"),
        (r"http://127\.0\.0\.1/", f"http://127.0.0.1:{ports['80']}/"),
    ]
    for port in ("8000", "9100"):
        rules.append((rf"127\.0\.0\.1:{port}\b", f"127.0.0.1:{ports[port]}"))
    for pattern, repl in rules:
        script = re.sub(pattern, repl, script)
    return script


# ------------------------------------------------------------------------ stand-ins

def load_state():
    return json.loads(Path(os.environ["FOLLOW_STATE"]).read_text())


def save_state(state):
    Path(os.environ["FOLLOW_STATE"]).write_text(json.dumps(state, indent=1))


def interpolate(value, env):
    """Compose's ${VAR:-default} and ${VAR}."""
    def one(m):
        name, default = m.group(1), m.group(3)
        v = env.get(name)
        return v if v else (default or "")
    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", one, value)


def compose_env(cwd):
    env = dict(os.environ)
    dotenv = cwd / ".env"
    if dotenv.exists():
        for line in dotenv.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                k, _, v = line.partition("=")
                env.setdefault(k.strip(), v.strip())
    return env


def move_ports(text, ports):
    for port in ("8000", "9100"):
        text = re.sub(rf"(127\.0\.0\.1|\[::1\]|0\.0\.0\.0|localhost)?:{port}\b", f"127.0.0.1:{ports[port]}", text)
    return text


def host_path(value, mounts, cwd, state):
    """A container path as the host path mounted there (a copy for a kitestacks.toml)."""
    for target, source in sorted(mounts.items(), key=lambda t: -len(t[0])):
        t = target.rstrip("/") or "/"
        if value == t or value.startswith(t.rstrip("/") + "/"):
            src = source if source.startswith("/") else str((cwd / source).resolve())
            path = src.rstrip("/") + value[len(t.rstrip("/")):] if t != "/" else src.rstrip("/") + value
            path = path or "/"
            if path.endswith(".toml") and Path(path).is_file():
                return config_copy(Path(path), mounts, state)
            return path
    return value


def config_copy(path, mounts, state):
    """kitestacks.toml as the container sees it: roots at the host's trees, moved ports."""
    text = path.read_text()
    for target, source in mounts.items():
        if source in ("/proc", "/sys", "/"):
            text = text.replace(f'"{target}"', f'"{source}"')
    text = move_ports(text, state["ports"])
    out = Path(state["work"]) / f"container-{path.name}"
    out.write_text(text)
    return str(out)


def service_argv(name, svc, extra, cwd, state):
    env = compose_env(cwd)
    mounts = {}
    for v in svc.get("volumes", []):
        parts = interpolate(v, env).split(":")
        mounts[parts[1]] = parts[0]
    entry = svc.get("entrypoint") or [state["entrypoint"]]
    args = extra if extra else svc.get("command", [])
    argv = []
    for a in [*entry, *args]:
        a = interpolate(a, env)
        if a in IMAGE_BINARIES:
            argv.append(state["binaries"][a])
            continue
        flag, eq, value = a.partition("=")
        if eq and flag.startswith("--"):
            a = f"{flag}={host_path(value, mounts, cwd, state)}"
        else:
            a = host_path(a, mounts, cwd, state)
        argv.append(move_ports(a, state["ports"]))
    return argv


def docker(args):
    state = load_state()
    if args[:1] == ["build"]:
        dockerfile = args[args.index("-f") + 1] if "-f" in args else "Dockerfile"
        if not Path(dockerfile).is_file():
            sys.exit(f"docker (stand-in): no {dockerfile}")
        print(f"docker (stand-in): image kitestacks = {state['binaries'][IMAGE_BINARIES[0]]} "
              f"and {state['binaries'][IMAGE_BINARIES[1]]}")
        return 0
    if args[:1] != ["compose"]:
        sys.exit(f"docker (stand-in): only build and compose are known, not {args}")
    import yaml
    cwd = Path.cwd()
    compose = yaml.safe_load((cwd / "docker-compose.yml").read_text())
    services = compose["services"]
    sub, rest = args[1], args[2:]
    logs = Path(state["work"])
    if sub == "run":
        rest = [a for a in rest if a != "--rm"]
        name, extra = rest[0], rest[1:]
        argv = service_argv(name, services[name], extra, cwd, state)
        print("docker (stand-in): " + shlex.join(argv), file=sys.stderr)
        return subprocess.run(argv).returncode
    if sub == "up":
        for name, svc in services.items():
            if name in state["running"]:
                continue
            argv = service_argv(name, svc, [], cwd, state)
            print("docker (stand-in): " + shlex.join(argv), file=sys.stderr)
            log = open(logs / f"{name}.log", "wb")
            p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
            state["running"][name] = p.pid
            save_state(state)
        # `up -d` returns once the containers run; a process runs once it listens.
        for name, port in (("portal", "8000"), ("node-exporter", "9100")):
            if name in services and not wait_port(state["ports"][port]):
                sys.exit(f"docker (stand-in): {name} did not start:\n" + (logs / f"{name}.log").read_text()[-2000:])
        return 0
    if sub == "ps":
        for name, pid in state["running"].items():
            alive = Path(f"/proc/{pid}").exists()
            print(f"{name:15} pid {pid:<8} {'running' if alive else 'exited'}")
        return 0
    if sub == "logs":
        for name in rest or list(services):
            print((logs / f"{name}.log").read_text(errors="replace"), end="")
        return 0
    if sub in ("stop", "down"):
        for name in (rest if sub == "stop" else list(state["running"])):
            pid = state["running"].pop(name, None)
            if pid:
                os.kill(pid, signal.SIGTERM)
        save_state(state)
        return 0
    sys.exit(f"docker (stand-in): compose {sub} is not stood in for")


def nginx_conf(state):
    """The sandbox's nginx.conf: Debian's layout, sites with moved ports and roots."""
    sandbox, ports = Path(state["sandbox"]), state["ports"]
    live = sandbox / "run" / "sites"
    shutil.rmtree(live, ignore_errors=True)
    live.mkdir(parents=True)
    for site in sorted((sandbox / "etc/nginx/sites-enabled").iterdir()):
        text = site.read_text()  # follows the symlink to sites-available
        text = re.sub(r"(?m)^\s*listen\s+\[::\]:80;\n", "", text)
        text = re.sub(r"(?m)^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{ports['80']};", text)
        text = re.sub(r"(?m)^(\s*root\s+)/var/www/", rf"\g<1>{sandbox}/var/www/", text)
        text = move_ports(text, ports)
        (live / site.name).write_text(text)
    p = sandbox / "run"
    conf = p / "nginx.conf"
    conf.write_text(f"""pid {p}/nginx.pid;
error_log {p}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {p}/access.log;
    client_body_temp_path {p}/tmp_body;
    proxy_temp_path {p}/tmp_proxy;
    fastcgi_temp_path {p}/tmp_fastcgi;
    uwsgi_temp_path {p}/tmp_uwsgi;
    scgi_temp_path {p}/tmp_scgi;
    include {live}/*;
}}
""")
    return ["/usr/sbin/nginx", "-p", str(p), "-e", str(p / "error.log"), "-c", str(conf)]


def nginx(args):
    state = load_state()
    base = nginx_conf(state)
    if args == ["-t"]:
        return subprocess.run(base + ["-t"]).returncode
    if args == ["-s", "reload"]:
        return subprocess.run(base + ["-s", "reload"]).returncode
    sys.exit(f"nginx (stand-in): {args} is not stood in for")


def systemctl(args):
    if len(args) != 2 or args[1] != "nginx" or args[0] not in ("reload", "restart", "start"):
        sys.exit(f"systemctl (stand-in): only start/reload/restart nginx, not {args}")
    state = load_state()
    base = nginx_conf(state)
    pidfile = Path(state["sandbox"]) / "run" / "nginx.pid"
    # Debian's nginx runs from its installation on: the first reload starts this one.
    running = pidfile.exists() and pidfile.read_text().strip().isdigit()
    if running and args[0] == "reload":
        return subprocess.run(base + ["-s", "reload"]).returncode
    r = subprocess.run(base)  # daemonises
    if r.returncode == 0 and not wait_port(state["ports"]["80"]):
        sys.exit("systemctl (stand-in): nginx did not start")
    return r.returncode


def edit(args):
    """Step 3's edits, made for CI: upstreams and probes on the loopback fakes."""
    state = load_state()
    path = Path(args[0])
    if path.name != "kitestacks.toml":
        sys.exit(f"editor (stand-in): step 3 edits kitestacks.toml, not {path}")
    fake = state["fake"]
    text = path.read_text()
    # Your own services: one on the fake (up), one on a closed port (down).
    text = re.sub(r"(?ms)^\[\[services\]\]\n.*?(?=^\[(?!\[services\]\])|^# -{8,}|\Z)", "", text)
    closed = free_port()
    text += f"""
[[services]]
id = "forge"
name = "Forge"
url = "{fake}/"
category = "apps"
description = "the fake Forgejo on loopback"
container = "forgejo"
hosts = ["monk"]
auth = "none"
visibility = "internal"
probe = {{ url = "{fake}/api/v1/repos/search", accept_status = [200] }}

[[services]]
id = "gone"
name = "Gone"
url = "http://127.0.0.1:{closed}/"
category = "apps"
description = "nothing listens here"
container = "gone"
hosts = ["monk"]
auth = "none"
visibility = "internal"
probe = {{ url = "http://127.0.0.1:{closed}/", timeout = "2s" }}
"""
    text = re.sub(r'(?m)^(\[forgejo\][^\[]*?^)#?\s*url = "[^"]*"', rf'\1url = "{fake}/"', text)
    text = re.sub(r'(?m)^(\[weather\][^\[]*?^)#?\s*base_url = "[^"]*".*$', rf'\1base_url = "{fake}/wttr"', text)
    text = re.sub(r"(?m)^(\[status\][^\[]*?^)#?\s*enabled = \w+", r"\1enabled = true", text)
    text = re.sub(r'(?m)^(\[status\][^\[]*?^)interval = "[^"]*"', r'\1interval = "5s"', text)
    cfg = tomllib.loads(text)
    want = {"forgejo url": (cfg.get("forgejo", {}).get("url"), f"{fake}/"),
            "weather base_url": (cfg.get("weather", {}).get("base_url"), f"{fake}/wttr"),
            "status enabled": (cfg.get("status", {}).get("enabled"), True),
            "services": ([s["id"] for s in cfg.get("services", [])], ["forge", "gone"])}
    wrong = {k: v for k, v in want.items() if v[0] != v[1]}
    if wrong:
        sys.exit(f"editor (stand-in): kitestacks.toml no longer has the shape step 3 describes: {wrong}")
    path.write_text(text)
    print(f"editor (stand-in): {path}: upstreams and probes on {fake}")
    return 0


STANDINS = {"docker": docker, "nginx": nginx, "systemctl": systemctl, "edit": edit}


# ----------------------------------------------------------------------------- main

def main():
    portal, exporter = (str(Path(a).resolve()) for a in sys.argv[1:3])
    work = Path(tempfile.mkdtemp(prefix="follow_walkthrough."))
    work.chmod(0o755)  # nginx's workers read the page in the scratch root
    sandbox = work / "root"
    for d in ("etc/nginx/sites-available", "etc/nginx/sites-enabled", "var/www", "run"):
        (sandbox / d).mkdir(parents=True)
    (work / "home").mkdir()
    shims = work / "bin"
    shims.mkdir()
    me = Path(__file__).resolve()
    for name in ("docker", "nginx", "systemctl", "edit"):
        (shims / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" "{me}" --stand-in {name} "$@"\n')
        (shims / name).chmod(0o755)
    (shims / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (shims / "sudo").chmod(0o755)

    fake_port = work / "fake_port"
    fake = subprocess.Popen([sys.executable, str(ROOT / ".ci/fake_upstreams.py"),
                             str((ROOT.parent / "shared" / "fixtures").resolve()), str(fake_port)])
    for _ in range(50):
        if fake_port.exists() and fake_port.read_text():
            break
        time.sleep(0.1)
    entry = json.loads(re.findall(r"(?m)^ENTRYPOINT\s+(.*)$", (ROOT / "examples/deploy/Dockerfile").read_text())[-1])[0]
    state = {
        "work": str(work), "sandbox": str(sandbox), "running": {},
        "ports": {"80": free_port(), "8000": free_port(), "9100": free_port()},
        "fake": f"http://127.0.0.1:{fake_port.read_text().strip()}",
        "binaries": {IMAGE_BINARIES[0]: portal, IMAGE_BINARIES[1]: exporter},
        "entrypoint": entry,
    }
    statefile = work / "state.json"
    statefile.write_text(json.dumps(state))
    env = dict(os.environ, HOME=str(work / "home"), PATH=f"{shims}:{os.environ['PATH']}",
               EDITOR=str(shims / "edit"), FOLLOW_STATE=str(statefile))
    env.pop("EXPORTER_LISTEN_ADDRESS", None)
    try:
        blocks = section_script()
        check(f"README has the section \"{SECTION[3:]}\" with commands", len(blocks) >= 5, f"{len(blocks)} blocks")
        script = "\n".join(blocks)
        unknown = sorted(set(commands_of(script)) - PLAIN - STOOD_IN)
        check("every command of the section is run as written or stood in for", not unknown, str(unknown))
        ran = rewrite(script, state)
        print("--- the section's commands, as run")
        print(ran)
        print("---")
        r = subprocess.run(["bash", "-euo", "pipefail", "-x", "-c", ran], cwd=ROOT, env=env)
        check("the section's commands all succeed, in order", r.returncode == 0, f"exit {r.returncode}")

        state = json.loads(statefile.read_text())
        base = f"http://127.0.0.1:{state['ports']['80']}"
        status, body, _ = get(base + "/", timeout=10)
        page = (work / "home/kitestacks/page/index.html")
        check("nginx serves the copied page at /", status == 200 and page.exists() and body == page.read_bytes(),
              str(status))
        status, body, _ = get(base + "/api/activity", timeout=10)
        ok = status == 200 and json.loads(body).get("commits")
        check("the edited [forgejo] url is in effect (commits from the fake, through nginx)", bool(ok),
              f"{status} {body[:200]!r}")
        seen = {}
        for _ in range(100):
            status, body, _ = get(base + "/api/status", timeout=10)
            if status == 200:
                seen = {s["id"]: s["state"] for s in json.loads(body).get("services", [])}
                if seen == {"forge": "up", "gone": "down"}:
                    break
            time.sleep(0.2)
        check("the edited services are probed: forge up, gone down (through nginx)",
              seen == {"forge": "up", "gone": "down"}, str(seen))
        status, body, _ = get(f"http://127.0.0.1:{state['ports']['9100']}/metrics", timeout=10)
        check("the exporter serves the host's metrics", status == 200 and b"\nnode_load1 " in body, str(status))

        subprocess.run(["docker", "compose", "stop", "portal"], cwd=work / "home/kitestacks", env=env, check=True)
        time.sleep(0.5)
        status, body, headers = get(base + "/api/health", timeout=10)
        try:
            code = json.loads(body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        check("with the portal down, nginx answers /api/ with a JSON 502 in the portal's error shape",
              status == 502 and code == "portal_unavailable"
              and headers.get("Content-Type", "").startswith("application/json"),
              f"{status} {headers.get('Content-Type')} {body[:200]!r}")
    finally:
        state = json.loads(statefile.read_text())
        for pid in state["running"].values():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        pidfile = sandbox / "run" / "nginx.pid"
        if pidfile.exists() and pidfile.read_text().strip().isdigit():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGQUIT)
            except (ProcessLookupError, ValueError):
                pass
        fake.terminate()
        time.sleep(0.3)
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(checklist.summary("follow walkthrough"))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--stand-in"]:
        sys.exit(STANDINS[sys.argv[2]](sys.argv[3:]))
    main()
