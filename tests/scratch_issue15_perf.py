import re
import statistics
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from radiopharmacy.web import batches as web_batches
from tests.factories import BatchFactory
from tests.test_query_counts import SESSION_NOISE, World, grow, world  # noqa: F401

pytestmark = pytest.mark.django_db
N = 20


def measure(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as q:
        r = client.get(url)
    assert r.status_code == 200
    sqls = [x["sql"] for x in q.captured_queries if not SESSION_NOISE.search(x["sql"])]
    times = []
    for _ in range(N):
        t = time.process_time()
        client.get(url)
        times.append(time.process_time() - t)
    return sqls, statistics.median(times) * 1000


def norm(s):
    return re.sub(r"\b\d+\b|'[^']*'", "?", s)[:200]


def test_measure(client, make_user, world, monkeypatch, capsys):
    client.force_login(make_user("radiopharmacist"))
    now = timezone.now()
    for i in range(240):
        BatchFactory(operator=world.radiopharmacist, started_at=now - timedelta(days=2 + i), activity_mbq=500.0, qc="passing")
    out = []
    for size in (200, 50):
        monkeypatch.setattr(web_batches, "PAGE_SIZE", size)
        sqls, ms = measure(client, "/batches/")
        out.append(f"list size={size}: {len(sqls)} queries, {ms:.1f} ms")
    sqls, ms = measure(client, "/batches/?q=0&status=released")
    out.append(f"list q: {len(sqls)} queries, {ms:.1f} ms")
    for name in ("released", "pending"):
        b = getattr(world, name)
        sqls, ms = measure(client, f"/batches/{b.pk}/")
        out.append(f"detail {name}: {len(sqls)} queries, {ms:.1f} ms")
        for s, c in Counter(norm(s) for s in sqls).most_common():
            out.append(f"   {c} x {s}")
    with capsys.disabled():
        print("\n".join(out))
