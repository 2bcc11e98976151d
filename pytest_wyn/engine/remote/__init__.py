"""The shared, signed tier behind the local compile cache (README: Share the cache).

``tier.RemoteCache`` is what the rest of the engine uses; the protocols are in
``http`` and ``redisstore``, trust in ``signing``, what is shared in ``manifest``.
"""
