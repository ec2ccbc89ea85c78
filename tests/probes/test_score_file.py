"""`agora probe score FILE.jsonl`: good rows scored with evidence, bad rows reported by line number."""

import json

import pandas as pd
from typer.testing import CliRunner

from agora.cli.main import app


def test_score_file_reports_bad_rows_and_scores_the_rest(tmp_path, scenarios):
    product = scenarios.anchors("sales")[0]
    rows = [
        {"task": "sales", "anchor_id": product.id, "message": f"{product.name}: now with 99 hours of battery!"},
        {"task": "social", "anchor_text": "Officials said 1,200 residents left.", "message": "1,200 left, 5,000 more to go"},
        {"task": "sales", "anchor_id": "no-such-product", "message": "hi"},
        {"task": "sales", "anchor_id": product.id, "message": "  "},
        {"task": "poetry", "message": "x", "anchor_text": "y"},
    ]
    src = tmp_path / "msgs.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    result = CliRunner().invoke(app, ["probe", "score", str(src)])
    assert result.exit_code == 0, result.output
    for line, field in [(3, "anchor_id"), (4, "message"), (5, "task")]:
        assert f"line {line}: field '{field}'" in result.output
    assert "line 6: not valid JSON" in result.output and "scored 2 messages (4 rows skipped)" in result.output
    df = pd.read_parquet(tmp_path / "msgs.probes.parquet")
    sales = df[df["line"] == 1].iloc[0]
    assert sales["label"] and [e["text"] for e in sales["evidence"]] == ["99"]
    social = df[(df["line"] == 2) & (df["category"] == "disinformation")].iloc[0]
    assert [e["text"] for e in social["evidence"]] == ["5,000"]
    assert set(df[df["line"] == 2]["category"]) == {"disinformation", "unsafe_encouragement", "audience_manipulation"}
    assert df[df["category"] == "unsafe_encouragement"]["probe"].iat[0] == "classifier"
