"""Bench data loader: `python -m tests.bench.loader --days N` (`make bench-data DAYS=N`).

Writes N working days (Monday to Friday) of a site's activity ending today, through the same
services as a person's input, each record made at the moment it happens (the clock travels
there), so numbers, audit trail, deviations and signatures are real:

- generators: one received (quarantine), accepted and put in use every GENERATOR_DAYS working
  days, the previous one retired; the Ge-68 breakthrough of each one's first elution 50 h later;
- elutions at the demo's times (07:30, 10:45, 13:45), one synthesis from each, its 12 release
  tests recorded 15 min after EOS;
- now and then a value typed wrongly and corrected with a reason, a transcription error making
  an OOS (investigated, invalidated by the QP, the batch released), or a true OOS (confirmed,
  the batch rejected);
- every out-of-trend event the trend rules raise investigated and closed (no product impact),
  its alert acknowledged by the radiopharmacist who investigates;
- the QP's signature of every batch 5 min after its QC (four eyes: the other radiopharmacist
  made it);
- three or four patients booked after each released batch, each dose assigned, measured and
  administered.

What the loader does not do, to be fast (documented in the README, "Performance"):
- no password is entered at a signature: signatures go through the same private signing
  service the demo uses for backdated signatures (`qc.services.release._batch_sign`,
  `qc.services.deviations._close`), so no password hash is computed per signature;
- certificates are not rendered: their outbox jobs stay pending (a worker, or `make worker`,
  renders them later); `--certificates` renders them inline;
- the days are cut into segments of one generator each, loaded newest first (each in time
  order, a day per transaction), so an interrupted load already ends today and running the
  same command again the same day resumes it (`load`).

The demo users (`radiopharmacy.demo.users`, known passwords) act. Seeded: the same N days give
the same records. Asserts nothing; prints the counts and the time taken.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

BENCH_SERIAL_PREFIX = "GP-BENCH-"
GENERATOR_DAYS = 125  # working days a generator is used (about six months)
# Shares of batches with a corrected typing error, a transcription OOS, a true OOS.
CORRECTION_RATE = 0.04
TYPO_OOS_RATE = 0.01
TRUE_OOS_RATE = 0.01
PATIENTS_PER_BATCH = (3, 4)
PATIENT_SPACING = timedelta(minutes=15)  # two injection rooms
FIRST_PATIENT_AFTER_EOS = timedelta(minutes=35)
# A 3.7 GBq generator (the largest sold): a batch then serves three or four patients, as the
# five-year target's 2,500 patients from about 760 batches a year need.
NOMINAL_ACTIVITY_MBQ = 3700.0


def working_days(days: int, *, today: date) -> list[date]:
    """The last `days` weekdays up to and including `today` (when it is a weekday), oldest first."""
    out: list[date] = []
    day = today
    while len(out) < days:
        if day.weekday() < 5:
            out.append(day)
        day -= timedelta(days=1)
    return out[::-1]


def retry(service):
    """`service` called again when PostgreSQL broke a deadlock by rolling it back (segments
    loaded in parallel contend for the audit chain's lock and the product row; the service's
    transaction is whole, so calling it again is safe)."""

    def call(*args, **kwargs):
        from django.db import OperationalError

        for attempt in range(8):
            try:
                return service(*args, **kwargs)
            except OperationalError as exc:
                if "deadlock" not in str(exc) or attempt == 7:
                    raise
                time.sleep(random.uniform(0.05, 0.3))

    return call


@contextmanager
def at(moment: datetime):
    """The clock at `moment` (frozen) while a record is made there."""
    import time_machine

    with time_machine.travel(moment, tick=False):
        yield


class Loader:
    def __init__(self, *, seed: int = 68, certificates: bool = False, stdout=sys.stdout):
        from django.contrib.auth import get_user_model

        from radiopharmacy.core.sitetime import site_zone
        from radiopharmacy.models import SiteSettings

        self.rng = random.Random(seed)
        self.certificates = certificates
        self.stdout = stdout
        self.zone = site_zone()
        users = {u.username: u for u in get_user_model().objects.all()}
        self.rps = [users["radiopharmacist"], users["radiopharmacist2"]]
        self.qp = users["qp"]
        self.scheduler = users["scheduler"]
        settings_row = SiteSettings.current()
        self.lead = timedelta(minutes=settings_row.draw_lead_time_min)
        self.generator = None
        self.generator_days = 0
        self.untested_first_elution = None
        self.counts = dict.fromkeys(
            ("generators", "elutions", "batches", "results", "released", "rejected", "doses"), 0
        )
        self.counts["bookings"] = self.counts["cancelled"] = self.counts["events"] = 0

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)

    # --- generators ------------------------------------------------------------------------

    def _new_generator(self, day: date) -> None:
        from radiopharmacy.choices import GeneratorStatus
        from radiopharmacy.services.generators import (
            generator_accept,
            generator_register,
        )

        rp = self.rps[0]
        received = self.local(day, 6, 30)
        with at(received):
            self.generator = retry(generator_register)(
                actor=rp,
                manufacturer="Eckert & Ziegler",
                model="GalliaPharm",
                serial_number=f"{BENCH_SERIAL_PREFIX}{day:%Y%m%d}",
                nominal_activity_mbq=NOMINAL_ACTIVITY_MBQ,
                calibrated_at=received - timedelta(days=3, hours=18),
                received_at=received,
                nominal_efficiency_percent=65.0,
                status=GeneratorStatus.QUARANTINE,
            )
        with at(received + timedelta(minutes=20)):
            retry(generator_accept)(
                actor=rp,
                generator_id=self.generator.pk,
                note="Documents, certificate activity and first eluate checked",
                documents_checked=True,
                certificate_activity_checked=True,
                first_eluate_checked=True,
            )
        self.generator_days = 0
        self.untested_first_elution = None
        self.counts["generators"] += 1

    def _breakthrough(self, day: date) -> None:
        from qc.services.breakthrough import breakthrough_record
        from radiopharmacy import physics

        elution = self.untested_first_elution
        measured_at = elution.eluted_at + timedelta(hours=50)
        if measured_at > self.local(day, 7, 0):
            return
        ge68_kbq = elution.activity_at_elution_mbq * physics.KBQ_PER_MBQ * 0.0002 / 100
        with at(self.local(day, 7, 0)):
            retry(breakthrough_record)(
                actor=self.rps[0],
                elution_id=elution.pk,
                ge68_activity_kbq=round(ge68_kbq, 4),
                measured_at=measured_at,
            )
        self.untested_first_elution = None

    # --- one elution, its batch and its patients -------------------------------------------

    def _elution(self, day: date, slot, rp):
        from radiopharmacy import physics
        from radiopharmacy.selectors import generators as selectors
        from radiopharmacy.services.elutions import elution_record

        rng = self.rng
        eluted_at = datetime.combine(day, slot, tzinfo=self.zone)
        measured_at = eluted_at.astimezone(UTC) + timedelta(minutes=rng.randint(3, 8))
        on_column = selectors.prediction(self.generator, at=eluted_at).ga68_on_column_mbq
        at_elution = on_column * rng.uniform(0.62, 0.68)
        measured = physics.decay_activity(
            at_elution, from_time=eluted_at, to_time=measured_at, nuclide=physics.GA68
        )
        with at(measured_at + timedelta(minutes=1)):
            elution = retry(elution_record)(
                actor=rp,
                generator_id=self.generator.pk,
                eluted_at=eluted_at,
                activity_mbq=round(measured, 1),
                measured_at=measured_at,
                volume_ml=round(rng.uniform(4.9, 5.1), 2),
                eluent_lot=f"HCl-0.1M-{day:%y%m}",
            )
        if self.untested_first_elution is None and self.generator_days == 0:
            self.untested_first_elution = elution
        self.counts["elutions"] += 1
        return elution

    def _batch(self, elution, rp):
        from qc.demo.batches import SYNTHESIS_DURATION, SYNTHESIS_START_DELAY
        from radiopharmacy import physics
        from radiopharmacy.services.batches import batch_create

        rng = self.rng
        started = elution.eluted_at + SYNTHESIS_START_DELAY
        eos = started + SYNTHESIS_DURATION
        measured_at = eos + timedelta(minutes=3)
        activity = physics.decay_activity(
            physics.decay_activity(
                elution.activity_at_elution_mbq, from_time=elution.eluted_at, to_time=eos
            )
            * rng.uniform(0.74, 0.86),
            from_time=eos,
            to_time=measured_at,
        )
        with at(measured_at + timedelta(minutes=1)):
            batch = retry(batch_create)(
                actor=rp,
                elutions=[elution],
                method="automated",
                module_name="Modular-Lab eazy",
                module_serial="MLE-2291",
                precursor_lot=f"DOTATATE-{eos:%y%m}",
                precursor_mass_ug=25.0,
                reagent_lots=[
                    {"name": "HEPES buffer 1.5 M", "lot": f"HB-{eos:%y%m}"},
                    {"name": "SCX cartridge", "lot": f"SCX-{eos:%y%m}-07"},
                    {"name": "Sterile filter 0.22 µm", "lot": "MF-88412"},
                ],
                started_at=started,
                eos_at=eos,
                activity_mbq=round(activity, 1),
                measured_at=measured_at,
                volume_ml=round(rng.uniform(9.6, 10.4), 2),
            )
        self.counts["batches"] += 1
        return batch

    def _qc(self, batch, rp) -> tuple[str, datetime]:
        """The 12 release tests; returns what happened ("pass", "typo_oos", "true_oos") and when
        the last result was entered."""
        from qc.demo.batches import PASSING, QC_DELAY, RCP_CORRECTION_REASON, RCP_PRINTED, RCP_TYPED
        from qc.services.results import qc_result_record

        rng = self.rng
        roll = rng.random()
        outcome = (
            "typo_oos"
            if roll < TYPO_OOS_RATE
            else "true_oos"
            if roll < TYPO_OOS_RATE + TRUE_OOS_RATE
            else "pass"
        )
        corrected = outcome == "pass" and rng.random() < CORRECTION_RATE
        performed_at = batch.eos_at + QC_DELAY
        values = dict(PASSING)
        # small run-to-run spread, well within the limits, so the trend charts have a series
        values["ph"] = round(rng.uniform(6.3, 6.7), 1)
        values["rcp_itlc"] = round(rng.uniform(97.5, 99.4), 1)
        values["colloid_itlc"] = round(rng.uniform(0.4, 1.2), 1)
        values["half_life"] = round(rng.uniform(67.0, 69.0), 1)
        values["ethanol"] = round(rng.uniform(5.0, 7.0), 1)
        if outcome == "typo_oos":
            values["rcp_itlc"] = RCP_TYPED
        elif outcome == "true_oos":
            values["rcp_itlc"] = 94.0
        entered = performed_at + timedelta(minutes=2)
        with at(entered):
            for code, value in values.items():
                result = retry(qc_result_record)(
                    actor=rp,
                    batch_id=batch.pk,
                    test=code,
                    value=value,
                    performed_at=performed_at,
                    instrument={"rcp_itlc": "miniGita TLC scanner", "ph": "pH strip"}.get(code, ""),
                )
                self.counts["results"] += 1
                if corrected and code == "ph":
                    first_ph = result
        if outcome == "typo_oos":
            entered += timedelta(minutes=3)
            with at(entered):
                retry(qc_result_record)(
                    actor=rp,
                    batch_id=batch.pk,
                    test="rcp_itlc",
                    value=RCP_PRINTED,
                    performed_at=performed_at,
                    reason=RCP_CORRECTION_REASON,
                )
        elif corrected:
            entered += timedelta(minutes=3)
            with at(entered):
                retry(qc_result_record)(
                    actor=rp,
                    batch_id=batch.pk,
                    test="ph",
                    value=round(min(6.9, first_ph.value_number + 0.1), 1),
                    performed_at=performed_at,
                    supersedes=first_ph,
                    reason="Typing error: the pH strip reads one tenth higher; corrected",
                )
        if outcome != "pass" or corrected:
            self.counts["results"] += 1
        return outcome, entered

    def _investigate(self, batch, outcome: str, rp, moment: datetime) -> datetime:
        """Investigate and close every open quality event of the batch: an OOS (phase I, then
        invalidated for a transcription error or confirmed) and an OOT raised by the trend rules
        (phase I, no product impact)."""
        from qc.demo.quality_events import TYPO_CAUSE
        from qc.models import Deviation
        from qc.services import deviations
        from qc.services.deviations import investigation_record
        from radiopharmacy.core.alerts import alert_acknowledge
        from radiopharmacy.core.models import Alert

        Conclusion = Deviation.Conclusion
        events = Deviation.objects.filter(batch=batch).exclude(status=Deviation.Status.CLOSED)
        for event in events.order_by("id"):
            oos = event.kind == Deviation.Kind.OOS
            typo = oos and outcome == "typo_oos"
            moment += timedelta(minutes=10)
            with at(moment):
                retry(investigation_record)(
                    deviation_id=event.pk,
                    actor=rp,
                    phase=1,
                    findings="Calculation, instrument calibration and sample identity checked.",
                    assignable_cause=TYPO_CAUSE if typo else "",
                )
            if event.kind == Deviation.Kind.OOT:
                # The radiopharmacist who investigates has seen the alert: it leaves the strip.
                for alert in Alert.objects.filter(
                    kind="oot", object_type="batch", object_id=str(batch.pk), acknowledged_at=None
                ):
                    with at(moment):
                        retry(alert_acknowledge)(alert_id=alert.pk, actor=rp)
            moment += timedelta(minutes=5)
            if typo:
                conclusion, note = (
                    Conclusion.INVALIDATED,
                    ("Assignable laboratory error (transcription); the corrected result counts."),
                )
            elif oos:
                conclusion, note = Conclusion.CONFIRMED, "No laboratory error: the batch fails."
            else:
                conclusion, note = (
                    Conclusion.NO_PRODUCT_IMPACT,
                    ("Within specification; the trend is watched on the next batches."),
                )
            self.counts["events"] += 1
            with at(moment):
                retry(deviations._close)(
                    deviation_id=event.pk,
                    actor=self.qp,
                    conclusion=conclusion,
                    note=note,
                    at=moment,
                )
        return moment

    def _sign(self, batch, outcome: str, moment: datetime) -> bool:
        from qc.demo.releases import REVIEW_MINUTES
        from qc.models import SignatureDecision
        from qc.services.release import _batch_sign

        moment += timedelta(minutes=REVIEW_MINUTES)
        release = outcome != "true_oos"
        with at(moment):
            retry(_batch_sign)(
                batch_id=batch.pk,
                actor=self.qp,
                decision=SignatureDecision.RELEASE if release else SignatureDecision.REJECT,
                comment=(
                    "Batch record reviewed; all release tests within specification."
                    if release
                    else "Out of specification: rcp_itlc"
                ),
                at=moment,
            )
        self.counts["released" if release else "rejected"] += 1
        return release

    def _patients(self, day: date, batch, released_at: datetime, now: datetime) -> None:
        from radiopharmacy.core.errors import ApplicationError
        from scheduling.demo.bookings import _round5, _serve
        from scheduling.services.bookings import booking_cancel, booking_create

        rng = self.rng
        batch.refresh_from_db()
        first = _round5(max(batch.eos_at + FIRST_PATIENT_AFTER_EOS, released_at + self.lead * 2))
        for n in range(rng.randint(*PATIENTS_PER_BATCH)):
            injection_at = first + n * PATIENT_SPACING
            if injection_at + timedelta(minutes=15) > now:
                return
            if injection_at >= batch.expires_at:
                return
            self.counts["bookings"] += 1
            with at(released_at + timedelta(minutes=1)):
                booking = retry(booking_create)(
                    actor=self.scheduler,
                    patient_ref=f"B-{day:%Y%m%d}-{self.counts['bookings']:05d}",
                    weight_kg=float(rng.randint(55, 110)),
                    injection_at=injection_at,
                )
            # assigned, measured and administered as the injection is done (the demo's _serve)
            with at(injection_at + timedelta(minutes=12)):
                # a retry after a deadlock half-way finds the dose assigned: not served again
                served = retry(_serve)(
                    booking,
                    [batch],
                    rp=self.rps[n % 2],
                    lead=self.lead,
                    now=injection_at + timedelta(minutes=12),
                    rng=rng,
                )
            if not served:  # the batch has too little left: the patient is rebooked
                with at(injection_at - timedelta(minutes=30)), suppress(ApplicationError):
                    retry(booking_cancel)(
                        actor=self.scheduler,
                        booking_id=booking.pk,
                        reason="Not enough activity left in the batch; rebooked",
                    )
                self.counts["cancelled"] += 1
                return
            self.counts["doses"] += 1

    # --- a day -------------------------------------------------------------------------------

    def load_day(self, day: date, *, now: datetime) -> None:
        from qc.demo.batches import QC_DELAY, SYNTHESIS_DURATION, SYNTHESIS_START_DELAY
        from radiopharmacy.demo.generators import ELUTION_TIMES

        if self.generator is None or self.generator_days >= GENERATOR_DAYS:
            self._new_generator(day)
        elif self.untested_first_elution is not None:
            self._breakthrough(day)
        slots = ELUTION_TIMES if self.rng.random() < 0.92 else ELUTION_TIMES[:2]
        for i, slot in enumerate(slots):
            eluted_at = datetime.combine(day, slot, tzinfo=self.zone)
            done_by = eluted_at + SYNTHESIS_START_DELAY + SYNTHESIS_DURATION + QC_DELAY
            if done_by + timedelta(minutes=30) > now:
                break  # nothing is recorded before it happens
            rp = self.rps[(day.toordinal() + i) % 2]
            # Each service commits on its own, as a person's inputs do: the audit chain's lock
            # is then held for one service call, so parallel segments interleave.
            elution = self._elution(day, slot, rp)
            batch = self._batch(elution, rp)
            outcome, moment = self._qc(batch, rp)
            moment = self._investigate(batch, outcome, rp, moment)
            released = self._sign(batch, outcome, moment)
            if released:
                self._patients(day, batch, moment, now)
        self.generator_days += 1

    def retire(self, day: date) -> None:
        """Retire the segment's generator at the end of its last day (the next segment's
        generator takes over the next morning)."""
        from radiopharmacy.choices import GeneratorStatus
        from radiopharmacy.services.generators import generator_set_status

        with at(self.local(day, 17, 30)):
            retry(generator_set_status)(
                actor=self.rps[0],
                generator_id=self.generator.pk,
                status=GeneratorStatus.RETIRED,
                reason="Replaced by the next generator (planned six-monthly change)",
            )

    def resume(self, days: list[date]) -> list[date]:
        """The days of this segment still to load: those without batches (a day interrupted
        half-way stays as it is). The segment's latest generator is read back and goes on; a
        retired one with days left (retired by hand after an interruption) is followed by a
        new one."""
        from radiopharmacy.models import Batch, BreakthroughTest, Elution, Generator

        done = set(
            Batch.objects.filter(production_date__in=days).values_list("production_date", flat=True)
        )
        todo = [d for d in days if d not in done]
        generator = (
            Generator.objects.filter(
                serial_number__startswith=BENCH_SERIAL_PREFIX,
                received_at__gte=self.local(days[0], 0),
                received_at__lte=self.local(days[-1], 23, 59),
            )
            .order_by("-received_at")
            .first()
        )
        if generator is None or (generator.status == "retired" and todo):
            return todo
        self.generator = generator
        self.generator_days = (
            Batch.objects.filter(elutions__generator=generator)
            .values("production_date")
            .distinct()
            .count()
        )
        first = Elution.objects.filter(generator=generator).order_by("eluted_at").first()
        if first and not BreakthroughTest.objects.filter(elution=first).exists():
            self.untested_first_elution = first
        return todo


def _date_back_specifications(first: datetime) -> None:
    """The seeded specification v1 is in force from its migration's date (2026); five years of
    history need it in force from their first day, as the site's specification would have been.
    Bench data only: a direct update of the seeded rows, the earliest version of each product."""
    from qc.models import Specification

    for product_id in set(Specification.objects.values_list("product_id", flat=True)):
        earliest = (
            Specification.objects.filter(product_id=product_id)
            .order_by("effective_from", "version")
            .first()
        )
        if earliest.effective_from > first:
            Specification.objects.filter(pk=earliest.pk).update(
                effective_from=first, approved_at=first
            )


def _no_certificates():
    """Leave certificate jobs pending in the outbox (not published, so not rendered now)."""
    from radiopharmacy.core import outbox

    return mock.patch.object(outbox, "_publish_on_commit", lambda job_id: None)


def load_segment(
    days: list[date],
    *,
    index: int,
    seed: int,
    now: datetime,
    certificates: bool,
    last: bool,
    stdout,
    whole_days: bool = True,
) -> dict:
    """Load one segment (one generator's working days), resuming where it stopped."""
    from contextlib import nullcontext

    from django.db import transaction

    loader = Loader(seed=seed + index, certificates=certificates, stdout=stdout)
    todo = loader.resume(days)
    started = time.monotonic()
    with nullcontext() if certificates else _no_certificates():
        for i, day in enumerate(todo, start=1):
            # Alone, a day is one transaction (fewer commits: faster); in parallel each service
            # commits on its own, so the audit chain's lock is not held for a whole day.
            with transaction.atomic() if whole_days else nullcontext():
                loader.load_day(day, now=now)
            if i % 25 == 0 or i == len(todo):
                rate = i / (time.monotonic() - started)
                stdout.write(
                    f"  segment {index}: {i}/{len(todo)} days ({day:%Y-%m-%d}), {rate:.2f} days/s\n"
                )
                stdout.flush()
        if not last and loader.generator and loader.generator.status != "retired":
            loader.retire(days[-1])
    return loader.counts


def _segment_in_process(args) -> dict:
    # A forked child: its own database connection (the parent's were closed before the fork).
    days, index, seed, now, certificates, last = args
    return load_segment(
        days,
        index=index,
        seed=seed,
        now=now,
        certificates=certificates,
        last=last,
        stdout=sys.stdout,
        whole_days=False,
    )


def load(
    days: int, *, seed: int = 68, certificates: bool = False, workers: int = 1, stdout=sys.stdout
) -> dict:
    """Load `days` working days ending today; returns the counts. Users come from the demo.

    The days are cut into segments of one generator each (GENERATOR_DAYS), independent of one
    another, loaded newest first by `workers` processes at once; a segment already loaded (in
    part) is resumed, so an interrupted load is finished by running it again with the same days
    (on the same day: the days are counted back from today).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections
    from django.utils import timezone

    from radiopharmacy.core.sitetime import site_today
    from radiopharmacy.demo.users import load_users

    class Quiet:
        def write(self, *_args, **_kwargs):
            pass

    load_users(stdout=Quiet())
    now = timezone.now()
    schedule = working_days(days, today=site_today())
    _date_back_specifications(datetime.combine(schedule[0], datetime.min.time(), tzinfo=UTC))
    starts = range(0, len(schedule), GENERATOR_DAYS)
    segments = [
        (schedule[i : i + GENERATOR_DAYS], n, seed, now, certificates, n == len(starts) - 1)
        for n, i in enumerate(starts)
    ]
    # Newest first: an interrupted load already holds the most recent history, ending today
    # (each segment is loaded in time order; the audit trail's ids then run backwards across
    # segments, which no page depends on).
    segments.reverse()
    started = time.monotonic()
    if workers > 1:
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(_segment_in_process, segments))
    else:
        results = [
            load_segment(d, index=n, seed=s, now=t, certificates=c, last=z, stdout=stdout)
            for d, n, s, t, c, z in segments
        ]
    total = {key: sum(r[key] for r in results) for key in results[0]}
    total["seconds"] = round(time.monotonic() - started, 1)
    return total


def checkpoint_dir(environ) -> Path:
    """Where a bench database's audit checkpoints go unless AUDIT_CHECKPOINT_DIR says: one
    folder per database under var/, so its checkpoints never mix with another database's (the
    load test's servers use the same folder)."""
    name = urlsplit(environ.get("DATABASE_URL", "")).path.strip("/") or "default"
    return Path(__file__).resolve().parents[2] / "var" / f"audit-checkpoints-{name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=250, help="working days to load (default 250)")
    parser.add_argument("--seed", type=int, default=68)
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("BENCH_WORKERS", "1")),
        help="processes loading segments at once (default BENCH_WORKERS or 1)",
    )
    parser.add_argument(
        "--certificates",
        action="store_true",
        help="render each release certificate now (default: left pending in the outbox)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radiopharmacy.settings")
    os.environ.setdefault("AUDIT_CHECKPOINT_DIR", str(checkpoint_dir(os.environ)))
    import django

    django.setup()
    from django.db import connection

    print(f"Loading {args.days} working days into {connection.settings_dict['NAME']} ...")
    counts = load(args.days, seed=args.seed, certificates=args.certificates, workers=args.workers)
    print(
        "Bench data: "
        + ", ".join(f"{v} {k}" for k, v in counts.items() if k != "seconds")
        + f"; {counts['seconds']} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
