"""Framework plugins: thin glue between a web framework and the profiler-kit core.

Each plugin imports its framework lazily and names the extra to install when
it is missing, so ``import profiler_kit.plugins`` itself never fails.
"""
