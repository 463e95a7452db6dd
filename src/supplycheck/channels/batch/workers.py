"""Scoring in worker processes, chunk by chunk, results kept in input order."""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterable, Iterator, Mapping

from ...errors import SupplycheckError
from ...rulebase import RuleBase, load_rulebase
from .problems import DEFAULT_CHUNK_SIZE
from .readers import JsonLines, Record
from .scoring import Scorer
from .summary import Summary

_worker: Scorer | None = None
_worker_error: Exception | None = None
_inherited: Scorer | None = None  # the caller's scorer, ready, in a worker started by fork


def _die_with_parent(parent: int) -> None:
    """Make this worker end when the main process ends, even by `kill -9` (which leaves it no
    chance to stop its workers): Linux delivers SIGKILL on the parent's death; elsewhere a
    thread watches the parent's process id."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init_worker(rules_dir: str, content_hash: str, lang: str, parent: int) -> None:
    """Once per worker process: end with the main process, ignore Ctrl-C (the main process
    stops the run), take the caller's rule base (with its compiled ruleset and validator) when
    forked from it, else load it and check it is the one the run started with."""
    global _worker, _worker_error
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if (_inherited is not None and _inherited.rulebase.content_hash == content_hash
                and _inherited.rulebase.lang == lang):
            _worker = _inherited
        else:
            rulebase = load_rulebase(rules_dir, lang=lang)  # the run's language, for `text` fields
            if rulebase.content_hash != content_hash:
                raise SupplycheckError(f"{rules_dir}: the rule base changed on disk during the run")
            _worker = Scorer(rulebase)
    except SupplycheckError as exc:
        _worker_error = exc
    # The rule base lives as long as the process: keep it out of garbage collection, and collect
    # less often (scoring makes many short-lived objects and no reference cycles).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _score_chunk(fmt: str, source: str, items: Any, with_source: bool) -> tuple[Any, Summary, Any]:
    if _worker is None:
        raise _worker_error or SupplycheckError("worker process not initialised")
    return _worker.chunk(fmt, source, items, with_source)


def _mp_context() -> multiprocessing.context.BaseContext:
    """`fork` where there is one: workers start at once and never re-run the caller's main
    module (spawn would, from a script without a `__main__` guard or from standard input).
    Workers are started before this module starts any thread, and take the caller's rule base."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while worker processes are started (from the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _chunks(records: Iterable[Record | Mapping[str, Any]], size: int) -> Iterator[tuple[str, list]]:
    """Consecutive records of one source as (source, [(line, fields, problem), ...]).
    A plain mapping is a record of source `<records>`, numbered from 1."""
    source: str | None = None
    items: list = []
    for number, record in enumerate(records, 1):
        if isinstance(record, Record):
            src, item = record.source, (record.line, record.fields, record.problem)
        else:
            src, item = "<records>", (number, dict(record), None)
        if src != source or len(items) >= size:
            if items:
                yield source or "", items
            source, items = src, []
        items.append(item)
    if items:
        yield source or "", items


def _score_chunks(rulebase: RuleBase, chunks: Iterator[tuple[str, Any, Any]], fmt: str,
                  workers: int, with_source: bool = False) -> Iterator[tuple[Any, int, Any, Summary, Any]]:
    """(tag, number of records, output, summary, LinesSeen or None) per chunk, in input order.

    The first chunk is scored in this process (a small input never starts worker processes);
    the rest go to `workers` processes, each loading the rule base once, with a bounded number
    of chunks in flight so memory does not grow with the input.
    """
    local: Scorer | None = None
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None) if workers > 1 else None
    if second is None:
        local = Scorer(rulebase)
        for source, items, tag in itertools.chain([first], chunks):
            yield (tag, _count(items), *local.chunk(fmt, source, items, with_source))
        return
    global _inherited
    local = _inherited = Scorer(rulebase).warm()  # compiled once, here, and inherited by forked workers
    executor = ProcessPoolExecutor(
        max_workers=workers, mp_context=_mp_context(),
        initializer=_init_worker, initargs=(str(rulebase.directory), rulebase.content_hash, rulebase.lang,
                                            os.getpid()))
    try:
        pending: deque[tuple[Any, int, Future]] = deque()

        def submit(chunk: tuple[str, list, Any]) -> None:
            source, items, tag = chunk
            pending.append((tag, _count(items), executor.submit(_score_chunk, fmt, source, items, with_source)))

        with _sigint_ignored():  # the workers start now and inherit it (no traceback on Ctrl-C)
            submit(second)
        # Score the first chunk here while the workers start.
        yield (first[2], _count(first[1]), *local.chunk(fmt, first[0], first[1], with_source))
        limit = 4 * workers
        for chunk in chunks:
            submit(chunk)
            while len(pending) >= limit:
                tag, n, future = pending.popleft()
                yield (tag, n, *future.result())
        while pending:
            tag, n, future = pending.popleft()
            yield (tag, n, *future.result())
    except BrokenProcessPool as exc:
        raise SupplycheckError(f"a worker process stopped unexpectedly ({exc}); no output was written") from None
    except KeyboardInterrupt:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        # Waiting (for at most the chunks in flight) lets the pool close its pipes before the
        # interpreter's exit hook uses them: no "Exception ignored" noise on a failed write.
        executor.shutdown(wait=True, cancel_futures=True)


def score_records(rulebase: RuleBase, records: Iterable[Record | Mapping[str, Any]], *,
                  workers: int = 1, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[dict[str, Any]]:
    """The contract's result of each record, in order, lazily: records are mappings of intake
    fields, or Records from `read_intakes`. With `workers` > 1, scoring runs in that many
    processes (each loads the rule base from `rulebase.directory` once)."""
    chunks = ((source, items, None) for source, items in _chunks(records, chunk_size))
    for _, _, results, _, _ in _score_chunks(rulebase, chunks, "dicts", workers):
        yield from results


def _count(items: Any) -> int:
    if isinstance(items, JsonLines):
        return len(items.lines)
    return len(items) if isinstance(items, list) else items.batch.num_rows  # arrow.ArrowRows
