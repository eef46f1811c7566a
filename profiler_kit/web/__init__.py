"""Framework-neutral request capture: the WSGI and ASGI cores and what they share.

Nothing here imports a web framework; the plugins in
:mod:`profiler_kit.plugins` add the few lines each framework needs.
"""
