"""Gallium: Ga-68 DOTATATE radiopharmacy."""

# The software version printed on validation and qualification reports (with the git commit).
__version__ = "1.0.0"
