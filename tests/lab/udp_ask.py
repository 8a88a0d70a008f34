#!/usr/bin/env python3
"""Lab UDP client: sends one datagram to ADDR PORT and prints the answer.

Usage: udp_ask.py [--timeout 3] [--tries 3] ADDR PORT

echo_server.py --udp-port answers with the address it saw the datagram come from, so
the answer tells which path the datagram took. Exit status 0 with an answer, 1 without.
"""

import argparse
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--tries", type=int, default=3)
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(args.timeout / max(args.tries, 1))
    # one socket, one flow: retries reuse the source port (the same conntrack entry)
    for _ in range(max(args.tries, 1)):
        sock.sendto(b"who am i\n", (args.addr, args.port))
        try:
            data, _ = sock.recvfrom(2048)
        except socket.timeout:
            continue
        sys.stdout.write(data.decode(errors="replace"))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
