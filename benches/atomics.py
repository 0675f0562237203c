#!/usr/bin/env python3
"""Atomic instructions and clock reads per request, from two callgrind runs.

Usage: atomics.py SINGLE.out DOUBLE.out N

SINGLE.out and DOUBLE.out are `callgrind --dump-instr=yes` profiles of one client run of N and
of 2N measured requests; per request = (count(2N) - count(N)) / N, which cancels start-up and
warm-up. An atomic instruction is one with a `lock` prefix, or an `xchg` with memory (locked
implicitly), as `objdump -d` disassembles each object the profile names. A clock read is a call
of glibc's `clock_gettime`.

Callgrind counts each of these as one instruction (a clock read as the few dozen of its
function), but they cost more: about 2 ns for an uncontended atomic and 26 ns for a clock read
through the vDSO on the build machine, against well under 1 ns for most instructions.
"""

import collections
import os
import re
import subprocess
import sys

NAME = re.compile(r"(c?)(ob|fn|fl|fi|fe)=\((\d+)\)(?: (.*))?$")


def position(token, previous):
    """An address or line in callgrind's compressed notation."""
    if token.startswith("0x"):
        return int(token, 16)
    if token.startswith("+"):
        return previous + int(token[1:])
    if token.startswith("-"):
        return previous - int(token[1:])
    if token == "*":
        return previous
    return int(token)


def parse(path):
    """Executions per (object, address), and calls of `clock_gettime`."""
    names = {"ob": {}, "fn": {}}
    executed = collections.Counter()
    clock_calls = 0
    obj = None
    callee = None
    last_address = 0
    call_line_next = False
    call_count = 0
    with open(path, encoding="utf-8", errors="replace") as profile:
        for line in profile:
            line = line.rstrip("\n")
            named = NAME.match(line)
            if named:
                called, kind, index, name = named.groups()
                if kind in ("ob", "fn") and name:
                    names[kind][index] = name
                if kind == "ob" and not called:
                    obj = names["ob"].get(index)
                if kind == "fn" and called:
                    callee = names["fn"].get(index, "")
                continue
            if line.startswith("calls="):
                call_count = int(line.split()[0][len("calls="):])
                call_line_next = True
                continue
            if not line or line[0] not in "0123456789+-*":
                continue
            fields = line.split()
            last_address = position(fields[0], last_address)
            if call_line_next:
                # The cost line of a call: inclusive cost of the callee, not executions here.
                call_line_next = False
                if callee and "clock_gettime" in callee:
                    clock_calls += call_count
                continue
            if len(fields) >= 3:
                executed[(obj, last_address)] += int(fields[2])
    return executed, clock_calls


ATOMIC_ADDRESSES = {}


def atomic_addresses(obj):
    """Addresses of the atomic instructions of the ELF object `obj` (disassembled once)."""
    cache = ATOMIC_ADDRESSES
    if obj not in cache:
        found = set()
        if obj and os.path.exists(obj):
            listing = subprocess.run(
                ["objdump", "-d", "--no-show-raw-insn", obj],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            for row in listing.splitlines():
                match = re.match(r"\s*([0-9a-f]+):\s+(\S.*)", row)
                if not match:
                    continue
                instruction = match.group(2)
                if instruction.startswith("lock") or (
                    instruction.startswith("xchg") and "(" in instruction
                ):
                    found.add(int(match.group(1), 16))
        cache[obj] = found
    return cache[obj]


def atomics(executed):
    return sum(
        count for (obj, address), count in executed.items() if address in atomic_addresses(obj)
    )


def main():
    single, double, requests = sys.argv[1], sys.argv[2], int(sys.argv[3])
    executed_single, clocks_single = parse(single)
    executed_double, clocks_double = parse(double)
    atomic_per_request = (atomics(executed_double) - atomics(executed_single)) / requests
    clock_per_request = (clocks_double - clocks_single) / requests
    print(f"{atomic_per_request:.1f} {clock_per_request:.2f}")


if __name__ == "__main__":
    main()
