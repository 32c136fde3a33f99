#!/usr/bin/env python3
"""A second reader of a key object, written from docs/formats/store.md
alone: the master key and its check, the names key and the file name, the
header (AES-GCM, associated data = the file's first 28 bytes), the key
attributes, the body chunk (no associated data, nonce = index || last) and,
for a key bound to a password object, the password record (scrypt) and the
wrapped blob (associated data "key/" || name).  Every GCM tag is checked
(tests/gcm-open.py).  Python standard library and the openssl command line
only.

  store-key.py STORE NAME [PASSWORD]

Prints the attributes as "tag value" lines on stderr and writes the key
blob (version byte included) to stdout; exit status 1 if a check fails.
"""
import hashlib
import hmac
import os
import subprocess
import sys

GCM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gcm-open.py")


def hkdf(ikm, salt, info, n=32):
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def gcm_open(key, nonce, aad, data):
    r = subprocess.run([sys.executable, GCM, key.hex(), nonce.hex(), aad.hex()], input=data,
                       stdout=subprocess.PIPE, check=False)
    if r.returncode != 0:
        sys.exit("store-key: GCM tag mismatch")
    return r.stdout


def check(cond, what):
    if not cond:
        sys.exit("store-key: " + what)


def read_object(store, k, ns, name):
    """Header fields and body of one object (single-chunk bodies)."""
    nk = hkdf(k, None, b"seckit/v1/names")
    fname = hmac.new(nk, bytes([ns]) + name, hashlib.sha256).hexdigest()
    f = open(os.path.join(store, fname), "rb").read()
    check(f[:8] == b"SKSO\x01\0\0\0", "object magic")
    salt, hlen = f[8:24], int.from_bytes(f[24:28], "big")
    hk = hkdf(k, salt, b"seckit/v1/header")
    h = gcm_open(hk, bytes(12), f[:28], f[28:28 + hlen + 16])
    check(h[0] == ns and h[2:2 + h[1]] == name, "the header names another object")
    p = 2 + h[1]
    flags, size = h[p], int.from_bytes(h[p + 1:p + 9], "big")
    m = int.from_bytes(h[p + 17:p + 21], "big")
    attrs, a = [], h[p + 21:]
    check(len(a) == m, "attribute length")
    while a:
        tag, ln = a[0], int.from_bytes(a[1:3], "big")
        check(3 + ln <= len(a), "attribute runs past the end")
        attrs.append((tag, a[3:3 + ln]))
        a = a[3 + ln:]
    check(flags == 0, "keyed body")
    check(size <= 65536, "more than one chunk")
    check(len(f) == 44 + hlen + size + 16, "file size")
    bk = hkdf(k, salt, b"seckit/v1/body")
    body = gcm_open(bk, (0).to_bytes(8, "big") + (1).to_bytes(4, "big"), b"",
                    f[44 + hlen:])
    return attrs, body


def main():
    store, name = sys.argv[1], sys.argv[2].encode()
    mk = open(os.path.join(store, "master.key"), "rb").read()
    check(mk[:6] == b"SKMK\x01\x00", "master.key: magic, version, protection 0")
    k = mk[8:40]
    check(hmac.new(k, b"seckit/v1/master-check" + mk[:8], hashlib.sha256).digest()[:16]
          == mk[40:56], "master.key check value")
    attrs, body = read_object(store, k, 1, name)
    d = {}
    for tag, v in attrs:
        d.setdefault(tag, v)
        shown = v.hex() if tag in (2, 4, 6) else v.decode()
        print(tag, shown, file=sys.stderr)
    check(1 in d and 2 in d and 5 in d, "type, flags and backend are required")
    check(len(d[2]) == 8, "flags are 8 bytes")
    if 3 in d:
        # the password object (namespace 2): tag 1 is the record
        pattrs, _ = read_object(store, k, 2, d[3])
        rec = dict(pattrs)[1]
        check(len(rec) == 73 and rec[0] == 1, "password record")
        n, r, p = (int.from_bytes(rec[i:i + 8], "big") for i in (1, 9, 17))
        dk = hashlib.scrypt(sys.argv[3].encode(), salt=rec[25:41], n=n, r=r, p=p, dklen=64,
                            maxmem=256 * n * r + (1 << 20))
        check(hmac.new(dk[:32], b"seckit/v1/password-check", hashlib.sha256).digest()
              == rec[41:73], "wrong password")
        wk = hkdf(dk[32:], None, b"seckit/v1/wrap/key/" + name)
        body = gcm_open(wk, body[:12], b"key/" + name, body[12:])
    sys.stdout.buffer.write(body)


main()
