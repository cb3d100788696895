"""Generated UN/EDIFACT directory tables (package data for ``adapters.edifact.directory``).

The ``*.json`` files are written by ``tools/gen_directory_tables.py``; provenance and
licences are in ``SOURCES.md``. A regular package (not a namespace one) so that
``importlib.resources`` finds the data the same way in a checkout and in a wheel.
"""
