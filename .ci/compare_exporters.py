#!/usr/bin/env python3
"""Side-by-side check of kitestacks-exporter against Debian's node_exporter on the
same host, both scraped once on loopback.

usage: compare_exporters.py OURS_URL THEIRS_URL
- Every metric family node_exporter emits (except go_*, which only a Go program has)
  must be emitted by kitestacks-exporter too; the missing ones are printed.
- Gauges that do not move between two scrapes a moment apart must agree: memory and
  swap totals, filesystem sizes and inode counts, boot time, os/uname info, interface
  facts. Labels node_exporter added after Debian's 1.5.0 (device_error, adminstate),
  which kitestacks has as 1.12 does, are allowed on our side.
Exit status 0 when both hold.
"""
import re
import sys
import urllib.request

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(url):
    assert url.startswith("http://127.0.0.1:"), "loopback only"
    with urllib.request.urlopen(url, timeout=30) as r:
        text = r.read().decode()
    families, series = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
        elif line and not line.startswith("#"):
            m = LINE.match(line)
            if m:
                labels = tuple(sorted(LABEL.findall(m.group(3) or "")))
                series[(m.group(1), labels)] = float(m.group(4))
    return families, series


ours_url, theirs_url = sys.argv[1], sys.argv[2]
ours_f, ours = scrape(ours_url)
theirs_f, theirs = scrape(theirs_url)

missing = sorted(f for f in theirs_f - ours_f if not f.startswith("go_"))
print(f"node_exporter families: {len(theirs_f)}, kitestacks-exporter families: {len(ours_f)}")
ok = True
if missing:
    ok = False
    print(f"MISSING in kitestacks-exporter ({len(missing)}):")
    for f in missing:
        print("   ", f)
else:
    print("every node_exporter family (go_* aside) is emitted by kitestacks-exporter")

STABLE = re.compile(
    r"^node_(memory_(MemTotal|SwapTotal|HugePages_Total|Hugepagesize)_bytes|boot_time_seconds|"
    r"filesystem_(size_bytes|files|readonly)|uname_info|os_info|os_version|"
    r"network_(mtu_bytes|info|iface_id|address_assign_type|device_id|protocol_type|transmit_queue_length)|"
    r"time_clocksource_(available|current)_info|entropy_pool_size_bits|filefd_maximum)$"
)
# Labels node_exporter added after Debian's 1.5.0, which kitestacks (following 1.12) has.
NEWER_LABELS = {"device_error", "adminstate"}


def find(name, labels):
    """Our series with the same name and labels, allowing the newer labels on ours."""
    if (name, labels) in ours:
        return ours[(name, labels)]
    want = set(labels)
    for (n, l), v in ours.items():
        if n == name and want <= set(l) and {k for k, _ in set(l) - want} <= NEWER_LABELS:
            return v
    return None


checked, differ = 0, []
for key, value in theirs.items():
    name, labels = key
    if not STABLE.match(name):
        continue
    checked += 1
    got = find(name, labels)
    if got is None:
        differ.append(f"{name}{dict(labels)}: node_exporter {value}, kitestacks: missing")
    elif got != value:
        differ.append(f"{name}{dict(labels)}: node_exporter {value}, kitestacks {got}")
print(f"stable gauges compared: {checked}")
if differ:
    ok = False
    print(f"DIFFER ({len(differ)}):")
    for d in differ:
        print("   ", d)
if checked == 0:
    ok = False
    print("no stable gauge was compared")
sys.exit(0 if ok else 1)
