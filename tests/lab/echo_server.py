#!/usr/bin/env python3
"""Lab "internet" web server: answers every GET with the client's source address.

Usage: echo_server.py [--port 80 ...] [--udp-port N ...] ADDR [ADDR ...]

Binds one threaded HTTP server per address and port (IPv4 or IPv6; --port may be given
several times, default 80) and, for every --udp-port, a UDP socket per address that
answers each datagram with the sender's address; prints "ready" on stdout once every
socket is listening. The body is the peer address as the server saw it plus
a newline, so a test can tell whether a connection came through the VPN (masqueraded to
the VPN server's address) or directly from the host.
"""

import argparse
import http.server
import socket
import sys
import threading


class EchoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "nfqroute-lab-echo/1"

    def do_GET(self):  # noqa: N802 (http.server naming)
        body = (self.client_address[0] + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s -> %s\n" % (self.client_address[0], self.server.server_address[0],
                                            fmt % args))
        sys.stderr.flush()


def make_server(addr, port):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET

    class Server(http.server.ThreadingHTTPServer):
        address_family = family
        allow_reuse_address = True
        daemon_threads = True

        def server_bind(self):
            if family == socket.AF_INET6:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            socketserver_bind(self)

    return Server((addr, port), EchoHandler)


def socketserver_bind(server):
    # TCPServer.server_bind without HTTPServer's getfqdn() (no DNS lookups in the lab).
    server.socket.bind(server.server_address)
    server.server_address = server.socket.getsockname()
    server.server_name = server.server_address[0]
    server.server_port = server.server_address[1]


def udp_echo(addr, port):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((addr, port))

    def serve():
        while True:
            _, peer = sock.recvfrom(2048)
            sys.stderr.write("udp %s -> %s:%d\n" % (peer[0], addr, port))
            sys.stderr.flush()
            sock.sendto((peer[0] + "\n").encode(), peer)

    return serve


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, action="append")
    ap.add_argument("--udp-port", type=int, action="append", default=[])
    ap.add_argument("addrs", nargs="+")
    args = ap.parse_args()

    servers = [make_server(a, p) for p in (args.port or [80]) for a in args.addrs]
    loops = [s.serve_forever for s in servers]
    loops += [udp_echo(a, p) for p in args.udp_port for a in args.addrs]
    threads = []
    for loop in loops:
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        threads.append(t)
    print("ready", flush=True)
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
