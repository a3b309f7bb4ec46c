"""Demo quality events (SPEC §2.4a; radiopharmacy.demo.LOADERS, after the batches and before
the releases).

- The OOS of the typed RCP (93 % for 97.2 %, corrected with a reason by `qc.demo.batches`):
  phase I finds the transcription error, the qualified person "qp" closes it as `invalidated`
  (signed a few minutes after the QC, as a QP would have), so the release demo releases the
  batch; one CAPA on it (a second-person check of typed values).
- The OOS of the RCP of 94 %: phase I found no laboratory error; it stays under investigation
  (phase II to do) while the release demo rejects the batch.

Through the services, as the demo radiopharmacist and qualified person. Idempotent: an event
already investigated is left alone.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from qc.demo.batches import DEMO_GENERATOR_SERIAL, RCP_TYPED
from qc.models import Capa, Deviation
from qc.services import deviations
from qc.services.capas import capa_create
from qc.services.deviations import investigation_record
from qc.services.release import ensure_qualified_person
from radiopharmacy.core.sitetime import site_today

DEMO_RADIOPHARMACIST, DEMO_QP = "radiopharmacist", "qp"
CLOSING_MINUTES = 3  # the QP closes the OOS a few minutes after the corrected result
TYPO_CAUSE = "Transcription error: 93 was typed for the 97.2 % on the TLC scanner printout"
CAPA_TEXT = (
    "Second-person check of every QC value typed from an instrument printout, before the "
    "batch record goes to the qualified person"
)


def _demo_oos(rcp_value: float) -> Deviation | None:
    return (
        Deviation.objects.filter(
            kind=Deviation.Kind.OOS,
            qc_result__test_code="rcp_itlc",
            qc_result__value_number=rcp_value,
            batch__elutions__generator__serial_number=DEMO_GENERATOR_SERIAL,
        )
        .select_related("qc_result")
        .order_by("id")
        .first()
    )


@transaction.atomic
def load_quality_events(*, stdout) -> None:
    User = get_user_model()
    lab = User.objects.filter(username=DEMO_RADIOPHARMACIST).first()
    qp = User.objects.filter(username=DEMO_QP).first()
    if lab is None or qp is None:
        stdout.write("Quality events: no demo radiopharmacist or qualified person, skipped.")
        return
    ensure_qualified_person(qp)
    done = []

    typo = _demo_oos(RCP_TYPED)
    if typo is not None and not typo.investigations.exists():
        investigation_record(
            deviation_id=typo.pk,
            actor=lab,
            phase=1,
            findings=(
                "Calculation, scanner calibration and sample identity checked. The scanner "
                "printout of the strip reads RCP 97.2 %; 93 was typed into the record."
            ),
            assignable_cause=TYPO_CAUSE,
        )
        corrected = typo.batch.qc_results.filter(
            test_code="rcp_itlc", superseded_by__isnull=True
        ).first()
        # Demo data: the signature is backdated to when a QP would have closed it (the
        # password check of `deviation_close` is for a person at the keyboard).
        deviations._close(
            deviation_id=typo.pk,
            actor=qp,
            conclusion=Deviation.Conclusion.INVALIDATED,
            note=(
                "Assignable laboratory error (transcription). The typed 93 % is invalidated; "
                "the corrected 97.2 % from the printout counts."
            ),
            at=corrected.performed_at + timedelta(minutes=CLOSING_MINUTES),
        )
        done.append(f"{typo.batch.batch_number}: OOS #{typo.pk} closed as invalidated")
    if typo is not None and not Capa.objects.filter(deviation=typo).exists():
        capa = capa_create(
            actor=qp,
            deviation=typo,
            description=CAPA_TEXT,
            owner=lab,
            due_on=site_today() + timedelta(days=14),
        )
        done.append(f"CAPA {capa.pk} due on {capa.due_on:%Y-%m-%d}")

    failed = _demo_oos(94.0)
    if failed is not None and not failed.investigations.exists():
        investigation_record(
            deviation_id=failed.pk,
            actor=lab,
            phase=1,
            findings=(
                "Calculation, scanner calibration, strip and sample identity checked; a second "
                "strip of the retained sample reads 94.1 %. No laboratory error found: phase II "
                "(production, precursor lot, module) to do."
            ),
            assignable_cause="",
        )
        done.append(f"{failed.batch.batch_number}: OOS #{failed.pk} under investigation")
    stdout.write("Quality events: " + ("; ".join(done) + "." if done else "already loaded."))
