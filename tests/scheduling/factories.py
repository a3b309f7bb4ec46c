"""A released batch row with chosen numbers, for dose tests (no synthesis needed).

The batch area's factory goes through batch_create (derived numbers from an elution); dose tests
need an exact concentration at an exact EOS, so this one writes the row directly.
"""

from datetime import timedelta

import factory

from radiopharmacy.core.sitetime import site_date
from radiopharmacy.models import Batch, Product
from tests.factories import REFERENCE_TIME, UserFactory


def _product():
    return Product.objects.order_by("id").first()


class ReleasedBatchFactory(factory.django.DjangoModelFactory):
    """Released batch: `concentration_at_eos_mbq_per_ml` × `volume_ml` at `eos_at`."""

    class Meta:
        model = Batch

    product = factory.LazyFunction(_product)
    sequence = factory.Sequence(lambda n: n + 1)
    production_date = factory.LazyAttribute(lambda o: site_date(o.eos_at))
    batch_number = factory.LazyAttribute(
        lambda o: f"{o.product.code}-{o.production_date:%Y%m%d}-{o.sequence:02d}"
    )
    method = "automated"
    operator = factory.SubFactory(UserFactory, role="radiopharmacist")
    eos_at = REFERENCE_TIME
    started_at = factory.LazyAttribute(lambda o: o.eos_at - timedelta(minutes=25))
    volume_ml = 10.0
    concentration_at_eos_mbq_per_ml = 200.0
    activity_at_eos_mbq = factory.LazyAttribute(
        lambda o: o.concentration_at_eos_mbq_per_ml * o.volume_ml
    )
    activity_mbq = factory.LazyAttribute(lambda o: o.activity_at_eos_mbq)
    measured_at = factory.LazyAttribute(lambda o: o.eos_at)
    expires_at = factory.LazyAttribute(
        lambda o: o.eos_at + timedelta(minutes=o.product.shelf_life_min)
    )
    status = "released"
