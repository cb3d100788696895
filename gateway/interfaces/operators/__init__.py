"""Operators' tools: read, group, replay and purge dead letters; the audit trail.

:mod:`gateway.interfaces.operators.deadletters` is pure logic over header dictionaries (unit-tested
without a broker); :mod:`gateway.interfaces.operators.store` carries it out on RabbitMQ.
"""

from gateway.interfaces.operators.deadletters import (
    DeadLetter,
    Group,
    Selector,
    group_dead_letters,
    parse_since,
)

__all__ = ["DeadLetter", "Group", "Selector", "group_dead_letters", "parse_since"]
