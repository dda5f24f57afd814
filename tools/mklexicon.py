#!/usr/bin/python3
"""Build helsefeed's lexicon (the word table of src/classify/lex.c) from
hunspell's nb_NO and nn_NO dictionaries (Debian: hunspell-no), with
hunspell's own `unmunch` (Debian: hunspell-tools) expanding every entry
into its forms.

    mklexicon.py OUT DICDIR [UNMUNCH] [--apertium DIR]

Why a table: asking hunspell at run time costs a few microseconds a word
(tens for a word it does not know, which it tries as a compound), and the
two dictionaries take about 50 MiB of memory and 0.3 s to load in every
process.  The table is read with mmap: nothing to load, a lookup is a hash
probe, and only the pages a lookup touches are read.

What a form gets: its lemmas, the roots of the dictionary entries that
yield it, bokmål entries first ("sjukehusa" -> sjukehus).  hunspell-no
lists some inflected forms as entries of their own ("A-aksjene/R" beside
"A-aksje/EG"); such an entry (its root and one more form) takes the lemma
of the entry its root is a form of, so that "A-aksjen" is A-aksje, as its
siblings are.  A
form with a prefix keeps it in its lemma ("gjenåpner" -> gjenåpne, where
hunspell gives åpne).  An
entry with the compound flag makes its root a possible first part of a
compound and all its forms possible last parts (hunspell's rule: affixes
only at the edges of a compound).

File format (all integers little-endian):

    0   8   magic "HFLEX\\0\\0\\3"
    8   4   number of forms N
    12  4   bucket bits B (forms are bucketed by the top B bits of the
            64-bit FNV-1a hash of the folded UTF-8 form)
    16  4   byte length of the lists area L
    20  4   byte length of the string pool P
    24  8   zero
    32      (2^B + 1) x u32: first form index of each bucket
            N x u32: the low 32 bits of the form's hash, ascending in
                     its bucket
            N x u32: the form's value: bit 31 last part of a compound,
                     bit 30 first part, bit 29 the rest is a byte offset
                     into the lists area, else it is one lemma code
            L bytes: lists: u32 count, then count u32 lemma codes,
                     bit 31 set on a bokmål lemma from Apertium
            P bytes: NUL-terminated folded UTF-8 strings

A lemma code (29 bits): with bit 28 set, the lemma is the first K bytes
of the form (bits 0-5) followed by the string at pool offset S (bits
6-27): "sykehusene" -> 7, "" is sykehus; so that most look-ups read no
pool page at all and the pool holds the few endings and the lemmas that
are no such thing ("gikk" -> gå), at offset bits 0-27.

With --apertium (Debian: apertium-nno-nob, lttoolbox's lt-proc), a
nynorsk form also gets the bokmål lemma of its nynorsk lemma, from
Apertium's nynorsk-bokmål translation: "teikn" -> teikn, tegn; "noreg"
-> noreg, norge; "sjukt" -> sjuk, syk; marked as such, so that the
classifier reads a nynorsk headline with the bokmål terms of its
gazetteer too ("smitteverntiltak" and "tiltak" find the same as
"smitteverntiltaka").  Same-story detection leaves them out: on the
dev part of the corpus they merged one more bokmål/nynorsk twin and
made one more false merge with all items on one day.  Apertium's analyser reads
each nynorsk entry's root; of the readings that are the root itself (or
a verb's infinitive: "styrkje" is Apertium's styrke), the bilingual
dictionary gives the bokmål lemma.  A root that one reading keeps as it
is ("helse", the noun, beside helse -> hilse, the verb) is a word of
both and gets nothing; else the first translation.

Folding: Latin-1 to UTF-8, letters to lower case (as helsefeed folds
words: utf8proc's simple lower case, which is Latin-1's for these).
"""
import os
import re
import struct
import subprocess
import sys
import tempfile

MAGIC = b"HFLEX\0\0\3"
BUCKET_BITS = 18
FIRST, LAST, LIST, DERIVED, NB = 1 << 30, 1 << 31, 1 << 29, 1 << 28, 1 << 31
SENTINEL = b"%%%%"
FNV_OFFSET, FNV_PRIME = 0xcbf29ce484222325, 0x100000001b3


def fnv1a(b):
    h = FNV_OFFSET
    for c in b:
        h = ((h ^ c) * FNV_PRIME) & 0xffffffffffffffff
    return h


def fold(latin1):
    return latin1.decode("latin-1").lower().encode("utf-8")


def read_aff(aff):
    """The compound flag, and the prefixes of each prefix flag (the
    dictionaries' prefixes strip nothing: "u", "gjen", "hoved" ...)."""
    cflag, pfx = None, {}
    with open(aff, "rb") as f:
        for line in f:
            p = line.split()
            if len(p) >= 2 and p[0] == b"COMPOUNDFLAG":
                cflag = p[1].decode("latin-1")
            elif len(p) >= 5 and p[0] == b"PFX":
                if p[2] != b"0":
                    sys.exit("mklexicon: %s: a prefix that strips: %r" % (aff, line))
                pfx.setdefault(p[1].decode("latin-1"), []).append(p[3])
    return cflag, pfx


def split_prefixed(root, fl, forms, pfx):
    """(prefix, form) of each form: the prefix that one of the entry's
    prefix flags put before another of its forms, or b""."""
    mine = [p for f in fl for p in pfx.get(f, ())]
    have = set(forms)
    out = []
    for w in forms:
        pre = b""
        if w != root:
            for p in mine:
                if w.startswith(p) and w[len(p):] in have:
                    pre = p
                    break
        out.append((pre, w))
    return out


def entries(dic):
    """(root, flags) of every line of a .dic file (the first is a count)."""
    with open(dic, "rb") as f:
        lines = f.read().split(b"\n")
    out = []
    for line in lines[1:]:
        line = line.split(b"\t")[0].strip()
        if not line or line.startswith(b"#"):
            continue
        root, _, flags = line.partition(b"/")
        out.append((root, flags.decode("latin-1")))
    return out


def expand(unmunch, dic, aff, ents):
    """The forms of every entry, in order, by one run of unmunch over a copy
    of the dictionary with a sentinel line after each entry."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.dic")
        with open(path, "wb") as f:
            f.write(b"%d\n" % (2 * len(ents)))
            for root, flags in ents:
                f.write(root + (b"/" + flags.encode("latin-1") if flags else b"") + b"\n")
                f.write(SENTINEL + b"\n")
        res = subprocess.run([unmunch, path, aff], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True)
    groups, cur = [], []
    for w in res.stdout.split(b"\n"):
        if w == SENTINEL:
            groups.append(cur)
            cur = []
        elif w:
            cur.append(w)
    if len(groups) != len(ents):
        sys.exit("mklexicon: %s: unmunch gave %d entries of %d" % (dic, len(groups), len(ents)))
    return groups


def lt_proc(args, lines):
    """For each line, its lexical unit of lt-proc ARGS (the text between
    ^ and $), or None when the line is not one unit."""
    res = subprocess.run(["lt-proc"] + args, input="\n".join(lines).encode() + b"\n",
                         stdout=subprocess.PIPE, check=True)
    out = res.stdout.decode().split("\n")[:len(lines)]
    if len(out) != len(lines):
        sys.exit("mklexicon: lt-proc %s: %d lines of %d" % (args[-1], len(out), len(lines)))
    return [m.group(1) if m else None
            for m in (re.fullmatch(r"\^([^$^]*)\$", l) for l in out)]


def nn_to_nb(roots, adir):
    """Folded nynorsk root -> folded bokmål lemma, by Apertium (see above)."""
    roots = sorted({r for r in roots
                    if r and not re.search(r"[\s^$/<>@*#\\]", r)})
    queries, owner = [], []
    units = lt_proc(["-w", os.path.join(adir, "nno-nob.automorf.bin")], roots)
    for r, unit in zip(roots, units):
        for a in (unit or "").split("/")[1:]:
            m = re.match(r"([^<*]+)(<.*>)$", a)
            if not m or "compound" in a or "<cmp>" in a:
                continue
            lem, tags = m.groups()
            if lem.lower() == r.lower() or tags.startswith("<vblex><inf>"):
                queries.append("^%s%s$" % (lem, tags))
                owner.append(r)
    found = {}
    for r, unit in zip(owner, lt_proc(["-b", os.path.join(adir, "nno-nob.autobil.bin")],
                                      queries)):
        for a in (unit or "").split("/")[1:2]:
            m = re.match(r"([^<@#]+)<", a)
            if m and " " not in m.group(1):
                found.setdefault(r, []).append(m.group(1).lower())
    out = {}
    for r, tr in found.items():
        if r.lower() not in tr:
            out[fold(r.encode("latin-1"))] = fold(tr[0].encode("latin-1"))
    return out


def main():
    args = sys.argv[1:]
    adir = None
    if "--apertium" in args:
        i = args.index("--apertium")
        if i + 1 >= len(args):
            sys.exit("usage: mklexicon.py OUT DICDIR [UNMUNCH] [--apertium DIR]")
        adir = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2:
        sys.exit("usage: mklexicon.py OUT DICDIR [UNMUNCH] [--apertium DIR]")
    out, ddir = args[0], args[1]
    unmunch = args[2] if len(args) > 2 else "unmunch"
    lemmas = {}       # folded form -> list of lemmas (bokmål first)
    flags = {}        # folded form -> FIRST | LAST
    nb = {}           # folded form -> its lemmas that are Apertium's
    for lang in ("nb_NO", "nn_NO"):
        dic, aff = os.path.join(ddir, lang + ".dic"), os.path.join(ddir, lang + ".aff")
        cflag, pfx = read_aff(aff)
        ents = entries(dic)
        groups = [split_prefixed(root, fl, forms, pfx)
                  for (root, fl), forms in zip(ents, expand(unmunch, dic, aff, ents))]
        # Roots that are some other entry's form (with no prefix) take
        # that entry's root.
        form_root = {}
        for (root, _), forms in zip(ents, groups):
            for pre, w in forms:
                if w != root and not pre:
                    form_root.setdefault(fold(w), fold(root))
        tr = {}
        if adir and lang == "nn_NO":
            tr = nn_to_nb([root.decode("latin-1") for root, _ in ents], adir)
        for (root, fl), forms in zip(ents, groups):
            r = fold(root)
            # Only an entry of an inflected form ("A-aksjene/R": itself
            # and one more form) whose root begins with the other root;
            # "test" stays test though it is also a form of "te".
            o = form_root.get(r)
            base = o if o and len(forms) <= 2 and r.startswith(o[:-1]) else r
            cpd = cflag is not None and cflag in fl
            for pre, w in forms + [(b"", root)]:
                # A prefix makes another word: "uviktig" is not viktig,
                # "gjenåpning" not åpning.
                lem = fold(pre) + base
                fw = fold(w)
                lst = lemmas.setdefault(fw, [])
                if lem not in lst:
                    lst.append(lem)
                nb.get(fw, set()).discard(lem)
                if not pre and base in tr and tr[base] not in lst:
                    lst.append(tr[base])
                    nb.setdefault(fw, set()).add(tr[base])
                if cpd:
                    flags[fw] = flags.get(fw, 0) | LAST | (FIRST if w == root else 0)

    pool, pool_off = bytearray(), {}

    def intern(s):
        o = pool_off.get(s)
        if o is None:
            o = pool_off[s] = len(pool)
            pool.extend(s + b"\0")
        return o

    def split(form, lem):
        """(K, ending) when the lemma is the form's first K bytes and an
        ending, else None."""
        k = 0
        while k < len(form) and k < len(lem) and form[k] == lem[k]:
            k += 1
        return (k, lem[k:]) if 2 <= k < 64 else None

    # The endings first: their offsets must fit in 22 bits.
    for fw, lst in lemmas.items():
        for l in lst:
            d = split(fw, l)
            if d:
                intern(d[1])
    if len(pool) >= 1 << 22:
        sys.exit("mklexicon: too many endings")

    def code(fw, l):
        d = split(fw, l)
        if d:
            return DERIVED | intern(d[1]) << 6 | d[0]
        o = intern(l)
        if o >= DERIVED:
            sys.exit("mklexicon: the pool is too large")
        return o

    lists, list_off = bytearray(), {}
    rows = []
    for fw, lst in lemmas.items():
        h = fnv1a(fw)
        if len(lst) == 1:
            v = code(fw, lst[0])
        else:
            key = tuple(code(fw, l) | (NB if l in nb.get(fw, ()) else 0) for l in lst)
            o = list_off.get(key)
            if o is None:
                o = list_off[key] = len(lists)
                lists.extend(struct.pack("<I", len(key)))
                for c in key:
                    lists.extend(struct.pack("<I", c))
            if o >= LIST:
                sys.exit("mklexicon: the lists are too large")
            v = o | LIST
        rows.append((h, v | flags.get(fw, 0)))
    # By bucket, then by the low 32 bits that the file keeps.
    rows.sort(key=lambda r: (r[0] >> (64 - BUCKET_BITS), r[0] & 0xffffffff))
    for a, b in zip(rows, rows[1:]):
        if a[0] >> (64 - BUCKET_BITS) == b[0] >> (64 - BUCKET_BITS) and \
           a[0] & 0xffffffff == b[0] & 0xffffffff:
            sys.exit("mklexicon: two forms share a key; change BUCKET_BITS")
    nb = 1 << BUCKET_BITS
    buckets, i = [], 0
    for b in range(nb + 1):
        while i < len(rows) and rows[i][0] >> (64 - BUCKET_BITS) < b:
            i += 1
        buckets.append(i)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<IIII8x", len(rows), BUCKET_BITS, len(lists), len(pool)))
        f.write(struct.pack("<%dI" % len(buckets), *buckets))
        f.write(struct.pack("<%dI" % len(rows), *(h & 0xffffffff for h, _ in rows)))
        f.write(struct.pack("<%dI" % len(rows), *(v for _, v in rows)))
        f.write(lists)
        f.write(pool)
    os.replace(tmp, out)
    print("mklexicon: %s: %d forms, %d strings, %d bytes"
          % (out, len(rows), len(pool_off), os.path.getsize(out)))


if __name__ == "__main__":
    main()
