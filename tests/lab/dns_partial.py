#!/usr/bin/env python3
"""Lab DNS server and glibc client for replies nfqroute must learn although it cannot use
all of them (t38_dns_partial.sh, after a QA report).

  dns_partial.py serve ADDR   answers UDP queries on ADDR:53; prints "ready"
  dns_partial.py gai NAME     getaddrinfo(NAME, AF_INET) through the system resolver, then
                              one HTTP GET to every address it returned; prints
                              "ADDR SEEN n=COUNT" per address (SEEN: what the echo server
                              saw, or ERR:...), or "gaierror ..." when glibc refused

The scenario is the first label of the question (every name is below github.com):
  trailing<N>  A 203.0.113.N, then an A record with 5 bytes of data
  count<N>     A 203.0.113.N, ancount 2 but only one record
  many         100 A records, 203.0.113.100 to .199
  chain<L>x<N> a CNAME chain of L links through c0.chain.test ... (unrouted names) ending
               in end.github.com, A 203.0.113.N; names compressed as servers write them
Anything else: NXDOMAIN. AAAA queries get an empty answer.
"""
import socket
import struct
import sys
import urllib.request


def rr(owner, rtype, rdata, rdlen=None):
    n = len(rdata) if rdlen is None else rdlen
    return owner + struct.pack(">HHIH", rtype, 1, 300, n) + rdata


def a(n):
    return socket.inet_aton("203.0.113.%d" % n)


QPTR = b"\xc0\x0c"  # the question name


def answer(qid, qwire, qtype, scen):
    """The reply (ancount, answer bytes) for scenario scen, or None for NXDOMAIN."""
    base = 12 + len(qwire)
    if qtype != 1:
        return 0, b""
    if scen.startswith("trailing"):
        n = int(scen[8:])
        return 2, rr(QPTR, 1, a(n)) + rr(QPTR, 1, a(98) + b"\0")
    if scen.startswith("count"):
        return 2, rr(QPTR, 1, a(int(scen[5:])))
    if scen == "many":
        return 100, b"".join(rr(QPTR, 1, a(100 + i)) for i in range(100))
    if scen.startswith("chain"):
        links, n = (int(x) for x in scen[5:].split("x"))
        body = b""
        owner = QPTR
        suffix = None
        for i in range(links - 1):
            lab = ("c%d" % i).encode()
            start = base + len(body) + len(owner) + 10
            if suffix is None:
                target = bytes([len(lab)]) + lab + b"\x05chain\x04test\x00"
                suffix = start + 1 + len(lab)
            else:
                target = bytes([len(lab)]) + lab + struct.pack(">H", 0xC000 | suffix)
            body += rr(owner, 5, target)
            owner = struct.pack(">H", 0xC000 | start)
        start = base + len(body) + len(owner) + 10
        body += rr(owner, 5, b"\x03end" + struct.pack(">H", 0xC000 | (12 + 1 + len(scen))))
        body += rr(struct.pack(">H", 0xC000 | start), 1, a(n))
        return links + 1, body
    return answer_odd(base, scen)


def answer_odd(base, scen):
    """Replies a lenient resolver library uses but nfqroute cannot learn whole (a second
    QA report): nfqroute must drop them when the name is routed."""
    if scen.startswith("badfirst"):  # a malformed A first, then a good one
        return 2, rr(QPTR, 1, a(98) + b"\0") + rr(QPTR, 1, a(int(scen[8:])))
    if scen.startswith("owner"):  # x.other.test CNAME y.other.test, y A: no link to q
        own = b"\x01x\x05other\x04test\x00"
        body = rr(own, 5, b"\x01y" + struct.pack(">H", 0xC000 | (base + 2)))
        body += rr(struct.pack(">H", 0xC000 | (base + len(own) + 10)), 1, a(int(scen[5:])))
        return 2, body
    if scen.startswith("cnrd"):  # q CNAME cdn.other.test with a stray byte, then its A
        tgt = b"\x03cdn\x05other\x04test\x00"
        body = rr(QPTR, 5, tgt + b"\x00")
        body += rr(struct.pack(">H", 0xC000 | (base + 2 + 10)), 1, a(int(scen[4:])))
        return 2, body
    return None


def reply(msg):
    qid = struct.unpack(">H", msg[:2])[0]
    p = 12
    labels = []
    while msg[p]:
        labels.append(msg[p + 1:p + 1 + msg[p]].decode(errors="replace").lower())
        p += 1 + msg[p]
    qtype = struct.unpack(">H", msg[p + 1:p + 3])[0]
    qwire = msg[12:p + 5]
    got = answer(qid, qwire, qtype, labels[0] if labels else "")
    if got is None:
        return struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) + qwire
    an, body = got
    return struct.pack(">HHHHHH", qid, 0x8180, 1, an, 0, 0) + qwire + body


def serve(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    print("ready", flush=True)
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            s.sendto(reply(msg), peer)
        except (IndexError, struct.error, ValueError) as e:
            print("bad query from %s: %r" % (peer, e), flush=True)


def gai(name):
    try:
        infos = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as e:
        print("gaierror", e)
        return
    addrs = []
    for info in infos:
        if info[4][0] not in addrs:
            addrs.append(info[4][0])
    for ad in addrs:
        try:
            seen = urllib.request.urlopen("http://%s/" % ad, timeout=3).read().decode().strip()
        except OSError as e:
            seen = "ERR:" + type(e).__name__
        print(ad, seen, "n=%d" % len(addrs), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif sys.argv[1] == "gai":
        gai(sys.argv[2])
    else:
        sys.exit("usage: dns_partial.py serve ADDR | gai NAME")
