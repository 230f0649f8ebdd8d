#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/ from the recorded fixtures and the tests' vectors.

Run from the repository root: python3 fuzz/make_seeds.py
Sources: tests/fixtures/ (Bitcoin Core 30.3 regtest templates and blocks, the same files as
../shared/fixtures/), stratum/tests/fixtures/stratum-ckpool-session.jsonl (cpuminer-opt <-> ckpool)
and the public-pool / ESP-Miner vectors of stratum/tests/vectors.rs.
"""
import hashlib
import json
import os
import re
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")
SESSION = os.path.join(ROOT, "stratum", "tests", "fixtures", "stratum-ckpool-session.jsonl")
OUT = os.path.join(ROOT, "fuzz", "seeds")
GBT = ["gbt-regtest-empty.json", "gbt-regtest-6tx.json", "gbt-regtest-60tx.json",
       "gbt-regtest-h201-empty.json", "gbt-regtest-h203-7tx.json", "gbt-regtest-h204-60tx.json"]
SMALL_GBT = ["gbt-regtest-empty.json", "gbt-regtest-6tx.json", "gbt-regtest-h203-7tx.json"]
TAG = b"/hashforge-fixture/"

PP_NOTIFY = ('{"id":null,"method":"mining.notify","params":["1","171592f223740e92d223f6e68bff25279af7ac4f2246451e0000000200000000",'
             '"02000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1903c943255c7075626c69632d706f6f6c5c",'
             '"ffffffff037a90000000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc3b0f250000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc0000000000000000266a24aa21a9edbd3d1d916aa0b57326a2d88ebe1b68a1d7c48585f26d8335fe6a94b62755f64c00000000",'
             '["175335649d5e8746982969ec88f52e85ac9917106fba5468e699c8879ab974a1","d5644ab3e708c54cd68dc5aedc92b8d3037449687f92ec41ed6e37673d969d4a",'
             '"5c9ec187517edc0698556cca5ce27e54c96acb014770599ed9df4d4937fbf2b0"],"20000000","192495f8","64b3f3ec",false]}')
PP_SUBMIT = ('{"id": 5, "method": "mining.submit", "params": ["tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4.bitaxe3", '
             '"1", "c7080000", "64b3f3ec", "ed460d91", "00002000"]}')
PP_CLIENT = [
    '{"id": 1, "method": "mining.subscribe", "params": ["bitaxe v2.2", "57a6f098"]}',
    '{"id": 2, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "ffffffff"}]}',
    '{"id": 3, "method": "mining.authorize", "params": ["tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4.bitaxe3", "x"]}',
    '{"id": 4, "method": "mining.suggest_difficulty", "params": [0.001]}',
    '{"id": 6, "method": "mining.extranonce.subscribe", "params": []}',
]
POOL_EXTRA = [
    '{"id":null,"method":"client.reconnect","params":["h",3333,"5"]}',
    '{"id":null,"method":"mining.set_extranonce","params":["0badf00d",4]}',
    '{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}',
    '{"id":7,"method":"client.get_version","params":[]}',
    '{"id":8,"method":"mining.ping","params":[]}',
    '{"id":null,"method":"client.show_message","params":["hello"]}',
    '{"id":2,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}',
    '{"id":4,"result":null,"error":[21,"Job not found",null]}',
    '{"id":4,"result":null,"error":{"code":23,"message":"Low difficulty"}}',
]


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def minified(name):
    with open(os.path.join(FIX, name)) as f:
        return json.dumps(json.load(f), separators=(",", ":"))


def session():
    lines = {"s2c": [], "c2s": []}
    with open(SESSION) as f:
        for rec in f:
            rec = json.loads(rec)
            if "line" in rec:
                lines[rec["dir"]].append(rec["line"])
    return lines


def unique(seq):
    seen, out = set(), []
    for x in seq:
        # The session's notifies differ only in their fields' values: keep one per shape.
        key = re.sub(r'"[0-9a-f]{8,}"', '"h"', x)
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    lines = session()

    # Stratum: the cap byte (0 = the default 64 KiB), then newline-terminated lines.
    s2c = unique(lines["s2c"]) + [PP_NOTIFY] + POOL_EXTRA
    for i, line in enumerate(s2c):
        write("stratum_client", f"line-{i:02}", b"\0" + line.encode() + b"\n")
    write("stratum_client", "session-cap64", b"\x40" + "\r\n".join(lines["s2c"][:8]).encode() + b"\n")
    c2s = unique(lines["c2s"]) + [PP_SUBMIT] + PP_CLIENT
    for i, line in enumerate(c2s):
        write("stratum_server", f"line-{i:02}", b"\0" + line.encode() + b"\n")
    write("stratum_server", "session-cap32", b"\x20" + "\n".join(lines["c2s"][:6]).encode() + b"\n")

    # RPC: bare templates, and HTTP replies around them.
    for name in GBT:
        write("rpc_template", name, minified(name))
    with open(os.path.join(FIX, "gbt-regtest-empty.json")) as f:
        write("rpc_template", "pretty-gbt-regtest-empty.json", f.read())
    for name in SMALL_GBT:
        body = ('{"result":' + minified(name) + ',"error":null,"id":1}').encode()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        write("rpc_template", "http-length-" + name,
              head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 700]), body[i:i + 700])
                          for i in range(0, len(body), 700))
        write("rpc_template", "http-chunked-" + name,
              head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
        write("rpc_template", "http-eof-" + name, head + b"Connection: close\r\n\r\n" + body)
    err = b'{"result":null,"error":{"code":-10,"message":"Bitcoin Core is in initial sync"},"id":1}'
    write("rpc_template", "http-500-error",
          b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n" % len(err) + err)
    write("rpc_template", "http-401", b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")

    # Template -> block: [extranonce length, tag length, payout kind] + tag + template.
    for kind, name in enumerate(GBT):
        write("template_block", name,
              bytes([8, len(TAG), kind % 4]) + TAG + minified(name).encode())

    # Bitcoin parsers: headers, hashes, targets, bits, difficulties, as text and as bytes.
    bp = []
    for name in ["block-regtest-empty.hex", "block-regtest-6tx.hex"]:
        with open(os.path.join(FIX, name)) as f:
            h = f.read().strip()[:160]
        bp += [h, bytes.fromhex(h)]
    for name in ["gbt-regtest-empty.json", "gbt-regtest-h203-7tx.json"]:
        with open(os.path.join(FIX, name)) as f:
            t = json.load(f)
        bp += [t["previousblockhash"], t["target"], t["bits"]]
        bp += [bytes.fromhex(x["txid"]) for x in t["transactions"][:3]]
    bp += ["00000000ffff0000000000000000000000000000000000000000000000000000",
           "1d00ffff", "207fffff", "1", "0.001", "1e-9", "683", "1e300", "NaN", "-1",
           " 0A0B ", bytes.fromhex("ffff001d"), (1.0).hex(), b"\x00" * 8,
           hashlib.sha256(b"hashforge").digest() * 5]
    for i, s in enumerate(bp):
        write("bitcoin_parsers", f"seed-{i:02}", s)


main()
