"""Fuzzing the store reader: damaged, truncated, foreign and future-schema files, odd payloads.

Every reading command (ls, ls --json, report --capture, the aggregate report,
the three exports) runs in-process on each fuzzed store and must end with
exit 0, or exit 2 with one ``profiler-kit: error:`` line: never an uncaught
exception, never a traceback, never a hang (see ``fuzzkit.hard_timeout``).
A capture whose payload cannot be read is skipped and counted, so the other
captures still make the report and the exports.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fuzzkit
from fuzzkit import (
    CPU_FORMAT,
    MEMORY_FORMAT,
    check_cli,
    command_name,
    dumps,
    fuzz_settings,
    invoke,
    json_scalars,
    json_texts,
    json_values,
    reader_commands,
    z,
)
from hypothesis import event, given
from hypothesis import strategies as st

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.capture.cpu import decode_profile
from profiler_kit.capture.memory_summary import decode_summary
from profiler_kit.errors import ProfilerKitError
from profiler_kit.store.sqlite import APPLICATION_ID, SCHEMA_VERSION

PAGE = 4096
HEADER_FIELDS = [  # (offset, width) of every field of SQLite's 100-byte file header
    (16, 2), (18, 1), (19, 1), (20, 1), (21, 1), (22, 1), (23, 1), (24, 4), (28, 4), (32, 4),
    (36, 4), (40, 4), (44, 4), (48, 4), (52, 4), (56, 4), (60, 4), (64, 4), (68, 4), (92, 4),
    (96, 4),
]  # fmt: skip
USER_VERSION_OFFSET = 60
APPLICATION_ID_OFFSET = 68


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh directory per example (function-scoped fixtures do not reset between examples)."""
    with tempfile.TemporaryDirectory(prefix="pk-fuzz-") as directory:
        yield Path(directory)


def run_readers(store: Path, out: Path, capture_id: str, **check: Any) -> dict[str, int | str]:
    outcomes = {}
    for args in reader_commands(store, out, capture_id):
        outcome = check_cli(invoke(args), args, **check)
        name = command_name(args)
        event(f"{name}: {outcome}")
        outcomes[name] = outcome
    return outcomes


# -- byte-level damage ------------------------------------------------------------------


@st.composite
def damage(draw: st.DrawFn, size: int) -> list[tuple[Any, ...]]:
    pages = max(size // PAGE, 1)
    offset = st.one_of(
        st.integers(100, size - 1),  # past the file header: damage SQLite may not notice
        st.integers(100, size - 1),
        st.integers(0, 99),  # the file header
        st.builds(lambda p, d: min(p * PAGE + d, size - 1), st.integers(0, pages - 1),
                  st.integers(0, 12)),  # b-tree page headers
    )  # fmt: skip
    field = st.sampled_from(HEADER_FIELDS)
    operation = st.one_of(
        st.tuples(st.just("flip"), offset, st.integers(1, 255)),
        st.tuples(st.just("overwrite"), offset, st.binary(min_size=1, max_size=64)),
        st.tuples(st.just("truncate"), st.integers(0, size - 1)),
        st.tuples(st.just("append"), st.binary(min_size=1, max_size=256), st.integers(1, 32)),
        st.tuples(st.just("zero-page"), st.integers(0, pages - 1)),
        st.tuples(st.just("header"), field, st.integers(0, 2**32 - 1)),
    )
    return draw(st.lists(operation, min_size=1, max_size=3))


def apply_damage(data: bytes, operations: list[tuple[Any, ...]]) -> bytes:
    buffer = bytearray(data)
    for operation in operations:
        kind = operation[0]
        if kind == "flip":
            _, offset, mask = operation
            if offset < len(buffer):
                buffer[offset] ^= mask
        elif kind == "overwrite":
            _, offset, chunk = operation
            buffer[offset : offset + len(chunk)] = chunk
        elif kind == "truncate":
            del buffer[operation[1] :]
        elif kind == "append":  # a chunk, repeated: whole pages without huge draws
            buffer += operation[1] * operation[2]
        elif kind == "zero-page":
            start = operation[1] * PAGE
            buffer[start : start + PAGE] = bytes(len(buffer[start : start + PAGE]))
        elif kind == "header":
            (offset, width), value = operation[1], operation[2]
            value %= 256**width
            if offset + width <= len(buffer):
                buffer[offset : offset + width] = value.to_bytes(width, "big")
    return bytes(buffer)


@given(data=st.data())
@fuzz_settings(weight=1.0)
def test_damaged_store_files(seed_store: bytes, seed_ids: list[str], data: st.DataObject) -> None:
    """Flipped, overwritten, zeroed, truncated or extended bytes, or edited header fields."""
    operations = data.draw(damage(len(seed_store)), label="damage")
    event(f"damage: {'+'.join(sorted({op[0] for op in operations}))}")
    with scratch() as directory:
        store = directory / "store.sqlite3"
        store.write_bytes(apply_damage(seed_store, operations))
        run_readers(store, directory, seed_ids[-1])


@given(version=st.integers(SCHEMA_VERSION + 1, 2**31 - 1) | st.sampled_from([2, 99, 2**31 - 1]))
@fuzz_settings(weight=0.25)
def test_future_schema_is_refused_with_upgrade_hint(
    seed_store: bytes, seed_ids: list[str], version: int
) -> None:
    """A store written by a newer profiler-kit: every reader says which schema and to upgrade."""
    data = bytearray(seed_store)
    data[USER_VERSION_OFFSET : USER_VERSION_OFFSET + 4] = struct.pack(">i", version)
    with scratch() as directory:
        store = directory / "store.sqlite3"
        store.write_bytes(bytes(data))
        for args in reader_commands(store, directory, seed_ids[-1]):
            result = invoke(args)
            assert check_cli(result, args, exits=(2,)) == 2
            assert f"uses store schema {version}" in result.stderr, result.stderr
            assert "upgrade" in result.stderr, result.stderr
        assert store.read_bytes() == bytes(data), "a newer store must be left untouched"


@given(application_id=st.integers(-(2**31), 2**31 - 1).filter(lambda v: v != APPLICATION_ID))
@fuzz_settings(weight=0.25)
def test_foreign_application_id_is_refused(
    seed_store: bytes, seed_ids: list[str], application_id: int
) -> None:
    """Another program's SQLite file (its own application_id): refused, named, untouched."""
    data = bytearray(seed_store)
    data[APPLICATION_ID_OFFSET : APPLICATION_ID_OFFSET + 4] = struct.pack(">i", application_id)
    with scratch() as directory:
        store = directory / "store.sqlite3"
        store.write_bytes(bytes(data))
        for args in reader_commands(store, directory, seed_ids[-1]):
            result = invoke(args)
            assert check_cli(result, args, exits=(2,)) == 2
            assert "not a profiler-kit store" in result.stderr, result.stderr
        assert store.read_bytes() == bytes(data), "a foreign file must be left untouched"


sql_names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                    max_size=12)  # fmt: skip


@given(
    content=st.one_of(
        st.binary(max_size=PAGE),
        st.binary(max_size=200).map(lambda b: b"SQLite format 3\x00" + b),
        st.text(max_size=200).map(str.encode),
    ),
    tables=st.lists(sql_names, max_size=3, unique_by=str.lower),
    user_version=st.integers(-(2**31), 2**31 - 1),
    as_sqlite=st.booleans(),
)
@fuzz_settings(weight=0.5)
def test_foreign_files(
    seed_ids: list[str], content: bytes, tables: list[str], user_version: int, as_sqlite: bool
) -> None:
    """Arbitrary bytes, or another program's SQLite database, given as the store."""
    with scratch() as directory:
        store = directory / "store.sqlite3"
        if as_sqlite:
            with contextlib.closing(sqlite3.connect(store)) as db:
                for name in tables:
                    quoted = name.replace('"', '""')
                    db.execute(f'CREATE TABLE "{quoted}" (x)')
                    db.execute(f'INSERT INTO "{quoted}" VALUES (?)', (content,))
                db.execute(f"PRAGMA user_version = {user_version}")
                db.commit()
        else:
            store.write_bytes(content)
        before = store.read_bytes()
        outcomes = run_readers(store, directory, seed_ids[-1])
        assert all(outcome != 0 for outcome in outcomes.values()), outcomes
        if store.read_bytes() != before:
            event("foreign file changed by a reader")


# -- payload columns ---------------------------------------------------------------------

FRAME_PARTS = st.text(max_size=12) | st.sampled_from(fuzzkit.HOSTILE)
frame_strings = st.one_of(
    st.tuples(FRAME_PARTS, FRAME_PARTS, st.integers(0, 10**6).map(str) | st.text(max_size=6)).map(
        "\x00".join
    ),
    st.tuples(FRAME_PARTS, FRAME_PARTS, st.text(max_size=8)).map(
        lambda t: f"{t[0]}\x00{t[1]}\x001\x01c{t[2]}\x01l5"
    ),
    st.text(max_size=30),
)
META_KEYS = ["start_time", "duration", "min_interval", "max_interval", "cpu_time",
             "target_description", "start_call_stack", "sys_path", "sys_prefixes"]  # fmt: skip


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` most of the time (hypothesis picks branches evenly, and shrinks to the first)."""
    return st.one_of(good, good, good, bad)


@st.composite
def cpu_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A consistent CPU profile document, then perhaps one field or element made wrong."""
    frames = draw(st.lists(frame_strings, max_size=6), label="frames")
    stacks = draw(
        st.lists(st.lists(st.integers(0, max(len(frames) - 1, 0)), max_size=5), max_size=5)
        if frames
        else st.lists(st.just([]), max_size=2),
        label="stacks",
    )
    samples = (
        draw(
            st.lists(
                st.tuples(st.integers(0, len(stacks) - 1), st.floats(0, 2)).map(list), max_size=6
            ),
            label="samples",
        )
        if stacks
        else []
    )
    meta = draw(
        st.dictionaries(st.sampled_from(META_KEYS) | st.text(max_size=6), json_values, max_size=5)
        | st.fixed_dictionaries({"sys_path": st.lists(st.text(max_size=10), max_size=3),
                                 "sys_prefixes": st.lists(st.text(max_size=10), max_size=3)}),
        label="meta",
    )  # fmt: skip
    document: dict[str, Any] = {
        "format": CPU_FORMAT, "frames": frames, "stacks": stacks, "samples": samples, "meta": meta,
    }  # fmt: skip
    damage = draw(st.sampled_from(["none", "none", "field", "element"]), label="damage")
    if damage == "field":
        key = draw(st.sampled_from([*document, "extra_key"]))
        if draw(st.booleans()):
            document.pop(key, None)
        else:
            document[key] = draw(json_values)
    elif damage == "element":
        key = draw(st.sampled_from(["frames", "stacks", "samples"]))
        items = document[key]
        if items:
            index = draw(st.integers(0, len(items) - 1))
            if key == "samples" and draw(st.booleans()):
                items[index][draw(st.integers(0, 1))] = draw(json_scalars)
            elif key == "stacks" and items[index] and draw(st.booleans()):
                items[index][draw(st.integers(0, len(items[index]) - 1))] = draw(json_scalars)
            else:
                items[index] = draw(json_values)
    return document


stack_frames = st.tuples(FRAME_PARTS, FRAME_PARTS, st.integers(0, 10**6)).map(list)
sites = st.fixed_dictionaries(
    {
        "bytes": st.integers(0, 2**40),
        "count": st.integers(0, 2**20),
        "stack": st.lists(stack_frames, max_size=4),
    }
)
MEMORY_COUNTS = ("peak_bytes", "total_bytes", "allocations", "leaked_bytes", "leaked_allocations")


@st.composite
def memory_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A consistent memory summary document, then perhaps one field or element made wrong."""
    document: dict[str, Any] = {
        "format": MEMORY_FORMAT,
        **{key: draw(st.integers(0, 2**40)) for key in MEMORY_COUNTS},
        "top_sites": draw(st.lists(sites, max_size=4)),
        "leaks": draw(st.lists(sites, max_size=2)),
        "notes": draw(st.lists(st.text(max_size=20) | st.sampled_from(fuzzkit.HOSTILE),
                               max_size=2)),
    }  # fmt: skip
    damage = draw(st.sampled_from(["none", "none", "field", "site"]), label="damage")
    if damage == "field":
        key = draw(st.sampled_from([*document, "extra_key"]))
        if draw(st.booleans()):
            document.pop(key, None)
        else:
            document[key] = draw(json_values)
    elif damage == "site" and document["top_sites"]:
        site = document["top_sites"][draw(st.integers(0, len(document["top_sites"]) - 1))]
        key = draw(st.sampled_from(["bytes", "count", "stack"]))
        if key == "stack" and site["stack"] and draw(st.booleans()):
            frame = site["stack"][draw(st.integers(0, len(site["stack"]) - 1))]
            frame[draw(st.integers(0, 2))] = draw(json_values)
        else:
            site[key] = draw(json_values)
    return document


def payloads(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """What a payload column may hold: compressed documents, compressed junk, raw junk."""
    return st.one_of(
        documents.map(lambda doc: z(dumps(doc))),
        documents.map(lambda doc: z(dumps(doc))),
        json_texts.map(z),
        st.binary(max_size=300),
        st.binary(max_size=300).map(z),
        documents.map(lambda doc: z(dumps(doc))).flatmap(
            lambda blob: st.integers(0, len(blob)).map(lambda cut: blob[:cut])
        ),
        st.none(),
        st.text(max_size=30),  # a TEXT value in a BLOB column
        st.integers(),
    )


extra_values = st.one_of(
    json_values.map(dumps),
    st.dictionaries(
        st.sampled_from(
            [
                "gc_s",
                "gc_collections",
                "python",
                "interval",
                "framework",
                "error",
                "rss_delta",
                "bench",
                "query",
            ]
        ),
        json_values,
    ).map(dumps),
    json_texts,
    st.binary(max_size=40),
    st.integers(),
    st.floats(),
)


def _update_row(store: Path, capture_id: str, values: dict[str, Any]) -> None:
    assignments = ", ".join(f"{column} = ?" for column in values)
    with contextlib.closing(sqlite3.connect(store)) as db:
        db.execute(
            f"UPDATE captures SET {assignments} WHERE id = ?",
            (*values.values(), capture_id),
        )
        db.commit()


def _decodes(decode: Any, blob: Any) -> bool | None:
    """True/False: the payload decodes or not; None: no payload, or a known decoder bug."""
    if not blob or not isinstance(blob, bytes):
        return None if not blob else False
    try:
        decode(blob)
    except ValueError:
        return False
    except Exception:
        return None
    return True


@given(
    data=st.data(),
    cpu=payloads(cpu_documents()),
    memory=payloads(memory_documents()),
    extra=extra_values,
    columns=st.sets(st.sampled_from(["cpu_profile", "memory_profile", "extra"]), min_size=1),
)
@fuzz_settings(weight=1.0)
def test_fuzzed_payload_columns(
    seed_store: bytes,
    seed_ids: list[str],
    data: st.DataObject,
    cpu: Any,
    memory: Any,
    extra: Any,
    columns: set[str],
) -> None:
    """One capture's cpu_profile, memory_profile and/or extra replaced by fuzzed values.

    The other captures are intact, so the aggregate report and the exports
    still succeed, skipping (and saying so) the capture that cannot be read.
    """
    target = data.draw(st.sampled_from(seed_ids), label="capture")
    values = {"cpu_profile": cpu, "memory_profile": memory, "extra": extra}
    values = {column: values[column] for column in columns}
    with scratch() as directory:
        store = directory / "store.sqlite3"
        store.write_bytes(seed_store)
        try:
            _update_row(store, target, values)
        except sqlite3.IntegrityError:  # NULL into the NOT NULL extra column
            event("rejected by SQLite")
            return
        outcomes = run_readers(store, directory, target)
    for name in ("ls", "ls --json"):
        assert outcomes[name] in (0, "store-extra"), (name, outcomes)
    unreadable = any(
        _decodes(decode, values[column]) is False
        for column, decode in (("cpu_profile", decode_profile), ("memory_profile", decode_summary))
        if column in values
    )
    if unreadable:
        event("a payload could not be decoded")
        assert outcomes["report --capture"] in (2, *fuzzkit.KNOWN_BUGS), outcomes
    for name in ("report", "export collapsed", "export speedscope", "export pprof"):
        # The other captures are readable: one bad capture never fails a whole command.
        assert outcomes[name] != 2, (name, outcomes)


# -- scalar columns -----------------------------------------------------------------------

SCALAR_COLUMNS = {  # column -> the Python types the reader expects
    "kind": (str,), "service": (str,), "host": (str,), "pid": (int,), "started_at": (float,),
    "wall_s": (float,), "cpu_s": (float,), "reason": (str,), "target": (str,),
    "method": (str, type(None)), "route": (str, type(None)), "path": (str, type(None)),
    "status": (int, type(None)), "exit_code": (int, type(None)), "trace_id": (str, type(None)),
    "span_id": (str, type(None)), "peak_memory": (int, type(None)),
    "allocated_bytes": (int, type(None)), "allocations": (int, type(None)),
}  # fmt: skip
sqlite_values = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    fuzzkit.edge_floats.filter(lambda f: f == f),
    st.text(max_size=20),
    st.sampled_from(fuzzkit.HOSTILE),
    st.binary(max_size=20),
)


def _well_typed(column: str, stored: Any) -> bool:
    """Whether what SQLite gives back is of the type the reader assumes, and in range."""
    if column in ("started_at",) and isinstance(stored, (int, float)):
        return abs(stored) < 1e10
    if column in ("wall_s", "cpu_s") and isinstance(stored, (int, float)):
        return abs(stored) < 1e15
    if isinstance(stored, int) and column in ("peak_memory", "allocated_bytes", "allocations"):
        return True
    return isinstance(stored, SCALAR_COLUMNS[column]) or (
        float in SCALAR_COLUMNS[column] and isinstance(stored, int)
    )


@given(
    data=st.data(),
    changes=st.dictionaries(st.sampled_from(sorted(SCALAR_COLUMNS)), sqlite_values, min_size=1,
                            max_size=4),
)  # fmt: skip
@fuzz_settings(weight=0.5)
def test_fuzzed_scalar_columns(
    seed_store: bytes, seed_ids: list[str], data: st.DataObject, changes: dict[str, Any]
) -> None:
    """Values of another type or out of range in the plain columns (SQLite keeps them as given)."""
    target = data.draw(st.sampled_from(seed_ids), label="capture")
    with scratch() as directory:
        store = directory / "store.sqlite3"
        store.write_bytes(seed_store)
        try:
            _update_row(store, target, changes)
        except sqlite3.IntegrityError:
            event("rejected by SQLite (NOT NULL)")
            return
        with contextlib.closing(sqlite3.connect(store)) as db:
            row = db.execute(
                f"SELECT {', '.join(changes)} FROM captures WHERE id = ?",
                (target,),
            ).fetchone()
        bad = [
            col for col, stored in zip(changes, row, strict=True) if not _well_typed(col, stored)
        ]
        if bad:
            event("ill-typed column")
        for args in reader_commands(store, directory, target):
            outcome = check_cli(invoke(args), args)
            event(f"{command_name(args)}: {outcome}")


# -- the decoders themselves ----------------------------------------------------------------


@given(blob=st.one_of(payloads(cpu_documents()), payloads(memory_documents())))
@fuzz_settings(weight=4.0)
def test_decoders_raise_only_value_error(blob: Any) -> None:
    """decode_profile and decode_summary: a result or ValueError, whatever the bytes."""
    if not isinstance(blob, bytes):
        return
    for decode, key in ((decode_profile, "decode_profile"), (decode_summary, "decode_summary")):
        try:
            decode(blob)
            event(f"{key}: decoded")
        except ValueError:
            event(f"{key}: ValueError")
        except Exception as error:
            fuzzkit.tolerate(error, candidates=[key])


@given(cpu=payloads(cpu_documents()), memory=payloads(memory_documents()))
@fuzz_settings(weight=2.0)
def test_capture_view_and_report_data(cpu: Any, memory: Any) -> None:
    """CaptureView.load: a view or CorruptCaptureError; a loaded view always renders."""
    from profiler_kit.reports.render import render_capture_report

    capture = fuzzkit.make_capture(
        cpu_profile=cpu if isinstance(cpu, bytes) else None,
        memory_profile=memory if isinstance(memory, bytes) else None,
    )
    try:
        view = CaptureView.load(capture)
        html = render_capture_report(view)
        html.encode("utf-8")
        json.loads(html.split('type="application/json">', 1)[1].split("</script>", 1)[0])
        event("rendered")
    except ProfilerKitError:
        event("CorruptCaptureError")
    except Exception as error:
        fuzzkit.tolerate(error)
