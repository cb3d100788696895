"""One thread for the worker's synchronous work, handed over in batches.

The worker's decisions (journal, pipeline) run one at a time, in order, in a thread of
their own so that the asyncio loop keeps the connection alive during a long manifest.
Handing each call over with ``loop.run_in_executor`` costs a thread wake-up one way and a
write to the loop's self-pipe the other, for every call: with three calls per small
message (decide, record, ...) those hand-overs were 7 % of the gateway's working time
(issue #8, py-spy). :class:`SerialThread` hands over whatever has queued up as one batch
and returns the results with one wake-up of the loop per batch (or per
``flush_after`` seconds of work, so the first results of a long batch are not held back).

Calls submitted with the same ``group`` that happen to run one after another can share a
context (the worker runs consecutive completions in one journal transaction). If the
shared context fails, each call of the group is run again on its own, so one call's
failure never becomes another's.

>>> import asyncio
>>> async def demo() -> list[int]:
...     serial = SerialThread("demo")
...     try:
...         return list(await asyncio.gather(*(serial.run(lambda i=i: i * i) for i in range(4))))
...     finally:
...         serial.shutdown()
>>> asyncio.run(demo())
[0, 1, 4, 9]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Call:
    fn: Callable[..., Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    group: str | None
    prepare: Callable[[], Any] | None = None
    prepared: _Done | None = None

    def call(self) -> Any:
        if self.prepare is None:
            return self.fn()
        assert self.prepared is not None
        return self.fn(self.prepared.get)


@dataclass(slots=True)
class _Done:
    call: _Call
    result: Any = None
    error: BaseException | None = None

    def get(self) -> Any:
        """The result, or the error raised again."""
        if self.error is not None:
            raise self.error
        return self.result


class SerialThread:
    """Run callables one at a time, in submission order, in one thread; await their results.

    ``groups`` maps a group name to a factory of the context manager that consecutive calls
    of that group share (for example one journal unit of work). ``prepare_group`` names the
    group whose context the *preparations* of one batch share: a call submitted with
    ``prepare=p`` has ``p`` run, with the other preparations of its batch, before any call of
    the batch, and gets a callable that returns ``p``'s result (or raises its error).
    """

    def __init__(
        self,
        name: str,
        *,
        groups: dict[str, Callable[[], AbstractContextManager[Any]]] | None = None,
        prepare_group: str | None = None,
        flush_after: float = 0.01,
    ) -> None:
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=name
        )
        self._groups = dict(groups or {})
        self._prepare_group = prepare_group
        self._flush_after = flush_after
        self._lock = threading.Lock()
        self._pending: deque[_Call] = deque()
        self._draining = False
        self.batches = 0  # how many hand-overs there were (tests and curiosity)

    def run(
        self,
        fn: Callable[..., T],
        *,
        group: str | None = None,
        prepare: Callable[[], Any] | None = None,
    ) -> asyncio.Future[T]:
        """Queue ``fn``; the returned future (of the running loop) gets its result or error.

        With ``prepare``, ``fn`` is called with one argument: a callable giving what
        ``prepare`` returned (or raising what it raised).
        """
        loop = asyncio.get_running_loop()
        call = _Call(fn, loop.create_future(), loop, group, prepare)
        with self._lock:
            self._pending.append(call)
            start = not self._draining
            self._draining = True
        if start:
            self.executor.submit(self._drain)
        return call.future

    def shutdown(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait)

    # ------------------------------------------------------------------ the thread
    def _take(self) -> list[_Call]:
        with self._lock:
            batch = list(self._pending)
            self._pending.clear()
            if not batch:
                self._draining = False
            return batch

    def _drain(self) -> None:
        while batch := self._take():
            self.batches += 1
            self._prepare(batch)
            done: list[_Done] = []
            flushed = time.perf_counter()
            i = 0
            while i < len(batch):
                j = i + 1
                group = batch[i].group
                if group is not None and group in self._groups:
                    while j < len(batch) and batch[j].group == group:
                        j += 1
                    done.extend(self._run_group(batch[i:j], self._groups[group]))
                else:
                    done.append(_run(batch[i]))
                i = j
                if time.perf_counter() - flushed >= self._flush_after and i < len(batch):
                    _settle(done)
                    done, flushed = [], time.perf_counter()
            _settle(done)

    def _prepare(self, batch: list[_Call]) -> None:
        calls = [c for c in batch if c.prepare is not None]
        if not calls:
            return
        steps = [_Call(c.prepare, c.future, c.loop, None) for c in calls if c.prepare]
        context = self._groups.get(self._prepare_group or "")
        prepared = (
            self._run_group(steps, context) if context is not None else [_run(s) for s in steps]
        )
        for c, p in zip(calls, prepared, strict=True):
            c.prepared = p

    def _run_group(
        self, calls: list[_Call], context: Callable[[], AbstractContextManager[Any]]
    ) -> list[_Done]:
        if len(calls) > 1:
            results: list[_Done] = []
            try:
                with context():
                    for call in calls:
                        results.append(_Done(call, call.call()))
                return results
            except Exception:
                pass  # each call again on its own: one call's failure is not the others'
        return [_run(call, within=context()) for call in calls]


def _run(call: _Call, within: AbstractContextManager[Any] | None = None) -> _Done:
    try:
        if within is None:
            return _Done(call, call.call())
        with within:
            return _Done(call, call.call())
    except BaseException as exc:  # handed to the awaiting coroutine
        return _Done(call, error=exc)


def _settle(done: list[_Done]) -> None:
    """Hand results to their loops: one wake-up per loop for the whole list."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Done]] = {}
    for d in done:
        by_loop.setdefault(d.call.loop, []).append(d)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(_set_all, items)


def _set_all(items: list[_Done]) -> None:
    for d in items:
        if d.call.future.cancelled():
            continue
        if d.error is not None:
            d.call.future.set_exception(d.error)
        else:
            d.call.future.set_result(d.result)


__all__ = ["SerialThread"]
