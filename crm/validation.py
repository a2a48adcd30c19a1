"""Pure validators and normalisers for form and import fields.

Each function takes raw user input (usually a string, possibly ``None`` or a
number read from a spreadsheet) and returns the normalised value to store, or
raises :class:`FieldError` (a ``PasserelleError`` and a ``ValueError``) whose
message is French and can be shown to the user as is. Messages name the rule,
never echo the value (a rejected import row must not copy a birth date into a report). They never raise anything else, whatever the input.

Empty input (``None``, ``""``, blanks) returns ``None``: whether a field is
required is the caller's business (see :func:`required`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

from crm.errors import PasserelleError
from crm.labels import MOBILITY_MODE_FR
from crm.reference import rome_labels


class FieldError(PasserelleError, ValueError):
    """A field value is invalid; ``message`` is French, for the user.

    A PasserelleError, so that any path (form, import, CLI) that lets one through
    shows the French message rather than a traceback.
    """

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def _text(value) -> str | None:
    """Input as stripped text, or None when blank. Never raises."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value) is str:
        text = value
    else:
        try:
            text = str(value)
        except Exception:  # pragma: no cover - exotic objects
            raise FieldError("Valeur illisible.") from None
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        text = text.replace("\u00a0", " ").replace("\u202f", " ")
    return text.strip() or None


def required(value, label: str = "Ce champ"):
    """The value itself unless blank (raises ``FieldError``)."""
    if _text(value) is None:
        raise FieldError(f"{label} est obligatoire.")
    return value


def text(value, max_length: int = 200) -> str | None:
    """Free text: stripped, length-limited."""
    t = _text(value)
    if t is None:
        return None
    if len(t) > max_length:
        raise FieldError(f"Texte trop long ({len(t)} caractères, {max_length} au plus).")
    return t


def _digits_only(value, allowed_seps: str = " .-") -> str | None:
    t = _text(value)
    if t is None:
        return None
    if isinstance(value, float) and value.is_integer():
        t = str(int(value))
    for sep in allowed_seps:
        t = t.replace(sep, "")
    return t


# --------------------------------------------------------------------------- identifiers


def siret(value) -> str | None:
    """SIRET: 14 digits (spaces allowed on input), Luhn checked (La Poste exception)."""
    t = _digits_only(value)
    if t is None:
        return None
    if not t.isascii() or not t.isdigit():
        raise FieldError("Le SIRET ne doit contenir que des chiffres (14 chiffres).")
    if len(t) != 14:
        raise FieldError(f"Le SIRET doit compter 14 chiffres (ici {len(t)}).")
    if t.startswith("356000000") and t != "35600000000048":
        # La Poste's establishments: the sum of the digits is a multiple of 5.
        ok = sum(map(int, t)) % 5 == 0
    else:
        ok = luhn_ok(t)
    if ok and luhn_ok(t[:9]):
        return t
    raise FieldError("SIRET invalide : la clé de contrôle ne correspond pas (faute de frappe ?).")


def siren(value) -> str | None:
    """SIREN: 9 digits, Luhn checked."""
    t = _digits_only(value)
    if t is None:
        return None
    if not t.isascii() or not t.isdigit():
        raise FieldError("Le SIREN ne doit contenir que des chiffres (9 chiffres).")
    if len(t) != 9:
        raise FieldError(f"Le SIREN doit compter 9 chiffres (ici {len(t)}).")
    if luhn_ok(t):
        return t
    raise FieldError("SIREN invalide : la clé de contrôle ne correspond pas (faute de frappe ?).")


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a string of ASCII digits (False for anything else)."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _LUHN_DOUBLED[d] if k % 2 else d
    return total % 10 == 0


# --------------------------------------------------------------------------- address


def postcode(value) -> str | None:
    """French postcode: 5 digits (a 4-digit number from a spreadsheet gets its leading 0)."""
    t = _digits_only(value, " ")
    if t is None:
        return None
    if not t.isascii() or not t.isdigit():
        raise FieldError("Le code postal doit compter 5 chiffres (ex. 83000).")
    if len(t) == 4 and not isinstance(value, str):
        t = "0" + t
    if len(t) != 5:
        raise FieldError("Le code postal doit compter 5 chiffres (ex. 83000).")
    dept = int(t[:2])
    if dept == 0 or (dept > 95 and dept not in (97, 98)):
        raise FieldError("Code postal inconnu en France (département inexistant).")
    return t


# --------------------------------------------------------------------------- contact details

_PHONE_SEPS = " .-/()\t"


def phone(value) -> str | None:
    """French phone number stored as ``04 94 12 34 56`` (+33 / 0033 / dots / dashes accepted)."""
    t = _text(value)
    if t is None:
        return None
    if isinstance(value, float | int) and not isinstance(value, bool):
        try:
            t = str(int(value))
        except (ValueError, OverflowError):
            raise FieldError("Numéro de téléphone invalide.") from None
        if len(t) == 9:
            t = "0" + t
    for sep in _PHONE_SEPS:
        t = t.replace(sep, "")
    if t.startswith("+33"):
        t = t[3:]
    elif t.startswith("0033"):
        t = t[4:]
    elif t.startswith("+"):
        raise FieldError("Seuls les numéros français sont acceptés (+33 ou 0X XX XX XX XX).")
    if t.startswith("0") and len(t) == 10:
        t = t[1:]
    if t.startswith("(0)"):
        t = t[3:]
    if not (t.isascii() and t.isdigit()) or len(t) != 9:
        raise FieldError(
            "Numéro de téléphone invalide : 10 chiffres attendus (ex. 04 94 12 34 56)."
        )
    if t[0] == "0":
        raise FieldError(
            "Numéro de téléphone invalide : 10 chiffres attendus (ex. 04 94 12 34 56)."
        )
    full = "0" + t
    return " ".join(full[i : i + 2] for i in range(0, 10, 2))


_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$"
)


def email(value) -> str | None:
    """E-mail address, lower-cased domain."""
    t = _text(value)
    if t is None:
        return None
    if t.lower().startswith("mailto:"):
        t = t[7:].strip()
    if len(t) > 200 or not _EMAIL_RE.match(t) or ".." in t or t.startswith("."):
        raise FieldError("Adresse e-mail invalide (ex. prenom.nom@entreprise.fr).")
    local, _, domain = t.rpartition("@")
    return f"{local}@{domain.lower()}"


_HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$")


def website(value) -> str | None:
    """Website: ``https://`` added when missing; the host must look like a domain name."""
    t = _text(value)
    if t is None:
        return None
    if any(c.isspace() for c in t) or len(t) > 300:
        raise FieldError("Adresse de site web invalide (ex. www.entreprise.fr).")
    lower = t.lower()
    if lower.startswith(("http://", "https://")):
        url = t
    elif "://" in t:
        raise FieldError("Adresse de site web invalide : http:// ou https:// attendu.")
    else:
        url = "https://" + t
    rest = url.split("://", 1)[1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].lower()
    if ":" in host:
        host = host.split(":", 1)[0]
    if not host.isascii() or not _HOST_RE.match(host):
        raise FieldError("Adresse de site web invalide (ex. www.entreprise.fr).")
    scheme, _, tail = url.partition("://")
    return f"{scheme.lower()}://{tail}"


# --------------------------------------------------------------------------- activity


_NAF_RE = re.compile(r"^(\d{2})\.?(\d{2})([A-Za-z])$")


def naf(value) -> str | None:
    """NAF/APE code stored as ``47.11F`` (``4711F`` and ``47.11f`` accepted)."""
    t = _text(value)
    if t is None:
        return None
    t = t.replace(" ", "")
    m = _NAF_RE.match(t)
    if not m or not t.isascii():
        raise FieldError(
            "Code NAF invalide : format attendu 47.11F (2 chiffres, point, 2 chiffres, lettre)."
        )
    return f"{m.group(1)}.{m.group(2)}{m.group(3).upper()}"


def rome_code(value) -> str | None:
    """ROME code: one letter and 4 digits that exists in the ROME referential."""
    t = _text(value)
    if t is None:
        return None
    t = t.replace(" ", "").upper()
    if not re.fullmatch(r"[A-N]\d{4}", t) or not t.isascii():
        raise FieldError("Code ROME invalide : une lettre et 4 chiffres attendus (ex. D1106).")
    if t not in rome_labels():
        raise FieldError(f"Code ROME {t} inconnu du référentiel.")
    return t


def rome_codes(value) -> list[str]:
    """A ``;`` (or ``,``) separated list of ROME codes, deduplicated, order kept."""
    t = _text(value)
    if t is None:
        return []
    out: list[str] = []
    for part in re.split(r"[;,|]", t):
        code = rome_code(part)
        if code and code not in out:
            out.append(code)
    return out


# --------------------------------------------------------------------------- dates and numbers


def date(value) -> dt.date | None:
    """A date given as ISO (2026-11-23), dd/mm/yyyy (also dd-mm-yyyy, dd.mm.yyyy) or a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    t = _text(value)
    if t is None:
        return None
    if " " in t or "T" in t:  # spreadsheet datetime "2026-11-23 00:00:00"
        head = re.split(r"[ T]", t, maxsplit=1)[0]
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", head):
            t = head
    try:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", t)
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        raise FieldError("Date impossible : ce jour n'existe pas au calendrier.") from None
    raise FieldError("Date invalide : format attendu JJ/MM/AAAA ou AAAA-MM-JJ.")


def integer(value, minimum: int | None = None, maximum: int | None = None) -> int | None:
    """Whole number (``3``, ``"3"``, ``3.0``), optionally bounded."""
    if isinstance(value, bool):
        raise FieldError("Nombre entier attendu.")
    if isinstance(value, int):
        n = value
    elif isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer():
            raise FieldError("Nombre entier attendu.")
        n = int(value)
    else:
        t = _text(value)
        if t is None:
            return None
        t = t.replace(" ", "")
        if not re.fullmatch(r"[+-]?\d{1,12}(?:[.,]0+)?", t):
            raise FieldError("Nombre entier attendu.")
        n = int(re.split(r"[.,]", t)[0])
    if minimum is not None and n < minimum:
        raise FieldError(f"La valeur doit être au moins {minimum}.")
    if maximum is not None and n > maximum:
        raise FieldError(f"La valeur doit être au plus {maximum}.")
    return n


def _number(value, label: str) -> float | None:
    if isinstance(value, bool):
        raise FieldError(f"{label} : nombre attendu.")
    if isinstance(value, int | float):
        try:
            f = float(value)
        except OverflowError:  # an integer too large for a float
            raise FieldError(f"{label} : nombre hors limites.") from None
    else:
        t = _text(value)
        if t is None:
            return None
        t = t.replace(" ", "").replace(",", ".")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", t):
            raise FieldError(f"{label} : nombre attendu (ex. 43.1242).")
        f = float(t)
    if math.isnan(f) or math.isinf(f):
        raise FieldError(f"{label} : nombre attendu.")
    return f


def latitude(value) -> float | None:
    f = _number(value, "Latitude")
    if f is not None and not -90 <= f <= 90:
        raise FieldError("Latitude hors limites (entre -90 et 90).")
    return f


def longitude(value) -> float | None:
    f = _number(value, "Longitude")
    if f is not None and not -180 <= f <= 180:
        raise FieldError("Longitude hors limites (entre -180 et 180).")
    return f


# Metropolitan France and Corsica, then the overseas departments.
_FRANCE_BOXES = (
    (41.0, 51.5, -5.5, 10.0),
    (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    (14.3, 14.9, -61.3, -60.8),  # Martinique
    (2.0, 6.0, -54.7, -51.5),  # Guyane
    (-21.5, -20.8, 55.1, 55.9),  # La Réunion
    (-13.1, -12.6, 44.9, 45.4),  # Mayotte
)


def coordinates(lat, lon) -> tuple[float, float] | None:
    """Latitude and longitude together (both or neither), within France."""
    la, lo = latitude(lat), longitude(lon)
    if la is None and lo is None:
        return None
    if la is None or lo is None:
        raise FieldError("Latitude et longitude vont ensemble : donnez les deux ou aucune.")
    if not any(a <= la <= b and c <= lo <= d for a, b, c, d in _FRANCE_BOXES):
        raise FieldError("Coordonnées hors de France (latitude et longitude inversées ?).")
    return la, lo


_TRUE = {"oui", "o", "yes", "y", "1", "true", "vrai", "x"}
_FALSE = {"non", "n", "no", "0", "false", "faux"}


def boolean(value) -> bool | None:
    """oui/non, 1/0, true/false, vrai/faux (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        if value in (0, 1):
            return bool(value)
        raise FieldError("Valeur oui/non attendue.")
    t = _text(value)
    if t is None:
        return None
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", t.lower()) if not unicodedata.combining(c)
    )
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise FieldError("Valeur oui/non attendue (oui, non, 1, 0).")


def choice(value, allowed: dict[str, str] | list[str], label: str = "Valeur") -> str | None:
    """One of ``allowed`` (keys; French labels accepted when a dict is given)."""
    t = _text(value)
    if t is None:
        return None
    options = allowed if isinstance(allowed, dict) else {a: a for a in allowed}
    low = t.lower()
    for key, fr in options.items():
        if low == key.lower() or low == str(fr).lower():
            return key
    listed = ", ".join(options)
    raise FieldError(f"{label} inconnue : choisissez parmi {listed}.")


def mobility(value) -> list[str]:
    """``;``-separated mobility modes among walk, bike, transit, scooter, car (French accepted)."""
    t = _text(value)
    if t is None:
        return []
    out: list[str] = []
    for part in re.split(r"[;,|]", t):
        if not part.strip():
            continue
        mode = choice(part, MOBILITY_MODE_FR, "Mode de déplacement")
        if mode not in out:
            out.append(mode)
    return out


def coordinates_into(fields: dict, clean: dict, errors: dict) -> None:
    """Validate the optional ``latitude``/``longitude`` pair of a form into ``clean``.

    Nothing happens when neither is given; an error is reported under ``latitude``.
    """
    if "latitude" not in fields and "longitude" not in fields:
        return
    try:
        pair = coordinates(fields.get("latitude"), fields.get("longitude"))
    except FieldError as exc:
        errors["latitude"] = exc.message
        return
    clean["latitude"], clean["longitude"] = pair if pair else (None, None)
