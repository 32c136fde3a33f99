#!/usr/bin/env python3
"""Count the TPM commands in a pcapng file written by tpm2-tss's pcap TCTI.

Each command and each response is one packet; a command starts with the
TPM header tag 0x8001/0x8002, its size and the command code.  Prints the
number of commands, then their codes.
"""
import struct
import sys


def commands(path):
    data = open(path, "rb").read()
    off, out = 0, []
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if btype == 6:  # Enhanced Packet Block
            caplen = struct.unpack_from("<I", data, off + 20)[0]
            pkt = data[off + 28: off + 28 + caplen]
            for i in range(len(pkt) - 9):
                tag, size, code = struct.unpack_from(">HII", pkt, i)
                if tag in (0x8001, 0x8002) and size == len(pkt) - i:
                    out.append(code)
                    break
        off += blen
    # command, response, command, response ...
    return out[0::2]


if __name__ == "__main__":
    cc = commands(sys.argv[1])
    print(len(cc), " ".join(hex(c) for c in cc))
