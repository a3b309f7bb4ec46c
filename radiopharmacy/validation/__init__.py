"""The validation pack (SPEC §2.10): the requirements register, the traceability matrix of a test
run, and the installation and operational qualification reports.

`register.py` and `junit.py` import no Django (the pytest plugin that checks requirement markers
loads the register before Django is set up); `qualification.py` inspects the configured
installation; `documents.py` writes every report as HTML and PDF with a place for sign-off.
"""
