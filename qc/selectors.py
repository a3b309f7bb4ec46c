"""Reads for QC: the specification in force for a batch, its applicable tests, latest results."""

from django.db.models import Prefetch

from qc.models import QcResult, Specification, SpecificationTest
from qc.specs import Limit


def spec_in_force(product, at) -> Specification | None:
    """The version in force at `at`: the latest `effective_from` not after it."""
    return (
        Specification.objects.filter(product=product, effective_from__lte=at)
        .prefetch_related(Prefetch("tests", queryset=SpecificationTest.objects.order_by("order")))
        .order_by("-effective_from", "-version")
        .first()
    )


def spec_for_batch(batch) -> Specification | None:
    """The specification a batch is judged against: the one in force at its EOS."""
    cached = getattr(batch, "_spec_in_force", None)
    if cached is None:
        cached = spec_in_force(batch.product, batch.eos_at)
        batch._spec_in_force = cached
    return cached


def prime_specs_in_force(batches) -> None:
    """Load the specifications of the batches' products once and set on each batch the one in
    force at its EOS (the cache spec_for_batch reads), so the release check of N batches costs
    two queries rather than 2·N."""
    product_ids = {b.product_id for b in batches}
    if not product_ids:
        return
    specs = list(
        Specification.objects.filter(product_id__in=product_ids)
        .prefetch_related(Prefetch("tests", queryset=SpecificationTest.objects.order_by("order")))
        .order_by("-effective_from", "-version")
    )
    for batch in batches:
        batch._spec_in_force = next(
            (
                s
                for s in specs
                if s.product_id == batch.product_id and s.effective_from <= batch.eos_at
            ),
            None,
        )


def applicable_tests(spec: Specification | None, method: str) -> list[SpecificationTest]:
    if spec is None:
        return []
    return [t for t in spec.tests.all() if t.applies_to(method)]


def test_for_code(batch, code: str) -> SpecificationTest | None:
    for test in applicable_tests(spec_for_batch(batch), batch.method):
        if test.code == code:
            return test
    return None


def limit_for(test: SpecificationTest, product) -> Limit:
    return Limit(
        kind=test.kind,
        min_value=test.min_value,
        max_value=test.max_value,
        unit=test.unit,
        per_volume=test.limit_per_volume,
        volume_ml=product.max_volume_per_patient_ml if test.limit_per_volume else None,
        strict=test.strict,
    )


def latest_results(batch) -> dict[str, QcResult]:
    """The result that counts per test code: the latest one (a correction supersedes)."""
    latest: dict[str, QcResult] = {}
    results = getattr(batch, "_prefetched_objects_cache", {}).get("qc_results")
    if results is None:
        results = batch.qc_results.all()
    for result in sorted(results, key=lambda r: r.pk):
        latest[result.test_code] = result
    return latest


def batch_qc_results(batch):
    return (
        QcResult.objects.filter(batch=batch)
        .select_related("analyst", "spec_test", "supersedes")
        .order_by("test_code", "id")
    )
