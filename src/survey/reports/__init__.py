"""Reports of a closed round: what each says, its charts, its rendering as PDF and HTML, and who may read it."""
