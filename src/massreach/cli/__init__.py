"""The ``massreach`` command line: a thin client of the public Python API."""
