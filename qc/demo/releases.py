"""Demo: the qualified person "qp" signs the demo week's batches (radiopharmacy.demo.LOADERS).

Batches are signed when a QP would have signed them (a few minutes after their last QC
result): failing ones (the failed RCP) rejected, passing ones released (the one whose typed
RCP was corrected too, its OOS closed by `qc.demo.quality_events`), except the latest batch
that can still be released now: it stays QC pending, for the "Awaiting release" page.
Certificates are
rendered through the outbox (in-process in the embedded default). Idempotent: signed batches
are skipped.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from qc.guards import release_blockers
from qc.models import BatchSignature, SignatureDecision
from qc.selectors import latest_results
from qc.services.certificates import certificate_render, signing_files
from qc.services.release import _batch_sign, ensure_qualified_person
from radiopharmacy.choices import BatchStatus
from radiopharmacy.models import Batch

DEMO_QP = "qp"
REVIEW_MINUTES = 5  # the QP signs a few minutes after the last QC result


def load_releases(*, stdout) -> None:
    qp = get_user_model().objects.filter(username=DEMO_QP).first()
    if qp is None:
        stdout.write("Releases: no demo qualified person, skipped.")
        return
    ensure_qualified_person(qp)
    now = timezone.now()
    released = rejected = 0
    pending = list(Batch.objects.filter(status=BatchStatus.QC_PENDING).order_by("eos_at", "id"))
    # The latest batch that could still be released now stays for the QP ("Awaiting release");
    # every other passing batch is released, so today's doses can be drawn from one.
    left_for_qp = next(
        (b for b in reversed(pending) if b.qc_results.exists() and not release_blockers(b, at=now)),
        None,
    )
    for batch in pending:
        if batch == left_for_qp:
            continue
        if batch.operator_id == qp.pk or BatchSignature.objects.filter(batch=batch).exists():
            continue
        results = list(batch.qc_results.all())
        if not results:
            continue
        at = max([batch.eos_at, *(r.performed_at for r in results)]) + timedelta(
            minutes=REVIEW_MINUTES
        )
        at = min(at, now)  # QC finished minutes ago: signed now, never in the future
        # the results that count: a corrected one (the demo's typed RCP) is not a failure
        failed = [r for r in latest_results(batch).values() if not r.passed]
        if failed:
            _batch_sign(
                batch_id=batch.pk,
                actor=qp,
                decision=SignatureDecision.REJECT,
                comment="Out of specification: " + ", ".join(r.test_code for r in failed),
                at=at,
            )
            rejected += 1
        elif not release_blockers(batch, at=at):
            _batch_sign(
                batch_id=batch.pk,
                actor=qp,
                decision=SignatureDecision.RELEASE,
                comment="Batch record reviewed; all release tests within specification.",
                at=at,
            )
            released += 1
    # Certificates normally come from the outbox job; render any still missing (a worker that is
    # not running yet) so the demo shows them. Rendering is idempotent.
    for signature in BatchSignature.objects.filter(
        decision=SignatureDecision.RELEASE, certificate__isnull=True
    ):
        certificate_render(signature_id=signature.pk)
    stdout.write(f"Releases: {released} released, {rejected} rejected by {DEMO_QP}.")
    if BatchSignature.objects.filter(decision=SignatureDecision.RELEASE).exists():
        stdout.write(f"Certificates are PAdES-signed; their trust root: {signing_files().root}")
