"""CPU per message of the pure pipeline (``InboundPipeline.process``), no broker, against baselines.

Usage::

    python bench/bench_pipeline.py                    # a, b and c below, 300 small messages each
    python bench/bench_pipeline.py --parts cuscar,ministry -n 500
    python bench/bench_pipeline.py --parts manifest --profile out.html   # pyinstrument, one part
    python bench/bench_pipeline.py --snapshot DIR     # canonical + signed-content XML of the samples
    python bench/bench_pipeline.py --compare DIR      # ... compared with an earlier snapshot

The pipeline is built as the worker builds it (``gateway.bootstrap``: signer, ministry desk,
trust store, LPCO registry), with a temporary state directory and an in-memory SQLite journal.
Four inputs, each next to a baseline run in the same process, one after the other:

* **cuscar**: N unique 1-BL CUSCARs (``bench.common.small_cuscar``); baseline: pydifact
  parsing the same texts into segments;
* **ministry**: N unique certificates of origin signed with the commerce ministry's
  development key (``DevPki``, as ``bench/run.py`` does); baseline: lxml parsing and
  serialising the same signed bytes;
* **worker**: the worker's whole decision path for N 1-BL CUSCARs (arrival, pipeline,
  decision, completion, on a file-backed SQLite journal, handed over in batches as
  ``edigw run`` does); baseline: the pure pipeline on as many other 1-BL CUSCARs, so the
  ratio is what the worker adds around the pipeline;
* **manifest**: the 10,000-bill CUSCAR of ``bench/gen_cuscar.py`` (check digits made valid;
  ``--bills N`` for another size, 5,000 bills a message);
  baseline: pydifact parsing it; also the peak RSS growth of the pipeline run (VmHWM reset
  through ``/proc/self/clear_refs`` just before, so earlier parts do not count).

CPU time (``time.process_time``) throughout: the machine is shared, waiting for a core is
not work. Ratios are gateway / baseline (lower is better for CPU, as issue #8 states it for
the manifest). ``--snapshot``/``--compare`` is the differential check of optimisations: the
canonical XML of every sample and test input must stay the same, byte for byte (the values
that change per run, ids and times, are replaced by placeholders first).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from bench.common import small_cuscar, valid_cuscar  # noqa: E402
from gateway.bootstrap import Gateway, bootstrap  # noqa: E402
from gateway.config import Partner, load  # noqa: E402
from gateway.service.pipeline import InboundPipeline, Outcome  # noqa: E402
from gateway.storage.journal import SqliteJournal  # noqa: E402

MINISTRY_SAMPLE = ROOT / "samples" / "ministries" / "ubl-certificate-of-origin.xml"


def vm_kib(field_name: str) -> int:
    """A field of /proc/self/status in KiB (VmHWM: peak resident set, VmRSS: now)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux: ``5`` to clear_refs); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@contextlib.contextmanager
def gateway(state: Path) -> Iterator[Gateway]:
    env = {
        "EDIGW_STATE_DIR": str(state),
        "EDIGW_MODE": "development",  # generated keys and anchors (issue #14)
        "EDIGW_JOURNAL_BACKEND": "sqlite",
        "EDIGW_JOURNAL_PATH": ":memory:",
    }
    gw = bootstrap(load(env=env))
    try:
        yield gw
    finally:
        gw.journal.close()


def cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    """CPU seconds of one call, and its result."""
    started = time.process_time()
    result = fn()
    return time.process_time() - started, result


def pydifact_parse(texts: list[str]) -> int:
    from pydifact.segmentcollection import Interchange

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sum(sum(1 for _ in Interchange.from_str(t).segments) for t in texts)


def lxml_round_trip(docs: list[bytes]) -> int:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return sum(len(etree.tostring(etree.fromstring(d, parser))) for d in docs)


def run_all(pipeline: InboundPipeline, inputs: list[bytes], partner: Partner) -> list[Outcome]:
    outcomes = []
    for i, data in enumerate(inputs):
        ident = f"bench-{i}-{uuid.uuid4().hex[:8]}"
        outcomes.append(pipeline.process(data, partner, ident, ident))
    return outcomes


def check_accepted(outcomes: list[Outcome], documents_each: int = 1) -> None:
    for o in outcomes:
        if o.rejection is not None or len(o.routed) != documents_each:
            raise SystemExit(f"input not accepted: {o.rejection}")


def ministry_docs(gw: Gateway, n: int, first: int = 0) -> list[bytes]:
    from gateway.domain.xmlsafe import parse
    from gateway.security.trust import DevPki, trust_settings

    ts = trust_settings(gw.settings)
    pki = DevPki.ensure(ts.state_dir, ["commerce"], ts.directory)
    template = MINISTRY_SAMPLE.read_bytes()
    out = []
    for i in range(first, first + n):
        doc = template.replace(b"COO-EG-2026-004711", b"COO-BENCH-%07d" % i).replace(
            b"3f1c2a8e-6b1d-4c55-9b61-0c1f4f7e2a10", str(uuid.uuid4()).encode()
        )
        out.append(pki.sign("commerce", parse(doc)))
    return out


def row(label: str, ours: float, base: float, per: int, base_label: str) -> None:
    print(
        f"| {label} | {1000 * ours / per:.2f} ms | {1000 * base / per:.2f} ms ({base_label}) "
        f"| {ours / base:.2f} |"
    )


def bench(parts: list[str], n: int, profile: Path | None, bills: int = 10_000) -> None:
    print("| input | pipeline CPU per message | baseline CPU per message | ratio |")
    print("|---|---|---|---|")
    with (
        tempfile.TemporaryDirectory(prefix="edigw-bench-pipeline-") as tmp,
        gateway(Path(tmp)) as gw,
    ):
        apcs = gw.settings.partners["apcs"]
        commerce = gw.settings.partners["commerce"]
        # Warm up: schemas, directories, first-use caches; not measured.
        check_accepted(run_all(gw.pipeline, [small_cuscar(10_000_000 + i) for i in range(3)], apcs))
        check_accepted(run_all(gw.pipeline, ministry_docs(gw, 3, first=10_000_000), commerce))
        profiler = _profiler(profile)
        if "cuscar" in parts:
            inputs = [small_cuscar(i) for i in range(n)]
            texts = [d.decode("ascii") for d in inputs]
            with profiler("cuscar"):
                ours, outcomes = cpu(lambda: run_all(gw.pipeline, inputs, apcs))
            check_accepted(outcomes)
            base, _ = cpu(lambda: pydifact_parse(texts))
            row(f"1-BL CUSCAR (x{n}, {len(inputs[0])} B)", ours, base, n, "pydifact parse")
        if "ministry" in parts:
            docs = ministry_docs(gw, n)
            with profiler("ministry"):
                ours, outcomes = cpu(lambda: run_all(gw.pipeline, docs, commerce))
            check_accepted(outcomes)
            base, _ = cpu(lambda: lxml_round_trip(docs))
            row(
                f"certificate of origin (x{n}, {len(docs[0])} B)",
                ours,
                base,
                n,
                "lxml parse + serialise",
            )
        if "worker" in parts:
            worker_part(n, apcs, profiler)
        if "manifest" in parts:
            data = valid_cuscar(bills)
            text = data.decode("ascii")
            messages = data.count(b"UNH+")
            rss_before = vm_kib("VmRSS")
            reset = reset_peak_rss()
            with profiler("manifest"):
                ours, outcomes = cpu(lambda: run_all(gw.pipeline, [data], apcs))
            peak = vm_kib("VmHWM")
            check_accepted(outcomes, messages)
            signed = sum(len(r.signed_xml) for r in outcomes[0].routed)
            del outcomes
            base, _ = cpu(lambda: pydifact_parse([text]))
            label = f"{bills // 1000}k-BL" if bills % 1000 == 0 else f"{bills}-BL"
            row(f"{label} CUSCAR ({len(data) / 1e6:.1f} MB)", ours, base, 1, "pydifact parse")
            growth = (peak - rss_before) * 1024
            print(
                f"\n{label} manifest: peak RSS growth {growth / 1e6:.0f} MB = "
                f"{growth / len(data):.1f}x the file ({'VmHWM reset' if reset else 'VmHWM NOT reset'}); "
                f"{messages} message(s), {signed / 1e6:.1f} MB signed"
            )


def worker_part(
    n: int, partner: Partner, profiler: Callable[[str], contextlib.AbstractContextManager[None]]
) -> None:
    """The worker's decision path per small CUSCAR against the pure pipeline.

    What the decision thread of ``edigw run`` does for a message, minus the broker: the
    arrival, the pipeline, the decision's journal transaction, the completion, handed over
    by the worker's own ``SerialThread`` in batches as the broker's deliveries would come
    (``prefetch`` at a time), on a file-backed SQLite journal as in production. Its CPU per
    message bounds one gateway process's throughput (with the asyncio loop's share, see
    ``bench/run.py``'s CPU row).
    """
    import asyncio

    from gateway.messaging.worker import Delivery, Worker

    with tempfile.TemporaryDirectory(prefix="edigw-bench-worker-") as tmp:
        env = {
            "EDIGW_STATE_DIR": tmp,
            "EDIGW_MODE": "development",
            "EDIGW_JOURNAL_BACKEND": "sqlite",
            "EDIGW_JOURNAL_PATH": str(Path(tmp) / "journal.sqlite"),
        }
        gw = bootstrap(load(env=env))
        worker = Worker(gw)
        gw.journal.checkpoint_in_background()  # as edigw run does
        queue = gw.names.inbound(partner.id)

        def deliveries(first: int, count: int) -> list[Delivery]:
            return [
                Delivery(
                    small_cuscar(first + i),
                    f"bench-w-{first + i}-{uuid.uuid4().hex[:8]}",
                    None,
                    {},
                    queue,  # partners publish to the exchange named as their inbound queue
                    "",
                    False,
                )
                for i in range(count)
            ]

        async def decide_all(batch: list[Delivery]) -> int:
            serial = worker._serial
            plans = await asyncio.gather(
                *(
                    serial.run(
                        lambda arrived, d=d: worker._decide(partner, queue, d, arrived),
                        prepare=lambda d=d: worker._arrive(partner, queue, d),
                    )
                    for d in batch
                )
            )
            await asyncio.gather(
                *(serial.run(lambda p=p: worker._record(p), group="journal") for p in plans)
            )
            return sum(p.outcome == "routed" for p in plans)

        def run(inputs: list[Delivery]) -> int:
            prefetch = gw.settings.prefetch
            return sum(
                asyncio.run(decide_all(inputs[i : i + prefetch]))
                for i in range(0, len(inputs), prefetch)
            )

        # The worker's log lines are part of its cost: JSON, as edigw run writes them, to a
        # sink instead of the terminal.
        from gateway.logs import configure

        configure("json")
        sink = open(os.devnull, "w")  # noqa: SIM115 - closed below
        stderr, sys.stderr = sys.stderr, sink
        try:
            run(deliveries(20_000_000, 3))  # warm up
            work = deliveries(30_000_000, n)
            with profiler("worker"):
                wall = time.perf_counter()
                ours, routed = cpu(lambda: run(work))
                wall = time.perf_counter() - wall
            if routed != n:
                raise SystemExit(f"worker part: {routed} of {n} routed")
            inputs = [small_cuscar(40_000_000 + i) for i in range(n)]
            base, outcomes = cpu(lambda: run_all(gw.pipeline, inputs, partner))
            check_accepted(outcomes)
            row(
                f"1-BL CUSCAR, the worker's decision path (x{n}: arrival, pipeline, "
                f"decision, completion; file journal; wall {1000 * wall / n:.2f} ms)",
                ours,
                base,
                n,
                "pure pipeline",
            )
        finally:
            sys.stderr = stderr
            sink.close()
            configure("auto")
            worker._serial.shutdown()
            gw.journal.close()


def _profiler(out: Path | None) -> Callable[[str], contextlib.AbstractContextManager[None]]:
    @contextlib.contextmanager
    def profiled(part: str) -> Iterator[None]:
        if out is None:
            yield
            return
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        try:
            yield
        finally:
            profiler.stop()
            target = out.with_name(f"{out.stem}-{part}{out.suffix or '.html'}")
            target.write_text(profiler.output_html())
            print(profiler.output_text(unicode=False, color=False, show_all=False)[:6000])

    return profiled


# ====================================================================== differential check

# Per run: ids and times; per development PKI: the ministry certificate's serial and digest.
_VARYING = {
    "MessageId",
    "CorrelationId",
    "CreatedAt",
    "ReceiptId",
    "IssuedAt",
    "VerifiedAt",
    "InboundMessageId",
    "GatewayReference",
    "SerialNumber",
    "CertificateSha256",
}


def _stable(xml: bytes) -> bytes:
    """``xml`` with the values that change per run replaced by placeholders."""
    root = etree.fromstring(xml)
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname in _VARYING:
            el.text = "~"
    sig = root.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    if sig is not None:
        root.remove(sig)  # ECDSA values differ per signature; signing is checked by xmlsec1
    # Canonical XML (C14N 1.0): the document, not its spelling; a manifest written by the
    # streaming writer (attributes sorted, no empty-element tags) is the same document.
    return etree.tostring(root, method="c14n")


def snapshot_inputs() -> list[Path]:
    """The samples, the test inputs and the shared corpus (beside the project)."""
    dirs = [ROOT / "samples", ROOT / "tests" / "data", ROOT.parent / "shared" / "corpus"]
    return sorted(
        p for d in dirs if d.is_dir() for p in d.rglob("*") if p.suffix in (".edi", ".xml")
    )


_STAMP = re.compile(rb"(UNB\+[^']*?\+)\d{6,8}:\d{4}(\+)|(DTM\+137:)\d+")


def _stable_edifact(data: bytes) -> bytes:
    """An acknowledgement with its preparation date and time (UNB, DTM+137) as placeholders."""
    return _STAMP.sub(lambda m: (m[1] or m[3]) + b"~" + (m[2] or b""), data)


def _interchange(messages: list[bytes], unz_count: int | None = None) -> bytes:
    """One interchange of ``messages`` (UNH..UNT, terminated), reference 4200001."""
    count = len(messages) if unz_count is None else unz_count
    unb = b"UNB+UNOA:3+CARRIERX:ZZ+CUSTOMS:ZZ+240315:0830+4200001'\n"
    return unb + b"".join(messages) + b"UNZ+%d+4200001'\n" % count


def _message(i: int, ref: int | None = None) -> bytes:
    """UNH..UNT of ``small_cuscar(i)``, its UNH/UNT reference set to ``ref`` (``i`` if None)."""
    body = small_cuscar(i).split(b"\n", 1)[1].rsplit(b"UNZ", 1)[0]
    r = b"%d" % (i if ref is None else ref)
    return body.replace(b"UNH+1+", b"UNH+" + r + b"+").replace(b"UNT+25+1'", b"UNT+25+" + r + b"'")


def multi_message_inputs() -> dict[str, list[bytes]]:
    """Interchanges of several messages, fine and broken at the start, middle and end.

    Each value is a sequence of inputs processed with one journal (amendments need two).
    """
    m1, m2, m3 = _message(1), _message(2), _message(3)
    bad_count = m3.replace(b"UNT+25+", b"UNT+24+")
    bad_box = m2.replace(b"MSCU0000012", b"MSCU0000013")  # ISO 6346 check digit broken
    unsupported = m2.replace(b"CUSCAR:D:95B:UN", b"IFTMIN:D:95B:UN")
    unknown = m2.replace(b"CUSCAR:D:95B:UN", b"ZZZZZZ:D:95B:UN")
    return {
        "multi-ok": [_interchange([m1, m2, m3])],
        "multi-unt-count-last": [_interchange([m1, m2, bad_count])],
        "multi-unt-count-first": [_interchange([bad_count, m1, m2])],
        "multi-unz-count": [_interchange([m1, m2, m3], unz_count=7)],
        "multi-duplicate-reference": [_interchange([m1, _message(2, ref=1), m3])],
        "multi-rule-middle": [_interchange([m1, bad_box, m3])],
        "multi-rule-middle-syntax-last": [_interchange([m1, bad_box, bad_count])],
        "multi-unsupported-middle": [_interchange([m1, unsupported, m3])],
        "multi-unsupported-then-rule": [_interchange([m1, unsupported, bad_box])],
        "multi-unknown-middle": [_interchange([m1, unknown, m3])],
        "multi-unknown-then-rule": [
            _interchange([m1, unknown, m3.replace(b"MSCU0000012", b"MSCU0000013")])
        ],
        "multi-fatal-last": [_interchange([m1, m2, m3]).replace(b"UNZ+", b"FTX+AAA'\nUNZ+")],
        "multi-missing-unt-last": [_interchange([m1, m2, m3.replace(b"UNT+25+3'\n", b"")])],
        "multi-same-document-twice": [_interchange([m1, m2, _message(1, ref=3)])],
        "multi-then-replacement": [
            _interchange([m1, m2]),
            _interchange([m1.replace(b"-1+9'", b"-1+5'").replace(b"OLIVE", b"OLIVES"), m3]),
        ],
        "multi-resend": [_interchange([m1, m2]), _interchange([m2, m3])],
        "two-interchanges": [
            _interchange([m1, m2]) + _interchange([m3]).replace(b"4200001", b"4200002")
        ],
    }


def _answers(o: Outcome) -> list[bytes]:
    """What else an EDIFACT outcome says: acknowledgements, warnings, journal references."""
    t = o.translation
    parts = [_stable_edifact(a) for _, a in o.acknowledgements]
    parts.append(repr(t.warnings).encode())
    parts.append(repr((t.message_types, t.heads, t.format)).encode())
    parts.append(repr((o.events, o.references)).encode())
    for r in o.routed:
        h = r.document.header
        parts.append(
            repr(
                (
                    r.destination,
                    h.message_id,
                    h.document_version,
                    h.previous_message_id,
                    h.payload_hash,
                    h.business_reference,
                    h.source,
                    r.document.references(),
                )
            ).encode()
        )
    return parts


# --spool-min: the snapshot's documents go through a spool (gateway.storage.spool) and are read back.
SPOOL_MIN: int | None = None


def _process(gw: Any, data: bytes, partner: Any, correlation_id: str, inbound_id: str) -> Any:
    """``gw.pipeline.process``; with ``SPOOL_MIN``, documents of that size or more spooled (as
    ``edigw run`` does) and read back, their files removed."""
    if SPOOL_MIN is None:
        return gw.pipeline.process(data, partner, correlation_id, inbound_id)
    from gateway.storage.spool import Spool, content

    batch = Spool(gw.settings.state_dir / "spool", min_bytes=SPOOL_MIN).batch()
    o = gw.pipeline.process(data, partner, correlation_id, inbound_id, spool=batch)
    for r in o.routed:
        r.signed_xml = content(r.signed_xml)
    batch.discard()
    return o


def snapshot_name(path: Path) -> str:
    """The input's name in a snapshot, the same in any checkout (a worktree, a CI clone):
    ``repo__<path in the repository>``, or its path beside the repository (the corpus)."""
    if not path.is_absolute():
        return str(path).replace("/", "__")
    if path.is_relative_to(ROOT):
        return "repo__" + str(path.relative_to(ROOT)).replace("/", "__")
    return str(path).replace(str(ROOT.parent) + "/", "").replace("/", "__")


def snapshot(out: Path) -> int:
    """Canonical XML (signed) and answers of every sample and test input, stable parts only."""
    from gateway.domain.xmlsafe import parse
    from gateway.interfaces.demo import MINISTRY_FILES
    from gateway.security.trust import DevPki, trust_settings
    from gateway.service.pipeline import translate

    out.mkdir(parents=True, exist_ok=True)
    count = 0
    with tempfile.TemporaryDirectory(prefix="edigw-snapshot-") as tmp, gateway(Path(tmp)) as gw:
        apcs = gw.settings.partners["apcs"]
        ts = trust_settings(gw.settings)
        pki = DevPki.ensure(ts.state_dir, ["commerce", "agriculture", "industry"], ts.directory)
        generated = {"gen_cuscar-1": small_cuscar(1), "gen_cuscar-700": valid_cuscar(700)}
        for path in [*snapshot_inputs(), *map(Path, generated)]:
            name = snapshot_name(path)
            data = generated[str(path)] if str(path) in generated else path.read_bytes()
            # A journal of its own: inputs that repeat another are not answered as resends.
            gw.pipeline.journal = SqliteJournal(":memory:")
            if path.suffix == ".xml":
                # Ministry XML offline (no signature to check), as ``edigw translate`` does ...
                t = translate(data, inbound_id="snap")
                parts = [etree.tostring(e) for e in t.elements]
                parts.append(repr(t.rejection).encode())
                # ... and through the ministry desk, signed by the ministry that sends it.
                for partner, file_name, _tamper in MINISTRY_FILES:
                    if file_name == path.name:
                        signed = pki.sign(partner, parse(data))
                        o = _process(
                            gw, signed, gw.settings.partners[partner], "snap", f"snap-{file_name}"
                        )
                        parts += [_stable(r.signed_xml) for r in o.routed]
                        parts.append(repr(o.rejection).encode())
                        parts += [_stable(a) for _, a in o.acknowledgements]
                        break
            else:
                o = _process(gw, data, apcs, "snap", f"snap-{name}")
                parts = [_stable(r.signed_xml) for r in o.routed]
                parts.append(repr(o.rejection).encode())
                parts += [kind.encode() for kind, _ in o.acknowledgements]
                parts += _answers(o)
            stable = [_stable(p) if p.startswith(b"<") else p for p in parts]
            (out / f"{name}.txt").write_bytes(b"\n----\n".join(stable))
            count += 1
        for name, inputs in multi_message_inputs().items():
            gw.pipeline.journal = SqliteJournal(":memory:")
            parts = []
            for i, data in enumerate(inputs):
                o = _process(gw, data, apcs, "snap", f"snap-{name}-{i}")
                parts += [_stable(r.signed_xml) for r in o.routed]
                parts.append(repr(o.rejection).encode())
                parts += [kind.encode() for kind, _ in o.acknowledgements]
                parts += _answers(o)
            (out / f"generated__{name}.txt").write_bytes(b"\n----\n".join(parts))
            count += 1
    return count


def compare(before: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="edigw-compare-") as tmp:
        snapshot(Path(tmp))
        differ = 0
        for new in sorted(Path(tmp).iterdir()):
            old = before / new.name
            if not old.exists():
                print(f"new input (not in the snapshot): {new.name}")
            elif old.read_bytes() != new.read_bytes():
                print(f"DIFFERS: {new.name}")
                differ += 1
        print(f"{len(list(Path(tmp).iterdir()))} inputs compared, {differ} differ")
    return differ


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--parts", default="cuscar,ministry,worker,manifest")
    ap.add_argument("-n", type=int, default=300, help="small messages per part")
    ap.add_argument("--bills", type=int, default=10_000, help="bills in the manifest part")
    ap.add_argument("--profile", type=Path, help="pyinstrument: HTML per part, text on stdout")
    ap.add_argument("--snapshot", type=Path, help="write the differential snapshot here")
    ap.add_argument("--compare", type=Path, help="compare with the snapshot in this directory")
    ap.add_argument(
        "--stream-min",
        type=int,
        help="manifests of this many bills or more are streamed (gateway.service.pipeline."
        "STREAM_MIN_CONSIGNMENTS; 0: every manifest, to check the streaming writer on all), "
        "CUSCARs of this many segments or more decoded without positions, and inputs of this "
        "many bytes or more read twice (thin, then decoded as read: 0, all of them)",
    )
    ap.add_argument(
        "--spool-min",
        type=int,
        help="--snapshot/--compare: signed documents of this many bytes or more go through a "
        "spool file and are read back, as in edigw run (0: every one)",
    )
    args = ap.parse_args()
    if args.spool_min is not None:
        global SPOOL_MIN
        SPOOL_MIN = args.spool_min
    if args.stream_min is not None:
        import gateway.service.pipeline
        import gateway.service.xml_documents

        gateway.service.xml_documents.STREAM_MIN_CONSIGNMENTS = args.stream_min
        gateway.service.pipeline.READ_POLICY = gateway.service.pipeline.READ_POLICY.replace(
            unrecorded_min_segments=args.stream_min,  # positions: again if needed
            thin_min_bytes=args.stream_min,  # 0: every input read twice
        )
    if args.snapshot:
        print(f"{snapshot(args.snapshot)} inputs written to {args.snapshot}")
        return
    if args.compare:
        sys.exit(1 if compare(args.compare) else 0)
    print(f"pure pipeline, pid {os.getpid()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    bench(args.parts.split(","), args.n, args.profile, args.bills)


if __name__ == "__main__":
    main()
