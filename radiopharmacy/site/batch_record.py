"""The batch record page: every field, derived numbers, QC, corrections, deviations, the audit
trail of the batch and of everything linked to it, and the activity now (htmx fragment).

It reads QC and scheduling records, so it lives in the site layer."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.generic import TemplateView

from qc.guards import release_blockers, release_warnings
from qc.models import Deviation, QcResult
from qc.selectors import (
    applicable_tests,
    latest_results,
    limit_for,
    spec_for_batch,
)
from qc.specs import limit_text
from radiopharmacy.choices import BatchStatus
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.core.roles import CHANGE, VIEW, can
from radiopharmacy.models import Batch, SiteSettings
from radiopharmacy.selectors import batches as selectors
from radiopharmacy.services import batches as services
from radiopharmacy.services.elutions import batch_eluate_flags
from radiopharmacy.site.audit_trail import batch_audit_events, present
from radiopharmacy.site.balance import batch_balance
from radiopharmacy.units import activity_unit
from scheduling.models import Dose
from scheduling.selectors import batch_activity


class BatchDetailView(RoleRequiredMixin, TemplateView):
    """The batch record: every field, derived numbers, QC, corrections, deviations, audit."""

    permission_resource = "batches"
    template_name = "radiopharmacy/batch_detail.html"

    def get_context_data(self, **kwargs):

        # The results and quality events are read once, with who entered them and whether a
        # correction replaced them: the tables, the latest results and the release check
        # (qc.guards) all read these, not a query each nor one per row.
        batch = get_object_or_404(
            selectors.batches_for_list().prefetch_related(
                Prefetch(
                    "qc_results",
                    queryset=QcResult.objects.select_related(
                        "analyst", "spec_test", "supersedes", "superseded_by"
                    ),
                ),
                Prefetch("deviations", queryset=Deviation.objects.select_related("opened_by")),
                # its activity now, allocation and balance (scheduling.selectors.prefetched_doses)
                Prefetch("doses", queryset=Dose.objects.select_related("booking")),
            ),
            pk=self.kwargs["pk"],
        )
        now = timezone.now()
        spec = spec_for_batch(batch)
        results = sorted(batch.qc_results.all(), key=lambda r: (r.test_code, r.pk))
        latest = latest_results(batch)
        qc_rows = [
            {
                "test": test,
                "result": latest.get(test.code),
                "limit_text": limit_text(limit_for(test, batch.product)),
            }
            for test in applicable_tests(spec, batch.method)
        ]
        # The trail as people read it (local times, names, old → new in display units).
        # The records the page loaded name their own entries (no lookup for them).
        doses = list(batch.doses.all())
        known = [batch, batch.product, batch.operator, *batch.elutions.all(), *results]
        known += [e.generator for e in batch.elutions.all()]
        known += [r.spec_test for r in results if r.spec_test_id]
        known += [r.analyst for r in results]
        known += [e.opened_by for e in batch.deviations.all() if e.opened_by_id]
        known += [*batch.deviations.all(), *doses, *(dose.booking for dose in doses)]
        audit_entries = present(batch_audit_events(batch), known=known)
        corrections = [e for e in audit_entries if e.is_correction]
        user = self.request.user
        site = SiteSettings.current()
        return super().get_context_data(
            batch=batch,
            now=now,
            unit=activity_unit(self.request),
            activity=batch_activity(batch, now),
            spec=spec,
            qc_rows=qc_rows,
            results=results,
            deviations=sorted(batch.deviations.all(), key=lambda event: event.pk),
            corrections=corrections,
            audit_entries=audit_entries,
            blockers=release_blockers(batch, at=now),
            release_warnings=release_warnings(batch, site=site),
            eluate_flags=batch_eluate_flags(
                batch, min_efficiency_percent=site.min_efficiency_percent
            ),
            expired=now >= batch.expires_at,
            frozen=batch.status in services.FROZEN_STATUSES,
            can_write=can(user, CHANGE, "batches"),
            can_write_qc=can(user, CHANGE, "qc_results"),
            can_open_event=can(user, CHANGE, "deviations"),
            # a batch with a signed record (released or rejected, then held or recalled)
            can_export=can(user, VIEW, "inspector_export")
            and batch.status not in (BatchStatus.IN_PRODUCTION, BatchStatus.QC_PENDING),
            balance=batch_balance(batch),  # SPEC §2.9, radiopharmacy/site/balance.py
            **kwargs,
        )


class BatchActivityNowView(RoleRequiredMixin, TemplateView):
    """htmx fragment: activity and concentration now, refreshed every 30 s on the record."""

    permission_resource = "batches"
    template_name = "radiopharmacy/batch_activity_now.html"

    def get_context_data(self, **kwargs):
        batch = get_object_or_404(Batch, pk=self.kwargs["pk"])
        now = timezone.now()
        return super().get_context_data(
            batch=batch,
            now=now,
            unit=activity_unit(self.request),
            activity=batch_activity(batch, now),
            **kwargs,
        )
