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
A/AAAA records than DNS_ADDRS_MAX (status 0 and the chain are still checked, the
addresses are not). qtype is "-" when the
mnemonic is not in the table below. names is the chain, space separated. addrs is the
sorted set of "owner:hex" (dnspython merges RRsets and drops duplicates, so only the set
is compared, and TTLs are not: dnspython lowers all TTLs of an RRset to its minimum).

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
    edges, addrs = [], []
    for line in d['answer']:
        owner, _ttl, cls, typ, rdata = line.split(' ', 4)
        if cls != 'IN':
            continue
        if typ == 'CNAME':
            edges.append((ours(owner), ours(rdata)))
        elif typ == 'A':
            addrs.append((ours(owner), '4', ipaddress.IPv4Address(rdata).packed.hex()))
        elif typ == 'AAAA':
            addrs.append((ours(owner), '6', ipaddress.IPv6Address(rdata).packed.hex()))
    chain = [ours(qname)]
    while len(chain) < NAMES_MAX:
        nxt = next((t for f, t in edges if f == chain[-1]), None)
        if nxt is None or nxt in chain:
            break
        chain.append(nxt)
    if len(addrs) > ADDRS_MAX:
        return 'skip', qt, ' '.join(chain), ''
    got = sorted({'%d:%s' % (chain.index(o), h) for o, _f, h in addrs if o in chain})
    return '0', qt, ' '.join(chain), ' '.join(got)


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
