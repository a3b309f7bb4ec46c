"""Seed the default specification of Ga-68 DOTATATE injection (REFERENCE §3), version 1."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import migrations

# (code, name, method, unit, kind, min, max, stage, applies_to_method, per_volume, strict, required)
DEFAULT_TESTS = [
    ("appearance", "Appearance", "Visual: clear, colourless, no particles", "", "pass_fail",
     None, None, "release", "", False, False, True),
    ("ph", "pH", "pH strip / meter", "", "range", 4.0, 8.0, "release", "automated",
     False, False, True),
    ("ph", "pH", "pH strip / meter", "", "range", 3.2, 3.8, "release", "kit",
     False, False, True),
    ("rcp_itlc", "RCP (ITLC)", "Radiochemical purity, ITLC", "%", "min", 95.0, None,
     "release", "", False, False, True),
    ("colloid_itlc", "Colloidal Ga-68 (ITLC)", "Impurity A, ITLC", "%", "max", None, 3.0,
     "release", "", False, False, True),
    ("free_ga68", "Free Ga-68", "Impurity B", "%", "max", None, 2.0, "release", "",
     False, False, True),
    ("half_life", "Half-life", "Radionuclidic identity, half-life", "min", "range", 62.0, 74.0,
     "release", "", False, False, True),
    ("gamma_spectrum", "Gamma spectrum", "Radionuclidic identity: 511 keV (1022 keV sum peak)",
     "", "pass_fail", None, None, "release", "", False, False, True),
    ("filter_integrity", "Filter integrity", "Sterile filter bubble point", "mbar", "min",
     3450.0, None, "release", "", False, False, True),
    ("endotoxin", "Bacterial endotoxins", "LAL", "IU/mL", "max", None, 175.0, "release", "",
     True, True, True),
    ("ethanol", "Ethanol", "GC", "% V/V", "max", None, 10.0, "release", "automated",
     False, False, True),
    ("hepes", "HEPES", "TLC / HPLC (when HEPES buffer is used)", "µg/mL", "max", None, 200.0,
     "release", "", True, False, False),
    ("peptide_mass", "Peptide per dose", "HPLC", "µg/mL", "max", None, 50.0, "release", "",
     True, False, True),
    ("ge68_breakthrough", "Ge-68 breakthrough", "Gamma counting after ≥ 48 h decay", "%", "max",
     None, 0.001, "post_release", "", False, False, True),
    ("sterility", "Sterility", "Ph. Eur. 2.6.1, started within 30 h of EOS", "", "pass_fail",
     None, None, "post_release", "", False, False, True),
]


def seed(apps, schema_editor):
    Product = apps.get_model("radiopharmacy", "Product")
    Specification = apps.get_model("qc", "Specification")
    SpecificationTest = apps.get_model("qc", "SpecificationTest")
    product, _ = Product.objects.get_or_create(
        code="GA68DOTATATE", defaults={"name": "Ga-68 DOTATATE injection"}
    )
    effective = datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Amsterdam"))
    spec, made = Specification.objects.get_or_create(
        product=product,
        version=1,
        defaults={
            "effective_from": effective,
            "approved_at": effective,
            "notes": "Default specification from REFERENCE §3 (Ph. Eur. 2482, NETSPOT label).",
        },
    )
    if not made:
        return
    for order, row in enumerate(DEFAULT_TESTS, start=1):
        code, name, method, unit, kind, lo, hi, stage, scope, per_v, strict, required = row
        SpecificationTest.objects.create(
            spec=spec,
            code=code,
            name=name,
            method=method,
            unit=unit,
            kind=kind,
            min_value=lo,
            max_value=hi,
            stage=stage,
            applies_to_method=scope,
            limit_per_volume=per_v,
            strict=strict,
            required=required,
            order=order * 10,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("qc", "0001_specs_results_deviations"),
        ("radiopharmacy", "0002_roles_triggers_defaults"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
