"""The demo workspace's improvement register: a few items on the demo log's real findings,
acted on by the demo users, so that the register, the overview's list and the escalation report
have something to show.

:func:`seed_demo_improvements` runs at the end of
:func:`~procmine.demo.workspace.build_demo_workspace`, once: a workspace whose register holds
any item is left as it is. The items are opened on the findings of the workspace's own data
(:func:`procmine.sop.links.linked_findings`, each step judged against the SOP in force), their
evidence frozen as the data stands, dated today, with due days counted from today:

* the slow "Enter transaction" of utility-bill payments (P28) at branch B06 (the whole branch):
  cause *system*, escalated to the superior bank (the core system makes the teller type the
  payee and account by hand), accepted by ``settlement`` of the domestic-settlement group;
  meanwhile B06 serves bill payments at two counters of their own;
* teller 0102's slow "Enter transaction" of cash withdrawals (P18): cause *training*, decided
  as retraining by ``reviewer`` of the accounting-and-cash group, accepted by ``reviewer2``,
  linked to the demo's October paper and in progress;
* teller 0602's slow "Count cash" of cash deposits (P17): proposed by ``ops``, cause
  *procedure*, still undecided five days after its due day (overdue; the register stamps every
  item with the day it is opened, so this one is due before it was opened, for the demo to show
  an overdue item from its first day);
* a baseline review or a branch's overall pace when the data has one (the bundled demo log has
  neither): proposed by ``ops``, cause *data*.

Example:
    >>> from procmine.app.auth import get_user
    >>> from procmine.improve.register import list_items
    >>> items = list_items(user=get_user("ops", home), home=home)
    >>> for item in sorted(items, key=lambda i: i.id):
    ...     print(item.subject.branch_id, item.subject.business_type, item.status, item.decision)
    B06 P28 accepted escalate
    B01 P18 in_progress retrain
    B06 P17 proposed None
    >>> seed_demo_improvements(home)   # the register has items already: nothing is added
    []
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from procmine.analysis.findings import Finding
from procmine.app.auth import User, get_user
from procmine.core.baseline import Baseline, load_baseline
from procmine.demo.training import DEMO_PAPER
from procmine.improve.items import ImprovementItem
from procmine.improve.register import add_link, list_items, open_item, set_status
from procmine.improve.subjects import Subject, finding_subject
from procmine.sop.library import SopLibrary
from procmine.sop.links import linked_findings
from procmine.store.event_store import EventStore
from procmine.training.papers import list_papers

__all__ = ["seed_demo_improvements"]

#: Days after the day the demo is built that the items are due (the overdue one: before).
ESCALATION_DUE_DAYS = 60
RETRAINING_DUE_DAYS = 21
OVERDUE_BY_DAYS = 5


def _find(findings: Sequence[Finding], **want: object) -> Finding | None:
    """The first finding (most time lost first) whose fields are as ``want`` says."""
    for finding in findings:
        if all(getattr(finding, name) == value for name, value in want.items()):
            return finding
    return None


def _as_of(store: EventStore) -> date | None:
    last = store.info().last_event
    return datetime.fromisoformat(last).date() if last else None


def seed_demo_improvements(home: str | Path, *, store: EventStore | None = None,
                           baseline: Baseline | None = None, library: SopLibrary | None = None,
                           today: date | None = None) -> list[ImprovementItem]:
    """Open the demo's improvement items (see the module) and return them; nothing when the
    register has items already, the demo users are missing or the store is empty."""
    home = Path(home)
    ops = get_user("ops", home)
    store = store or EventStore(home)
    if ops is None or store.is_empty() or list_items(user=ops, home=home):
        return []
    baseline = baseline or load_baseline()
    library = library or SopLibrary.open(home)
    findings = linked_findings(store, baseline, library)
    as_of, version = _as_of(store), store.version()

    def subject(finding: Finding) -> Subject:
        return finding_subject(finding, as_of=as_of, store_version=version, library=library)

    today = today or date.today()
    seeds: list[Callable[[], ImprovementItem | None]] = [
        lambda: _escalation(findings, subject, home, today),
        lambda: _retraining(findings, subject, home, today),
        lambda: _overdue(findings, subject, ops, home, today),
        lambda: _standard(findings, subject, ops, baseline, home, today),
    ]
    return [item for seed in seeds if (item := seed()) is not None]


def _users(home: Path, *names: str) -> list[User] | None:
    users = [get_user(name, home) for name in names]
    return None if any(u is None for u in users) else [u for u in users if u is not None]


def _escalation(findings: Sequence[Finding], subject: Callable[[Finding], Subject], home: Path,
                today: date) -> ImprovementItem | None:
    """B06's slow bill payments: the core system's input screen; escalated, accepted."""
    finding = _find(findings, kind="step", scope="branch", branch_id="B06",
                    business_type="P28", condition=None)
    users = _users(home, "ops", "settlement")
    if finding is None or users is None:
        return None
    ops, settlement = users
    item = open_item(
        subject(finding), user=ops, cause="system", review_group="domestic-settlement",
        owner=settlement.username, due_on=today + timedelta(days=ESCALATION_DUE_DAYS),
        proposed_change=("请上级行在核心系统代缴费交易中按缴费单位和户号自动带出缴费信息，"
                         "柜员不再手工录入收款单位、户号和账期。"),
        branch_action=("B06 网点已在叫号系统中单列代缴费队列，由两名熟练柜员专门受理，"
                       "并引导客户使用自助缴费机办理小额缴费。"),
        home=home, today=today)
    return set_status(item.id, "accepted", user=settlement, decision="escalate",
                      note="录入环节慢在系统界面，网点无法自行解决，上报上级行。", home=home,
                      today=today)


def _retraining(findings: Sequence[Finding], subject: Callable[[Finding], Subject], home: Path,
                today: date) -> ImprovementItem | None:
    """Teller 0102's slow entry of cash withdrawals: retraining, with the October paper."""
    finding = _find(findings, kind="step", scope="teller", teller_id="0102",
                    business_type="P18", activity="Enter transaction", condition=None)
    users = _users(home, "reviewer", "reviewer2")
    if finding is None or users is None:
        return None
    reviewer, reviewer2 = users
    item = open_item(
        subject(finding), user=reviewer, cause="training", review_group="accounting-and-cash",
        owner=reviewer.username, due_on=today + timedelta(days=RETRAINING_DUE_DAYS),
        decision="retrain",
        proposed_change=("对柜员 0102 进行活期取款录入操作的再培训：复习 SOP-P18 录入步骤，"
                         "由主管带教一周，并结合十月闭卷测试的错题复习。"),
        home=home, today=today)
    item = set_status(item.id, "accepted", user=reviewer2, home=home, today=today,
                      note="同意再培训，先看测试中录入步骤的错题。")
    paper = next((p for p in list_papers(home=home) if p.title == DEMO_PAPER), None)
    if paper is not None:
        item = add_link(item.id, "paper", str(paper.id), user=reviewer, home=home)
    return set_status(item.id, "in_progress", user=reviewer, home=home, today=today,
                      note="带教已开始。")


def _overdue(findings: Sequence[Finding], subject: Callable[[Finding], Subject], ops: User,
             home: Path, today: date) -> ImprovementItem | None:
    """Teller 0602's slow cash count: proposed, not decided, past its due day."""
    finding = _find(findings, kind="step", scope="teller", teller_id="0602",
                    business_type="P17", activity="Count cash", condition=None)
    if finding is None:
        return None
    return open_item(
        subject(finding), user=ops, cause="procedure", review_group="accounting-and-cash",
        owner="reviewer2", due_on=today - timedelta(days=OVERDUE_BY_DAYS),
        proposed_change=("核查柜员 0602 的点钞流程：是否仍手工复点全部券别，"
                         "是否按修订后的 SOP-P17 使用点钞机。"),
        home=home, today=today)


def _standard(findings: Sequence[Finding], subject: Callable[[Finding], Subject], ops: User,
              baseline: Baseline, home: Path, today: date) -> ImprovementItem | None:
    """A baseline review (or a branch's overall pace), when the data has one."""
    finding = next((f for f in findings if f.kind == "baseline"), None) or next(
        (f for f in findings if f.kind == "overall" and f.scope == "branch"), None)
    if finding is None:
        return None
    group = "accounting-and-cash"
    if finding.business_type and finding.business_type in baseline:
        group = baseline[finding.business_type].review_group or group
    return open_item(
        subject(finding), user=ops, cause="data", review_group=group,
        due_on=today + timedelta(days=RETRAINING_DUE_DAYS),
        proposed_change="核对该业务的标准时间与日志的记录方式，确认差异来自标准还是来自数据。",
        home=home, today=today)
