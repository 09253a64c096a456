"""A build's breakdown by source and region, and the region of a place from the departments file."""
from __future__ import annotations

from app.referentials import Referentials
from app.referentials.regions import get_regions
from indexers.breakdown import Breakdown


def doc(doc_id: str, source: str, **place: str) -> dict:
    return {"id": doc_id, "source": source, "place": {"insee": "", "postcode": "", "department": "", **place}}


def test_every_department_of_the_communes_table_has_the_communes_region(refs: Referentials) -> None:
    regions = get_regions(refs.data_dir)
    seen = {}
    for commune in refs.communes:
        seen.setdefault(commune.department, commune.region)
        assert regions.region_of(commune.department) == commune.region, commune
        # Without a department, the INSEE code tells it (Corsica's 2A/2B, overseas' three digits).
        assert regions.region_of(insee=commune.insee) == commune.region, commune
        # A postal code is the last resort: a few border communes have their neighbour department's.
        for postcode in commune.postcodes[:1]:
            if postcode.startswith(commune.department) or commune.department in ("2A", "2B"):
                assert regions.region_of(postcode=postcode) == commune.region, (commune, postcode)
    assert len(seen) >= 101 and {regions.names[code] for code in set(seen.values())} >= {
        "Île-de-France", "Corse", "La Réunion", "Mayotte", "Auvergne-Rhône-Alpes"}
    assert regions.region_of() == "" and regions.region_of("XX", "", "") == ""


def test_breakdown_counts_the_last_document_of_an_id_leaves_live_sources_out_and_forgets_removed_ones(
        refs: Referentials) -> None:
    breakdown = Breakdown(get_regions(refs.data_dir), live_sources=("deposited",))
    documents = [doc("a", "catalogue", insee="69123", department="69"),
                 doc("b", "catalogue", postcode="20090"),  # Ajaccio, Corse-du-Sud
                 doc("a", "catalogue", insee="75056", department="75"),  # replaces the first "a"
                 doc("c", "france_travail", department="974"),
                 doc("d", "deposited", department="69"),
                 doc("e", "france_travail"),
                 doc("f", "france_travail", department="13")]
    assert list(breakdown.counted(iter(documents))) == documents  # passed on unchanged
    breakdown.remove(["f", "unknown"])
    assert breakdown.as_dict() == {"catalogue": {"11": 1, "94": 1}, "france_travail": {"": 1, "04": 1}}
