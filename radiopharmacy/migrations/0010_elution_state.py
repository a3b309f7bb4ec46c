"""The generator's column state stored with each elution.

Existing elutions get theirs from the pure model (physics.elution_states), generator by
generator in time order, exactly as services.elutions.elution_states_refresh derives them.
"""

from django.db import migrations, models

from radiopharmacy import physics

STATE_FIELDS = ("column_residual_mbq", "efficiency_estimate_percent", "elution_number")


def derive_states(apps, schema_editor):
    Generator = apps.get_model("radiopharmacy", "Generator")
    Elution = apps.get_model("radiopharmacy", "Elution")
    for generator in Generator.objects.all().iterator():
        elutions = list(Elution.objects.filter(generator=generator).order_by("eluted_at", "id"))
        superseded = {e.supersedes_id for e in elutions if e.supersedes_id is not None}
        current = [e for e in elutions if e.pk not in superseded]
        states = physics.elution_states(
            nominal_activity_mbq=generator.nominal_activity_mbq,
            calibrated_at=generator.calibrated_at,
            elutions=[
                physics.ElutionRecord(
                    eluted_at=e.eluted_at, activity_at_elution_mbq=e.activity_at_elution_mbq
                )
                for e in current
            ],
        )
        estimates = physics.running_efficiency_estimates(
            [e.efficiency_percent for e in current],
            nominal_percent=generator.nominal_efficiency_percent,
        )
        for number, (elution, state, estimate) in enumerate(
            zip(current, states, estimates, strict=True), start=1
        ):
            elution.column_residual_mbq = state.residual_mbq
            elution.efficiency_estimate_percent = estimate
            elution.elution_number = number
        # A superseded elution keeps the state it had when it counted: the step from the
        # current elutions before it.
        for elution in elutions:
            if elution.pk not in superseded:
                continue
            before = [
                (e, s, n)
                for n, (e, s) in enumerate(zip(current, states, strict=True), start=1)
                if e.eluted_at < elution.eluted_at
            ]
            after = physics.elution_states(
                nominal_activity_mbq=generator.nominal_activity_mbq,
                calibrated_at=generator.calibrated_at,
                elutions=[
                    physics.ElutionRecord(
                        eluted_at=elution.eluted_at,
                        activity_at_elution_mbq=elution.activity_at_elution_mbq,
                    )
                ],
                after=before[-1][1] if before else None,
            )[0]
            elution.column_residual_mbq = after.residual_mbq
            elution.efficiency_estimate_percent = physics.running_efficiency_estimates(
                [elution.efficiency_percent],
                before=[e.efficiency_percent for e, _, _ in before],
                nominal_percent=generator.nominal_efficiency_percent,
            )[0]
            elution.elution_number = len(before) + 1
        Elution.objects.bulk_update(elutions, STATE_FIELDS, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("radiopharmacy", "0009_audit_indexes")]

    operations = [
        migrations.AddField(
            model_name="elution",
            name="column_residual_mbq",
            field=models.FloatField(default=0.0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="elution",
            name="efficiency_estimate_percent",
            field=models.FloatField(default=0.0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="elution",
            name="elution_number",
            field=models.PositiveIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.RunPython(derive_states, migrations.RunPython.noop),
    ]
