"""``profiler-kit collect``: merge stores from many workers or hosts into one."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from profiler_kit.errors import ProfilerKitError, StoreError
from profiler_kit.store import Store, open_store

__all__ = ["collect", "find_stores"]

EXIT_SOMETHING_SKIPPED = 1
STORE_SUFFIXES = (".sqlite3", ".sqlite", ".db")
BATCH = 500


def find_stores(inputs: tuple[Path, ...], exclude: Path | None = None) -> list[Path]:
    """Files as given; directories searched recursively for store files (but ``exclude``)."""
    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            candidates = (p for p in item.rglob("*") if p.suffix in STORE_SUFFIXES)
            found += sorted(
                p for p in candidates if p.is_file() and (exclude is None or p.resolve() != exclude)
            )
        else:
            found.append(item)
    return list(dict.fromkeys(found))


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The merged store (created, or added to if it exists).",
)
def collect(inputs: tuple[Path, ...], output: Path) -> None:  # fmt: skip
    """Merge capture stores (files, or directories searched for *.sqlite3) into OUTPUT.

    A capture present in several inputs is kept once. An input that is
    missing, corrupt or not a profiler-kit store is reported and skipped; the
    others are still merged, and the exit status is 1 to say so.

    \b
    Example:
      profiler-kit collect /var/spool/app/*/captures.sqlite3 -o merged.sqlite3
      profiler-kit report merged.sqlite3 -o report.html
    """
    resolved_output = output.resolve()
    # The output found inside an input directory is not an input; given by name, it is an error.
    stores = find_stores(inputs, exclude=resolved_output)
    if not stores:
        raise ProfilerKitError("no store files found in the given inputs")
    skipped: list[str] = []
    added = seen = 0
    progress = click.progressbar(
        stores, label="Merging stores", file=sys.stderr, hidden=not sys.stderr.isatty()
    )
    with open_store(output) as merged, progress as bar:
        for path in bar:
            if path.resolve() == resolved_output:
                skipped.append(f"{path}: is the output itself")
                continue
            try:
                read, new = _merge_one(path, merged)
            except StoreError as error:
                skipped.append(str(error))
                continue
            seen += read
            added += new
    click.echo(
        f"{len(stores) - len(skipped)} store(s) merged into {output}: "
        f"{seen:,} captures read, {added:,} new, {seen - added:,} duplicates",
        err=True,
    )
    if skipped:
        click.echo(f"{len(skipped)} input(s) skipped:", err=True)
        for line in skipped:
            click.echo(f"  {line}", err=True)
        sys.exit(EXIT_SOMETHING_SKIPPED)


def _merge_one(path: Path, merged: Store) -> tuple[int, int]:
    read = new = 0
    with open_store(path, create=False) as source:
        batch = []
        for capture in source.iter_captures():
            batch.append(capture)
            if len(batch) >= BATCH:
                read, new = read + len(batch), new + merged.add_many(batch)
                batch = []
        if batch:
            read, new = read + len(batch), new + merged.add_many(batch)
    return read, new
