#!/usr/bin/env python3
# A TCP relay in front of swtpm for the tests (tests/tpm.bash,
# start_tpm_proxy): listens on PORT and PORT+1 and relays to swtpm's data
# and control ports.  On the data port it reads the TPM commands one by
# one (tag u16, size u32, code u32, big-endian: the swtpm TCTI sends them
# raw) and can
#   --drop CODE   cut the connection (both ways) when a command with this
#                 code (hex) comes, as a TPM that stops answering would;
#   --log FILE    append every command as sent to FILE;
#   --delay CODE:SECONDS[:COUNT]  hold each command with this code (hex)
#                 that long (only the first COUNT of them if given) before
#                 sending it on, as a slow TPM would: a line
#                 "hold CODE" goes to --events FILE when one comes, and
#                 "release CODE" when it is sent on.
# READY is created once both ports listen.
import argparse
import socket
import struct
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("target", type=int)
ap.add_argument("ready")
ap.add_argument("--drop", type=lambda s: int(s, 16))
ap.add_argument("--log")
ap.add_argument("--delay")
ap.add_argument("--events")
args = ap.parse_args()
delay_code, delay_secs, delay_left = None, 0.0, -1
if args.delay:
    f = args.delay.split(":")
    delay_code, delay_secs = int(f[0], 16), float(f[1])
    if len(f) > 2:
        delay_left = int(f[2])
log_lock = threading.Lock()


def event(line):
    if args.events:
        with log_lock, open(args.events, "a") as f:
            f.write(line + "\n")


def cut(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    cut(src, dst)


def commands(client, tpm):
    global delay_left
    buf = b""
    try:
        while True:
            b = client.recv(65536)
            if not b:
                break
            buf += b
            while len(buf) >= 10:
                _, size, code = struct.unpack(">HII", buf[:10])
                if len(buf) < size:
                    break
                if code == args.drop:
                    cut(client, tpm)
                    return
                if args.log:
                    with log_lock, open(args.log, "ab") as f:
                        f.write(buf[:size])
                if code == delay_code and delay_left != 0:
                    delay_left -= 1
                    event("hold %x" % code)
                    time.sleep(delay_secs)
                    event("release %x" % code)
                tpm.sendall(buf[:size])
                buf = buf[size:]
    except OSError:
        pass
    cut(client, tpm)


def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    return s


def serve(sock, target, data):
    while True:
        client, _ = sock.accept()
        tpm = socket.create_connection(("127.0.0.1", target))
        up = commands if data else relay
        threading.Thread(target=up, args=(client, tpm), daemon=True).start()
        threading.Thread(target=relay, args=(tpm, client), daemon=True).start()


data_sock, ctrl_sock = listen(args.port), listen(args.port + 1)
open(args.ready, "w").close()
threading.Thread(target=serve, args=(ctrl_sock, args.target + 1, False), daemon=True).start()
serve(data_sock, args.target, True)
