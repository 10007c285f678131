"""Imports of the organisation (roster) and of customer figures from other tools, from CSV or XLSX files."""
