"""``edigw demo`` shows one ship call end to end (issue #17, point 7), on the real broker.

The demo runs as an operator runs it (``bash scripts/demo.sh``: ``edigw demo``), under this
test's queue-name prefix and state directory (``gateway_env``), whose queues are deleted
afterwards. What it prints is checked for the call's story: the arrival routed, the manifest
answered with its MRN, the discharge report reconciling the call, one short-landed container
reported to customs and to the manifest's sender. Nothing else of the demo is checked here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.broker]
ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_shows_one_call_end_to_end(gateway_env: dict[str, str]) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "gateway", "demo"],
        env=gateway_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in shown.stdout.splitlines() if line}
    for sample, answer, routed in (
        ("06-cusrep-cma-cgm-marseille-algiers.edi", "CONTRL accepted", "VesselCall"),
        ("06a-cuscar-cma-cgm-tage-algiers.edi", "CUSRES MRN", "CargoManifest"),
        ("07-iftdgn-cma-cgm-paints.edi", "CONTRL accepted", "DangerousGoodsNotification"),
        ("08-coarri-discharge-algiers.edi", "CONTRL accepted", "ManifestDiscrepancyReport"),
    ):
        outcome, rest = rows[sample]
        assert outcome == "routed" and answer in rest and routed in rest, (sample, rest)
    assert "customs registered the call's manifest: MRN 26DZALG0000421" in shown.stdout
    assert (
        "call 9454436/0MA1RN1MA/DZALG reconciled (discharge_complete): 3 container(s) declared, "
        "2 discharged; ManifestDiscrepancyReport to customs"
    ) in shown.stdout
    assert (
        "  SHORT_LANDED CMAU3000020: bill CMDUMRS0423 (MRN 26DZALG0000421), APERAK to apcs"
    ) in shown.stdout.splitlines()
