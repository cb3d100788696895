"""Shared helpers of the benchmark suite (``bench/run.py``): inputs, gateway processes, memory.

Inputs must be *accepted* by the gateway, or the benchmark measures the dead-letter path:
the generated CUSCAR gets valid ISO 6346 check digits, and every small message gets its own
document number and interchange reference (an identical resend is answered from the
journal and not routed again, which is not what we want to time).

>>> data = small_cuscar(7)
>>> b"BGM+85+BENCH0000007" in data
True
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.gen_cuscar import generate  # noqa: E402
from gateway.domain.rules import container_check_digit  # noqa: E402

_CONTAINER = re.compile(rb"MSCU(\d{6})\d(?!\d)")
_LINE = re.compile(r":\d+\)$")


def _fix_container(m: re.Match[bytes]) -> bytes:
    owner_and_serial = "MSCU" + m.group(1).decode()
    digit = container_check_digit(owner_and_serial + "0")
    return owner_and_serial.encode() + str(digit).encode()


def valid_cuscar(bills: int, seed: int = 95) -> bytes:
    """``gen_cuscar.generate`` with container numbers that pass the ISO 6346 rule."""
    return _CONTAINER.sub(_fix_container, generate(bills, seed))


def small_cuscar(i: int) -> bytes:
    """A 1-BL CUSCAR (~760 bytes), unique by document number and interchange reference."""
    data = valid_cuscar(1, seed=i)
    return data.replace(b"VOY2024W12", b"BENCH%07d" % i).replace(
        b"1000001", b"%07d" % (3000000 + i)
    )


def vm_kib(pid: int, field_name: str) -> int:
    """A field of /proc/<pid>/status in KiB (VmHWM: peak resident set, VmRSS: now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Gateways:
    """``edigw run`` child processes sharing one environment (prefix, state dir, journal)."""

    env: dict[str, str]
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # With a directory: each gateway is sampled by py-spy (collapsed stacks, one file each).
    profile_dir: Path | None = None
    spies: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, count: int) -> None:
        for _ in range(count):
            n = len(self.procs)
            log = open(self.log_dir / f"gateway-{n}.log", "wb")  # noqa: SIM115 (lives with the child)
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gateway", "--log-format", "json", "run"],
                    env=self.env,
                    stdout=log,
                    stderr=log,
                    cwd=ROOT,
                )
            )
            if self.profile_dir is not None:
                self.profile_dir.mkdir(parents=True, exist_ok=True)
                out = self.profile_dir / f"gateway-{self.procs[-1].pid}.txt"
                spy = Path(sys.executable).parent / "py-spy"
                self.spies.append(
                    subprocess.Popen(
                        [
                            str(spy),
                            "record",
                            "--pid",
                            str(self.procs[-1].pid),
                            "--rate",
                            "250",
                            "--format",
                            "raw",
                            "--nonblocking",
                            "-o",
                            str(out),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for spy in self.spies:  # py-spy writes its file when the process it samples ends
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
        self.procs, self.spies = [], []


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU time of a process (or of its thread ``tid``) so far, in seconds."""
    stat = Path(f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def top_frames(collapsed: Path, n: int = 20) -> list[tuple[str, float, float]]:
    """(function, % inclusive, % self) from a py-spy collapsed-stack file, by inclusive time.

    Idle frames (the event loop waiting, threads parked) are left out of the total so that
    the percentages are of the time the gateway was working.
    """
    idle = (
        "select (selectors.py",
        "wait (threading.py",
        "_worker (concurrent/futures/thread.py",
        "epoll",
        "poll (selectors.py",
    )
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        # "func (file.py:123)" -> "func (file.py)": one row per function, not per line.
        frames = [_LINE.sub(")", f) for f in stack.split(";")]
        if not frames or any(i in frames[-1] for i in idle):
            continue
        k = int(count)
        total += k
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + k
        own[frames[-1]] = own.get(frames[-1], 0) + k
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])[:n]
    return [(f, 100 * k / total, 100 * own.get(f, 0) / total) for f, k in ranked] if total else []


def machine() -> str:
    """A one-line description of where the figures were taken."""
    cpus = os.cpu_count() or 0
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpus} CPU(s) {model}".strip() + f", Python {sys.version.split()[0]}"


def now_utc() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
