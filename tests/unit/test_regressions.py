"""The nightly regression check on a real MLflow store: a planted regression is flagged, noise is
not, and the baseline is the last successful run of the same job and profile."""

from tasks import regressions, tracking


def _run(job, profile, parent, cells, fail=False):
    """One flow run as the flows log it: parent metrics and one child run per cell."""
    try:
        with tracking.flow_run(job, {"x": 1}, {"profile": profile}) as run:
            run.log_metrics(parent)
            for name, metrics in cells.items():
                with run.child(name) as child:
                    child.log_metrics(metrics)
            if fail:
                raise RuntimeError("engine died")
    except RuntimeError:
        pass
    return run.id


def _acc(value, low, high):
    return {"accuracy": value, "accuracy_ci95_low": low, "accuracy_ci95_high": high}


def test_a_planted_regression_is_flagged_and_noise_is_not(store):
    baseline = _run(
        "mi_sweep", "cpu", _acc(0.5, 0.4, 0.6), {"a": _acc(0.6, 0.5, 0.7), "b": _acc(0.3, 0.2, 0.4)}
    )
    _run("mi_sweep", "gpu", _acc(0.9, 0.85, 0.95), {"a": _acc(0.1, 0.0, 0.2)})  # another profile
    _run("mi_sweep", "cpu", _acc(0.1, 0.0, 0.2), {"a": _acc(0.1, 0.0, 0.2)}, fail=True)  # crashed
    # a: 0.6 -> 0.35, below [0.5, 0.7]: a regression. b: 0.3 -> 0.36, inside [0.2, 0.4]: noise.
    # The parent: 0.5 -> 0.58, inside [0.4, 0.6]: noise.
    latest = _run(
        "mi_sweep", "cpu", _acc(0.58, 0.5, 0.66), {"a": _acc(0.35, 0.25, 0.45), "b": _acc(0.36, 0.26, 0.46)}
    )

    check = regressions.check("mi_sweep", tracking.finished_runs("mi_sweep", "cpu"))

    assert (check.run_id, check.baseline_id) == (latest, baseline)
    assert check.compared == 3
    assert [m.label() for m in check.moves] == ["a/accuracy down"]
    (move,) = check.moves
    assert (move.baseline, move.low, move.high, move.value) == (0.6, 0.5, 0.7, 0.35)
    text = regressions.markdown([check], "cpu")
    assert "a/accuracy down" in text and "b/accuracy" not in text
    assert "| a | accuracy | 0.6 [0.5, 0.7] | 0.35 (down) |" in text


def test_the_verdict_is_set_as_a_tag_on_the_latest_run(store):
    _run("decoding", "cpu", {}, {"greedy": _acc(0.2, 0.1, 0.3)})
    latest = _run("decoding", "cpu", {}, {"greedy": _acc(0.9, 0.8, 1.0)})
    check = regressions.check("decoding", tracking.finished_runs("decoding", "cpu"))
    tracking.set_run_tags(check.run_id, {"regressions": check.tag()})
    (run,) = [r for r in tracking.search("decoding") if r["run_id"] == latest]
    assert run["tags"]["regressions"] == "greedy/accuracy up"


def test_a_first_run_has_no_baseline_and_metrics_without_intervals_are_not_compared(store):
    assert regressions.check("checkpoints", tracking.finished_runs("checkpoints", "cpu")).run_id is None
    _run("checkpoints", "cpu", {"entropy": 3.5}, {})
    first = regressions.check("checkpoints", tracking.finished_runs("checkpoints", "cpu"))
    assert first.baseline_id is None and first.moves == ()
    assert "none yet" in regressions.markdown([first], "cpu")
    _run("checkpoints", "cpu", {"entropy": 0.5}, {})  # no interval: never flagged
    second = regressions.check("checkpoints", tracking.finished_runs("checkpoints", "cpu"))
    assert second.baseline_id is not None and second.compared == 0 and second.tag() == "none"


def test_a_value_at_a_zero_width_interval_is_not_a_move():
    # MI at its ceiling: [6, 6] bits, then 6 in another summation order. Tolerance 1e-5 relative
    # (float32 sums of a few hundred terms), decided in tasks/regressions.py before this test.
    six = 6.0
    again = six * (1 + 3e-16)
    assert not regressions.outside(again, six, six)
    assert not regressions.outside(0.0, 1e-12, 0.5)
    assert regressions.outside(6.001, six, six) and regressions.outside(5.999, six, six)
    found = regressions.moves(
        "mi_sweep",
        "cell",
        {"mi_bits": six, "mi_bits_ci95_low": six, "mi_bits_ci95_high": six},
        {"mi_bits": again},
    )
    assert found == []
