#!/usr/bin/env python3
"""Writes the hand-made captures that tests/replay/run.sh replays.

    python3 tests/replay/mkpcap.py [OUTDIR]      (default: tests/data/pcap/handmade)

Standard library only, fully deterministic: running it again must reproduce the committed
files byte for byte (run.sh checks that when python3 is there). Every checksum is
correct, so tcpdump and tshark decode the files without complaint.

handmade.pcap (Ethernet) is the decision scenario, in capture-time order (2024-01-01
12:00:00 UTC + seconds):
  1.000045  client asks for github.com; the reply says 140.82.121.4 ttl 60     -> learned (vpn)
  2.000123  TCP SYN to 140.82.121.4:443                    -> routed vpn, mark 0x100
  2.0, 3.0  SYN-ACK, ACK, a retransmitted SYN               -> not new flows
  3.5       SYN to 198.51.100.7 (never resolved)           -> unrouted
  4.0       www.x.com CNAME edge.y.net, A + AAAA ttl 30    -> learned under www.x.com (vpn)
  4.5/4.6   UDP (QUIC) to 203.0.113.5 and its answer       -> one routed UDP flow
  5.0       IPv6 SYN to 2001:db8::5                        -> routed
  6.0/6.5   direct.github.com (route "direct", table main) and a SYN -> route direct, mark 0
  7.0/7.5   vpn-gw.github.com = 10.8.0.1, the vpn gateway, and a SYN -> excluded
  8.0       NXDOMAIN; 8.5 a reply with a forward compression pointer -> malformed
  9.0       DNS over TCP: one segment with two whole messages, then one with a partial one
  10.0      a DNS reply in two IPv4 fragments              -> not reassembled
  11.0      an ARP frame                                   -> not IP
  12.0      a QinQ (802.1ad + 802.1Q) frame: SYN to 140.82.121.4:8443 -> routed
  200.0     SYN to 140.82.121.4:80: the ttl-60 answer has expired -> unrouted
  200.5     UDP to 203.0.113.5 again after 196 s idle: a new flow, address expired

links-*.pcap repeat "reply for github.com, SYN to the answer, one non-IP frame" in the
link types the real captures lack: Linux cooked SLL and SLL2, DLT_LOOP (network-order
family) and DLT_NULL written little-endian with macOS's AF_INET6 (30).
"""
import os
import struct
import sys

T0 = 1704110400  # 2024-01-01 12:00:00 UTC

MAC_C = bytes.fromhex("020000000002")
MAC_R = bytes.fromhex("020000000001")
C4, R4 = "192.0.2.2", "192.0.2.1"
C6 = "2001:db8::2"

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_LOOP = 0, 1, 108
LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 113, 276


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    head, _, tail = s.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    return struct.pack("!8H", *(h + [0] * (8 - len(h) - len(t)) + t))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def l4_checksum(src, dst, proto, seg):
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), proto)
    return csum(pseudo + seg)


def udp(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = l4_checksum(src, dst, 17, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def tcp(src, dst, sport, dport, flags, seq=1000, ack=0, payload=b""):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload
    c = l4_checksum(src, dst, 6, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ipv4(src, dst, proto, l4, ident=1, frag=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, frag, 64, proto, 0,
                      ip4(src), ip4(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + l4


def ipv6(src, dst, proto, l4):
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, ip6(src), ip6(dst)) + l4


def udp4(src, dst, sport, dport, payload):
    return ipv4(src, dst, 17, udp(ip4(src), ip4(dst), sport, dport, payload))


def tcp4(src, dst, sport, dport, flags, **kw):
    return ipv4(src, dst, 6, tcp(ip4(src), ip4(dst), sport, dport, flags, **kw))


def tcp6(src, dst, sport, dport, flags, **kw):
    return ipv6(src, dst, 6, tcp(ip6(src), ip6(dst), sport, dport, flags, **kw))


SYN, ACK, SYNACK = 0x02, 0x10, 0x12
QTYPE = {"A": 1, "CNAME": 5, "AAAA": 28}


def dname(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_reply(ident, qname, qtype, answers=(), rcode=0):
    """answers: (owner, type, ttl, value); the question's own name is compressed."""
    msg = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(answers), 0, 0)
    msg += dname(qname) + struct.pack("!HH", QTYPE[qtype], 1)
    for owner, rtype, ttl, value in answers:
        msg += b"\xc0\x0c" if owner == qname else dname(owner)
        if rtype == "A":
            rdata = ip4(value)
        elif rtype == "AAAA":
            rdata = ip6(value)
        else:
            rdata = dname(value)
        msg += struct.pack("!HHIH", QTYPE[rtype], 1, ttl, len(rdata)) + rdata
    return msg


def dns_query(ident, qname, qtype):
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + dname(qname) + \
        struct.pack("!HH", QTYPE[qtype], 1)


def eth(payload, src=MAC_C, dst=MAC_R, vlans=()):
    hdr = dst + src
    for tpid, vid in vlans:
        hdr += struct.pack("!HH", tpid, vid)
    v6 = payload[0] >> 4 == 6
    return hdr + struct.pack("!H", 0x86DD if v6 else 0x0800) + payload


def write_pcap(path, linktype, records):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for t, frame in records:
            sec = T0 + int(t)
            usec = int(round((t - int(t)) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


def scenario():
    rec = []

    def add(t, pkt, **kw):
        rec.append((t, eth(pkt, **kw)))

    gh = dns_reply(0x1001, "github.com", "A", [("github.com", "A", 60, "140.82.121.4")])
    add(1.000045, udp4(C4, R4, 40001, 53, dns_query(0x1001, "github.com", "A")))
    add(1.000900, udp4(R4, C4, 53, 40001, gh), src=MAC_R, dst=MAC_C)
    add(2.000123, tcp4(C4, "140.82.121.4", 51514, 443, SYN))
    add(2.010000, tcp4("140.82.121.4", C4, 443, 51514, SYNACK, seq=5000, ack=1001),
        src=MAC_R, dst=MAC_C)
    add(2.010100, tcp4(C4, "140.82.121.4", 51514, 443, ACK, seq=1001, ack=5001))
    add(3.000000, tcp4(C4, "140.82.121.4", 51514, 443, SYN))
    add(3.500000, tcp4(C4, "198.51.100.7", 51600, 443, SYN))
    www = dns_reply(0x1002, "www.x.com", "A", [
        ("www.x.com", "CNAME", 300, "edge.y.net"),
        ("edge.y.net", "A", 30, "203.0.113.5"),
        ("edge.y.net", "AAAA", 30, "2001:db8::5"),
    ])
    add(4.000000, udp4(R4, C4, 53, 40002, www), src=MAC_R, dst=MAC_C)
    add(4.500000, udp4(C4, "203.0.113.5", 50000, 443, b"\xc0quic-initial"))
    add(4.600000, udp4("203.0.113.5", C4, 443, 50000, b"\xc0quic-handshake"),
        src=MAC_R, dst=MAC_C)
    add(5.000000, tcp6(C6, "2001:db8::5", 50001, 443, SYN))
    direct = dns_reply(0x1003, "direct.github.com", "A",
                       [("direct.github.com", "A", 300, "140.82.112.9")])
    add(6.000000, udp4(R4, C4, 53, 40003, direct), src=MAC_R, dst=MAC_C)
    add(6.500000, tcp4(C4, "140.82.112.9", 51700, 443, SYN))
    gw = dns_reply(0x1004, "vpn-gw.github.com", "A",
                   [("vpn-gw.github.com", "A", 300, "10.8.0.1")])
    add(7.000000, udp4(R4, C4, 53, 40004, gw), src=MAC_R, dst=MAC_C)
    add(7.500000, tcp4(C4, "10.8.0.1", 51800, 22, SYN))
    add(8.000000, udp4(R4, C4, 53, 40005, dns_reply(0x1005, "nosuch.github.com", "A", rcode=3)),
        src=MAC_R, dst=MAC_C)
    bad = bytearray(gh)
    bad[28:30] = b"\xc0\x40"  # the answer's owner points forward, past itself
    add(8.500000, udp4(R4, C4, 53, 40006, bytes(bad)), src=MAC_R, dst=MAC_C)
    m1 = dns_reply(0x1007, "api.github.com", "A", [("api.github.com", "A", 60, "140.82.121.6")])
    m2 = dns_reply(0x1008, "api.github.com", "AAAA",
                   [("api.github.com", "AAAA", 60, "2606:50c0:8000::64")])
    two = struct.pack("!H", len(m1)) + m1 + struct.pack("!H", len(m2)) + m2
    add(9.000000, tcp4(R4, C4, 53, 40100, ACK | 0x08, seq=7000, ack=1001, payload=two),
        src=MAC_R, dst=MAC_C)
    part = (struct.pack("!H", len(m1)) + m1)[:20]
    add(9.100000, tcp4(R4, C4, 53, 40100, ACK | 0x08, seq=7000 + len(two), ack=1001,
                       payload=part), src=MAC_R, dst=MAC_C)
    big = dns_reply(0x1009, "frag.github.com", "A",
                    [("frag.github.com", "A", 60, "140.82.121.%d" % i) for i in range(10, 60)])
    seg = udp(ip4(R4), ip4(C4), 53, 40007, big)
    add(10.000000, ipv4(R4, C4, 17, seg[:504], ident=77, frag=0x2000), src=MAC_R, dst=MAC_C)
    add(10.000100, ipv4(R4, C4, 17, seg[504:], ident=77, frag=504 // 8), src=MAC_R, dst=MAC_C)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + MAC_C + ip4(C4) + bytes(6) + ip4(R4)
    rec.append((11.000000, b"\xff" * 6 + MAC_C + b"\x08\x06" + arp))
    add(12.000000, tcp4(C4, "140.82.121.4", 51900, 8443, SYN),
        vlans=((0x88A8, 100), (0x8100, 11)))
    add(200.000000, tcp4(C4, "140.82.121.4", 52000, 80, SYN))
    add(200.500000, udp4(C4, "203.0.113.5", 50000, 443, b"\xc0quic-again"))
    return rec


def link_records(wrap, v6=False):
    if v6:
        reply = dns_reply(0x2001, "github.com", "AAAA",
                          [("github.com", "AAAA", 60, "2606:50c0:8000::154")])
        pkts = [ipv6("2001:db8::1", C6, 17, udp(ip6("2001:db8::1"), ip6(C6), 53, 40001, reply)),
                tcp6(C6, "2606:50c0:8000::154", 51514, 443, SYN)]
    else:
        reply = dns_reply(0x2001, "github.com", "A", [("github.com", "A", 60, "140.82.121.4")])
        pkts = [udp4(R4, C4, 53, 40001, reply), tcp4(C4, "140.82.121.4", 51514, 443, SYN)]
    return [(1.0, wrap(pkts[0], True)), (2.0, wrap(pkts[1], False)), (3.0, wrap(None, False))]


def sll(pkt, inbound):
    proto = 0x0806 if pkt is None else (0x86DD if pkt[0] >> 4 == 6 else 0x0800)
    hdr = struct.pack("!HHH8sH", 0 if inbound else 4, 1, 6, MAC_C + b"\0\0", proto)
    return hdr + (pkt if pkt is not None else bytes(28))


def sll2(pkt, inbound):
    proto = 0x0806 if pkt is None else (0x86DD if pkt[0] >> 4 == 6 else 0x0800)
    hdr = struct.pack("!HHIHBB8s", proto, 0, 2, 1, 0 if inbound else 4, 6, MAC_C + b"\0\0")
    return hdr + (pkt if pkt is not None else bytes(28))


def loop_be(pkt, inbound):
    return struct.pack("!I", 7 if pkt is None else 2) + (pkt if pkt is not None else bytes(20))


def null_le_v6(pkt, inbound):
    return struct.pack("<I", 7 if pkt is None else 30) + (pkt if pkt is not None else bytes(20))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/pcap/handmade"
    os.makedirs(out, exist_ok=True)
    write_pcap(os.path.join(out, "handmade.pcap"), LINKTYPE_ETHERNET, scenario())
    write_pcap(os.path.join(out, "links-sll.pcap"), LINKTYPE_LINUX_SLL, link_records(sll))
    write_pcap(os.path.join(out, "links-sll2.pcap"), LINKTYPE_LINUX_SLL2, link_records(sll2))
    write_pcap(os.path.join(out, "links-loop.pcap"), LINKTYPE_LOOP, link_records(loop_be))
    write_pcap(os.path.join(out, "links-null.pcap"), LINKTYPE_NULL,
               link_records(null_le_v6, v6=True))


if __name__ == "__main__":
    main()
