#!/usr/bin/env python3
# Clients for tests/72-tls-proxy.bats, against seckit tls proxy on PORT:
#   churn PORT N THREADS   N connections (THREADS at a time), each sends an
#                          HTTP GET, half-closes and reads the answer to its
#                          end; fails unless every answer starts "HTTP/1.0 200"
#                          (a connection refused, reset or timed out is a
#                          failure too: an exception in a thread would not
#                          change the exit status by itself)
#   reset PORT             sends a request, reads the start of the answer,
#                          then resets the connection (SO_LINGER 0)
#   hold PORT READY        connects, sends nothing, creates READY, and waits
#                          for the proxy to close the connection
import os
import socket
import struct
import sys
import threading

mode, port = sys.argv[1], int(sys.argv[2])


def one():
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    d = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        d += b
    s.close()
    return d.startswith(b"HTTP/1.0 200")


if mode == "churn":
    n, threads = int(sys.argv[3]), int(sys.argv[4])
    bad = []

    def run(k):
        for _ in range(k):
            try:
                ok = one()
            except OSError as e:
                print("connection failed: %s" % e, file=sys.stderr)
                ok = False
            if not ok:
                bad.append(1)

    ts = [threading.Thread(target=run, args=(n // threads,)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if bad:
        sys.exit("%d of %d connections failed" % (len(bad), n))
elif mode == "reset":
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    s.recv(100)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
elif mode == "hold":
    s = socket.create_connection(("127.0.0.1", port))
    open(sys.argv[3], "w").close()
    s.settimeout(30)
    while s.recv(4096):
        pass
    os._exit(0)
