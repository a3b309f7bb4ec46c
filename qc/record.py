"""Pure reads of the batch record a qualified person signs (the dict built by
`qc.services.release.batch_record`, stored as JSON on the signature). No Django import: the
certificate renderer uses it on the signed record, the release page on the live one.
"""

# The record stores stages as the values of `qc.models.specs.QcStage`.
POST_RELEASE = "post_release"


def qc_rows(record: dict) -> list[dict]:
    """The QC table of a signed record: each applicable test with its counted result."""
    results = {r["id"]: r for r in record.get("qc_results", [])}
    rows = []
    for test in record.get("qc_tests", []):
        result = results.get(test["result"]) if test["result"] else None
        if result is not None:
            outcome = "pass" if result["passed"] else "fail"
            value = result["value_display"]
            if result["unit"] and result["value_display"] not in ("pass", "fail"):
                value = f"{value} {result['unit']}"
            limit = result["limit"] or test["limit"]
        else:
            post = test["stage"] == POST_RELEASE
            outcome = "pending" if post else ("not done" if not test["required"] else "missing")
            value = "pending" if post else "—"
            limit = test["limit"]
        rows.append(
            {
                "code": test["code"],
                "name": test["name"],
                "stage": test["stage"],
                "value": value,
                "limit": limit,
                "outcome": outcome,
            }
        )
    return rows
