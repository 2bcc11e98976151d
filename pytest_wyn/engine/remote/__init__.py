"""The shared, signed tier behind the local compile cache (docs/remote-cache.md).

``tier.RemoteCache`` is what the rest of the engine uses; the protocols are in
``http`` and ``redisstore``, trust in ``signing``, what is shared in ``manifest``.
"""
