"""An invoice document as a PDF (fpdf2): the same lines, breakdown and total as the invoice
view and the CSV, every amount printed as the document's decimal string (nothing is
recomputed or passed through a float).

The PDF's core fonts cover Latin-1 only: a character outside it (an account name in another
script) prints as "?" rather than failing the download.
"""

from __future__ import annotations

from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

#: (heading, width in mm, alignment) of the line table; A4 less 10 mm margins is 190 mm
COLUMNS = (
    ("Description", 74.0, "L"),
    ("Tier", 30.0, "L"),
    ("Quantity", 28.0, "R"),
    ("Unit price", 28.0, "R"),
    ("Amount", 30.0, "R"),
)
ROW = 6.0


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _line_cells(line: dict[str, Any]) -> list[str]:
    description = line["description"] or line["category"]
    if line.get("original_month"):
        description = f"{description} (adjustment for {line['original_month']})"
    return [
        description,
        line["tier"] or "",
        f"{line['quantity']} {line['unit']}",
        line["unit_price"] or "",
        line["amount"],
    ]


def _table(pdf: FPDF, lines: list[dict[str, Any]]) -> None:
    pdf.set_font("Helvetica", "B", 9)
    for heading, width, align in COLUMNS:
        pdf.cell(width, ROW, heading, border="B", align=align)
    pdf.ln(ROW)
    pdf.set_font("Helvetica", "", 9)
    for line in lines:
        for text, (_, width, align) in zip(_line_cells(line), COLUMNS, strict=True):
            # a description wider than its column is cut, not wrapped (rows stay one line)
            while pdf.get_string_width(_latin1(text)) > width - 2 and len(text) > 4:
                text = text[:-4] + "..."
            pdf.cell(width, ROW, _latin1(text), align=align)
        pdf.ln(ROW)


def invoice_pdf(doc: dict[str, Any]) -> bytes:
    """The invoice ``doc`` (a stored invoice document with its status) as PDF bytes."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Invoice {doc['month']} {doc['account']}"))
    pdf.set_creator("ratecard")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(f"Invoice {doc['month']}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    for text in (
        f"{doc['name']} ({doc['account']})",
        f"Status: {doc['status']}    Currency: {doc['currency']}    Catalog: {doc['catalog']}",
    ):
        pdf.cell(0, ROW, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    _table(pdf, doc["lines"])
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    total = f"Total: {doc['total']} {doc['currency']}"
    pdf.cell(0, 8, total, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for part in doc["subaccounts"]:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 11)
        heading = f"{part['name']} ({part['account']}): {part['total']} {doc['currency']}"
        pdf.cell(0, 8, _latin1(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        _table(pdf, part["lines"])
    return bytes(pdf.output())
