"""MI estimators against channels whose mutual information is known in closed form."""

import math

import pytest

from tasks.errors import InfopipeError
from tasks.mi import ESTIMATORS, LogLikelihoods
from tasks.mi.base import other_contexts
from tasks.mi.channels import CHANNELS, Symmetric, relative_errors


def test_closed_form_of_the_symmetric_channel():
    assert Symmetric(2, 0.0).mutual_information() == pytest.approx(math.log(2))
    assert Symmetric(2, 0.5).mutual_information() == pytest.approx(0.0)
    h = -(0.1 * math.log(0.1) + 0.9 * math.log(0.9))
    assert Symmetric(4, 0.1).mutual_information() == pytest.approx(math.log(4) - h - 0.1 * math.log(3))


@pytest.mark.heavy  # ~13 s each: 20,000 samples x 256 contexts per channel
@pytest.mark.parametrize("estimator", ["monte_carlo", "leave_one_out"])
def test_estimators_recover_known_mi_within_5_percent(estimator):
    errors = relative_errors(estimator)
    assert len(errors) == len(CHANNELS)
    assert max(errors.values()) < 0.05, errors


def test_monte_carlo_saturates_at_log_m_plus_one():
    channel = Symmetric(64, 0.0)  # I = log 64 = 4.16 nats, above log 16
    estimate = ESTIMATORS.get("monte_carlo")(channel.log_likelihoods(2000, 15, seed=0))
    assert estimate.ceiling == pytest.approx(math.log(16))
    assert estimate.nats <= estimate.ceiling + 1e-9
    assert estimate.nats < 0.7 * channel.mutual_information()
    bigger = ESTIMATORS.get("monte_carlo")(channel.log_likelihoods(2000, 1023, seed=0))
    assert bigger.nats > estimate.nats + 1.0  # a larger M lifts the ceiling


def test_leave_one_out_overestimates_when_no_other_context_explains_z_and_clipping_bounds_it():
    data = Symmetric(64, 0.0).log_likelihoods(500, 7, seed=0)
    unbounded = ESTIMATORS.get("leave_one_out")(data)
    assert unbounded.nats == math.inf and unbounded.ci95 == (math.inf, math.inf)
    clipped = ESTIMATORS.get("leave_one_out")(data, clip=True)
    assert clipped.nats <= math.log(8) + 1e-9 and clipped.ceiling == pytest.approx(math.log(8))


def test_units_and_ci():
    data = LogLikelihoods(own=[-1.0, -2.0], others=[[-3.0], [-2.0]], tokens=[4, 2])
    estimate = ESTIMATORS.get("monte_carlo")(data)
    # terms: -1 - log((e^-1 + e^-3)/2), -2 - log((e^-2 + e^-2)/2) = 0
    first = -1 - math.log((math.exp(-1) + math.exp(-3)) / 2)
    assert estimate.nats == pytest.approx(first / 2)
    assert estimate.bits == pytest.approx(estimate.nats / math.log(2))
    assert estimate.bits_per_token == pytest.approx(estimate.bits / 3)
    assert estimate.ci95[0] <= estimate.nats <= estimate.ci95[1]


def test_other_contexts_are_distinct_and_exclude_self():
    rows = other_contexts(10, 4, seed=0)
    assert all(len(set(r)) == 4 and i not in r for i, r in enumerate(rows))
    assert other_contexts(4, 3, seed=0) == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]


@pytest.mark.parametrize(("n", "m"), [(8, 8), (8, 0), (1, 1)])
def test_m_beyond_the_contexts_is_a_clear_error(n, m):
    with pytest.raises(InfopipeError, match=r"mi\.(contexts|samples)"):
        other_contexts(n, m, seed=0)


def test_ragged_log_likelihoods_are_rejected():
    with pytest.raises(InfopipeError, match="same number M"):
        LogLikelihoods(own=[0.0, 0.0], others=[[0.0], [0.0, 1.0]], tokens=[1, 1])


def _dummy_engine():
    from tasks.engines import open_engine
    from tasks.params import load_params

    from ..conftest import ROOT

    params = load_params(ROOT / "params.yaml", ["engine.backend=dummy"])
    return open_engine(params, "world-s")


def test_scoring_matches_one_request_at_a_time_on_the_dummy_engine():
    from tasks import prompts
    from tasks.mi.scoring import Sample, log_likelihoods

    engine = _dummy_engine()
    samples = [Sample(f"Doc {i} about firm {i}.", f"Who runs firm {i}?", f"notes {i}") for i in range(4)]
    contexts = other_contexts(4, 2, seed=0)
    data = log_likelihoods(engine, samples, contexts)
    notes = prompts.load("notes")

    def direct(i, j):
        text = notes.render(document=samples[j].context, question=samples[i].question)
        return sum(engine.score([text], [samples[i].compression])[0])

    assert data.own == [direct(i, i) for i in range(4)]
    assert data.others == [[direct(i, j) for j in contexts[i]] for i in range(4)]
    assert data.tokens == [len(s.compression.encode()) for s in samples]


def test_a_compression_of_zero_tokens_is_a_clear_error():
    from tasks.mi.scoring import Sample, log_likelihoods

    samples = [Sample("a", "q", "z"), Sample("b", "q", "")]
    with pytest.raises(InfopipeError, match="compression 1: has zero tokens"):
        log_likelihoods(_dummy_engine(), samples, [[1], [0]])
