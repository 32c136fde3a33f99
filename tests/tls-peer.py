#!/usr/bin/env python3
# Servers for tests/71-tls-connect.bats, on a free loopback port (written
# to READY once listening), for one connection:
#   echo CERT KEY CA  TLS (Python's ssl, i.e. OpenSSL) requiring a client
#                     certificate of CA; sends back every byte it gets, then
#                     closes (close_notify) when the client has closed; the
#                     client's certificate subject goes to READY.peer
#   sink CERT KEY CA  as echo, but keeps what it gets (bench/tls.bench.sh)
#   echo-many CERT KEY CA  as echo, for any number of connections at once
#                     (a thread each), and no session resumption: every
#                     connection's handshake has the client sign
#   one-ticket CERT KEY CA  as echo, for connections one after the other;
#                     TLS 1.3, one session ticket after the first handshake
#                     and none after the next ones (they can resume it)
#   garbage           answers the ClientHello with bytes that are not TLS
#   close             reads the ClientHello and closes the connection
#   silent            accepts and never answers
import socket
import ssl
import sys
import time

mode, ready = sys.argv[1], sys.argv[2]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
with open(ready + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
import os  # noqa: E402

os.rename(ready + ".tmp", ready)

if mode == "echo-many":
    import threading  # noqa: E402

    cert, key, ca = sys.argv[3:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.num_tickets = 0
    ctx.options |= ssl.OP_NO_TICKET

    def serve(c):
        try:
            s = ctx.wrap_socket(c, server_side=True)
            while True:
                b = s.recv(65536)
                if not b:
                    break
                s.sendall(b)
            s.close()
        except (OSError, ssl.SSLError):
            c.close()

    ls.listen(64)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

if mode == "one-ticket":
    cert, key, ca = sys.argv[3:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.num_tickets = 1
    ls.listen(16)
    while True:
        c, _ = ls.accept()
        try:
            s = ctx.wrap_socket(c, server_side=True)
            # Later connections (the same context: the same ticket key)
            # get no ticket of their own.
            ctx.num_tickets = 0
            while True:
                b = s.recv(65536)
                if not b:
                    break
                s.sendall(b)
            s.unwrap().close()
        except (OSError, ssl.SSLError):
            c.close()

conn, _ = ls.accept()
ls.close()
if mode == "garbage":
    conn.recv(4096)
    conn.sendall(b"HTTP/1.0 400 this is not TLS\r\n\r\n" + bytes(range(256)) * 4)
    time.sleep(2)
elif mode == "close":
    conn.recv(4096)
    conn.close()
elif mode == "silent":
    time.sleep(60)
elif mode in ("echo", "sink"):
    cert, key, ca = sys.argv[3:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    s = ctx.wrap_socket(conn, server_side=True)
    with open(ready + ".peer", "w") as f:
        f.write(str(s.getpeercert()["subject"]))
    while True:
        b = s.recv(65536)
        if not b:
            break
        if mode == "echo":
            s.sendall(b)
    s.unwrap().close()
