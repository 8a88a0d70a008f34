#!/usr/bin/env python3
"""Derives the small list samples in this directory from the shared data set.

Written for nfqroute and run once:  python3 mksamples.py /work/shared/data/domainlists
Prints the composition of every sample; tests/data/SOURCES.md and tests/unit/test_dlist.c
cite those numbers.
"""
import base64
import os
import re
import shutil
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/domainlists"
HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, text):
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def gfwlist():
    raw = open(os.path.join(SRC, "gfwlist/gfwlist.txt"), "rb").read()
    lines = base64.b64decode(b"".join(raw.split())).decode("utf-8").split("\n")
    keep, n_dd, n_url = [], 0, 0
    for i, l in enumerate(lines):
        special = (l.startswith("@@") or l.startswith("/") or "*" in l or
                   re.match(r"^\|https?://[0-9.]+[/:]", l) or
                   (l and l[0] not in "|!@["))
        if i < 16 or special:
            keep.append(l)
        elif l.startswith("||"):
            n_dd += 1
            if n_dd % 25 == 0:
                keep.append(l)
        elif l.startswith("|"):
            n_url += 1
            if n_url % 10 == 0:
                keep.append(l)
        elif l.startswith("!") and i % 10 == 0:
            keep.append(l)
    text = "\n".join(keep) + "\n"
    b = base64.b64encode(text.encode("utf-8")).decode("ascii")
    write("gfwlist-sample.txt", "\n".join(b[i:i + 64] for i in range(0, len(b), 64)) + "\n")
    comp = {
        "lines": len(keep),
        "||": sum(1 for l in keep if l.startswith("||")),
        "||*": sum(1 for l in keep if l.startswith("||") and "*" in l),
        "|url": sum(1 for l in keep if l.startswith("|") and not l.startswith("||")),
        "@@": sum(1 for l in keep if l.startswith("@@")),
        "/re/": sum(1 for l in keep if l.startswith("/")),
        "!": sum(1 for l in keep if l.startswith("!")),
        "bare": sum(1 for l in keep if l and l[0] not in "|!@[/"),
        "blank": sum(1 for l in keep if not l),
    }
    print("gfwlist-sample.txt", comp)


def dnsmasq():
    src = open(os.path.join(SRC, "dnsmasq-china-list/accelerated-domains.china.conf"),
               encoding="utf-8").read().split("\n")
    keep, n = [], 0
    for l in src:
        if not l.startswith("server="):
            if l:
                keep.append(l)
            continue
        n += 1
        if n % 500 == 1:
            keep.append(l)
    write("dnsmasq-china-sample.conf", "\n".join(keep) + "\n")
    print("dnsmasq-china-sample.conf", len(keep), "lines,",
          sum(1 for l in keep if l.startswith("server=")), "server=")
    bog = open(os.path.join(SRC, "dnsmasq-china-list/bogus-nxdomain.china.conf"),
               encoding="utf-8").read().split("\n")[:12]
    write("dnsmasq-bogus-sample.conf", "\n".join(bog) + "\n")
    print("dnsmasq-bogus-sample.conf", sum(1 for l in bog if l.startswith("bogus")), "bogus")


def hosts():
    for name, out in (("adaway-hosts.txt", "hosts-adaway-sample.txt"),
                      ("anudeepND-adservers.txt", "hosts-anudeep-sample.txt")):
        lines = open(os.path.join(SRC, "hosts", name), encoding="utf-8").read().split("\n")
        keep = lines[:80]
        write(out, "\n".join(keep) + "\n")
        entries = [l for l in keep if l.strip() and not l.lstrip().startswith("#")]
        print(out, len(keep), "lines,", len(entries), "entries:",
              sum(1 for l in entries if "localhost" in l.split()[1:]), "localhost")


def loyalsoldier():
    lines = open(os.path.join(SRC, "loyalsoldier-v2ray-rules-dat/proxy-list.txt"),
                 encoding="utf-8").read().split("\n")
    keep, counts = [], {"plain": 0, "full": 0, "regexp": 0}
    seen = {"plain": 0, "full": 0, "regexp": 0}
    for l in lines:
        if not l:
            continue
        k = "full" if l.startswith("full:") else "regexp" if l.startswith("regexp:") else "plain"
        seen[k] += 1
        if seen[k] % (200 if k == "plain" else 10) == 1:
            keep.append(l)
            counts[k] += 1
    write("loyalsoldier-proxy-sample.txt", "\n".join(keep) + "\n")
    print("loyalsoldier-proxy-sample.txt", counts)


def v2fly():
    data = os.path.join(SRC, "v2fly-domain-list-community/data")
    out = os.path.join(HERE, "v2fly")
    os.makedirs(out, exist_ok=True)
    todo, done = ["category-games-cn"], set()
    while todo:
        f = todo.pop()
        if f in done:
            continue
        done.add(f)
        shutil.copyfile(os.path.join(data, f), os.path.join(out, f))
        for l in open(os.path.join(data, f), encoding="utf-8"):
            l = l.split("#")[0].strip()
            if l.startswith("include:"):
                todo.append(l[8:].split()[0])
    print("v2fly/", len(done), "files:", " ".join(sorted(done)))


gfwlist()
dnsmasq()
hosts()
loyalsoldier()
v2fly()
