"""Write a large, realistic CUSCAR D95B cargo report for the parse benchmark.

One interchange, one CUSCAR message for a vessel call, ``--bills`` bills of
lading (default 10,000, about 5 MB). Each bill carries the segments a real sea
manifest carries (CNI, RFF+BM, LOC, NAD CZ/CN/NP, GID, FTX, MEA, EQD, SEL ...),
with a few released characters (``?+``, ``?'``, ``?:``) so the slow path of the
tokenizer is exercised too. Output is deterministic for a given seed.

Usage::

    python bench/gen_cuscar.py /tmp/cuscar.edi --bills 10000
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

PORTS = ["NLRTM", "DEHAM", "BEANR", "CNSHA", "SGSIN", "USNYC", "EGALY", "GBFXT", "ESVLC", "MAPTM"]
GOODS = [
    "FROZEN FISH FILLETS",
    "MACHINE PARTS, STEEL",
    "COTTON T-SHIRTS 100?+ PCS",
    "OLIVE OIL IN TINS",
    "USED CLOTHING",
    "AUTOMOTIVE SPARE PARTS",
    "CERAMIC TILES",
    "PHARMACEUTICAL PRODUCTS (NON DG)",
    "CHILDREN?'S TOYS",
    "ELECTRONIC COMPONENTS?: RESISTORS",
]
NAMES = [
    "ACME TRADING LTD",
    "NORDIC FOODS AS",
    "AL AMAL IMPORT CO",
    "GLOBAL FREIGHT SA",
    "ORIENT EXPORTS",
]
STREETS = [
    "12 HARBOUR ROAD",
    "PO BOX 4410",
    "1 INDUSTRIAL ZONE",
    "77 CANAL STREET",
    "BLOCK 9, FREE ZONE",
]
CITIES = ["ROTTERDAM", "ALEXANDRIA", "HAMBURG", "SHANGHAI", "CASABLANCA"]


def bill_segments(rng: random.Random, n: int) -> list[str]:
    """The segments of one bill of lading (consignment) in a CUSCAR D95B."""
    bl = f"MSCU{rng.randrange(10**9):09d}"
    container = f"MSCU{rng.randrange(10**7):07d}"
    load, discharge = rng.sample(PORTS, 2)
    weight = rng.randrange(500, 28000)
    packages = rng.randrange(1, 900)
    segs = [
        f"CNI+{n}+{bl}",
        f"RFF+BM:{bl}",
        f"LOC+9+{load}:139:6",
        f"LOC+11+{discharge}:139:6",
        f"DTM+143:2024{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}:102",
    ]
    for role in ("CZ", "CN", "NP"):
        segs.append(
            f"NAD+{role}++{rng.choice(NAMES)}+{rng.choice(STREETS)}+{rng.choice(CITIES)}++"
            f"{rng.randrange(10000, 99999)}+{rng.choice(['NL', 'EG', 'DE', 'CN', 'MA'])}"
        )
    segs += [
        f"GID+1+{packages}:PK::6",
        f"FTX+AAA+++{rng.choice(GOODS)}",
        f"MEA+AAE+G+KGM:{weight}",
        f"MEA+AAE+AAW+MTQ:{rng.randrange(1, 68)}",
        f"PCI+28+{container}",
        f"SGP+{container}+{packages}",
        f"EQD+CN+{container}+45G1:102:5++3+5",
        f"SEL+{rng.randrange(10**6, 10**7)}+CA",
    ]
    return segs


def generate(bills: int, seed: int = 95) -> bytes:
    """The whole interchange as bytes (UNOA, syntax 3, default separators)."""
    rng = random.Random(seed)
    body = [
        "BGM+85+VOY2024W12+9",
        "DTM+137:202403150830:203",
        "NAD+MS+CARRIERX:172:20",
        "NAD+CA+MSC:172:20",
        "TDT+20+412W+1++MSC:172:20+++9398371:146:11:MSC VITA",
        "LOC+5+EGALY:139:6",
        "LOC+60+EGALY:139:6",
        "DTM+132:202403181200:203",
    ]
    for n in range(1, bills + 1):
        body += bill_segments(rng, n)
    message = ["UNH+1+CUSCAR:D:95B:UN", *body]
    message.append(f"UNT+{len(message) + 1}+1")
    lines = [
        "UNB+UNOA:3+CARRIERX:ZZ+CUSTOMS:ZZ+240315:0830+1000001",
        *message,
        "UNZ+1+1000001",
    ]
    return ("'\n".join(lines) + "'\n").encode("ascii")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--bills", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=95)
    args = ap.parse_args()
    data = generate(args.bills, args.seed)
    args.out.write_bytes(data)
    print(f"wrote {args.out}: {len(data) / 1e6:.2f} MB, {args.bills} bills of lading")


if __name__ == "__main__":
    main()
