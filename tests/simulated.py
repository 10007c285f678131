"""Simulated rounds summed up in plain Python, as `aggregation.round_sums` sums them in SQL: an independent
implementation, used to check the SQL and to run the linkage over many seeds without a database."""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

import numpy as np

from survey.analysis.linkage import EarlierFinding, Named, link_round
from survey.analysis.release import release_round
from survey.analysis.sums import RoundSums, ScaleSums, Sums
from survey.demo.simulation import ItemSpec, OrgShape, plant, simulate_rounds
from survey.vocabulary import (
    CES,
    CSAT_MEAN,
    CSAT_PCT,
    IMPACT,
    NPS,
    ONE_SCALE,
    OVERALL,
    SERVQUAL,
    favourable_from,
)

DIMENSIONS = [d.value for d in SERVQUAL]


def _migration(name: str):
    path = Path(__file__).parents[1] / f"src/survey/db/migrations/versions/{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _default_instruments():
    """The items of the instruments new rounds take: internal from 0002; external from 0010 (CSAT first)."""

    def specs(rows):
        return [ItemSpec(dimension, scale[0], scale[1], reverse) for _, dimension, _, scale, reverse in rows]

    return specs(_migration("0002_default_instruments").INTERNAL), specs(
        _migration("0010_customer_links").EXTERNAL
    )


INTERNAL_ITEMS, EXTERNAL_ITEMS = _default_instruments()


def _scored(value: int, spec: ItemSpec) -> int:
    return spec.scale_min + spec.scale_max - value if spec.reverse_keyed else value


def _add(table: dict, key, value: float, favourable: float | None = None) -> None:
    """One respondent's value (and favourable part: their share of favourable answers) added to `key`'s sums."""
    n, total, squares, favourable_sum = table.get(key, (0, 0.0, 0.0, None if favourable is None else 0.0))
    if favourable is not None:
        favourable_sum += favourable
    table[key] = (n + 1, total + value, squares + value * value, favourable_sum)


def _favourable(values: list[int], specs: list[ItemSpec]) -> float:
    """The share of scored answers in the top of their scale (5 to 7 of 1 to 7, 4 to 5 of 1 to 5)."""
    return sum(
        v >= favourable_from(s.scale_min, s.scale_max) for v, s in zip(values, specs, strict=True)
    ) / len(values)


def round_sums(
    simulated, round_id: int, function_ids: list[int], team_ids: list[int], internal_items=INTERNAL_ITEMS
) -> RoundSums:
    """`internal_items`: the employee questionnaire's items (default: the full one, version 1); with one item per
    dimension (the short one), its overall item is the overall score and its dimension items one scale."""
    result = RoundSums(round_id)
    one_scale = all(sum(1 for spec in internal_items if spec.dimension == d) == 1 for d in DIMENSIONS)
    internal: dict = {}
    usage: dict = defaultdict(lambda: [0, 0])
    items: dict = {}
    for answer in simulated.internal:
        team = team_ids[answer.team]
        for function, review in zip(function_ids, answer.reviews, strict=True):
            usage[(function, team)][0] += 1
            if review is None:
                continue
            usage[(function, team)][1] += 1
            values, _ = review
            by_dimension = defaultdict(list)
            specs_of = defaultdict(list)
            for value, spec in zip(values, internal_items, strict=True):
                by_dimension[spec.dimension].append(_scored(value, spec))
                specs_of[spec.dimension].append(spec)
            scores = {d: sum(v) / len(v) for d, v in by_dimension.items()}
            favourable = {d: _favourable(v, specs_of[d]) for d, v in by_dimension.items()}
            with_overall = DIMENSIONS + ([OVERALL] if OVERALL in scores else [])
            scores[OVERALL] = sum(scores[d] for d in with_overall) / len(with_overall)
            favourable[OVERALL] = sum(favourable[d] for d in with_overall) / len(with_overall)
            for measure in [*DIMENSIONS, OVERALL, IMPACT]:
                if measure in scores:
                    share = None if measure == IMPACT else favourable[measure]
                    _add(internal, (function, team, measure), scores[measure], share)
            scales = {ONE_SCALE: [by_dimension[d][0] for d in DIMENSIONS]} if one_scale else by_dimension
            for dimension in [ONE_SCALE] if one_scale else DIMENSIONS:
                for index, value in enumerate(scales[dimension]):
                    _add(items, (dimension, index), value)
                _add(items, (dimension, "sum"), sum(scales[dimension]))
    for (function, team, measure), parts in internal.items():
        result.internal.setdefault((function, team), {})[measure] = Sums(*parts)
    result.usage = {key: (answered, used) for key, (answered, used) in usage.items()}
    for dimension in [ONE_SCALE, *DIMENSIONS]:
        if (dimension, "sum") not in items:
            continue
        count = sum(1 for key in items if key[0] == dimension and key[1] != "sum")
        parts = tuple(Sums(*items[(dimension, i)][:3]) for i in range(count))
        totals = Sums(*items[(dimension, "sum")][:3])
        result.scales[dimension] = ScaleSums(totals.n, parts, totals)
    external: dict = {}
    for answer in simulated.external:
        team = team_ids[answer.team]
        by_dimension = defaultdict(list)
        specs_of = defaultdict(list)
        for value, spec in zip(answer.values, EXTERNAL_ITEMS, strict=True):
            by_dimension[spec.dimension].append(_scored(value, spec))
            specs_of[spec.dimension].append(spec)
        for dimension in DIMENSIONS:
            values = by_dimension[dimension]
            _add(
                external,
                (team, dimension),
                sum(values) / len(values),
                _favourable(values, specs_of[dimension]),
            )
        csat, nps, ces = by_dimension["csat"][0], by_dimension["nps"][0], by_dimension["ces"][0]
        _add(external, (team, CSAT_PCT), 100.0 if csat >= 4 else 0.0)
        _add(external, (team, CSAT_MEAN), float(csat), _favourable([csat], specs_of["csat"]))
        _add(external, (team, NPS), 100.0 if nps >= 9 else -100.0 if nps <= 6 else 0.0)
        _add(external, (team, CES), float(ces), _favourable([ces], specs_of["ces"]))
    for (team, measure), parts in external.items():
        result.external.setdefault(team, {})[measure] = Sums(*parts)
    return result


def simulated_history(seed: int, shape: OrgShape, truth=None, planted: bool = True, k: int = 5, **drops):
    """Simulate an organisation and pass every round through the release gate. Returns (released rounds, truth,
    function ids, team ids)."""
    rng = np.random.default_rng(seed)
    truth = plant(shape, rng) if truth is None else truth(shape, rng)
    if not planted:
        drops = dict(drops, internal_drop=0.0, customer_drop=0.0)
    rounds = simulate_rounds(shape, INTERNAL_ITEMS, EXTERNAL_ITEMS, truth, rng, **drops)
    function_ids = list(range(1, shape.functions + 1))
    team_ids = list(range(1001, 1001 + shape.teams))
    regions = {team: 1 + index % shape.regions for index, team in enumerate(team_ids)}
    parents = {**{team: -regions[team] for team in team_ids}, **{-r: None for r in set(regions.values())}}
    released = [
        release_round(round_sums(r, index + 1, function_ids, team_ids), parents, k)
        for index, r in enumerate(rounds)
    ]
    return released, truth, function_ids, team_ids


def link(released, function_ids, team_ids, seed: int, resamples: int = 1000, outcome=CSAT_PCT, earlier=()):
    return link_round(
        released,
        [Named(f, f"function {f}") for f in function_ids],
        [Named(t, f"team {t}") for t in team_ids],
        outcome,
        seed=seed,
        resamples=resamples,
        earlier=earlier,
    )


def ongoing(linkage) -> list[EarlierFinding]:
    """A round's ongoing findings, as the next round reads them."""
    return [
        EarlierFinding(f.function.id, f.measure, f.since, tuple(t.team.id for t in f.teams))
        for f in linkage.findings
        if f.status == "ongoing"
    ]


def simulated_linkage(
    seed: int,
    shape: OrgShape,
    planted: bool = True,
    k: int = 5,
    resamples: int = 1000,
    outcome=CSAT_PCT,
    **drops,
):
    """Simulate an organisation, pass every round through the release gate and link the last one.
    Returns (linkage, truth, function ids, team ids)."""
    released, truth, function_ids, team_ids = simulated_history(seed, shape, planted=planted, k=k, **drops)
    linkage = link(released, function_ids, team_ids, seed, resamples, outcome)
    return linkage, truth, function_ids, team_ids
