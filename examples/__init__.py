"""Worked examples of checking implementations that chanspec did not write."""
