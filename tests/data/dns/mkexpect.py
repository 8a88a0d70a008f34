#!/usr/bin/env python3
"""Derives expect.tsv from dnspython's view of the benchmark messages (run once, by hand).

Input: the shared data set (INDEX.dnspython.jsonl, made with dnspython 2.3.0, and
bench/responses.list, which names the source of each message in
responses.u16be-len-prefixed.bin). dnspython is an independent parser; this script only
re-applies nfqroute's *policy* (CNAME chain from the question name, addresses owned by
the chain, name presentation rules) to dnspython's decoding of each message.

One row per benchmark message, in file order:
  index  source  status  qtype  names  addrs
status is the expected dns_parse_reply() value, or "skip" when the answer holds more
A/AAAA records and SVCB/HTTPS hints than DNS_ADDRS_MAX (status 0 and the chain are still
checked, the addresses are not). qtype is "-" when the mnemonic is not in the table
below. names is the CNAME/DNAME chain followed by the SVCB/HTTPS targets, space
separated. addrs is the sorted set of "owner:hex" for A/AAAA and "owner/target:hex" for
ipv4hint/ipv6hint (dnspython merges RRsets and drops duplicates, so only the set is
compared, and TTLs are not: dnspython lowers all TTLs of an RRset to its minimum).

usage: mkexpect.py /work/shared/data/dns > expect.tsv
"""
import ipaddress
import json
import sys

TYPES = {
    'A': 1, 'NS': 2, 'MD': 3, 'MF': 4, 'CNAME': 5, 'SOA': 6, 'MB': 7, 'MG': 8, 'MR': 9,
    'NULL': 10, 'WKS': 11, 'PTR': 12, 'HINFO': 13, 'MINFO': 14, 'MX': 15, 'TXT': 16,
    'RP': 17, 'AFSDB': 18, 'X25': 19, 'ISDN': 20, 'RT': 21, 'NSAP': 22, 'NSAP-PTR': 23,
    'SIG': 24, 'KEY': 25, 'PX': 26, 'AAAA': 28, 'LOC': 29, 'SRV': 33, 'NAPTR': 35,
    'KX': 36, 'CERT': 37, 'A6': 38, 'DNAME': 39, 'DS': 43, 'SSHFP': 44, 'RRSIG': 46,
    'NSEC': 47, 'DNSKEY': 48, 'NSEC3PARAM': 51, 'TLSA': 52, 'HIP': 55, 'CDS': 59,
    'OPENPGPKEY': 61, 'SVCB': 64, 'HTTPS': 65, 'SPF': 99, 'NID': 104, 'L32': 105,
    'L64': 106, 'LP': 107, 'EUI48': 108, 'EUI64': 109, 'TKEY': 249, 'IXFR': 251,
    'AXFR': 252, 'ANY': 255, 'URI': 256, 'CAA': 257, 'DLV': 32769,
}
NAMES_MAX = 16
ADDRS_MAX = 64
PLAIN = set(b'abcdefghijklmnopqrstuvwxyz0123456789-_')


def wire_labels(text):
    """dnspython presentation (\\DDD and \\X escapes, trailing dot) -> list of bytes."""
    if text == '.':
        return []
    labels, cur, i = [], bytearray(), 0
    while i < len(text):
        ch = text[i]
        if ch == '\\':
            if text[i + 1:i + 4].isdigit() and len(text[i + 1:i + 4]) == 3:
                cur.append(int(text[i + 1:i + 4]))
                i += 4
                continue
            cur += text[i + 1].encode('latin-1')
            i += 2
            continue
        if ch == '.':
            labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur += ch.encode('latin-1')
        i += 1
    if cur:
        labels.append(bytes(cur))
    return labels


def ours(text):
    """nfqroute presentation: lowercase, [a-z0-9-_] plain, every other byte \\DDD."""
    out = []
    for label in wire_labels(text):
        s = ''
        for b in label.lower():
            s += chr(b) if b in PLAIN else '\\%03d' % b
        out.append(s)
    return '.'.join(out) if out else '.'


def pres_len(labels):
    """Length of nfqroute's presentation of a label list (escapes take four characters)."""
    if not labels:
        return 1
    return sum(sum(1 if b in PLAIN else 4 for b in l.lower()) for l in labels) + len(labels) - 1


def dname_rewrite(name, dnames):
    """RFC 6672: the closest DNAME owner strictly above name replaces that suffix."""
    lab = [l.lower() for l in wire_labels(name)]
    best = None
    for owner, target in dnames:
        o = [l.lower() for l in wire_labels(owner)]
        if len(lab) > len(o) and lab[len(lab) - len(o):] == o:
            if best is None or len(o) > len(best[0]):
                best = (o, target)
    if best is None:
        return None
    new = lab[:len(lab) - len(best[0])] + wire_labels(best[1])
    if pres_len(new) > 253:
        return None
    return ours('.'.join(''.join('\\%03d' % b for b in l) for l in new) + '.')


def expect(d):
    rcode = d['rcode'] & 0xf
    if not d['qr']:
        return '-2', '-', '', ''
    if d['qdcount'] != 1:
        return ('-5' if rcode else '-3'), '-', '', ''
    qname, qclass, qtype = d['question'][0].rsplit(' ', 2)
    qt = str(TYPES[qtype]) if qtype in TYPES else (qtype[4:] if qtype.startswith('TYPE') else '-')
    if rcode:
        return '-5', qt, ours(qname), ''
    edges, dnames, addrs, svcbs = [], [], [], []
    svcb_views = iter(d.get('answer_svcb_https', []))
    for line in d['answer']:
        owner, _ttl, cls, typ, rdata = line.split(' ', 4)
        view = next(svcb_views) if typ in ('SVCB', 'HTTPS') else None
        if cls != 'IN':
            continue
        if typ == 'CNAME':
            edges.append((ours(owner), ours(rdata)))
        elif typ == 'DNAME':
            dnames.append((owner, rdata))
        elif typ == 'A':
            addrs.append((ours(owner), None, ipaddress.IPv4Address(rdata).packed.hex()))
        elif typ == 'AAAA':
            addrs.append((ours(owner), None, ipaddress.IPv6Address(rdata).packed.hex()))
        elif view is not None:
            svcbs.append(view)
    chain = [ours(qname)]
    while len(chain) < NAMES_MAX:
        nxt = next((t for f, t in edges if f == chain[-1]), None)
        if nxt is None and dnames:
            nxt = dname_rewrite(chain[-1], dnames)
        if nxt is None or nxt in chain:
            break
        chain.append(nxt)
    names = list(chain)
    n_hints = 0
    for v in svcbs:
        owner = ours(v['owner'])
        alias = v['priority'] == 0
        if v['target'] == '.':
            if alias:
                continue
            target = owner
        else:
            target = ours(v['target'])
        if not alias:
            hints = [ipaddress.IPv4Address(a).packed.hex() for a in v.get('ipv4hint', [])]
            hints += [ipaddress.IPv6Address(a).packed.hex() for a in v.get('ipv6hint', [])]
            n_hints += len(hints)
        if owner not in chain:
            continue
        if target not in names and len(names) < NAMES_MAX:
            names.append(target)
        if not alias and target in names:
            addrs += [(owner, target, h) for h in hints]
    if len(addrs) - sum(1 for a in addrs if a[1]) + n_hints > ADDRS_MAX:
        return 'skip', qt, ' '.join(names), ''
    got = set()
    for o, t, h in addrs:
        if o not in names:
            continue
        if t is None:
            got.add('%d:%s' % (names.index(o), h))
        else:
            got.add('%d/%d:%s' % (names.index(o), names.index(t), h))
    return '0', qt, ' '.join(names), ' '.join(sorted(got))


def main():
    base = sys.argv[1]
    index = {}
    with open(base + '/INDEX.dnspython.jsonl') as f:
        for line in f:
            d = json.loads(line)
            index[d['file']] = d
    with open(base + '/bench/responses.list') as f:
        files = [line.strip() for line in f if line.strip()]
    print('# derived by mkexpect.py from INDEX.dnspython.jsonl (dnspython 2.3.0); see SOURCES.md')
    for i, name in enumerate(files):
        status, qt, names, addrs = expect(index[name])
        print('\t'.join([str(i), name, status, qt, names, addrs]))


if __name__ == '__main__':
    main()
