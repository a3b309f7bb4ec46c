"""Reads of products."""

from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.models import Product


def default_product() -> Product:
    """The site's product when it has only one (SPEC §3: the product is then optional)."""
    products = list(Product.objects.order_by("id")[:2])
    if len(products) != 1:
        raise ApplicationError(
            "Choose the product.", fields={"product": ["Required when the site has several."]}
        )
    return products[0]
