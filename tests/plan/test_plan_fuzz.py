"""Random and mutated YAML never makes `bbops validate` crash: exit 0 or 2, never a traceback."""

from __future__ import annotations

import string

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbops.cli import main
from tests.plan_samples import MINIMAL

yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(
        ["${X}", "*a", "&a", "!!binary", "~", "-", ":", "{", "[", "\t", "postgres://u:" + "p@h/d", "napi_" + "a" * 20]
    ),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _validate(tmp_path_factory, content: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "plan.yaml"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code in (0, 2), (content[:200], result.output, result.exception)
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path_factory, data):
    _validate(tmp_path_factory, data)


@FUZZ
@given(yaml_values)
def test_random_yaml_documents(tmp_path_factory, value):
    import yaml

    _validate(tmp_path_factory, yaml.safe_dump(value).encode())


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(MINIMAL)),
            st.sampled_from([*list(string.printable), "", "\n  ", ": ", "- "]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_valid_plan(tmp_path_factory, edits):
    text = MINIMAL
    for pos, insert in edits:
        text = text[:pos] + insert + text[pos + 1 :]
    _validate(tmp_path_factory, text.encode())


@FUZZ
@given(st.sampled_from(MINIMAL.splitlines()), yaml_values)
def test_valid_plan_with_one_value_replaced(tmp_path_factory, line, value):
    import yaml

    if ":" not in line:
        return
    key = line.split(":", 1)[0]
    replaced = MINIMAL.replace(line, f"{key}: {yaml.safe_dump(value, default_flow_style=True).strip()}", 1)
    _validate(tmp_path_factory, replaced.encode())
