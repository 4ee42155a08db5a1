"""Export and import of the question bank, and the bundled regulation bank.

A trainer moves questions between procmine and a learning platform in three formats:
``gift`` (Moodle's GIFT text, :mod:`procmine.training.gift`), ``moodle-xml`` (Moodle XML,
:mod:`procmine.training.moodle_xml`) and ``aiken`` (single choice only,
:mod:`procmine.training.aiken`). GIFT and Moodle XML keep everything (key, kind, SOP, version,
step, regulation, feedback); Aiken keeps the text and the right answer and leaves out every
question that is not single choice.

The regulation bank is hand-written GIFT, one file per area in ``sops/questions/<area>.gift``
(the areas of ``REGULATIONS``: savings rules, negotiable instruments, payment and settlement,
anti-money-laundering, cash handling), bundled with the package. Each question there has a
``::title::`` that makes its key ``reg:<area>:<title>``, and general feedback citing the rule.

Example:
    >>> bank = regulation_bank()
    >>> sorted({q.regulation for q in bank}) == sorted(REGULATIONS)
    True
    >>> text, left_out = export_questions(bank[:3], "gift")
    >>> text.startswith("// procmine question bank")
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from procmine.core.errors import ProcmineError
from procmine.core.limits import current_limits
from procmine.core.paths import bundled_path
from procmine.training.aiken import parse_aiken, write_aiken
from procmine.training.gift import FormatError, parse_gift, write_gift
from procmine.training.moodle_xml import parse_moodle_xml, write_moodle_xml
from procmine.training.question import REGULATIONS, Question

__all__ = [
    "EXPORT_FORMATS",
    "detect_format",
    "export_questions",
    "import_questions",
    "read_questions",
    "regulation_bank",
]

EXPORT_FORMATS = ("gift", "moodle-xml", "aiken")


def export_questions(questions: Sequence[Question], fmt: str) -> tuple[str, int]:
    """(the questions as a file of format ``fmt``, how many were left out: only Aiken leaves
    out questions, those that are not single choice)."""
    if fmt == "gift":
        return write_gift(questions), 0
    if fmt == "moodle-xml":
        return write_moodle_xml(questions), 0
    if fmt == "aiken":
        return write_aiken(questions)
    raise ProcmineError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")


def detect_format(name: str, text: str) -> str:
    """The format of a question file: by extension (``.gift``, ``.xml``), else by content (XML
    starts with ``<``; a ``{`` answer block is GIFT; ``ANSWER:`` lines are Aiken).

    >>> detect_format("bank.txt", "题？\\nA. 是\\nB. 否\\nANSWER: A\\n")
    'aiken'
    """
    suffix = Path(name).suffix.lower()
    if suffix == ".gift":
        return "gift"
    if suffix == ".xml":
        return "moodle-xml"
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        return "moodle-xml"
    if "{" in text:
        return "gift"
    if any(line.strip().startswith("ANSWER:") for line in text.split("\n")):
        return "aiken"
    raise ProcmineError(f"{name}: not a question file procmine reads (GIFT .gift/.txt, "
                        "Moodle XML .xml, Aiken .txt)", code="training.not_question_file",
                        file=name)


def import_questions(path: str | Path) -> list[Question]:
    """The questions of a GIFT, Moodle XML or Aiken file (format by extension, else by content);
    raises :class:`~procmine.training.gift.FormatError` listing every problem of the file."""
    path = Path(path)
    if not path.is_file():
        raise ProcmineError(f"{path}: no such file", code="training.no_file", file=path.name)
    current_limits().check_upload(path.name, path.stat().st_size)
    return read_questions(path.name, path.read_bytes())


def read_questions(name: str, data: bytes) -> list[Question]:
    """The questions of an uploaded file ``name`` whose content is ``data`` (as
    :func:`import_questions`, for a file that is not on disk).

    >>> [q.key for q in read_questions("a.gift", "::t::题？{TRUE}".encode())]
    ['imp:a.gift:t']
    """
    current_limits().check_upload(name, len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise FormatError([(line, "the file is not UTF-8 text")], source=name) from None
    fmt = detect_format(name, text)
    if fmt == "moodle-xml":
        return parse_moodle_xml(data, source=name)
    if fmt == "aiken":
        return parse_aiken(text, source=name)
    return parse_gift(text, source=name)


def regulation_bank(folder: str | Path | None = None) -> list[Question]:
    """The hand-written regulation questions: every ``<area>.gift`` in ``folder`` (default the
    bundled ``sops/questions``), area one of ``REGULATIONS``, keys ``reg:<area>:<title>``."""
    root = Path(folder) if folder is not None else bundled_path("sops", "questions")
    if not root.is_dir():
        raise ProcmineError(f"{root}: the regulation bank folder does not exist")
    questions: list[Question] = []
    for path in sorted(root.glob("*.gift")):
        if path.stem not in REGULATIONS:
            raise ProcmineError(f"{path.name}: {path.stem!r} is not a regulation area "
                                f"({', '.join(REGULATIONS)})")
        questions += parse_gift(path.read_text(encoding="utf-8"), source=path.name,
                                regulation=path.stem)
    return questions
