"""Tests of the Python client against a real registryd on loopback.

Run from the repository root:

    python3 -m unittest discover -s clients/python/tests -t clients/python

They build registryd once with `go build` unless REGISTRYD_BIN names a binary.
"""
