"""Three Docker containers on a cgroup v2 tree under ROOT, with their counters moving
as a kernel's would, for the browser's containers check (.ci/e2e-browser.sh).

- authentik-server: 40 % of one core, 950 MiB of its 1 GiB limit (near it);
- forgejo: 20 % of one core, 300 MiB, no limit, its health check failing;
- grafana: 5 % of one core, 200 MiB of 512 MiB, one OOM kill once ROOT/oom exists
  (created by the caller after the portal's first sample, so that the count rises);
- karakeep: 10 % of one core, 100 MiB of 2 GiB: nothing to remark.

The files are rewritten in place at a fixed width, as the reader keeps them open (a
rename would leave it reading the old file). ROOT/ready appears once every file is
written. Runs until killed.

usage: python3 cgroup_ticker.py ROOT
"""

import json
import os
import sys
import time

MIB = 1 << 20
TICK_S = 0.25

CONTAINERS = [
    # name, id digit, share of one core, working set, limit, health
    ("authentik-server", "a", 0.40, 950 * MIB, 1024 * MIB, "healthy"),
    ("forgejo", "b", 0.20, 300 * MIB, None, "unhealthy"),
    ("grafana", "c", 0.05, 200 * MIB, 512 * MIB, "healthy"),
    ("karakeep", "d", 0.10, 100 * MIB, 2048 * MIB, "healthy"),
]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # In place: same inode, same length (fixed-width numbers), one write.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, text.encode(), 0)
        os.ftruncate(fd, len(text.encode()))
    finally:
        os.close(fd)


def main():
    root = sys.argv[1]
    cgroup = os.path.join(root, "sys/fs/cgroup")
    write(os.path.join(cgroup, "cgroup.controllers"), "cpu io memory pids\n")
    dirs = {}
    for name, digit, _, memory, limit, health in CONTAINERS:
        cid = digit * 64
        d = os.path.join(cgroup, f"system.slice/docker-{cid}.scope")
        dirs[name] = d
        config = {
            "ID": cid,
            "Name": f"/{name}",
            "RestartCount": 0,
            "Config": {"Image": f"example/{name}:1"},
            "State": {"Running": True, "Health": {"Status": health}},
        }
        write(os.path.join(root, f"var/lib/docker/containers/{cid}/config.v2.json"), json.dumps(config))
        write(os.path.join(d, "memory.current"), f"{memory + 10 * MIB}\n")
        write(os.path.join(d, "memory.stat"), f"anon {memory}\nfile {10 * MIB}\ninactive_file {10 * MIB}\n")
        write(os.path.join(d, "memory.max"), f"{limit}\n" if limit else "max\n")
        write(os.path.join(d, "pids.current"), "3\n")
        write(os.path.join(d, "cgroup.procs"), "")
    start = time.monotonic()
    trigger = os.path.join(root, "oom")
    while True:
        elapsed = time.monotonic() - start
        for name, _, share, _, _, _ in CONTAINERS:
            usage = int(elapsed * share * 1e6)
            write(os.path.join(dirs[name], "cpu.stat"),
                  f"usage_usec {usage:015d}\nuser_usec {usage:015d}\nsystem_usec {0:015d}\n")
            oom = 1 if name == "grafana" and os.path.exists(trigger) else 0
            write(os.path.join(dirs[name], "memory.events"), f"oom {oom}\noom_kill {oom}\n")
        write(os.path.join(root, "ready"), "")
        time.sleep(TICK_S)


if __name__ == "__main__":
    main()
