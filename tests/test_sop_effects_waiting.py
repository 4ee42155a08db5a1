"""The effect of a revision that has no data after it yet (a version in force after the log
ends): "no data yet", not NaN, in the library, on the command line and on the SOP history page;
and the small samples of the demo's revision marked as such."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from apptest import app_as
from demo_kit import copy_demo_workspace
from typer.testing import CliRunner

from procmine.app.i18n import t
from procmine.cli.main import app
from procmine.sop.library import SopLibrary
from procmine.sop.links import FEW_EFFECT_CASES, revision_effects
from procmine.sop.workflow import Editor
from procmine.store.event_store import EventStore

AUTHOR = Editor("reviewer", "reviewer", "accounting-and-cash", "Reviewer (demo)")
APPROVER = Editor("reviewer2", "reviewer", "accounting-and-cash", "Reviewer 2 (demo)")
AFTER_THE_LOG = date(2026, 11, 20)  # the bundled log ends on 31 October 2026


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace with a 4.0 of SOP-P18 (the card read a second shorter) in force from
    after the log's last day."""
    home = tmp_path_factory.mktemp("effects") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    library = SopLibrary.open(home)
    head = library.current("SOP-P18")
    text = head.sop.text.replace("standard_seconds: 6\n", "standard_seconds: 5\n", 1)
    assert text != head.sop.text
    library.save("SOP-P18", text, user=AUTHOR, base=head.commit, note="Read card: a faster reader",
                 today=date(2026, 11, 10))
    library.submit("SOP-P18", user=AUTHOR, today=date(2026, 11, 10))
    # the draft keeps 3.0's dates, passed by then: the reviewer chooses the day of approval
    # for the SOP and every branch (issue 17: passed dates are refused, not moved)
    library.approve("SOP-P18", user=APPROVER, today=AFTER_THE_LOG, effective=AFTER_THE_LOG,
                    adoption={b: AFTER_THE_LOG for b in head.sop.adoption})
    return home


def test_a_version_with_no_data_after_it_says_so(home: Path) -> None:
    effects = revision_effects(EventStore(home), SopLibrary.open(home), "SOP-P18")
    assert set(effects["version"]) == {"3.0", "4.0"}
    waiting = effects[effects["version"] == "4.0"]
    assert len(waiting) > 0 and (waiting["evidence"] == "no_data_yet").all()
    assert (waiting["n_after"] == 0).all() and (waiting["n_before"] > 0).all()
    assert waiting["median_after"].isna().all() and waiting["change"].isna().all()
    # the demo's 3.0: thousands of times a side on the standard path, a few dozen on the
    # steps that large cash or an error brings
    revised = effects[effects["version"] == "3.0"].set_index("step_id")
    assert revised.loc["count_cash", "evidence"] == "enough"
    few = revised[revised["evidence"] == "few_cases"]
    assert set(few.index) == {"verify_identity_large", "anti_fraud_check_large",
                              "register_large_cash", "reverse_transaction",
                              "second_person_recount"}
    assert (few[["n_before", "n_after"]].min(axis=1) < FEW_EFFECT_CASES).all()
    enough = revised[revised["evidence"] == "enough"]
    assert (enough[["n_before", "n_after"]].min(axis=1) >= FEW_EFFECT_CASES).all()


def test_the_command_line_prints_no_data_yet_not_nan(home: Path) -> None:
    result = CliRunner().invoke(app, ["sop", "effects", "SOP-P18", "--home", str(home)],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines()
             if line.lstrip("│ ").startswith("4.0")]
    assert lines and all("no data yet" in line for line in lines), result.output
    assert "NaN" not in result.output and "nan" not in result.output
    assert "few cases" in result.output
    records = json.loads(CliRunner().invoke(
        app, ["sop", "effects", "SOP-P18", "--home", str(home), "--json"]).output)
    assert {r["evidence"] for r in records if r["version"] == "4.0"} == {"no_data_yet"}


def test_the_history_page_shows_no_data_yet_and_no_empty_bars(home: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    at = app_as("trainer", home).run()
    at.switch_page("procmine/dashboard/pages/sop_history.py").run()
    at.selectbox(key="history_sop").set_value("SOP-P18").run()
    assert not at.exception
    zh = "zh-CN"
    table = next(d.value for d in at.dataframe
                 if t("sop_history.evidence", zh) in d.value.columns)
    waiting = table[table[t("sops.version", zh)] == "4.0"]
    assert len(waiting) > 0
    assert (waiting[t("sop_history.evidence", zh)]
            == t("sop_history.evidence.no_data_yet", zh)).all()
    assert (table[t("sop_history.evidence", zh)]
            == t("sop_history.evidence.few_cases", zh)).any()
    assert any(t("sop_history.effects_waiting", zh, versions="4.0") in c.value
               for c in at.caption)
    # the chart draws only the rows with times on both sides: no empty bars
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    drawn = {x for trace in spec["data"] for x in trace["x"]}
    assert drawn and not any(str(x).startswith("4.0") for x in drawn)



def test_the_readme_gives_the_demos_revision_effect(home: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    effects = revision_effects(EventStore(home), SopLibrary.open(home), "SOP-P18")
    revised = effects[effects["version"] == "3.0"].set_index("step_id")
    cash = revised.loc["count_cash"]
    text = (f"{cash['median_before']:.1f} s before and {cash['median_after']:.1f} s after "
            f"({cash['change'] * 100:.1f}%".replace("-", "−"))
    assert text in " ".join(readme.split()), text
    did = f"{cash['did_effect'] * 100:.1f}%".replace("-", "−")
    assert f"difference-in-differences of {did}" in " ".join(readme.split())
    # "the other ten steps of the standard path change by 3.2% or less (p >= 0.03)"
    others = revised[(revised["evidence"] == "enough") & (revised.index != "count_cash")
                     & (revised["n_before"] > 1000)]
    assert len(others) == 10
    assert others["change"].abs().max() <= 0.032 and others["p_value"].min() >= 0.03
    recount = revised.loc["second_person_recount"]
    assert (recount["n_before"], recount["n_after"]) == (68, 58)
    change = f"{recount['change'] * 100:.1f}%".replace("-", "−")
    assert f"Second-person recount {change}" in " ".join(readme.split())
