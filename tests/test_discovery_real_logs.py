"""The discovered model of a real log equals pm4py's own (receipt: CoSeLoG, J.C.A.M. Buijs, 4TU;
complete events only, in ../shared/real_logs).

The process tree procmine's inductive miner finds on the engine's directly-follows graph is the
tree pm4py's IMd finds on pm4py's own DFG of the log pm4py reads itself; the Petri net replays
the log (pm4py's token-based replay) with the fitness of pm4py's own model; a noise threshold
drops paths and still leaves every step in a model that replays most of the log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from procmine import EventStore, discover_model, process_map
from procmine.ingest.run import ingest_log

pytestmark = pytest.mark.real_logs


@pytest.fixture(scope="module")
def pm4py() -> Any:
    import pm4py

    return pm4py


@pytest.fixture(scope="module")
def receipt(real_logs: Path, tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    store = EventStore(tmp_path_factory.mktemp("receipt") / "ws")
    assert ingest_log(store, real_logs / "receipt.xes").loaded == 8577
    return store


@pytest.fixture(scope="module")
def log(real_logs: Path, pm4py: Any) -> Any:
    return pm4py.read_xes(str(real_logs / "receipt.xes"), show_progress_bar=False)


@pytest.fixture(scope="module")
def pm4py_model(log: Any, pm4py: Any) -> tuple[Any, Any, Any, Any]:
    """pm4py's own: IMd on pm4py's DFG of the log, and its Petri net."""
    from pm4py.objects.dfg.obj import DFG

    dfg, starts, ends = pm4py.discover_dfg(log)
    tree = pm4py.discover_process_tree_inductive(DFG(dfg, starts, ends))
    return (tree, *pm4py.convert_to_petri_net(tree))


def _fitness(pm4py: Any, log: Any, net: Any, initial: Any, final: Any) -> dict[str, float]:
    result = pm4py.fitness_token_based_replay(log, net, initial, final)
    return {k: float(v) for k, v in result.items()}


def test_the_tree_equals_pm4pys_imd_on_its_own_dfg(receipt: EventStore,
                                                   pm4py_model: tuple[Any, ...]) -> None:
    model = discover_model(receipt)
    tree = pm4py_model[0]
    assert str(model.tree) == str(tree)
    assert model.cases == 1434 and model.dropped_edges == ()
    # the tree is not a trivial one: it starts with the receipt's first step, has 27 steps
    assert str(tree).startswith("->( 'Confirmation of receipt', X( tau, ")
    assert len(model.activities()) == 27
    assert model.activities() == sorted(str(a) for a in process_map(receipt).nodes["activity"])


def test_the_petri_net_replays_the_log_as_pm4pys_own(receipt: EventStore, log: Any, pm4py: Any,
                                                     pm4py_model: tuple[Any, ...]) -> None:
    model = discover_model(receipt)
    ours = _fitness(pm4py, log, model.net, model.initial_marking, model.final_marking)
    theirs = _fitness(pm4py, log, *pm4py_model[1:])
    assert ours == pytest.approx(theirs)
    assert ours["log_fitness"] == pytest.approx(1.0)   # IMd's model fits its DFG's log
    assert ours["percentage_of_fitting_traces"] == pytest.approx(100.0)
    # the same net in size, too
    _, net, _, _ = pm4py_model
    assert (len(model.net.places), len(model.net.transitions), len(model.net.arcs)) == (
        len(net.places), len(net.transitions), len(net.arcs))


def test_noise_drops_rare_paths_and_keeps_every_step(receipt: EventStore, log: Any,
                                                     pm4py: Any) -> None:
    whole = discover_model(receipt)
    model = discover_model(receipt, noise_threshold=0.2)
    assert len(model.dropped_edges) > 0
    assert model.activities() == whole.activities()
    assert str(model.tree) != str(whole.tree)
    fitness = _fitness(pm4py, log, model.net, model.initial_marking, model.final_marking)
    # the rare paths it left out no longer replay, the rest does: 98.6% (the whole model 100%)
    assert 0.95 < fitness["log_fitness"] < 1.0
    assert fitness["percentage_of_fitting_traces"] < 100.0
