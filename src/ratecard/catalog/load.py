"""Load a catalog file and report every problem in it at once.

Each problem names where it is (``prices[3] (sms-outbound).tiers``, ``pools[0] (us-voice)``)
and why, so a catalog author fixes all of them in one pass.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from ratecard.catalog.model import ANY_COUNTRY, Catalog, CatalogVersion
from ratecard.catalog.schema import PRICE_MODELS, CatalogFile, Category, PriceEntry
from ratecard.errors import CatalogError, Problem
from ratecard.prices.base import Price
from ratecard.prices.pooled import Pool

T = TypeVar("T")

SHIPPED = Path(__file__).parent / "shipped"
DEFAULT_CATALOG = "us"


def resolve(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    """The file of a shipped catalog name (``us``) or of a path (relative to ``relative_to``)."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text:
        path = Path(text)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        return path
    return SHIPPED / f"{text}.toml"


def shipped_names() -> list[str]:
    return sorted(path.stem for path in SHIPPED.glob("*.toml"))


def load_catalog(
    name_or_path: str | Path = DEFAULT_CATALOG, relative_to: Path | None = None
) -> Catalog:
    """Load and validate a catalog; raise CatalogError listing every problem found."""
    path = resolve(name_or_path, relative_to)
    if not path.is_file():
        known = ", ".join(shipped_names())
        raise CatalogError(
            [Problem(str(path), f"no such catalog file (shipped catalogs: {known})")], str(path)
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError([Problem(str(path), f"not valid TOML: {exc}")], str(path)) from None
    return parse_catalog(data, source=str(path))


def parse_catalog(data: dict[str, Any], source: str = "catalog") -> Catalog:
    """Validate catalog data (as read from TOML); raise CatalogError with every problem."""
    try:
        parsed = CatalogFile.model_validate(data)
    except ValidationError as exc:
        problems = _schema_problems(exc, data) + _cross_checks_of_valid_entries(data)
        raise CatalogError(problems, source) from None
    problems = _cross_checks(parsed)
    if problems:
        raise CatalogError(problems, source)
    return _build(parsed, source)


def _schema_problems(error: ValidationError, data: dict[str, Any]) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        where, field = _location(item["loc"], data)
        reason = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "union_tag_invalid":
            reason = f"unknown price model; expected one of: {', '.join(PRICE_MODELS)}"
            field = "model"
        elif item["type"] == "union_tag_not_found":
            reason, field = "is required (the price model)", "model"
        elif item["type"] == "extra_forbidden":
            reason = "is not a known setting here"
        elif item["type"] == "missing":
            reason = "is required"
        problems.append(Problem(where or "catalog", reason, field))
    return problems


def _location(loc: Sequence[int | str], data: dict[str, Any]) -> tuple[str, str | None]:
    """Turn a pydantic location into ``table[i] (key).sub[j]`` and the last field name."""
    parts: list[str] = []
    node: Any = data
    for step in loc:
        if step in PRICE_MODELS and isinstance(node, dict) and node.get("model") == step:
            continue  # the discriminator tag pydantic inserts
        if isinstance(step, int):
            parts.append(f"[{step}]")
            node = node[step] if isinstance(node, list) and step < len(node) else None
            key = node.get("category") or node.get("name") if isinstance(node, dict) else None
            if key:
                parts.append(f" ({key})")
        else:
            parts.append(f".{step}" if parts else str(step))
            node = node.get(step) if isinstance(node, dict) else None
    text = "".join(parts)
    if loc and isinstance(loc[-1], str) and "." in text:
        head, _, last = text.rpartition(".")
        if last == loc[-1]:
            return head, last
    return text, None


def _cross_checks(catalog: CatalogFile) -> list[Problem]:
    versions: list[_Entries] = [
        ("", list(enumerate(catalog.pools)), list(enumerate(catalog.prices)))
    ]
    versions += [
        (f"revisions[{i}].", list(enumerate(r.pools)), list(enumerate(r.prices)))
        for i, r in enumerate(catalog.revisions)
    ]
    return (
        _check_all(catalog.categories, versions)
        + _check_revisions(catalog)
        + _check_flex(catalog, set(catalog.categories))
    )


_Entries = tuple[str, Sequence[tuple[int, Pool]], Sequence[tuple[int, Price]]]
_CATEGORY: TypeAdapter[Category] = TypeAdapter(Category)
_POOL: TypeAdapter[Pool] = TypeAdapter(Pool)
_PRICE: TypeAdapter[Price] = TypeAdapter(PriceEntry)


def _cross_checks_of_valid_entries(data: dict[str, Any]) -> list[Problem]:
    """Cross checks over the entries that are valid on their own, when the file as a whole is
    not: the schema problems and these are reported together, so one pass fixes them all."""
    raw = data.get("categories")
    named: dict[str, Any] = raw if isinstance(raw, dict) else {}
    categories = dict(_valid_categories(named))
    known = set(named)
    versions: list[_Entries] = [
        ("", _valid(_POOL, data.get("pools")), _valid(_PRICE, data.get("prices")))
    ]
    revisions = data.get("revisions")
    for i, revision in enumerate(revisions if isinstance(revisions, list) else []):
        if isinstance(revision, dict):
            pools, prices = revision.get("pools"), revision.get("prices")
            versions.append((f"revisions[{i}].", _valid(_POOL, pools), _valid(_PRICE, prices)))
    return _check_all(categories, versions, known)


def _valid_categories(named: dict[str, Any]) -> list[tuple[str, Category]]:
    result: list[tuple[str, Category]] = []
    for name, item in named.items():
        try:
            result.append((name, _CATEGORY.validate_python(item)))
        except ValidationError:
            continue  # reported by the schema pass
    return result


def _valid(adapter: TypeAdapter[T], items: object) -> list[tuple[int, T]]:
    """``(index, entry)`` of every item of a list that validates on its own."""
    result: list[tuple[int, T]] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        try:
            result.append((i, adapter.validate_python(item)))
        except ValidationError:
            continue  # reported by the schema pass
    return result


def _check_all(
    categories: dict[str, Category], versions: list[_Entries], known: set[str] | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    for name, category in categories.items():
        if category.increment_seconds is not None and category.unit != "minutes":
            problems.append(
                Problem(
                    f"categories.{name}",
                    "increment_seconds applies to call categories measured in minutes",
                    "increment_seconds",
                )
            )
    for prefix, pools, prices in versions:
        problems += _check_entries(
            prefix, pools, prices, set(categories) if known is None else known
        )
    return problems


def _check_entries(
    prefix: str,
    pools: Sequence[tuple[int, Pool]],
    prices: Sequence[tuple[int, Price]],
    known: set[str],
) -> list[Problem]:
    problems: list[Problem] = []
    pooled: dict[str, str] = {}
    names: set[str] = set()
    for i, pool in pools:
        where = f"{prefix}pools[{i}] ({pool.name})"
        if pool.name in names:
            problems.append(Problem(where, f"pool name '{pool.name}' is used twice", "name"))
        names.add(pool.name)
        problems += _check_countries(where, pool.countries)
        for category in pool.rates:
            if category not in known:
                problems.append(
                    Problem(where, f"unknown category '{category}'", f"rates.{category}")
                )
            elif category in pooled:
                problems.append(
                    Problem(
                        where,
                        f"category '{category}' is already in pool '{pooled[category]}'; "
                        "a category belongs to one pool",
                        f"rates.{category}",
                    )
                )
            pooled.setdefault(category, pool.name)
    claimed: dict[tuple[str, str], int] = {}
    for i, price in prices:
        where = f"{prefix}prices[{i}] ({price.category})"
        if price.category not in known:
            problems.append(Problem(where, f"unknown category '{price.category}'", "category"))
        problems += _check_countries(where, price.countries)
        for country in price.countries:
            key = (price.category, country)
            if key in claimed:
                problems.append(
                    Problem(
                        where,
                        f"category '{price.category}' in country '{country}' is already priced "
                        f"by {prefix}prices[{claimed[key]}]",
                        "countries",
                    )
                )
            claimed.setdefault(key, i)
            if country != ANY_COUNTRY and price.category in pooled:
                pool = next(p for _, p in pools if p.name == pooled[price.category])
                if country in pool.countries or ANY_COUNTRY in pool.countries:
                    problems.append(
                        Problem(
                            where,
                            f"category '{price.category}' in country '{country}' is already "
                            f"priced by pool '{pool.name}'",
                            "countries",
                        )
                    )
    return problems


def _check_countries(where: str, countries: list[str]) -> list[Problem]:
    bad = [
        c
        for c in countries
        if c != ANY_COUNTRY and not (len(c) == 2 and c.isalpha() and c.isupper())
    ]
    if bad:
        return [
            Problem(
                where,
                f'countries {bad} are not ISO 3166 alpha-2 codes in capitals (or "*" for any)',
                "countries",
            )
        ]
    return []


def _check_revisions(catalog: CatalogFile) -> list[Problem]:
    problems: list[Problem] = []
    previous = catalog.effective
    pool_names = {pool.name for pool in catalog.pools}
    for i, revision in enumerate(catalog.revisions):
        where = f"revisions[{i}]"
        if revision.effective <= previous:
            problems.append(
                Problem(
                    where, f"effective {revision.effective} must be after {previous}", "effective"
                )
            )
        previous = max(previous, revision.effective)
        for pool in revision.pools:
            if pool.name not in pool_names:
                problems.append(
                    Problem(
                        where,
                        f"pool '{pool.name}' is not in the base catalog; a revision replaces pools",
                        "pools",
                    )
                )
        problems += _revised_prices_under_pools(where, revision.prices, catalog.pools)
    return problems


def _revised_prices_under_pools(
    where: str, prices: Sequence[Price], pools: Sequence[Pool]
) -> list[Problem]:
    """A revision price for a pooled category in a pooled country would never be used (pools
    are looked up first): refuse it rather than keep the old rates silently."""
    problems: list[Problem] = []
    for i, price in enumerate(prices):
        for pool in pools:
            covered = [c for c in price.countries if c != ANY_COUNTRY and c in pool.countries]
            if price.category in pool.rates and covered:
                problems.append(
                    Problem(
                        f"{where}.prices[{i}] ({price.category})",
                        f"category '{price.category}' in {covered} is priced by pool "
                        f"'{pool.name}'; revise the pool's rates instead",
                        "countries",
                    )
                )
    return problems


def _build(catalog: CatalogFile, source: str) -> Catalog:
    pools = {pool.name: pool for pool in catalog.pools}
    prices: dict[tuple[str, tuple[str, ...]], Price] = {
        (p.category, tuple(sorted(p.countries))): p for p in catalog.prices
    }
    versions = [
        CatalogVersion(
            catalog.effective, catalog.version, tuple(pools.values()), tuple(prices.values())
        )
    ]
    for revision in catalog.revisions:
        pools.update({pool.name: pool for pool in revision.pools})
        # a revision's prices come first, so they win over earlier prices naming the same
        # country (price lookup takes the first price that names a country)
        revised = {(p.category, tuple(sorted(p.countries))): p for p in revision.prices}
        prices = {**revised, **{k: p for k, p in prices.items() if k not in revised}}
        label = f"{catalog.version}+{revision.effective}"
        versions.append(
            CatalogVersion(revision.effective, label, tuple(pools.values()), tuple(prices.values()))
        )
    return Catalog(
        name=catalog.name,
        currency=catalog.currency,
        description=catalog.description,
        categories=dict(catalog.categories),
        versions=tuple(versions),
        source=source,
        flex=catalog.flex,
    )


def _check_flex(catalog: CatalogFile, known: set[str]) -> list[Problem]:
    """Flex plan and quota categories must exist and the fee categories must have a price."""
    if catalog.flex is None:
        return []
    problems: list[Problem] = []
    priced = {p.category for p in catalog.prices} | {
        c for pool in catalog.pools for c in pool.rates
    }
    for plan_id, plan in catalog.flex.plans.items():
        where = f"flex.plans.{plan_id}"
        if plan.category not in known:
            problems.append(Problem(where, f"unknown category '{plan.category}'", "category"))
        elif plan.category not in priced:
            problems.append(Problem(where, f"category '{plan.category}' has no price", "category"))
        for i, quota in enumerate(plan.quotas):
            if quota.category not in known:
                problems.append(
                    Problem(
                        f"{where}.quotas[{i}]", f"unknown category '{quota.category}'", "category"
                    )
                )
    for category in catalog.flex.unbundled_voice_categories:
        if category not in known:
            problems.append(
                Problem("flex", f"unknown category '{category}'", "unbundled_voice_categories")
            )
    return problems
