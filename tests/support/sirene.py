"""Small SIRENE register extracts written in the INSEE StockEtablissement layout (tests, demo)."""

from __future__ import annotations

import csv
from pathlib import Path

# The StockEtablissement header (a subset of its 50+ columns, in INSEE order, plus the
# columns of a geocoded extract at the end); unused columns are there to prove usecols.
COLUMNS = [
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "dateCreationEtablissement",
    "trancheEffectifsEtablissement",
    "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement",
    "dateDernierTraitementEtablissement",
    "etablissementSiege",
    "nombrePeriodesEtablissement",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "codeCommuneEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "dateDebut",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
    "denominationUniteLegale",
    "latitude",
    "longitude",
]


def to_lambert93(lat: float, lon: float) -> tuple[float, float]:
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    x, y = t.transform(lon, lat)
    return round(x, 1), round(y, 1)


def establishment(siret: str, name: str, commune: str, postcode: str, city: str, **kw) -> dict:
    """One register row; keyword arguments override columns (short names accepted)."""
    row = {c: "" for c in COLUMNS}
    row.update(
        siren=siret[:9],
        nic=siret[9:],
        siret=siret,
        statutDiffusionEtablissement="O",
        dateCreationEtablissement="2015-03-01",
        etatAdministratifEtablissement=kw.pop("state", "A"),
        trancheEffectifsEtablissement=kw.pop("band", "11"),
        activitePrincipaleEtablissement=kw.pop("naf", "56.10A"),
        nomenclatureActivitePrincipaleEtablissement="NAFRev2",
        enseigne1Etablissement=name,
        numeroVoieEtablissement=kw.pop("number", "12"),
        typeVoieEtablissement=kw.pop("street_type", "RUE"),
        libelleVoieEtablissement=kw.pop("street", "JEAN JAURES"),
        codePostalEtablissement=postcode,
        libelleCommuneEtablissement=city,
        codeCommuneEtablissement=commune,
    )
    if "lambert" in kw:
        lat, lon = kw.pop("lambert")
        x, y = to_lambert93(lat, lon)
        row["coordonneeLambertAbscisseEtablissement"] = f"{x}"
        row["coordonneeLambertOrdonneeEtablissement"] = f"{y}"
    if "latlon" in kw:
        lat, lon = kw.pop("latlon")
        row["latitude"], row["longitude"] = f"{lat}", f"{lon}"
    row.update(kw)
    return row


def write_register(path: Path, rows: list[dict]) -> Path:
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return Path(path)


def _luhn_complete(body: str) -> str:
    for key in "0123456789":
        total = 0
        for i, c in enumerate(reversed(body + key)):
            d = int(c) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return body + key
    raise AssertionError("unreachable")


def siret(draft: str) -> str:
    """A valid SIRET (SIREN and SIRET Luhn keys) close to a 14-digit ``draft``."""
    siren = _luhn_complete(draft[:8])
    return _luhn_complete(siren + draft[9:13])
