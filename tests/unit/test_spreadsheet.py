"""Exports never hand a spreadsheet a formula to run."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd

from crm.spreadsheet import neutralise_cell, to_csv_bytes, to_xlsx_bytes


def test_formula_cells_are_neutralised_numbers_kept():
    assert neutralise_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert neutralise_cell("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise_cell("+33 4 94 00 00 00") == "'+33 4 94 00 00 00"
    assert neutralise_cell("-12,5") == "-12,5"
    assert neutralise_cell("Boulangerie") == "Boulangerie"
    assert neutralise_cell(3) == 3


def test_csv_and_xlsx_round_trip_as_text():
    df = pd.DataFrame({"name": ["=1+1", "Café"], "seats": [2, 3]})
    csv = to_csv_bytes(df).decode("utf-8-sig")
    assert "'=1+1" in csv and "Café" in csv
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({"Entreprises": df, "Autre": df})))
    assert wb.sheetnames == ["Entreprises", "Autre"]
    ws = wb["Entreprises"]
    assert ws["A2"].value == "'=1+1" and ws["A2"].data_type == "s"
    assert ws["B3"].value == 3
