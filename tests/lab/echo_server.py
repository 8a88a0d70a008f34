#!/usr/bin/env python3
"""Lab "internet" web server: answers every GET with the client's source address.

Usage: echo_server.py [--port 80] ADDR [ADDR ...]

Binds one threaded HTTP server per address (IPv4 or IPv6) and prints "ready" on stdout
once every socket is listening. The body is the peer address as the server saw it plus
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("addrs", nargs="+")
    args = ap.parse_args()

    servers = [make_server(a, args.port) for a in args.addrs]
    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever, daemon=True)
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
