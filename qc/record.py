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


# The record stores kinds and conclusions as the values of `qc.models.Deviation`'s choices.
EVENT_KINDS = {
    "oos": "Out of specification",
    "oot": "Out of trend",
    "deviation": "Deviation",
    "complaint": "Complaint",
}
CONCLUSIONS = {
    "invalidated": "Invalidated (assignable laboratory error)",
    "confirmed": "Confirmed",
    "no_product_impact": "No product impact",
}


def event_rows(record: dict) -> list[dict]:
    """The quality events of a signed record with their conclusions (SPEC §2.5): what the
    certificate lists. An event not closed (only after release: a hold) says so."""
    rows = []
    for event in record.get("deviations", []):
        first_line = (event.get("description") or "").splitlines()
        rows.append(
            {
                "id": event["id"],
                "kind": EVENT_KINDS.get(event["kind"], event["kind"]),
                "description": first_line[0] if first_line else "",
                "status": event["status"],
                "conclusion": CONCLUSIONS.get(event.get("conclusion") or "", "not closed"),
                "closed_by": event.get("closed_by") or "",
                "closed_at": event.get("closed_at"),
                "meaning": event.get("closure_meaning") or "",
                "note": event.get("closure_note") or "",
            }
        )
    return rows
