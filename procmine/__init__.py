"""procmine: process mining for bank counters.

The public API, in one place: ``verb_noun`` functions and the result types, filters and
constants a caller needs, in the style of pm4py's simplified interface. The dashboard and the
command line use only these names; the modules behind them may move without a caller noticing.

    >>> import procmine
    >>> store = procmine.EventStore("workspace")
    >>> baseline = procmine.load_baseline()
    >>> report = procmine.ingest_log(store, procmine.bundled_demo_log(), baseline=baseline)
    >>> report.read == report.loaded + report.quarantined
    True
    >>> procmine.months_with_data(store)
    ['2026-09', '2026-10']
    >>> found = procmine.find_bottlenecks(store, baseline)
    >>> found[0].teller_id, found[0].business_type, found[0].activity
    ('0102', 'P18', 'Enter transaction')
    >>> league = procmine.monthly_league(store, baseline, "2026-10")
    >>> str(league.loc[0, "teller_id"]), int(league.loc[0, "rank_overall"])
    ('0403', 1)

``import procmine`` never imports streamlit (only ``procmine.dashboard`` does).
"""

from typing import TYPE_CHECKING, Any

# The public names and where they live: imported for type checkers only. At run time each name
# is imported on first use (:func:`__getattr__`, PEP 562) from the module this block names, so
# ``import procmine`` (and ``procmine --help``) does not load pandas, SciPy, DuckDB and every
# analysis before it is asked for one.
if TYPE_CHECKING:
    # findings: overall pace and baseline review
    from procmine.analysis.baseline_review import BASELINE_BAND, BASELINE_MIN_CASES
    from procmine.analysis.bottlenecks import ANALYSES, find_bottlenecks

    # findings: conditional (slow steps that hold only in one slice: an hour band, amount band,
    # window type or weekday)
    from procmine.analysis.conditional import conditional_findings, without_all_day

    # ui: error-rate prior (raw and corrected error rates side by side, and how they were corrected)
    from procmine.analysis.error_rates import error_prior, teller_error_rates
    from procmine.analysis.evidence import explain_finding, explain_findings, finding_distribution
    from procmine.analysis.filters import Filters

    # findings: page (the kinds and scopes of a finding, for the slow-steps page's filters)
    from procmine.analysis.findings import FINDING_KINDS, FINDING_SCOPES, Finding
    from procmine.analysis.league import (
        MIN_TRANSACTIONS,
        league_records,
        monthly_league,
        months_with_data,
    )

    # findings: matrix (each teller's counter time on each business type)
    from procmine.analysis.matrix import (
        MATRIX_COLUMNS,
        MIN_MATRIX_CASES,
        matrix_grid,
        matrix_records,
        teller_type_matrix,
    )
    from procmine.analysis.performance import (
        business_type_summary,
        filter_options,
        latest_month,
        step_statistics,
        teller_profile,
        teller_summary,
        transaction_summary,
        type_steps,
    )

    # findings: waits (time lost before a step against what peers wait)
    from procmine.analysis.waits import MIN_REFERENCE_SECONDS, WAIT_FLOOR_SECONDS, wait_findings
    from procmine.app.appdb import AuditEntry, list_audit
    from procmine.app.auth import (
        DEMO_PASSWORD,
        ROLES,
        AccountLocked,
        User,
        add_user,
        authenticate,
        can_open,
        disable_user,
        enable_user,
        get_user,
        list_users,
        seed_demo_users,
        set_password,
        set_role,
        unlock_user,
    )
    from procmine.app.dburl import has_app_database

    # ui: messages (display names of codes: audit actions, categories, ...; automatic notes)
    from procmine.app.display import (
        AUTOMATIC_NOTES,
        display_name,
        history_note,
        issue_text,
        note_text,
    )
    from procmine.app.i18n import DEFAULT_LANGUAGE, LANGUAGES, error_text, normalize_language, t
    from procmine.app.policy import session_idle

    # queue: scope (the branch manager's view: one branch, other branches only as aggregates;
    # AccessDenied above is procmine.app.scope's, the one class for every refusal)
    from procmine.app.scope import (
        branch_scope,
        require_branch,
        require_teller,
        scoped_findings,
        visible_branches,
        visible_tellers,
    )

    # ui: session (a dashboard session's token, kept in a browser cookie, checked on the server)
    from procmine.app.session_tokens import (
        SESSION_COOKIE,
        SESSION_MAX_AGE,
        open_session,
        resume_session,
        revoke_session,
    )
    from procmine.core.amounts import AMOUNT_BANDS, LARGE_AMOUNT
    from procmine.core.baseline import REVIEW_GROUPS, Baseline, load_baseline
    from procmine.core.errors import ProcmineError
    from procmine.core.limits import Limits, current_limits, use_limits
    from procmine.core.months import add_months, last_day, parse_month
    from procmine.core.paths import default_home

    # findings: demo injections
    from procmine.demo import (
        DemoConfig,
        parse_branch_start,
        parse_revision,
        parse_wrong_standard,
        write_bundled_demo,
        write_demo_data,
    )

    # improve: report (the demo workspace's register)
    from procmine.demo.improvements import seed_demo_improvements

    # queue: demo
    from procmine.demo.tickets import (
        DEMO_DATA,
        DEMO_TICKETS_FILE,
        DEMO_TICKETS_MAP,
        demo_tickets,
        ticket_export,
        write_demo_tickets,
    )
    from procmine.demo.workspace import (
        NotADemoWorkspace,
        build_demo_workspace,
        bundled_demo_log,
        is_demo_workspace,
        keep_uploads_days,
        purge_uploads,
        release_upload,
        save_upload,
    )

    # improve: measurement
    from procmine.improve.agenda import Agenda, FindingMark, agenda, finding_marks

    # improve: the register
    from procmine.improve.items import CAUSES as IMPROVEMENT_CAUSES
    from procmine.improve.items import DECISIONS as IMPROVEMENT_DECISIONS
    from procmine.improve.items import LINK_KINDS as IMPROVEMENT_LINKS
    from procmine.improve.items import STATUSES as IMPROVEMENT_STATUSES
    from procmine.improve.items import ImprovementItem, RegisterError, system_user
    from procmine.improve.items import can_act as can_act_on_item
    from procmine.improve.items import can_open as can_open_item
    from procmine.improve.items import can_view as can_view_register
    from procmine.improve.measure import Measurement, measure_item
    from procmine.improve.refresh import RefreshReport, refresh_register
    from procmine.improve.register import add_cause as add_improvement_cause
    from procmine.improve.register import add_link as link_improvement
    from procmine.improve.register import causes as improvement_causes
    from procmine.improve.register import get_item as get_improvement
    from procmine.improve.register import has_register, register_items
    from procmine.improve.register import items_by_key as improvements_by_key
    from procmine.improve.register import list_items as list_improvements
    from procmine.improve.register import open_item as open_improvement
    from procmine.improve.register import set_status as set_improvement_status
    from procmine.improve.register import update_item as update_improvement
    from procmine.improve.subjects import (
        Subject,
        default_group,
        deviation_subject,
        finding_key,
        finding_of,
        finding_subject,
        shortfall_subject,
    )
    from procmine.ingest.batches import Batch, drop_batch, list_batches
    from procmine.ingest.rules import QUARANTINE_REASONS, WARNINGS
    from procmine.ingest.run import IngestReport, ingest_log

    # queue: ingest
    from procmine.ingest.ticket_rules import TICKET_REASONS
    from procmine.ingest.tickets import TicketMap, ingest_tickets, load_ticket_map, read_map_kind
    from procmine.io.eventlog import ColumnMap, load_column_map
    from procmine.io.xes import read_xes_table

    # maps: conformance (each transaction against the SOP in force: deviations and fitness)
    from procmine.maps.alignment import DEVIATION_KINDS
    from procmine.maps.conformance import ConformanceReport, conformance
    from procmine.maps.deviations import DeviationFinding, deviation_findings

    # maps: process map
    from procmine.maps.dfg import ProcessMap, process_map

    # maps: discovered model (pm4py's inductive miner on the process map, as BPMN and Petri net)
    from procmine.maps.discovery import (
        GRAPH_KINDS,
        DiscoveredModel,
        denoised,
        discover_model,
        model_from_map,
    )

    # maps: conformance page (one transaction's steps in the order conformance reads them)
    from procmine.maps.transaction_steps import case_steps

    # maps: variants (the step sequences of a type's cases, the SOP's marked)
    from procmine.maps.variants import VariantTable, variants

    # queue: diversion and windows
    from procmine.queue.diversion import (
        CASH_TYPES,
        DIVERSION_THRESHOLD,
        SELF_SERVICE_TYPES,
        DiversionReport,
        diversion_report,
    )

    # queue: staffing (Erlang C and A)
    from procmine.queue.erlang import WaitMetrics, counters_needed, wait_metrics

    # queue: measures
    from procmine.queue.measures import (
        DEFAULT_TARGET_WAIT,
        INTERVAL_LOAD_COLUMNS,
        MEASURE_COLUMNS,
        QUEUE_DIMENSIONS,
        QueueFilter,
        QueueSummary,
        interval_load,
        queue_measures,
        queue_summary,
    )

    # queue: staffing (the plan)
    from procmine.queue.staffing import (
        ShiftSuggestion,
        StaffingPlan,
        plan_from_load,
        staffing_plan,
        what_if,
    )

    # queue: measures (the ticket sources)
    from procmine.queue.tickets import SOURCES as TICKET_SOURCES

    # queue: diversion and windows (the windows)
    from procmine.queue.windows import (
        REGULAR_WINDOWS,
        VIP_SEGMENTS,
        VIP_WINDOWS,
        WindowReport,
        window_report,
    )

    # improve: report (the escalation report for the superior bank)
    from procmine.reports.improvement import (
        escalated_items,
        escalation_rows,
        export_escalation_excel,
        export_escalation_html,
    )
    from procmine.reports.league import (
        add_spot_checks,
        column_labels,
        export_league_excel,
        export_league_html,
    )

    # findings: matrix (its Excel export, one sheet per branch)
    from procmine.reports.matrix import export_matrix_excel
    from procmine.reports.safe import safe_cell, safe_csv

    # ui: names (activity display names: SOP step names, the glossary, the log name)
    from procmine.sop.activity_names import (
        LOG_NAME_COLUMN,
        ActivityNames,
        activity_names,
        glossary_path,
        read_glossary,
    )

    # ui: cond (an SOP step's required_when in words: field names and known values from the
    # catalogue)
    from procmine.sop.conditions import condition_text
    from procmine.sop.document import (
        STATUSES,
        Sop,
        SopError,
        parse_sop,
        render_sop,
        split_front_matter,
    )

    # ui: editor (the SOP editor's front-matter form, the reviewer's approval dates, review
    # standing)
    from procmine.sop.front_matter import (
        FORM_STEP_KEYS,
        form_fields,
        set_adoption,
        set_fields,
        set_steps,
    )
    from procmine.sop.library import SopLibrary, side_by_side
    from procmine.sop.links import (
        Coverage,
        coverage_report,
        findings_by_step,
        linked_findings,
        logged_activities,
        revision_effects,
        workspace_references,
    )
    from procmine.sop.lint import LintReport, errors_first, lint_sops
    from procmine.sop.repository import SopVersion, bundled_sops_dir, sops_folder

    # training: pages (the skeleton's names the dashboard needs: steps in both languages, questions)
    from procmine.sop.steps import changed_steps, matches_query, step_names
    from procmine.sop.timeline import review_standing
    from procmine.sop.workflow import Editor, SaveConflict, WorkflowError, check_approval_dates
    from procmine.store.engine import ENGINES, Engine, get_engine
    from procmine.store.event_store import EventStore

    # speed: results kept in the workspace per store version; the prepared step relation
    from procmine.store.result_cache import ResultCache, code_stamp
    from procmine.store.warm_up import Recipe, WarmReport, start_warm_up, warm, warm_report

    # training: people and results
    from procmine.training.acknowledgements import (
        Acknowledgement,
        acknowledge_sop,
        acknowledgement_status,
        acknowledgement_summary,
        pending_acknowledgements,
        sops_in_force,
        teller_types,
        types_by_teller,
    )

    # training: formats
    from procmine.training.aiken import parse_aiken, write_aiken

    # training: bank, papers, attempts
    from procmine.training.attempts import (
        AttemptItem,
        AttemptResult,
        AttemptView,
        ClosedBook,
        ItemResult,
        attempt_result,
        ensure_not_in_attempt,
        get_attempt,
        list_attempts,
        open_attempt,
        record_paper_attempt,
        save_answer,
        start_attempt,
        submit_attempt,
    )
    from procmine.training.bank import (
        QUESTION_STATUSES,
        BankQuestion,
        SyncReport,
        edit_question,
        get_question,
        list_questions,
        reopen_changed,
        set_question_status,
        sync_bank,
        sync_questions,
        validate_question,
    )
    from procmine.training.exchange import (
        EXPORT_FORMATS,
        export_questions,
        import_questions,
        read_questions,
        regulation_bank,
    )

    # training: generator
    from procmine.training.generate import generate_bank, generate_questions
    from procmine.training.gift import FormatError, parse_gift, write_gift
    from procmine.training.grading import check_response, grade_response, paper_score
    from procmine.training.loop import NewVersionReport, on_new_version, retest_list, teller_loop
    from procmine.training.moodle_xml import parse_moodle_xml, write_moodle_xml
    from procmine.training.papers import (
        PAPER_STATES,
        Paper,
        TellerPaper,
        assign_paper,
        build_paper,
        close_paper,
        get_paper,
        list_papers,
        papers_for_teller,
    )

    # training: pages
    from procmine.training.question import KINDS, REGULATIONS, SOURCES, Choice, Question
    from procmine.training.results import (
        PaperResults,
        expert_targets,
        item_analysis,
        monthly_rates,
        paper_results,
        weak_steps,
    )
    from procmine.training.review import ReviewItem, ReviewOutcome, answer_review, review_queue
    from procmine.training.roster import Trainee, teller_roster
    from procmine.training.settings import (
        AccessDenied,
        TrainingTargets,
        set_training_target,
        training_targets,
    )
    from procmine.training.spotchecks import (
        SpotCheck,
        add_spot_check,
        list_spot_checks,
        spot_check_grid,
        spot_check_summary,
    )

    # Grouped by room (in the order of the layout, core upward), sorted within a group.

__all__ = [  # noqa: RUF022
    # core: errors, the timing baseline, amount thresholds, resource limits
    "AMOUNT_BANDS",
    "LARGE_AMOUNT",
    "MIN_TRANSACTIONS",
    "REVIEW_GROUPS",
    "Baseline",
    "Limits",
    "ProcmineError",
    "Recipe",
    "ResultCache",
    "WarmReport",
    "code_stamp",
    "start_warm_up",
    "warm",
    "warm_report",
    "add_months",
    "last_day",
    "parse_month",
    "current_limits",
    "load_baseline",
    "use_limits",
    # io: reading event logs and column maps
    "ColumnMap",
    "load_column_map",
    "read_xes_table",
    # ingest: what a load did, why rows were set aside, the batches and dropping one
    "QUARANTINE_REASONS",
    "WARNINGS",
    "Batch",
    "IngestReport",
    "drop_batch",
    "ingest_log",
    "list_batches",
    # store: the event store, its workspace and the query engines
    "ENGINES",
    "Engine",
    "EventStore",
    "default_home",
    "get_engine",
    # analysis: counter times against the baseline, slow steps, the monthly league
    "Filters",
    "Finding",
    "business_type_summary",
    "explain_finding",
    "explain_findings",
    "filter_options",
    "ANALYSES",
    "find_bottlenecks",
    "finding_distribution",
    "latest_month",
    "monthly_league",
    "months_with_data",
    "step_statistics",
    "teller_profile",
    "teller_summary",
    "transaction_summary",
    "type_steps",
    # findings: overall pace and baseline review (the band and minimum of find_bottlenecks)
    "BASELINE_BAND",
    "BASELINE_MIN_CASES",
    # reports: the league as Excel, HTML or records, with its column labels; inert cells
    "column_labels",
    "export_league_excel",
    "export_league_html",
    "league_records",
    "safe_cell",
    "safe_csv",
    # queue: staffing (Erlang C and A: waits at a number of counters, counters for a target;
    # the plan per branch x weekday x 15 minutes, its shifts, the what-if)
    "ShiftSuggestion",
    "StaffingPlan",
    "WaitMetrics",
    "counters_needed",
    "plan_from_load",
    "staffing_plan",
    "wait_metrics",
    "what_if",
    # queue: diversion and windows (small cash business to self-service machines and the wait
    # it saves; who the VIP and regular windows served while whom waited)
    "CASH_TYPES",
    "DIVERSION_THRESHOLD",
    "REGULAR_WINDOWS",
    "SELF_SERVICE_TYPES",
    "VIP_SEGMENTS",
    "VIP_WINDOWS",
    "DiversionReport",
    "WindowReport",
    "diversion_report",
    "window_report",
    # sop: documents, the library and its workflow, findings linked to SOP steps
    "STATUSES",
    "Coverage",
    "Editor",
    "LintReport",
    "SaveConflict",
    "Sop",
    "SopError",
    "SopLibrary",
    "SopVersion",
    "bundled_sops_dir",
    "coverage_report",
    "findings_by_step",
    "linked_findings",
    "errors_first",
    "lint_sops",
    "logged_activities",
    "sops_folder",
    "parse_sop",
    "render_sop",
    "revision_effects",
    "side_by_side",
    "split_front_matter",
    "workspace_references",
    # training: generator (questions generated from the approved SOPs)
    "generate_bank",
    "generate_questions",
    # app: users and roles, the audit trail, the message catalogues
    "DEFAULT_LANGUAGE",
    "error_text",
    "DEMO_PASSWORD",
    "LANGUAGES",
    "ROLES",
    "AccountLocked",
    "AuditEntry",
    "User",
    "add_user",
    "authenticate",
    "can_open",
    "disable_user",
    "enable_user",
    "get_user",
    "has_app_database",
    "list_audit",
    "list_users",
    "normalize_language",
    "seed_demo_users",
    "session_idle",
    "set_password",
    "set_role",
    "t",
    "unlock_user",
    # demo: the generated demo log and the demo workspace
    "DemoConfig",
    "NotADemoWorkspace",
    "build_demo_workspace",
    "bundled_demo_log",
    "is_demo_workspace",
    "keep_uploads_days",
    "parse_revision",
    "purge_uploads",
    "release_upload",
    "save_upload",
    "write_bundled_demo",
    "write_demo_data",
    # training: cli (the announcement's spot-check columns; the roster of trainees)
    "Trainee",
    "add_spot_checks",
    "teller_roster",
    # training: people and results (acknowledgements, spot checks, targets, results, review,
    # the loop to the slow steps and to new SOP versions)
    "AccessDenied",
    "Acknowledgement",
    "NewVersionReport",
    "PaperResults",
    "ReviewItem",
    "ReviewOutcome",
    "SpotCheck",
    "TrainingTargets",
    "acknowledge_sop",
    "acknowledgement_status",
    "acknowledgement_summary",
    "add_spot_check",
    "answer_review",
    "expert_targets",
    "item_analysis",
    "list_spot_checks",
    "monthly_rates",
    "on_new_version",
    "paper_results",
    "pending_acknowledgements",
    "retest_list",
    "review_queue",
    "set_training_target",
    "sops_in_force",
    "spot_check_grid",
    "spot_check_summary",
    "teller_loop",
    "teller_types",
    "types_by_teller",
    "training_targets",
    "weak_steps",
    # training: bank, papers, attempts
    "PAPER_STATES",
    "QUESTION_STATUSES",
    "AttemptItem",
    "AttemptResult",
    "AttemptView",
    "BankQuestion",
    "ClosedBook",
    "ItemResult",
    "Paper",
    "SyncReport",
    "TellerPaper",
    "assign_paper",
    "attempt_result",
    "build_paper",
    "check_response",
    "close_paper",
    "edit_question",
    "ensure_not_in_attempt",
    "get_attempt",
    "get_paper",
    "get_question",
    "grade_response",
    "list_attempts",
    "list_papers",
    "list_questions",
    "open_attempt",
    "paper_score",
    "papers_for_teller",
    "record_paper_attempt",
    "reopen_changed",
    "save_answer",
    "set_question_status",
    "start_attempt",
    "submit_attempt",
    "sync_bank",
    "sync_questions",
    "validate_question",
    # training: formats (GIFT, Moodle XML, Aiken; the regulation bank)
    "EXPORT_FORMATS",
    "FormatError",
    "export_questions",
    "import_questions",
    "parse_aiken",
    "parse_gift",
    "parse_moodle_xml",
    "read_questions",
    "regulation_bank",
    "write_aiken",
    "write_gift",
    "write_moodle_xml",
    # queue: measures (arrivals, waits, service level, abandonment, occupancy; per interval)
    "DEFAULT_TARGET_WAIT",
    "INTERVAL_LOAD_COLUMNS",
    "MEASURE_COLUMNS",
    "QUEUE_DIMENSIONS",
    "TICKET_SOURCES",
    "QueueFilter",
    "QueueSummary",
    "interval_load",
    "queue_measures",
    "queue_summary",
    # training: pages (steps in both languages, the question type)
    "KINDS",
    "REGULATIONS",
    "SOURCES",
    "Choice",
    "Question",
    "changed_steps",
    "matches_query",
    "step_names",
    # queue: scope (which branches, tellers and findings a user may see)
    "branch_scope",
    "require_branch",
    "require_teller",
    "scoped_findings",
    "visible_branches",
    "visible_tellers",
    # queue: demo (the demo lobby's queue-system export, derived from the demo log)
    "DEMO_DATA",
    "DEMO_TICKETS_FILE",
    "DEMO_TICKETS_MAP",
    "demo_tickets",
    "ticket_export",
    "write_demo_tickets",
    # queue: ingest (queue-system exports: the ticket mapping, the ticket ingest, its reasons)
    "TICKET_REASONS",
    "TicketMap",
    "ingest_tickets",
    "load_ticket_map",
    "read_map_kind",
    # findings: matrix (each teller's counter dwell time on each business type against the
    # standard, too-few cells marked; its Excel export, one sheet per branch)
    "MATRIX_COLUMNS",
    "MIN_MATRIX_CASES",
    "export_matrix_excel",
    "matrix_grid",
    "matrix_records",
    "teller_type_matrix",
    # findings: waits (time lost before a step against what peers wait: the floor in seconds
    # a wait must exceed them by, the least peers' wait a ratio is taken against)
    "MIN_REFERENCE_SECONDS",
    "WAIT_FLOOR_SECONDS",
    "wait_findings",
    # findings: demo injections (the command-line forms of the demo log's injected cases)
    "parse_branch_start",
    "parse_wrong_standard",
    # findings: page (the kinds and scopes of a finding, for the slow-steps page's filters)
    "FINDING_KINDS",
    "FINDING_SCOPES",
    # findings: conditional (slow steps that hold only in one slice of the day or the work; a
    # slice of a group with an all-day finding left out)
    "conditional_findings",
    "without_all_day",
    # improve: the register
    "IMPROVEMENT_CAUSES",
    "IMPROVEMENT_DECISIONS",
    "IMPROVEMENT_LINKS",
    "IMPROVEMENT_STATUSES",
    "ImprovementItem",
    "RegisterError",
    "system_user",
    "can_act_on_item",
    "can_open_item",
    "can_view_register",
    "add_improvement_cause",
    "link_improvement",
    "improvement_causes",
    "get_improvement",
    "has_register",
    "register_items",
    "improvements_by_key",
    "list_improvements",
    "open_improvement",
    "set_improvement_status",
    "update_improvement",
    "Subject",
    "default_group",
    "finding_key",
    "finding_of",
    "finding_subject",
    "shortfall_subject",
    # improve: report (the escalated items as a workbook and a printable page, in Chinese or
    # English; the demo workspace's register)
    "escalated_items",
    "escalation_rows",
    "export_escalation_excel",
    "export_escalation_html",
    "seed_demo_improvements",
    # improve: measurement (re-measuring items done, regressions, what to act on)
    "Measurement",
    "measure_item",
    "RefreshReport",
    "refresh_register",
    "Agenda",
    "agenda",
    "FindingMark",
    "finding_marks",
    # maps: process map (the directly-follows graph of chosen cases with its times)
    "ProcessMap",
    "process_map",
    # maps: variants (the step sequences of a type's cases, the SOP's marked)
    "VariantTable",
    "variants",
    # maps: discovered model (pm4py's inductive miner on the process map, as BPMN and Petri
    # net; the noise filter on a directly-follows graph; the kinds of graph it draws)
    "GRAPH_KINDS",
    "DiscoveredModel",
    "denoised",
    "discover_model",
    "model_from_map",
    # maps: conformance (each transaction against the SOP in force: deviations and fitness)
    "DEVIATION_KINDS",
    "ConformanceReport",
    "conformance",
    "DeviationFinding",
    "deviation_findings",
    "deviation_subject",
    # maps: conformance page (one transaction's steps in the order conformance reads them)
    "case_steps",
    # ui: error-rate prior (raw and corrected error rates side by side, and how they were
    # corrected)
    "error_prior",
    "teller_error_rates",
    # ui: session (a dashboard session's token, kept in a browser cookie, checked on the
    # server: opened at sign-in, resumed by a new browser session, revoked at sign-out)
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "open_session",
    "resume_session",
    "revoke_session",
    # ui: editor (the SOP editor's front-matter form, the reviewer's approval dates, review
    # standing)
    "FORM_STEP_KEYS",
    "WorkflowError",
    "check_approval_dates",
    "form_fields",
    "review_standing",
    "set_adoption",
    "set_fields",
    "set_steps",
    # ui: messages (display names of codes: audit actions, categories, ...; the library's
    # automatic notes in the user's language)
    "AUTOMATIC_NOTES",
    "display_name",
    "history_note",
    "issue_text",
    "note_text",
    # ui: names (activity display names: the SOP step's name where an SOP governs the
    # activity, else the glossary sops/activities.csv, else the log name; "log name" column)
    "LOG_NAME_COLUMN",
    "ActivityNames",
    "activity_names",
    "glossary_path",
    "read_glossary",
    # ui: cond (an SOP step's required_when in words: field names and known values from the
    # catalogue)
    "condition_text",
]

__version__ = "0.1.0"


def _exports() -> dict[str, tuple[str, str]]:
    """Each public name's module and its name there, read from the ``TYPE_CHECKING`` imports
    above: the one list of the facade."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    return {alias.asname or alias.name: (str(stmt.module), alias.name)
            for stmt in block.body if isinstance(stmt, ast.ImportFrom)
            for alias in stmt.names}


_EXPORTS = _exports()


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (and kept)."""
    import importlib

    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'procmine' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
