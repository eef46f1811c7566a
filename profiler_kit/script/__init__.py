"""Profiling a script or module: ``profiler-kit run``.

``runner`` executes the target under the profilers and trims the runner's
own frames, ``capture`` turns the result into a stored capture, ``summary``
prints what the terminal shows afterwards.
"""
