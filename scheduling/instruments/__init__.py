"""Instrument files in (SPEC §2.11): the dose calibrator's CSV export, read and matched to the
doses (and batches) it measured, for the radiopharmacist to review before anything is saved."""
