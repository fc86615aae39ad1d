"""The scaling benchmark's verdict (bench/clean_scaling.py): it must flag a step whose
time grows faster than the bound and pass one that grows linearly."""

from __future__ import annotations

from bench.clean_scaling import BOUND, CASES, MB, Row, _check, _summary


def _rows(times: dict[float, float]) -> list[Row]:
    return [Row("case", "clean", int(mb * MB), s) for mb, s in times.items()]


def test_linear_growth_passes_and_quadratic_fails() -> None:
    assert _check(_rows({0.25: 0.1, 0.5: 0.2, 1: 0.4, 2: 0.8})) == []
    quadratic = _check(_rows({0.25: 0.1, 0.5: 0.4, 1: 1.6, 2: 6.4}))
    assert len(quadratic) == 2 and "case / clean" in quadratic[0]
    just_over = _check(_rows({1: 1.0, 4: BOUND + 0.1}))
    assert just_over and _check(_rows({1: 1.0, 4: BOUND - 0.1})) == []


def test_timer_noise_below_the_floor_is_not_growth() -> None:
    assert _check(_rows({0.25: 0.0001, 1: 0.01})) == []
    assert "case" in _summary(_rows({0.25: 0.1, 1: 0.4}))


def test_cases_make_files_of_about_the_asked_size() -> None:
    for name, (suffix, make) in CASES.items():
        size = len(make(MB // 4).encode())
        assert MB // 8 <= size <= MB // 2 * 3, (name, size)
        assert suffix in {".txt", ".md", ".html"}
