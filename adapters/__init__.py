"""Pure partner-format codecs: decode(bytes) -> canonical, encode(canonical) -> bytes.

Which codec reads what is :mod:`adapters.registry` (by content); how EDIFACT is read, one
:class:`adapters.edifact.policy.ReadPolicy`.
"""
