"""Capture engines: what turns running code into CPU and memory data.

``cpu`` wraps pyinstrument and the compact trace encoding, ``memory`` the
memray tracker, ``sampler`` the hub thread that samples other threads from
outside, ``gcwatch`` and ``rss`` the collector and resident-memory probes.
Nothing here knows about web frameworks, scripts or the store.
"""
