"""The page registry: every page, its title key and the roles that may open it.

``app.py`` builds the navigation from it (a user sees only the pages of their role) and each page
checks it again on the server before drawing anything (``session.guard``), so a page cannot be
opened by URL by a role it is not meant for. A branch manager's pages are further scoped to their
branch inside the page (:func:`procmine.branch_scope`): the same page, fewer rows.

A page marked ``closed_book`` shows SOP text, standard times or right answers: while a teller has
a paper open (a closed-book attempt) the guard refuses it on the server and the navigation hides
its link.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from procmine import ROLES

__all__ = ["PAGES", "PageSpec", "page_for", "pages_for_role"]

_TRAINING = ("trainer", "operations")
_LOBBY = ("operations", "branch_manager")   # the queue pages; a manager's scoped to their branch
_REGISTER = ("operations", "reviewer", "branch_manager", "trainer")   # never a teller

_HERE = Path(__file__).resolve().parent / "pages"


@dataclass(frozen=True)
class PageSpec:
    """A dashboard page."""

    script: str          # file name in procmine/dashboard/pages/
    url_path: str
    title_key: str       # message catalogue key
    icon: str
    roles: tuple[str, ...]
    closed_book: bool = False   # refused to a teller during an open attempt
    hidden: bool = False        # out of the menu, opened by a link (e.g. one item's page)

    @property
    def path(self) -> Path:
        return _HERE / self.script


PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview.py", "overview", "nav.overview", ":material/monitoring:", ("operations",)),
    PageSpec("queue.py", "queue", "nav.queue", ":material/groups:", _LOBBY),
    PageSpec("staffing.py", "staffing", "nav.staffing", ":material/event_seat:", _LOBBY),
    PageSpec("diversion.py", "diversion", "nav.diversion", ":material/atm:", _LOBBY),
    PageSpec("bottlenecks.py", "bottlenecks", "nav.bottlenecks", ":material/hourglass_top:",
             ("operations", "branch_manager", "reviewer")),
    PageSpec("business_types.py", "business-types", "nav.business_types", ":material/list_alt:",
             ("operations", "reviewer"), closed_book=True),
    PageSpec("process_map.py", "process-map", "nav.process_map", ":material/account_tree:",
             ("operations", "reviewer", "branch_manager")),   # no SOP text nor standard times
    PageSpec("variants.py", "variants", "nav.variants", ":material/alt_route:",
             ("operations", "reviewer", "branch_manager")),
    PageSpec("conformance.py", "conformance", "nav.conformance", ":material/rule:",
             ("operations", "reviewer", "branch_manager")),
    PageSpec("tellers.py", "tellers", "nav.tellers", ":material/badge:", _LOBBY),
    PageSpec("announcement.py", "announcement", "nav.announcement", ":material/leaderboard:",
             ("operations",)),
    PageSpec("upload.py", "upload", "nav.upload", ":material/upload_file:", ("operations",)),
    PageSpec("sop_library.py", "sops", "nav.sops", ":material/menu_book:",
             ("operations", "reviewer", "trainer"), closed_book=True),
    PageSpec("sop_editor.py", "sop-editor", "nav.sop_editor", ":material/edit_document:",
             ("reviewer", "operations")),
    PageSpec("sop_review.py", "sop-review", "nav.sop_review", ":material/fact_check:",
             ("reviewer",)),
    PageSpec("sop_history.py", "sop-history", "nav.sop_history", ":material/history:",
             ("operations", "reviewer", "trainer"), closed_book=True),
    PageSpec("improvements.py", "improvements", "nav.improvements", ":material/task_alt:",
             _REGISTER),
    PageSpec("improvement_item.py", "improvement", "nav.improvement_item",
             ":material/assignment_turned_in:", _REGISTER, hidden=True),
    PageSpec("question_bank.py", "question-bank", "nav.question_bank", ":material/quiz:",
             _TRAINING),
    PageSpec("papers.py", "papers", "nav.papers", ":material/assignment:", _TRAINING),
    PageSpec("training_results.py", "training-results", "nav.training_results",
             ":material/school:", (*_TRAINING, "reviewer")),
    PageSpec("spot_checks.py", "spot-checks", "nav.spot_checks", ":material/visibility:",
             _TRAINING),
    PageSpec("audit.py", "audit", "nav.audit", ":material/policy:", ("operations",)),
    PageSpec("my_figures.py", "my-figures", "nav.my_figures", ":material/person:", ("teller",),
             closed_book=True),   # its slow steps name the steps' reference times
    # after My figures, so that a teller still lands there; a teller sees their own row only
    PageSpec("matrix.py", "teller-types", "nav.matrix", ":material/grid_on:",
             (*_LOBBY, "teller"), closed_book=True),   # it shows the standard times
    PageSpec("my_sops.py", "my-sops", "nav.my_sops", ":material/menu_book:", ("teller",),
             closed_book=True),
    PageSpec("take_paper.py", "take-paper", "nav.take_paper", ":material/edit_note:",
             ("teller",)),
    PageSpec("my_review.py", "my-review", "nav.my_review", ":material/replay:", ("teller",),
             closed_book=True),   # it shows the right answers
    PageSpec("baseline.py", "baseline", "nav.baseline", ":material/timer:", ROLES,
             closed_book=True),
)


def pages_for_role(role: str) -> list[PageSpec]:
    """The pages a role may open, in menu order."""
    return [p for p in PAGES if role in p.roles]


def page_for(script_path: str) -> PageSpec:
    """The registry entry of a page script (by its file name)."""
    name = Path(script_path).name
    for page in PAGES:
        if page.script == name:
            return page
    raise KeyError(f"{name} is not a registered page")
