"""it_corpus - helsefeed's judgement on the frozen test part of the
labelled corpus (tests/data/corpus/): same-story recall and false
merges, the worst case of every item on one day, and per-category
precision and recall, for all items and for the nynorsk ones.  Prints
the figures, and fails when any is worse than tests/corpus/floor.json.
"""
import json
import os
import subprocess
import sys

from itlib import BIN, SRC, check, run_main

TMP = os.environ["HF_TMP"]


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        print("no binary in $HELSEFEED")
        return 77
    os.makedirs(TMP, exist_ok=True)
    out = os.path.join(TMP, "figures.json")
    r = subprocess.run([sys.executable, os.path.join(SRC, "tests", "corpus", "evaluate.py"),
                        BIN, "--part", "test", "--json", out, "--workdir", TMP],
                       capture_output=True, text=True, timeout=600)
    sys.stdout.write(r.stdout)
    if not check(r.returncode == 0, "evaluate.py: exit %d: %s" % (r.returncode, r.stderr)):
        return 1
    with open(out, encoding="utf-8") as f:
        got = json.load(f)
    with open(os.path.join(SRC, "tests", "corpus", "floor.json"), encoding="utf-8") as f:
        floor = json.load(f)
    s = got["same_story"]
    check(s["recall"] >= floor["same_story_recall"],
          "same-story recall %s below %s" % (s["recall"], floor["same_story_recall"]))
    check(s["false_merges"] <= floor["false_merges"],
          "%d false merges on the test part: %r" % (s["false_merges"], s["false_pairs"]))
    w = got["worst_case"]
    check(w["false_merges"] <= floor["worst_case_false_merges"],
          "%d false merges with every item on one day: %r" % (w["false_merges"], w["false_pairs"]))
    for subset, cats in floor["categories"].items():
        for c, (p, rc) in cats.items():
            f = got["categories"][subset][c]
            check((f["precision"] or 0) >= p and (f["recall"] or 0) >= rc,
                  "category %s (%s): precision %s recall %s, below %s %s"
                  % (c, subset, f["precision"], f["recall"], p, rc))
    return 0


if __name__ == "__main__":
    run_main(main)
