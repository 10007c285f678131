"""What each PDF report says: findings in plain language with their evidence, the tables and the charts, built
from a round's released results (`analysis.results.Scores` and `Linkage`) and nothing else, so only numbers that
passed the release gate can reach a report.

Pure: no web, no database. `reports.render` lays out what these modules return with the templates and print CSS
under `reports/`.

- `function`: for a support function's head;
- `team`: for a front-line team's head;
- `organisation`: for executives and HR (or a region's head, for the teams below it);
- `common` and `heat`: what they share (`heat.function_team_heat` is HR's results page's heat map too).
"""
