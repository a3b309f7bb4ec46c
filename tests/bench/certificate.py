"""Release certificate benchmark: `python -m tests.bench.certificate [--renders N] [--profile]`
(`make bench-certificate`).

Renders the certificate of a typical released batch (14 QC tests with a corrected RCP, one
elution, four lots, one closed OOS) N times with the pure renderer, signs it (PAdES, a demo RSA
2048 key made in a temporary directory) N times, and prints the CPU time per render, per
signature and per certificate (both, as the certificate task does them): median, p95 and max in
milliseconds. The goal is a render of at most 50 ms CPU at p95. `--profile` prints the functions
where a render spends its time (cProfile). It asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from qc.certificate_pdf import Signature, Site, render_pdf
from qc.certificate_signing import create_signing_files, sign_pdf

ZONE = ZoneInfo("Europe/Amsterdam")
EOS = datetime(2026, 11, 24, 7, 35, tzinfo=UTC)
SITE = Site(
    name="Gallium Demo Radiopharmacy",
    address="Department of Nuclear Medicine, 1 Demo Street, 1000 AA Amsterdam",
    licence="MIA-DEMO-0000",
)
SIGNATURE = Signature(
    meaning="Released for human use",
    printed_name="Quentin Peters",
    signed_at=EOS + timedelta(minutes=25, seconds=17),
    comment="Batch record reviewed; all release tests within specification.",
    record_sha256="ae9d80c6321b638c33bb4a1afd831ab23a3a18be514d20323b0af3a5aa9f5fea",
)
# code, name, stage, unit, limit, result as printed (None: post-release, pending)
TESTS = [
    ("appearance", "Appearance", "release", "", "pass", "pass"),
    ("ph", "pH", "release", "", "4.0–8.0", "6.5"),
    ("rcp_itlc", "RCP (ITLC)", "release", "%", "≥ 95 %", "97.2"),
    ("colloid_itlc", "Colloidal Ga-68 (ITLC)", "release", "%", "≤ 3 %", "0.8"),
    ("free_ga68", "Free Ga-68", "release", "%", "≤ 2 %", "0.4"),
    ("half_life", "Half-life", "release", "min", "62–74 min", "67.9"),
    ("gamma_spectrum", "Gamma spectrum", "release", "", "pass", "pass"),
    ("filter_integrity", "Filter integrity", "release", "mbar", "≥ 3450 mbar", "3600.0"),
    ("endotoxin", "Bacterial endotoxins", "release", "IU/mL", "< 17.5 IU/mL (175/V)", "< 2.0"),
    ("ethanol", "Ethanol", "release", "% V/V", "≤ 10 % V/V", "5.1"),
    ("hepes", "HEPES", "release", "µg/mL", "≤ 20 µg/mL (200/V)", "10.0"),
    ("peptide_mass", "Peptide per dose", "release", "µg/mL", "≤ 5 µg/mL (50/V)", "2.5"),
    ("ge68_breakthrough", "Ge-68 breakthrough", "post_release", "%", "≤ 0.001 %", None),
    ("sterility", "Sterility", "post_release", "", "pass", None),
]


def typical_record() -> dict:
    """A signed batch record of the shape `qc.services.release.batch_record` builds."""
    at = (EOS + timedelta(minutes=15)).isoformat()
    person = {"id": 2, "username": "rp", "name": "Rhea Pharmakis"}
    results, tests = [], []
    for i, (code, name, stage, unit, limit, shown) in enumerate(TESTS, start=1):
        if shown is not None:
            results.append(
                {
                    "id": i,
                    "test_code": code,
                    "value_display": shown,
                    "unit": unit,
                    "limit": limit,
                    "passed": True,
                    "performed_at": at,
                    "analyst": person,
                }
            )
        tests.append(
            {
                "code": code,
                "name": name,
                "stage": stage,
                "unit": unit,
                "limit": limit,
                "required": True,
                "result": i if shown is not None else None,
            }
        )
    return {
        "format": 2,
        "batch": {
            "batch_number": "GA68DOTATATE-20261124-01",
            "product": {"name": "Ga-68 DOTATATE injection"},
            "method": "automated",
            "module_name": "Modular-Lab eazy",
            "module_serial": "MLE-042",
            "kit_lot": "",
            "precursor_lot": "DOTATATE-2611",
            "precursor_mass_ug": 25.0,
            "reagent_lots": [{"name": "HEPES buffer", "lot": "HB-77"}],
            "operator": person,
            "eos_at": EOS.isoformat(),
            "expires_at": (EOS + timedelta(hours=4)).isoformat(),
            "activity_at_eos_mbq": 702.4,
            "concentration_at_eos_mbq_per_ml": 70.2,
            "volume_ml": 10.0,
        },
        "elutions": [
            {
                "generator": {
                    "manufacturer": "Eckert & Ziegler",
                    "model": "GalliaPharm",
                    "serial_number": "GP-01234",
                },
                "eluted_at": (EOS - timedelta(minutes=35)).isoformat(),
                "activity_at_elution_mbq": 1003.7,
                "eluent_lot": "HCl-0.1M-2611",
            }
        ],
        "specification": {"version": 1},
        "qc_tests": tests,
        "qc_results": results,
        "deviations": [
            {
                "id": 7,
                "kind": "oos",
                "status": "closed",
                "description": "RCP 93 % below 95 % (typed from the scanner printout)",
                "conclusion": "invalidated",
                "closed_by": "Quentin Peters",
                "closed_at": (EOS + timedelta(minutes=22)).isoformat(),
                "closure_meaning": "Investigation closed",
                "closure_note": "Transcription error; 97.2 % counts.",
            }
        ],
    }


def render(record: dict) -> bytes:
    return render_pdf(
        record,
        SIGNATURE,
        number="CERT-GA68DOTATATE-20261124-01",
        site_url="http://127.0.0.1:8000",
        zone=ZONE,
        site=SITE,
    )


def cpu_ms(work, times: int) -> list[float]:
    spent = []
    for _ in range(times):
        start = time.process_time()
        work()
        spent.append((time.process_time() - start) * 1000)
    return spent


def line(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"{label:<28} p50 {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   "
        f"max {ordered[-1]:6.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=100, help="renders and signatures each")
    parser.add_argument("--profile", action="store_true", help="print where a render spends")
    args = parser.parse_args(argv)
    record = typical_record()
    with tempfile.TemporaryDirectory() as tmp:
        files = create_signing_files(
            Path(tmp) / "signing", organisation=SITE.name, now=datetime.now(UTC)
        )
        pdf = render(record)  # warm-up: fonts registered, modules imported, key loaded
        sign = lambda: sign_pdf(  # noqa: E731
            pdf, files=files, signer_name=SIGNATURE.printed_name, signed_at=SIGNATURE.signed_at
        )
        sign()
        renders = cpu_ms(lambda: render(record), args.renders)
        signatures = cpu_ms(sign, args.renders)
        both = cpu_ms(
            lambda: sign_pdf(
                render(record),
                files=files,
                signer_name=SIGNATURE.printed_name,
                signed_at=SIGNATURE.signed_at,
            ),
            args.renders,
        )
    print(f"Release certificate, CPU time over {args.renders} runs each ({len(pdf)} bytes PDF)")
    print(line("render (goal p95 ≤ 50 ms)", renders))
    print(line("PAdES signature", signatures))
    print(line("render + signature (task)", both))
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [render(record) for _ in range(20)])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
