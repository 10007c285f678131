"""A closed round's results: sums from the database, the release gate that decides what may be shown, the
statistics and the linkage of staff ratings with customer outcomes."""
