#!/usr/bin/env python3
"""AES-GCM decryption with its tag checked, from the openssl command line
and the Python standard library only: a second implementation for the
tests (python3 has no AES, `openssl enc` no AEAD modes).  NIST SP 800-38D
with a 96-bit nonce N: J0 = N || 00000001, the keystream is AES-CTR from
N || 00000002, and the tag is E(K, J0) xor GHASH(H = E(K, 0^128), A, C).
(openssl's CTR carries into the nonce after 2^32 blocks, GCM does not: fine
below 64 GiB.)

  gcm-open.py KEYHEX NONCEHEX AADHEX < ciphertext||tag > plaintext

Exit status 1, nothing on stdout, if the tag does not match.
"""
import subprocess
import sys


def aes(args, key, iv, data):
    cipher = {16: "aes-128", 32: "aes-256"}[len(key)]
    cmd = ["openssl", "enc", "-" + cipher + "-" + args, "-K", key.hex(), "-nopad"]
    if iv is not None:
        cmd += ["-iv", iv.hex()]
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout


def gf_mult(x, y):
    r = 0xE1 << 120
    z = 0
    for i in range(127, -1, -1):
        if (y >> i) & 1:
            z ^= x
        x = (x >> 1) ^ r if x & 1 else x >> 1
    return z


def ghash(h, data):
    y = 0
    for i in range(0, len(data), 16):
        y = gf_mult(y ^ int.from_bytes(data[i:i + 16], "big"), h)
    return y


def pad(b):
    return b + bytes(-len(b) % 16)


def main():
    key, nonce, aad = (bytes.fromhex(a) for a in sys.argv[1:4])
    data = sys.stdin.buffer.read()
    if len(nonce) != 12 or len(data) < 16:
        sys.exit("gcm-open: need a 12-byte nonce and at least the 16-byte tag")
    ct, tag = data[:-16], data[-16:]
    blocks = aes("ecb", key, None, bytes(16) + nonce + b"\0\0\0\1")
    h = int.from_bytes(blocks[:16], "big")
    s = ghash(h, pad(aad) + pad(ct) + (8 * len(aad)).to_bytes(8, "big") +
              (8 * len(ct)).to_bytes(8, "big"))
    want = (s ^ int.from_bytes(blocks[16:], "big")).to_bytes(16, "big")
    if want != tag:
        sys.exit("gcm-open: tag mismatch")
    sys.stdout.buffer.write(aes("ctr", key, nonce + b"\0\0\0\2", ct) if ct else b"")


main()
