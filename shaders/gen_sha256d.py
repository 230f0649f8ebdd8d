#!/usr/bin/env python3
"""Writes shaders/sha256d.wgsl: the GPU SHA-256d kernel, unrolled round by round.

Run it from anywhere after editing (`python3 shaders/gen_sha256d.py`) and commit both files.
The Rust side embeds the .wgsl with `include_str!` (src/gpu/kernel.rs); `--stdout` prints the
shader instead of writing it, which a test uses to check the committed file is up to date.

The algorithm is exactly `src/cpu/tail.rs`: the first hash starts at round 3 from the
precomputed state (`Precomputed` in `src/work.rs`), with the nonce as W3; constant message
words are folded into the round constants; the second hash stops after round 60, whose new
`e` becomes the final `h`, the only word the early test reads.

Why a generator: WGSL has no loops that compilers reliably unroll with the schedule kept in
registers. On lavapipe a loop with a `W[64]` array ran ~35x slower than straight-line code.
Every value gets its own `let` (SSA form), and anything that is known while generating
(rounds 0-1 of the second hash start from the constant IV, padding words are constants) is
folded here into one literal.
"""

import os
import sys

MASK = 0xFFFFFFFF
WORKGROUP_SIZE = 64
ROLLED_VERSIONS = 4  # `ROLLED_VERSIONS` in src/work.rs

K = [
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
]
IV = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]

PAD_W4 = 0x80000000  # first hash, second chunk: the padding bit after the 80 header bytes
LEN_W15 = 640  # first hash: message length in bits
PAD_X8 = 0x80000000  # second hash: the padding bit after the 32-byte digest
LEN_X15 = 256  # second hash: message length in bits


def rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & MASK


# The σ/Σ functions on constants, for folding.
CONST_FN = {
    "bsig0": lambda x: rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22),
    "bsig1": lambda x: rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25),
    "ssig0": lambda x: rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3),
    "ssig1": lambda x: rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10),
}


class Gen:
    """Emits SSA `let`s. A value is an int (known now) or a str (a WGSL expression/name)."""

    def __init__(self):
        self.lines = []

    def let(self, name, value):
        if isinstance(value, int):
            return value & MASK
        self.lines.append(f"    let {name} = {value};")  # str() of a name or a Sum
        return name

    def comment(self, text):
        self.lines.append(f"    // {text}")


def lit(v):
    return f"0x{v & MASK:08x}u"


class Sum:
    """A sum of WGSL expressions plus one folded constant (kept apart so sums of sums fold)."""

    def __init__(self, names, const):
        self.names, self.const = names, const & MASK

    def __str__(self):
        return " + ".join(self.names + ([lit(self.const)] if self.const else []))


def add(*terms):
    """A sum: constants fold into one literal, placed last. Returns an int when all are known."""
    const, names = 0, []
    for t in terms:
        if isinstance(t, int):
            const += t
        elif isinstance(t, Sum):
            const += t.const
            names += t.names
        else:
            names.append(t)
    if not names:
        return const & MASK
    if len(names) == 1 and not const & MASK:
        return names[0]
    return Sum(names, const)


# The σ/Σ functions as rotations and shifts by literal amounts, written out where they are used
# (no helper functions): every driver's compiler then sees `(x >> 6u) | (x << 26u)` and can
# make a funnel shift of it, and three-input logic of `ch`/`maj`, without inlining first.
ROTATIONS = {
    "bsig0": ((2, 13, 22), None),
    "bsig1": ((6, 11, 25), None),
    "ssig0": ((7, 18), 3),
    "ssig1": ((17, 19), 10),
}


def rot(x, n):
    return f"(({x} >> {n}u) | ({x} << {32 - n}u))"


def fn(name, x):
    if isinstance(x, int):
        return CONST_FN[name](x)
    x = operand(x)
    rots, shift = ROTATIONS[name]
    terms = [rot(x, n) for n in rots] + ([f"({x} >> {shift}u)"] if shift else [])
    return "(" + " ^ ".join(terms) + ")"


def ch(e, f, g):
    if all(isinstance(v, int) for v in (e, f, g)):
        return (g ^ (e & (f ^ g))) & MASK
    e, f, g = (operand(v) for v in (e, f, g))
    return f"({g} ^ ({e} & ({f} ^ {g})))"


def maj(a, b, c):
    if all(isinstance(v, int) for v in (a, b, c)):
        return (b ^ ((a ^ b) & (b ^ c))) & MASK
    a, b, c = (operand(v) for v in (a, b, c))
    return f"({b} ^ (({a} ^ {b}) & ({b} ^ {c})))"


def operand(v):
    """A value as an operand: a literal, a name, or a sum in parentheses."""
    if isinstance(v, int):
        return lit(v)
    return f"({v})" if isinstance(v, Sum) else str(v)


def val(v):
    return lit(v) if isinstance(v, int) else str(v)


class Hash:
    """The working variables in SSA form: a new `a` and `e` per round, the rest are renames."""

    def __init__(self, g, prefix, a, e):
        # a = [a_r, a_{r-1}, a_{r-2}, a_{r-3}] (a, b, c, d); e likewise (e, f, g, h).
        self.g, self.prefix, self.a, self.e = g, prefix, list(a), list(e)

    def round(self, i, kw):
        """Round i with `kw` = K[i] + W[i] (already folded where constant)."""
        g, p = self.g, self.prefix
        a, b, c, d = self.a
        e, f, gg, h = self.e
        t1 = g.let(f"{p}t1_{i}", add(h, fn("bsig1", e), ch(e, f, gg), kw))
        t2 = add(fn("bsig0", a), maj(a, b, c))
        new_e = g.let(f"{p}e{i}", add(d, t1))
        new_a = g.let(f"{p}a{i}", add(t1, t2))
        self.a = [new_a, a, b, c]
        self.e = [new_e, e, f, gg]


def schedule(g, prefix, w, i):
    """W[i] = σ1(W[i-2]) + W[i-7] + σ0(W[i-15]) + W[i-16], folding constants and zeros."""
    w[i] = g.let(f"{prefix}{i}", add(fn("ssig1", w[i - 2]), w[i - 7], fn("ssig0", w[i - 15]), w[i - 16]))


def first_hash(gs, gr, src):
    """The first hash's second chunk from round 3 (mirrors src/cpu/tail.rs): schedule words are
    emitted by `gs`, rounds by `gr`, so that one Gen interleaves them and two Gens put the shared
    schedule apart from the per-version rounds. `src` names the per-version values (`p` or `v`).
    Returns the digest's eight names."""
    gr.comment("Round 3: T1 = t1_3 + W3, T2 = t2_3 (both precomputed without the nonce).")
    gr.let("t1_3", f"{src}.t1_3 + w3")
    e3 = gr.let("e3", f"{src}.s3_d + t1_3")
    a3 = gr.let("a3", f"t1_3 + {src}.t2_3")
    h1 = Hash(gr, "", [a3, f"{src}.s3_a", f"{src}.s3_b", f"{src}.s3_c"],
              [e3, f"{src}.s3_e", f"{src}.s3_f", f"{src}.s3_g"])

    # Message words: W3 is the nonce, W4 the padding bit, W5..W14 zero, W15 the length.
    w = [None] * 64
    w[3] = "w3"
    w[4] = PAD_W4
    for i in range(5, 15):
        w[i] = 0
    w[15] = LEN_W15
    w[16] = "p.w16"
    w[17] = "p.w17"
    for i in range(4, 18):
        h1.round(i, add(K[i], w[i]))

    def kw(i):
        # Apart (rolled), K[i] + W[i] is shared too.
        return add(K[i], w[i]) if gs is gr else gs.let(f"kw{i}", add(K[i], w[i]))

    # W18, W19 come partly precomputed; W20..W32 fold their constant terms.
    w[18] = gs.let("w18", add("p.w18_base", fn("ssig0", "w3")))
    h1.round(18, kw(18))
    w[19] = gs.let("w19", add("p.w19_base", "w3"))
    h1.round(19, kw(19))
    for i in range(20, 31):
        # W[i-15] and W[i-16] are W4..W15 here: constants, folded.
        schedule(gs, "w", w, i)
        h1.round(i, kw(i))
    # W31 = σ1(W29) + W24 + σ0(W16) + W15 and W32 = σ1(W30) + W25 + σ0(W17) + W16: the last two
    # terms are nonce-free and precomputed as w31_base / w32_base.
    w[31] = gs.let("w31", add(fn("ssig1", w[29]), w[24], "p.w31_base"))
    h1.round(31, kw(31))
    w[32] = gs.let("w32", add(fn("ssig1", w[30]), w[25], "p.w32_base"))
    h1.round(32, kw(32))
    for i in range(33, 64):
        schedule(gs, "w", w, i)
        h1.round(i, kw(i))
    gr.comment("The first hash: midstate + final working variables.")
    a, b, c, d = h1.a
    e, f, gg, h = h1.e
    return [
        gr.let(f"h1_{j}", add(f"{src}.midstate{j}", v)) for j, v in enumerate([a, b, c, d, e, f, gg, h])
    ]


def second_hash(g, digest):
    """The second hash of `digest` as far as `h7`."""
    g.comment("Second hash: the digest, then padding; constant words fold into the constants.")
    x = [None] * 64
    x[:8] = digest
    x[8] = PAD_X8
    for i in range(9, 15):
        x[i] = 0
    x[15] = LEN_X15
    h2 = Hash(g, "s", [IV[0], IV[1], IV[2], IV[3]], [IV[4], IV[5], IV[6], IV[7]])
    for i in range(0, 16):
        h2.round(i, add(K[i], x[i]))
    for i in range(16, 60):
        schedule(g, "x", x, i)
        h2.round(i, add(K[i], x[i]))
    g.comment("Round 60 only as far as its new e, which is h after rounds 61-63: H7 = IV7 + e.")
    schedule(g, "x", x, 60)
    _, _, _, d = h2.a
    e, f, gg, h = h2.e
    t1 = add(h, fn("bsig1", e), ch(e, f, gg), add(K[60], x[60]))
    g.let("h7", add(d, t1, IV[7]))


def generate():
    """The plain kernel's body: one version, schedule and rounds interleaved."""
    g = Gen()
    g.comment("First hash, second chunk. Rounds 0-2 and the nonce-free words come precomputed.")
    second_hash(g, first_hash(g, g, "p"))
    return "\n".join(g.lines)


def generate_rolled():
    """The rolled kernel's body: the schedule once, then each version in a block of its own.

    The versions are written out, not looped over: with a loop over them (and the version's
    fields read through the loop index) lavapipe ran the rolled kernel at 0.95-1.0x the plain
    one although it has 11 % fewer operations per hash; written out, at 1.17-1.27x (`bench
    --version-rolling`). Why the loop was slow was not measured (a likely cause: the fields
    loaded per invocation rather than once, since the index is not known to be uniform)."""
    gs, gr = Gen(), Gen()
    second_hash(gr, first_hash(gs, gr, "v"))
    indent = lambda lines: ["    " + line for line in lines]
    body = ["    // First hash, second chunk: the schedule words, shared by every version."] + gs.lines
    body += ["", "    var hit = false;"]
    for i in range(ROLLED_VERSIONS):
        body += ["    {", f"        let v = versions[{i}];"] + indent(gr.lines)
        body += [f"        {BSWAP_H7}", "        hit = hit | (top <= p.target_top);", "    }"]
    return "\n".join(body)


# byte-swap(H7): the top 32 bits of the hash as a little-endian number.
BSWAP_H7 = "let top = (h7 << 24u) | ((h7 & 0xff00u) << 8u) | ((h7 >> 8u) & 0xff00u) | (h7 >> 24u);"

HEADER = """\
// SHA-256d of a block header's second chunk for one nonce per invocation, with an early
// test on the last state word. GENERATED by shaders/gen_sha256d.py: edit that and rerun it.
//
// The algorithm is src/cpu/tail.rs: the first hash starts at round 3 from values precomputed
// on the host (`Precomputed`, nonce-free), the nonce enters as W3 = byte-swap(nonce), and the
// second hash stops after round 60. A nonce is a candidate when byte-swap(H7), the top 32 bits
// of the hash read as a little-endian number, is <= the target's top word; the host then
// re-hashes each candidate on the CPU and compares all 256 bits.
//
// Two entry points: `main` hashes the header as given; `main_rolled` hashes {rolled} versions of
// it per nonce (BIP 320 version rolling), computing the second chunk's schedule once and
// sharing it, and reports a nonce when any version passes the early test.

// The values that differ between rolled versions (the rest of `Params` is shared). Must match
// `VersionParams` in src/gpu/kernel.rs word for word.
struct Version {
    midstate0: u32, midstate1: u32, midstate2: u32, midstate3: u32,
    midstate4: u32, midstate5: u32, midstate6: u32, midstate7: u32,
    s3_a: u32, s3_b: u32, s3_c: u32, s3_d: u32, s3_e: u32, s3_f: u32, s3_g: u32, s3_h: u32,
    t1_3: u32, t2_3: u32,
    pad0: u32, pad1: u32,
}

// Must match `Params` in src/gpu/kernel.rs word for word: 32 words, 128 bytes, the most
// immediate data every adapter that has it allows.
struct Params {
    midstate0: u32, midstate1: u32, midstate2: u32, midstate3: u32,
    midstate4: u32, midstate5: u32, midstate6: u32, midstate7: u32,
    tail0: u32, tail1: u32, tail2: u32,
    // Working variables a..h after rounds 0-2 of the second chunk.
    s3_a: u32, s3_b: u32, s3_c: u32, s3_d: u32, s3_e: u32, s3_f: u32, s3_g: u32, s3_h: u32,
    t1_3: u32, t2_3: u32,
    w16: u32, w17: u32, w18_base: u32, w19_base: u32, w31_base: u32, w32_base: u32,
    // Candidates have byte-swap(H7) <= target_top.
    target_top: u32,
    // This dispatch scans nonce_base .. nonce_base + count - 1 (never past 0xffffffff).
    nonce_base: u32,
    count: u32,
    // Candidate slots in `found.nonces` for this dispatch (the host sizes them from the target
    // and the count, and the buffer holds at least this many).
    capacity: u32,
    pad1: u32,
}

// The candidates: `count` may exceed the capacity; the host then rescans the range on the CPU.
struct Found {
    count: atomic<u32>,
    nonces: array<u32>,
}

// On an adapter with immediate data (push constants) the host declares `p` as
// `var<immediate> p: Params;` instead of this binding (src/gpu/kernel.rs, `ParamsIn`): the
// parameters then travel in the command itself, with no buffer write per dispatch.
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> found: Found;
// `main_rolled`'s versions (a unit with fewer repeats its last); `main` does not read them.
@group(0) @binding(2) var<uniform> versions: array<Version, {rolled}>;

// Invocations per workgroup: set by the host when it builds the pipeline (each device tunes
// it); 64 when not set.
override WORKGROUP_SIZE: u32 = {wg}u;
"""

ENTRY = """
// One nonce per invocation. The grid is 2D (x: up to 65535 workgroups): the linear index is
// row-major, and invocations past `count` (the ragged last workgroup) do nothing.
@compute @workgroup_size(WORKGROUP_SIZE)
fn {name}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = gid.y * (groups.x * WORKGROUP_SIZE) + gid.x;
    if (index >= p.count) {
        return;
    }
    // index < count <= 2^32 - nonce_base, so this never wraps.
    let nonce = p.nonce_base + index;
    let w3 = (nonce << 24u) | ((nonce & 0xff00u) << 8u) | ((nonce >> 8u) & 0xff00u) | (nonce >> 24u);

"""

RECORD = """
    if ({test}) {
        let slot = atomicAdd(&found.count, 1u);
        if (slot < p.capacity) {
            found.nonces[slot] = nonce;
        }
    }
}
"""


def main():
    text = (
        HEADER.replace("{wg}", str(WORKGROUP_SIZE)).replace("{rolled}", str(ROLLED_VERSIONS))
        + ENTRY.replace("{name}", "main")
        + generate()
        + "\n\n    // byte-swap(H7): the top 32 bits of the hash as a little-endian number.\n    "
        + BSWAP_H7
        + "\n"
        + RECORD.replace("{test}", "top <= p.target_top")
        + ENTRY.replace("{name}", "main_rolled")
        + generate_rolled()
        + "\n"
        + RECORD.replace("{test}", "hit")
    )
    if "--stdout" in sys.argv[1:]:
        sys.stdout.write(text)
        return
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sha256d.wgsl")
    with open(out, "w") as f:
        f.write(text)
    print(f"wrote {out}: {text.count(chr(10))} lines")


if __name__ == "__main__":
    main()
