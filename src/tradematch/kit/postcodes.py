"""UK postcodes: normalisation, validation against the bundled outcode centroids, distances."""

from __future__ import annotations

import csv
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Annotated

from pydantic import AfterValidator, Field

_FULL = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)([0-9][A-Z]{2})$")
EARTH_RADIUS_MILES = 3958.8


@lru_cache(maxsize=1)
def centroids() -> dict[str, tuple[float, float]]:
    data = resources.files("tradematch.data").joinpath("uk_outcodes.csv")
    with data.open(encoding="utf-8") as handle:
        return {
            row["outcode"]: (float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(handle)
        }


def normalise(value: str) -> str:
    """'sw1a1aa' → 'SW1A 1AA'; raises ValueError for a malformed or unknown postcode."""
    compact = re.sub(r"\s+", "", value).upper()
    match = _FULL.match(compact)
    if match is None:
        raise ValueError("must be a full UK postcode, e.g. 'SW1A 1AA'")
    outward, inward = match.groups()
    if outward not in centroids():
        raise ValueError(f"unknown postcode district {outward!r}")
    return f"{outward} {inward}"


def outcode_of(postcode: str) -> str:
    """The outward code of a normalised postcode ('SW1A 1AA' → 'SW1A')."""
    return postcode.split(" ", 1)[0]


def distance_miles(outcode_a: str, outcode_b: str) -> float:
    (lat1, lon1), (lat2, lon2) = centroids()[outcode_a], centroids()[outcode_b]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


def _validate(value: str) -> str:
    return normalise(value)


Postcode = Annotated[
    str,
    Field(min_length=5, max_length=10, examples=["SW1A 1AA"]),
    AfterValidator(_validate),
]
