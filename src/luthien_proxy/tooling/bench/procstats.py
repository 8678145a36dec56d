"""CPU time and memory of server processes, read from /proc (Linux only)."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuReading:
    """A process's CPU time two ways: its live threads' schedstat (to the nanosecond, but blind to
    threads that have exited) and its stat ticks (every thread, dead ones too, but in 10 ms steps)."""

    threads_s: float | None
    ticks_s: float

    def __sub__(self, earlier: CpuReading) -> float:
        """CPU seconds used between two readings: the precise figure unless threads that exited in
        between used more than the ticks' rounding (LiteLLM starts a thread per logged request)."""
        ticks = self.ticks_s - earlier.ticks_s
        if self.threads_s is None or earlier.threads_s is None:
            return ticks
        threads = self.threads_s - earlier.threads_s
        return ticks if ticks - threads > 2 / _TICKS_PER_S else threads


def cpu_seconds(pid: int) -> CpuReading:
    """CPU time `pid` has used so far; subtract two readings for the time in between."""
    return CpuReading(_thread_cpu_seconds(pid), _tick_cpu_seconds(pid))


def _thread_cpu_seconds(pid: int) -> float | None:
    try:
        total_ns = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                total_ns += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total_ns / 1e9


def _tick_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    # The command name (field 2) may contain spaces; everything after its closing ')' is fixed.
    fields = raw[raw.rindex(b")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    return (utime + stime) / _TICKS_PER_S


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise ValueError(f"no VmRSS for pid {pid}")


def self_cpu_seconds() -> float:
    """CPU time of this process (the load generator), for reporting what the client costs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_busy_seconds() -> float:
    """CPU time all processes on the machine have used (non-idle jiffies of /proc/stat), in seconds."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _TICKS_PER_S
