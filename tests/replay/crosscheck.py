#!/usr/bin/env python3
"""Puts tests/replay/*.out next to tshark's decoding of the same captures.

    python3 tests/replay/crosscheck.py [CASE...]      (needs tshark; not run by make check)

For every case of run.sh it compares, per packet timestamp:
  - DNS answers: (A|AAAA|ipv4hint|ipv6hint, owner, address, ttl) and (CNAME, owner, target) from tshark's
    JSON for frames from port 53, against the `dns ...` lines of NAME.out;
  - new flows: TCP SYN without ACK and the first UDP packet of each tuple (other than from
    port 53), against the `tcp/udp ... ->` lines.
It prints what only one side has, for a human to judge; the differences expected for the
committed captures are explained in run.sh. Exit status 0 when nothing differs.
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PCAPS = os.path.join(HERE, "..", "data", "pcap")
RUN_SH = os.path.join(HERE, "run.sh")

ANSWER = re.compile(r"^(\S+) IP6? \S+ > \S+: dns (A|AAAA|ipv4hint|ipv6hint) (\S+) = (\S+) ttl (\d+)")
CNAME = re.compile(r"^(\S+) IP6? \S+ > \S+: dns (\S+) CNAME (\S+)$")
FLOW = re.compile(r"^(\S+) IP6? (\S+) > (\S+): (tcp|udp) ")


def cases():
    for line in open(RUN_SH):
        m = re.match(r"^case_out (\S+) (\S+) (\S+)$", line.strip())
        if m:
            yield m.group(1), m.group(2)


def stamp(epoch):
    sec, frac = epoch.split(".")
    return time.strftime("%H:%M:%S", time.gmtime(int(sec))) + "." + frac[:6].ljust(6, "0")


class Multi(list):
    """The values of a key that tshark's JSON repeats (two DNS layers, several hints)."""


def pairs_hook(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            if not isinstance(d[k], Multi):
                d[k] = Multi([d[k]])
            d[k].append(v)
        else:
            d[k] = v
    return d


def as_list(x):
    return list(x) if isinstance(x, Multi) else [x]


def find_values(tree, suffix):
    """Every value under tree whose key ends with suffix."""
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            if k.endswith(suffix):
                out += as_list(v)
            else:
                out += find_values(v, suffix)
    elif isinstance(tree, list):
        for v in tree:
            out += find_values(v, suffix)
    return out


def tshark_view(pcap):
    out = subprocess.run(["tshark", "-r", pcap, "-T", "json", "-o", "tcp.desegment_tcp_streams:FALSE"],
                         capture_output=True, text=True, check=True).stdout
    answers, flows, seen = set(), set(), set()
    for frame in json.loads(out, object_pairs_hook=pairs_hook):
        layers = frame["_source"]["layers"]
        t = stamp(layers["frame"]["frame.time_epoch"])
        for proto in ("tcp", "udp"):
            if proto not in layers:
                continue
            l4 = as_list(layers[proto])[0]
            sport, dport = l4[proto + ".srcport"], l4[proto + ".dstport"]
            ip = layers.get("ip") or layers.get("ipv6")
            ip = as_list(ip)[0]
            src = ip.get("ip.src") or ip.get("ipv6.src")
            dst = ip.get("ip.dst") or ip.get("ipv6.dst")
            key = tuple(sorted([(src, sport), (dst, dport)])) + (proto,)
            if sport == "53":
                seen.add(key)
                for dns in (as_list(layers["dns"]) if "dns" in layers else []):
                    for ans in (dns.get("Answers") or {}).values():
                        typ = ans.get("dns.resp.type")
                        name = ans.get("dns.resp.name", "").lower()
                        if typ == "1":
                            answers.add((t, "A", name, ans["dns.a"], ans["dns.resp.ttl"]))
                        elif typ == "28":
                            answers.add((t, "AAAA", name, ans["dns.aaaa"], ans["dns.resp.ttl"]))
                        elif typ == "5":
                            answers.add((t, "CNAME", name, ans["dns.cname"].lower(), ""))
                        elif typ in ("64", "65"):
                            for fam in ("ipv4hint", "ipv6hint"):
                                for ip in find_values(ans, fam + ".ip"):
                                    answers.add((t, fam, name, ip, ans["dns.resp.ttl"]))
            elif proto == "tcp":
                flags = int(l4["tcp.flags"], 16)
                if flags & 0x12 == 0x02 and key not in seen:
                    flows.add((t, src, dst, "tcp"))
                seen.add(key)
            elif key not in seen:
                seen.add(key)
                flows.add((t, src, dst, "udp"))
    return answers, flows


def replay_view(outfile):
    answers, flows = set(), set()
    for line in open(outfile):
        m = ANSWER.match(line)
        if m:
            answers.add(m.groups())
            continue
        m = CNAME.match(line)
        if m:
            answers.add((m.group(1), "CNAME", m.group(2), m.group(3), ""))
            continue
        m = FLOW.match(line)
        if m:
            t, src, dst, proto = m.groups()
            flows.add((t, src.rsplit(".", 1)[0], dst.rsplit(".", 1)[0], proto))
    return answers, flows


def main():
    want = set(sys.argv[1:])
    status = 0
    for name, pcap in cases():
        if want and name not in want:
            continue
        ta, tf = tshark_view(os.path.join(PCAPS, pcap))
        ra, rf = replay_view(os.path.join(HERE, name + ".out"))
        diffs = [("answer only in tshark", x) for x in sorted(ta - ra)] + \
                [("answer only in replay", x) for x in sorted(ra - ta)] + \
                [("flow only in tshark", x) for x in sorted(tf - rf)] + \
                [("flow only in replay", x) for x in sorted(rf - tf)]
        print("%-16s %3d answers, %3d new flows: %s" % (name, len(ra), len(rf),
                                                        "same" if not diffs else "DIFFERENT"))
        shown = {}
        for what, x in diffs:
            shown[what] = shown.get(what, 0) + 1
            if shown[what] <= 3:
                print("    %s: %s" % (what, " ".join(x)))
        for what, n in shown.items():
            if n > 3:
                print("    ... %d more %s" % (n - 3, what))
        status |= bool(diffs)
    return status


if __name__ == "__main__":
    sys.exit(main())
