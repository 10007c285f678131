"""The organisation: units (support functions, front-line teams, groups), employees and who heads what."""
