"""Transitional alias of ``deqnet.models.blocks`` for ``deqnet.analysis.layers`` only.

That module is being split on another branch; once the split lands and imports
``deqnet.models.blocks`` directly, delete this file.
"""

from deqnet.models.blocks import small_nonlinearity

__all__ = ["small_nonlinearity"]
