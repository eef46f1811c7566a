"""Coverage-guided fuzzing (atheris/libFuzzer) of the payload decoders and check_token.

Not collected by pytest (not named test_*); run by hand for a bounded number
of inputs::

    pip install atheris
    python tests/fuzz/atheris_decode.py -runs=200000          # count what breaks, keep going
    python tests/fuzz/atheris_decode.py --strict -runs=200000 # stop at the first crash

The first input byte picks the target; the rest is the payload's JSON text
(compressed here, as the store holds it) or the token. libFuzzer starts from
real documents (seeds written to a temporary corpus) and mutates them, so it
reaches the JSON-shape checks rather than dying in zlib. Outside ``--strict``
an unexpected exception is counted by (target, exception type, innermost
function) and the run goes on; the summary is printed at exit.
"""

from __future__ import annotations

import collections
import contextlib
import sys
import tempfile
import traceback
import zlib
from pathlib import Path

import atheris

from profiler_kit.capture.cpu import decode_profile
from profiler_kit.capture.memory_summary import decode_summary
from profiler_kit.store.blob import unpack
from profiler_kit.testing import cpu_blob, frame_string, memory_blob
from profiler_kit.web.tokens import TokenCheck, check_token, make_token

SECRET = "atheris-secret"
TARGETS = ("decode_profile", "decode_summary", "check_token")
STRICT = "--strict" in sys.argv
findings: collections.Counter[tuple[str, str, str]] = collections.Counter()
runs: collections.Counter[str] = collections.Counter()
RUNS = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("-runs=")), 50_000)


def _seeds() -> list[bytes]:
    cpu = unpack(
        cpu_blob([([frame_string("main", "/app/m.py", 1), frame_string("f", "/app/f.py", 9)], 0.5)])
    )
    memory = unpack(memory_blob([(4096, 3, [("f", "/app/f.py", 9)])]))
    token = make_token(SECRET, 600).encode()
    return [b"\x00" + cpu, b"\x01" + memory, b"\x02" + token, b"\x02pk1.1.a.b"]


calls = 0


def one_input(data: bytes) -> None:
    global calls
    calls += 1
    try:
        if data:
            target = TARGETS[data[0] % len(TARGETS)]
            runs[target] += 1
            _one(target, data[1:])
    finally:
        if calls == RUNS:  # libFuzzer exits from C: atexit would not run
            _summary()


def _one(target: str, body: bytes) -> None:
    try:
        if target == "check_token":
            token = body.decode("utf-8", "surrogateescape")
            assert isinstance(check_token(SECRET, token), TokenCheck)
            return
        decode = decode_profile if target == "decode_profile" else decode_summary
        for blob in (zlib.compress(body), body):
            with contextlib.suppress(ValueError):
                decode(blob)
    except Exception as error:
        if STRICT:
            raise
        innermost = traceback.extract_tb(error.__traceback__)[-1].name
        key = (target, type(error).__name__, innermost)
        if key not in findings:
            print(f"\nNEW FINDING {key}: {str(error)[:200]!r}", file=sys.stderr)
        findings[key] += 1


def _summary() -> None:
    print("\natheris inputs per target:", dict(runs), file=sys.stderr)
    if not findings:
        print("no unexpected exception", file=sys.stderr)
    for (target, kind, where), count in findings.most_common():
        print(f"  {target}: {kind} in {where}() x{count}", file=sys.stderr)


# JSON tokens libFuzzer would take long to assemble byte by byte.
DICTIONARY = ["Infinity", "-Infinity", "NaN", "1e400", "1" + "0" * 400, "[[[[[[[[", "{}", "[]",
              '"format"', '"frames"', '"stacks"', '"samples"', '"meta"', '"top_sites"', '"leaks"',
              '"bytes"', '"count"', '"stack"', '"sys_prefixes"', '"sys_path"', "null", "true",
              "\\u0000", "\\ud800", "pk1.", "\u00b2"]  # fmt: skip


def main() -> None:
    corpus = Path(tempfile.mkdtemp(prefix="pk-atheris-corpus-"))
    for index, seed in enumerate(_seeds()):
        (corpus / f"seed-{index}").write_bytes(seed)
    dictionary = corpus.parent / f"{corpus.name}.dict"
    dictionary.write_text(
        "".join(
            '"' + "".join(f"\\x{b:02x}" for b in token.encode()) + '"\n' for token in DICTIONARY
        )
    )
    argv = [arg for arg in sys.argv if arg != "--strict" and not arg.startswith("-runs=")]
    # Coverage feedback from profiler-kit's own code (and the standard library it calls).
    atheris.instrument_all()
    options = [f"-runs={RUNS}", "-max_len=4096", f"-dict={dictionary}"]
    atheris.Setup([*argv, *options, str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
