#!/usr/bin/env python3
"""Builds the query benchmark set and its expectations (run once, by hand).

Input: the shared data set (INDEX.dnspython.jsonl, dnspython 2.3.0's decoding of every
message file). Every message that dnspython accepts and that has QR clear is written, in
INDEX order, to queries.u16be-len-prefixed.bin (2-byte big-endian length, then the
message); queries.list names the source of each; expect-queries.tsv gives, per message:
  index  source  status  id  qtype  qclass  name
status is the expected dns_parse_query() value: -8 for an opcode other than QUERY, -3 when
there is not exactly one question, -4 when the name is longer than 253 characters in
nfqroute's presentation, else 0 (then qtype, qclass and the normalised name follow).

usage: mkqueries.py /work/shared/data/dns   (writes the three files in the current dir)
"""
import json
import struct
import sys

from mkexpect import TYPES, ours, pres_len, wire_labels

MORE_TYPES = {'GPOS': 27, 'NXT': 30, 'CDNSKEY': 60}
CLASSES = {'RESERVED0': 0, 'IN': 1, 'CH': 3, 'HS': 4, 'NONE': 254, 'ANY': 255}


def expect(d):
    if d['opcode'] != 0:
        return ['-8', str(d['id']), '', '', '']
    if d['qdcount'] != 1:
        return ['-3', str(d['id']), '', '', '']
    qname, qclass, qtype = d['question'][0].rsplit(' ', 2)
    if pres_len(wire_labels(qname)) > 253:
        return ['-4', str(d['id']), '', '', '']
    types = dict(TYPES, **MORE_TYPES)
    qt = str(types[qtype]) if qtype in types else qtype[4:]
    qc = str(CLASSES[qclass]) if qclass in CLASSES else qclass[5:]
    return ['0', str(d['id']), qt, qc, ours(qname)]


def main():
    base = sys.argv[1]
    rows = []
    with open(base + '/INDEX.dnspython.jsonl') as f, \
            open('queries.u16be-len-prefixed.bin', 'wb') as out, \
            open('queries.list', 'w') as lst:
        for line in f:
            d = json.loads(line)
            if d.get('qr') is not False or not d.get('dnspython', '').startswith('ok'):
                continue
            msg = open(base + '/' + d['file'], 'rb').read()
            out.write(struct.pack('>H', len(msg)) + msg)
            lst.write(d['file'] + '\n')
            rows.append([str(len(rows)), d['file']] + expect(d))
    with open('expect-queries.tsv', 'w') as f:
        f.write('# derived by mkqueries.py from INDEX.dnspython.jsonl (dnspython 2.3.0); '
                'see SOURCES.md\n')
        for r in rows:
            f.write('\t'.join(r) + '\n')


if __name__ == '__main__':
    main()
