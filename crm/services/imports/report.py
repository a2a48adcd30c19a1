"""What an import tells its user: counts, rejected rows, likely duplicates (French)."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.errors import ValidationError
from crm.services.imports.columns import KIND_LABELS_FR


@dataclass
class RowError:
    line: int
    reason: str  # French; names the field and the rule, never the value


@dataclass
class DuplicateWarning:
    line: int | None
    ref_a: str | None
    ref_b: str | None
    name_a: str
    name_b: str
    score: float
    evidence: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    duplicates: list[DuplicateWarning] = field(default_factory=list)
    imported: bool = False
    dry_run: bool = False
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS_FR.get(self.kind, self.kind)

    def summary(self) -> str:
        head = (
            f"{self.kind_label} : {self.rows} ligne(s) — {self.created} créée(s), "
            f"{self.updated} mise(s) à jour, {self.unchanged} inchangée(s), "
            f"{len(self.rejected)} rejetée(s)."
        )
        if self.dry_run:
            head += " Essai à blanc : rien n'a été enregistré."
        elif not self.imported:
            head += " Rien n'a été importé."
        return head


def errors_text(exc: ValidationError) -> str:
    """A row's reason: "field : rule" pairs joined by "; "."""
    return "; ".join(f"{k} : {m}" for k, m in exc.labelled().items())
