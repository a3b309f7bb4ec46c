"""Instrument files in (SPEC §2.11): radio-TLC reports computed into QC results."""
