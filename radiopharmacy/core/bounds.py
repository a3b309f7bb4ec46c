"""Plausibility bounds of every number and text a person types, in one place.

A value beyond these is a typing error or a unit mix-up (kBq for MBq, mCi for MBq), never a
real record: the services refuse it with a 400 naming the field, before anything is computed or
saved, and the API and form fields carry the same limits. The maxima are deliberately generous
(a factor of about five above the largest real value), so no real record is ever refused.
"""

from datetime import UTC, datetime, timedelta

# --- Activities (MBq) ---------------------------------------------------------------------------
# The largest commercial Ge-68/Ga-68 generators are sold at about 4 GBq (1.85-3.7 GBq GalliaPharm,
# iThemba, ITG 50 mCi); two generators eluted together give at most about 8 GBq of Ga-68.
GENERATOR_ACTIVITY_MAX_MBQ = 20_000.0
ELUATE_ACTIVITY_MAX_MBQ = 20_000.0
# A batch holds at most the eluates it was made from (see the yield rule in services.batches).
BATCH_ACTIVITY_MAX_MBQ = 20_000.0
# Ga-68 DOTATATE: 2 MBq/kg capped at 200 MBq (NETSPOT label); other Ga-68 products are dosed at
# 100-250 MBq. 2,000 MBq is ten times any prescription.
PRESCRIBED_ACTIVITY_MAX_MBQ = 2_000.0
# A syringe drawn up to a few hours before the injection holds a few times the prescription.
SYRINGE_ACTIVITY_MAX_MBQ = 20_000.0
# Ge-68 in a retained eluate sample: the breakthrough limit is 0.001 % of a few GBq, i.e. tens of
# Bq; even a failed column gives far less than 1 GBq.
GE68_SAMPLE_ACTIVITY_MAX_KBQ = 1_000_000.0

# --- Volumes (mL), masses -------------------------------------------------------------------
# Generators are eluted with 4-7 mL of 0.05-0.1 M HCl (fractionated elution: up to about 10 mL).
ELUATE_VOLUME_MAX_ML = 50.0
# A Ga-68 DOTATATE batch is formulated in 5-20 mL.
BATCH_VOLUME_MAX_ML = 100.0
# DOTATATE labelling uses 10-50 µg of precursor.
PRECURSOR_MASS_MAX_UG = 5_000.0
# A generator is rated for a few hundred elutions a year.
MAX_ELUTIONS_LIMIT = 10_000

# --- Patients -------------------------------------------------------------------------------
# Weights are bounded in scheduling.models (MIN_WEIGHT_KG, MAX_WEIGHT_KG, with a database check).
TOLERANCE_MAX_PERCENT = 50.0

# --- Text -----------------------------------------------------------------------------------
# Reasons, comments, notes, findings, descriptions (TextFields): a page of text is plenty; a
# megabyte is a paste gone wrong. Short fields take the max_length of their model field.
TEXT_MAX_LENGTH = 5_000

# --- Times ----------------------------------------------------------------------------------
# Nothing in a radiopharmacy's records is before 2000 or after 2100: a year like 0001 or 9999 is
# a typing error (and would overflow when converted between zones).
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
# Ga-68 halves every 67.71 min: after 12 h less than 1/1,000 of it is left. A synthesis, its
# measurement and the eluate it uses all lie within this span of the end of synthesis.
SYNTHESIS_SPAN_MAX = timedelta(hours=12)
# Real UTC offsets lie between -12:00 and +14:00 (Kiribati); PostgreSQL refuses beyond ±15:59.
MAX_UTC_OFFSET = timedelta(hours=14)
