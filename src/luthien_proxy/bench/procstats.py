"""CPU time and memory of server processes, read from /proc (Linux only)."""

from __future__ import annotations

import os
import resource

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time `pid`'s live threads have used so far, in seconds, to the nanosecond.

    From each thread's schedstat: /proc/<pid>/stat counts in clock ticks (10 ms), too coarse for a
    50-request run (±10 µs per stream chunk). Falls back to the ticks where schedstat is missing.
    """
    try:
        total_ns = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                total_ns += int(f.read().split()[0])
        return total_ns / 1e9
    except (OSError, ValueError, IndexError):
        return _tick_cpu_seconds(pid)


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
