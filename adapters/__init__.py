"""Pure partner-format codecs: decode(bytes) -> canonical, encode(canonical) -> bytes."""
