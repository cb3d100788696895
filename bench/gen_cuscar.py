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


def container_number(n: int) -> str:
    """Container number ``n`` (unique in the manifest) with a correct ISO 6346 check digit."""
    values: dict[str, int] = {}
    v = 10
    for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if v % 11 == 0:  # the letter values skip multiples of 11
            v += 1
        values[ch] = v
        v += 1
    stem = f"MSCU{n % 10**6:06d}"
    total = sum((values[c] if c.isalpha() else int(c)) * 2**i for i, c in enumerate(stem))
    return f"{stem}{total % 11 % 10}"


def bill_segments(rng: random.Random, seq: int, n: int) -> tuple[list[str], list[str]]:
    """Bill ``n`` (CNI sequence ``seq`` in its message) and its container, in D95B order."""
    # Unique within the manifest, as the BL_UNIQUE rule wants, yet not sequential-looking.
    bl = f"MSCU{rng.randrange(10**4):04d}{n:06d}"
    container = container_number(n)
    load, discharge = rng.sample(PORTS, 2)
    weight = rng.randrange(500, 28000)
    packages = rng.randrange(1, 900)
    segs = [
        f"CNI+{seq}+{bl}",
        f"RFF+BM:{bl}",
        f"LOC+9+{load}:139:6",
        f"LOC+11+{discharge}:139:6",
    ]
    for role in ("CZ", "CN", "N1"):
        # NAD: 3035, C082 (empty), C058 (empty), C080 name, C059 street, 3164 city, C819
        # (empty), 3251 postcode, 3207 country: every value where the directory puts it.
        segs.append(
            f"NAD+{role}+++{rng.choice(NAMES)}+{rng.choice(STREETS)}+{rng.choice(CITIES)}++"
            f"{rng.randrange(10000, 99999)}+{rng.choice(['NL', 'EG', 'DE', 'CN', 'MA'])}"
        )
    segs += [
        f"GID+1+{packages}:PK::6",
        f"FTX+AAA+++{rng.choice(GOODS)}",
        f"MEA+AAE+G+KGM:{weight}",
        f"MEA+AAE+AAW+MTQ:{rng.randrange(1, 68)}",
        f"SGP+{container}+{packages}",
        f"PCI+28+{container}",
    ]
    equipment = [f"EQD+CN+{container}+45G1:102:5++3+5", f"SEL+{rng.randrange(10**6, 10**7)}+CA"]
    return segs, equipment


# D95B allows 9,999 consignment (and equipment) groups per CUSCAR and a 4-digit CNI
# sequence: a larger call is reported in several messages of one interchange.
BILLS_PER_MESSAGE = 5_000


def generate(bills: int, seed: int = 95) -> bytes:
    """The whole interchange as bytes (UNOA, syntax 3, default separators).

    The structure follows the D95B CUSCAR directory, so the gateway's directory
    validation and business rules accept it: in each message the containers (EQD)
    come first, at message level, then one CNI group per bill; a message holds at
    most ``BILLS_PER_MESSAGE`` bills.
    """
    rng = random.Random(seed)
    header = [
        "DTM+137:202403150830:203",
        "NAD+MS+CARRIERX:172:20",
        "NAD+CA+MSC:172:20",
        "TDT+20+412W+1++MSC:172:20+++9398371:146:11:MSC VITA",
        "LOC+5+EGALY:139:6",
        "LOC+60+EGALY:139:6",
        "DTM+132:202403181200:203",
    ]
    lines = ["UNB+UNOA:3+CARRIERX:ZZ+CUSTOMS:ZZ+240315:0830+1000001"]
    messages = 0
    for first in range(1, bills + 1, BILLS_PER_MESSAGE):
        messages += 1
        consignments: list[str] = []
        equipment: list[str] = []
        for n in range(first, min(first + BILLS_PER_MESSAGE, bills + 1)):
            bill, box = bill_segments(rng, n - first + 1, n)
            consignments += bill
            equipment += box
        message = [
            f"UNH+{messages}+CUSCAR:D:95B:UN",
            f"BGM+85+VOY2024W12-{messages}+9",
            *header,
            *equipment,
            *consignments,
        ]
        message.append(f"UNT+{len(message) + 1}+{messages}")
        lines += message
    lines.append(f"UNZ+{messages}+1000001")
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
