"""Phone normalisation throughput: the fast path against phonenumbers (not a test).

Run: ``.venv/bin/python benchmarks/bench_phones.py [N]``. Prints numbers per second
for

* the fast path alone on common Vietnamese mobile numbers in mixed formats;
* ``PhoneNormalizer.e164_or_none`` (Excel clean-up + fast path + fallback) on a mix
  like ``bench_import``'s: mixed formats, 0.5% bad numbers;
* phonenumbers ``parse`` + ``is_valid_number`` + ``format_number`` on the same mix;
* ``RowNormalizer.normalize`` on rows of phone, name, e-mail, 3 variables, tag.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from massreach.core.mapping import propose_mapping
from massreach.core.normalize import NormalizeOptions, RowNormalizer
from massreach.core.phone_patterns import FastPhoneParser
from massreach.core.phones import PhoneNormalizer, phonenumbers_e164

_PREFIXES = ["9", "3", "7", "8", "5"]
_SECOND = {"9": "0123456789", "3": "23456789", "7": "06789", "8": "123456789", "5": "689"}


def vn_mobile(rng: random.Random) -> str:
    """A national significant number in a Vietnamese mobile range."""
    first = rng.choice(_PREFIXES)
    return first + rng.choice(_SECOND[first]) + "".join(rng.choice("0123456789") for _ in range(7))


def written(nsn: str, rng: random.Random) -> str:
    """One of the ways people (and Excel) write the number."""
    shape = rng.randrange(8)
    if shape == 0:
        return "0" + nsn
    if shape == 1:
        return "+84" + nsn
    if shape == 2:
        return "84" + nsn
    if shape == 3:
        return f"0{nsn[:2]} {nsn[2:5]} {nsn[5:]}"
    if shape == 4:
        return f"0{nsn[:2]}-{nsn[2:5]}-{nsn[5:]}"
    if shape == 5:
        return f"+84 {nsn[:2]} {nsn[2:5]} {nsn[5:]}"
    if shape == 6:
        return f"(0{nsn[:2]}) {nsn[2:5]} {nsn[5:]}"
    return f"84{nsn}.0"


def mix(n: int, bad_rate: float, seed: int = 7) -> list[str]:
    """``n`` numbers in mixed formats, ``bad_rate`` of them broken."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        text = written(vn_mobile(rng), rng)
        if rng.random() < bad_rate:
            text = rng.choice([text[:-3], text + "99", "n/a", "12345", "0" + text[2:]])
        out.append(text)
    return out


def rate(label: str, fn: Callable[[Any], object], items: Sequence[Any]) -> float:
    """Best of three runs, printed as items per second of CPU time (and of wall time).

    CPU time (``time.process_time``) is what the work costs even when other
    processes share the machine; wall time is shown beside it.
    """
    best_cpu = best_wall = float("inf")
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        for item in items:
            fn(item)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    per_second = len(items) / best_cpu
    print(f"{label:<52} {per_second:>11,.0f} /s cpu {len(items) / best_wall:>11,.0f} /s wall")
    return per_second


def main(argv: Sequence[str]) -> None:
    """Run the measurements."""
    n = int(argv[1]) if len(argv) > 1 else 200_000
    common = [text for text in mix(n, 0.0) if not text.endswith(".0")]
    mixed = mix(n, 0.005)
    fast = FastPhoneParser("VN")
    normalizer = PhoneNormalizer("VN")
    unsure = sum(fast.e164(t) is None for t in mixed)
    print(f"{n:,} numbers; fast path unsure on {unsure} of the mix ({unsure / n:.2%})")
    reference = mixed[: max(1, n // 4)]
    base = rate(
        "phonenumbers parse+is_valid+format, the mix",
        lambda t: phonenumbers_e164(t, "VN"),
        reference,
    )
    fast_rate = rate("fast path, common VN formats", fast.e164, common)
    full_rate = rate("PhoneNormalizer.e164_or_none, mix, 0.5% bad", normalizer.e164_or_none, mixed)
    print(f"fast path {fast_rate / base:.1f}x phonenumbers; normaliser {full_rate / base:.1f}x")

    rng = random.Random(3)
    mapping = propose_mapping(["phone", "name", "email", "param0", "param1", "param2", "tag"])
    rows = [
        (text, f"Khách {i}", f"u{i}@example.vn", str(i), "x" * 5, "2024-05-01", rng.choice("ABC"))
        for i, text in enumerate(mixed)
    ]
    normalize = RowNormalizer(mapping, NormalizeOptions(kind="bulk_send")).normalize
    numbered = list(enumerate(rows, start=2))
    rows_rate = rate("RowNormalizer.normalize, 7 columns", lambda item: normalize(*item), numbered)
    print(f"row normaliser {rows_rate / base:.1f}x phonenumbers alone")


if __name__ == "__main__":
    main(sys.argv)
