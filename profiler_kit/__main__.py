"""``python -m profiler_kit`` is the same as the ``profiler-kit`` command."""

from profiler_kit.cli import main

if __name__ == "__main__":
    main()
