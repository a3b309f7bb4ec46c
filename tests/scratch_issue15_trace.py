import traceback
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.test_query_counts import World, world  # noqa: F401

pytestmark = pytest.mark.django_db


def test_trace(client, make_user, world, capsys):
    client.force_login(make_user("radiopharmacist"))
    for name in ("released", "pending"):
        url = f"/batches/{getattr(world, name).pk}/"
        client.get(url)
        out = []
        def wrapper(execute, sql, params, many, context):
            if any(t in sql for t in ('FROM "auth_user"', 'FROM "qc_qcresult"', 'FROM "qc_deviation"', 'FROM "scheduling_dose"', 'FROM "qc_specificationtest"', 'FROM "radiopharmacy_batch"')) and '"pk"' not in sql:
                st = [f"{f.filename.split('main/')[-1]}:{f.lineno} {f.name}" for f in traceback.extract_stack() if "/work/main/" in f.filename and ".venv" not in f.filename and "scratch" not in f.filename]
                out.append(sql[:90] + "\n      " + "\n      ".join(st[-4:]))
            return execute(sql, params, many, context)
        with connection.execute_wrapper(wrapper):
            client.get(url)
        with capsys.disabled():
            print(f"==== {name}")
            print("\n".join(out))
