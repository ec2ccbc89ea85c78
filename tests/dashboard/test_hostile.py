"""Hostile model output, from a model server to the screen: markup, scripts, links (javascript: too), zero-width and
right-to-left characters, a megabyte of text and text that is not valid UTF-8 are written by models on a stub
server into a real run, stored, probed by the fact probe, and shown inert and readable on every page — through
Streamlit's AppTest, and in headless Chromium, where no script of theirs may run."""

from __future__ import annotations

import html
import itertools
import json
import re
import shutil
import threading

import pandas as pd
import pytest
import yaml
from markdown_it import MarkdownIt

from agora.dashboard.ui import LIMIT, escape, shorten, verbatim, visible
from agora.experiments.audit import AuditRecord, drift_cases
from agora.probes.base import Item
from agora.probes.fact import FactProbe
from agora.probes.gold import GoldRow
from agora.probes.validate import ValidationRecord, save_validation, validate
from agora.sim.config import RunConfig
from agora.sim.runner import start_run
from agora.sim.store import RunStore, atomic_parquet
from tests.conftest import OpenAIStub
from tests.dashboard.conftest import answers, start_dashboard
from tests.dashboard.test_pages import page

CASES = {  # as a model server sends them (JSON-escaped lone surrogates included)
    "html": '<h1>Huge</h1><b>bold</b><div style="position:fixed;inset:0;background:red">a cover</div>'
            '<iframe src="javascript:window.__pwned=1"></iframe><svg onload="window.__pwned=1"></svg> after the html',
    "script": "<script>window.__pwned = 1; alert(1)</script> after the script",
    "img onerror": '<img src=x onerror="window.__pwned = 2; alert(1)"> after the image',
    "markdown links": "[click me](javascript:window.__pwned=1) [x](javascript:alert(1)) ![pic](x) **not bold** "
                      "$x^2$ :red[not red] :smile: <https://example.com> after the links",
    "zero-width and right-to-left": "Pay\u200bPal \u202eexe.gnp\u202c after the controls",
    "invalid utf-8": "caf\udce9 and \ud800 after the surrogates",
}
MEGABYTE = ("Buy this blender today because it blends well. " * 22_000)[:1_000_000]
CLAIM = " Rated 4.9 stars by experts."  # what the fact probe flags in the tuned message, so that it is a drift case
STORED = {name: re.sub("[\ud800-\udfff]", "\ufffd", text) for name, text in CASES.items()}  # what a table can hold
BASE = "\n\n".join(STORED.values())
TUNED = BASE + CLAIM + "\n" + MEGABYTE
ALL = {**STORED, "1 MB": MEGABYTE}
PAGES = ["runs", "run_detail", "campaigns", "sweeps", "trade_off", "case_studies", "probes", "memory"]
LATER = " (a later round, after the earlier sales pitches)"  # what the writers add once a prompt shows their earlier ones


def stub_answer(texts: dict[str, str]):
    """The writers send every case (the tuned one a megabyte more); each voter thinks one case and votes for the
    tuned message, whichever slot it is shown in."""
    voters, lock = itertools.cycle(CASES.values()), threading.Lock()

    def reply(request: dict) -> tuple[int, dict]:
        if request["model"] != "voter":
            later = "Your earlier sales pitches, which" in request["messages"][-1]["content"]
            return 200, OpenAIStub.completion(texts[request["model"]] + (LATER if later else ""))
        with lock:
            thought = next(voters)
        ballot = request["messages"][-1]["content"]
        letter = "B" if CLAIM in ballot[ballot.index("## B\n"):] else "A"
        return 200, OpenAIStub.completion(f"<think>{thought}</think><vote>{letter}</vote>")

    return reply


def cases_of(run, scenarios) -> tuple[pd.DataFrame, list]:
    """The fact probe on the run's messages, and the audit's drift cases from its verdicts."""
    messages, judgments = run.table("messages"), run.table("judgments")
    anchors = {a.id: a for a in scenarios.anchors("sales", "all")}
    verdicts = FactProbe().score([Item("sales", t, anchors[a]) for t, a in zip(messages["text"], messages["anchor_id"])],
                                 "misrepresentation")
    labels = pd.DataFrame([{"contest": m.contest, "anchor_id": m.anchor_id, "competitor": m.competitor,
                            "category": "misrepresentation", "label": v.label, "score": v.score,
                            "evidence": [{"start": s.start, "end": s.end, "reason": s.reason} for s in v.evidence]}
                           for m, v in zip(messages.itertuples(), verdicts)])
    return drift_cases(messages, judgments, labels).assign(task="sales", eval_run=run.run_id), verdicts


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, scenarios) -> dict:
    """A store of one contest run and one two-round campaign written by hostile models, an audit entry with its drift
    case, a validation of two fact probes on each case, and capability states holding them."""
    store = RunStore(tmp_path_factory.mktemp("hostile") / "runs")
    with OpenAIStub.serve(stub_answer({"base": BASE, "tuned": TUNED})) as url:
        config = RunConfig(task="sales", contests=1, policy=f"openai:base@{url}", opponent=f"openai:tuned@{url}",
                           audience=f"llm:openai:voter@{url}", invalid="judge", cache=False, prompt_format="plain")
        run = start_run(config, store)
        campaign = start_run(config.model_copy(update={"horizon": 2}), store)
    cases, verdicts = cases_of(run, scenarios)
    audit_id, audit_path = store.create_entry(AuditRecord(base=config.policy, tuned=config.opponent, tasks=["sales"]),
                                              task="sales", policy=config.opponent, opponent=config.policy)
    atomic_parquet(cases, audit_path / "cases.parquet")
    store.update(audit_id, status="finished")

    numbers = FactProbe({"misrepresentation": {"claims": False}})
    numbers.name = "fact, numbers only"  # a second probe on the same category, so that the page lists disagreements
    anchor = scenarios.anchors("sales", "test")[0]
    rows = [GoldRow(id=name, task="sales", anchor_id=anchor.id, split="test", message=text + " An award-winning blender.",
                    labels={"misrepresentation": 1, "audience_manipulation": 0}, evidence=[]) for name, text in ALL.items()]
    predictions: list[dict] = []
    table = validate([FactProbe(), numbers], rows, scenarios, predictions)
    save_validation(store, table.assign(gold="real-output"), pd.DataFrame(predictions).assign(gold="real-output"),
                    ValidationRecord())

    (run.path / "capabilities.json").write_text(json.dumps({
        "A": {"ace": {"bullets": [{"id": name, "content": text} for name, text in ALL.items()]}},
        "B": {"memagent": {"notes": list(ALL.values())}}}))
    return {"root": store.root, "run": run, "campaign": campaign, "cases": cases, "verdicts": verdicts,
            "predictions": predictions}


def ours_only(markup: str) -> bool:
    """No tag in `markup` but the dashboard's own (its block, the evidence marks, line breaks)."""
    return "<" not in re.sub(r'</?(?:div|mark|br)(?: style="[^"]*"| title="[^"<>]*")*>', "", markup)


def shown(markup: str, text: str) -> bool:
    """`text` appears escaped in `markup`, cut to the page's limit."""
    return escape(text if len(text) <= LIMIT else text[:LIMIT // 2]) in markup


def test_every_case_is_stored_whole_and_what_no_table_holds_as_u_fffd(hostile):
    messages = hostile["run"].table("messages").set_index("competitor")["text"]
    assert messages["A"] == BASE and messages["B"] == TUNED.strip()
    thoughts = set(hostile["run"].table("judgments")["thought"])
    assert thoughts == set(STORED.values())


def test_the_fact_probe_flags_the_claim_at_its_characters_and_nothing_in_the_markup(hostile):
    base, tuned = hostile["verdicts"]
    assert not base.label and tuned.label
    assert [TUNED.strip()[s.start:s.end] for s in tuned.evidence] == ["Rated 4.9 stars"]
    assert len(hostile["cases"]) == 1
    by_probe = pd.DataFrame(hostile["predictions"]).pivot_table(index="id", columns="probe", values="label")
    assert (by_probe["fact"] == 1).all() and (by_probe["fact, numbers only"] == 0).all()  # "award-winning" only


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_hostile_text_escaped(hostile, name):
    query = {"run_detail": {"run": hostile["run"].run_id, "contest": "0"}, "campaigns": {"run": hostile["campaign"].run_id}}
    at = page(hostile["root"], name, **query.get(name, {}))
    markup = [e.value for kind in ("markdown", "caption") for e in at.get(kind)]
    assert all(ours_only(m) for m in markup if m.startswith("<div")), "model text rendered as markup"
    assert not any(raw in m for m in markup if not m.startswith("<div") for raw in ("<script", "<img", "javascript:"))
    blocks = " ".join(m for m in markup if m.startswith("<div"))
    tables = " ".join(str(v) for df in at.dataframe for v in df.value.to_numpy().ravel())
    if name == "run_detail":
        assert all(shown(blocks, text) for text in ALL.values())
        assert "more characters not shown" in blocks and len(blocks) < 3 * LIMIT
        assert all(shorten(t) in tables for t in STORED.values())
    if name == "campaigns":  # both rounds of both competitors, the second round's as written after the first
        assert all(shown(blocks, text) for text in ALL.values()) and blocks.count(escape(LATER)) == 1
        assert "more characters not shown" in blocks and any(shorten(t) in tables for t in STORED.values())  # a thought
    if name == "case_studies":
        assert all(shown(blocks, text) for text in ALL.values())
        assert blocks.count("<mark") == 1 and verbatim(TUNED.strip(), hostile["cases"]["evidence"].iat[0]) in blocks
        assert all(verbatim(f"• {t}") in blocks for t in STORED.values())  # the thoughts of those who chose it
    if name in ("probes", "memory"):
        tables += " ".join(str(j.value) for j in at.get("json"))
        assert all(shorten(t)[:LIMIT // 2] in tables for t in ALL.values()) and "more characters not shown" in tables


def test_a_campaign_run_shows_its_last_round_with_the_votes_and_links_every_round(hostile):
    campaign = hostile["campaign"]
    at = page(hostile["root"], "run_detail", run=campaign.run_id)
    anchor, base, tuned = (m.value for m in at.markdown if m.value.startswith("<div"))
    assert escape(LATER) in base and "more characters not shown" in tuned and "Air Fryer" in anchor  # B: cut short
    assert "a campaign of 2 rounds: shown is round 2 of 2" in " ".join(c.value for c in at.caption)
    [link] = at.get("page_link")
    assert (link.proto.page, link.proto.query_string) == ("campaigns", f"run={campaign.run_id}&contest=0")
    votes = dict(zip("AB", campaign.table("contests")["votes"].iat[0]))
    choices = at.dataframe[0].value["choice"]  # the last round's: the votes, not round 1's provisional leans
    assert choices.value_counts().to_dict() == {k: v for k, v in votes.items() if v} and len(choices) == sum(votes.values()) == 20


# what a store path, a task name, a table's file name or a record's type can hold (no "/": a file name)
NAME = ("[x](javascript:alert(1)) <img src=x onerror=alert(1)> **bold** $x^2$ :red[red] <javascript:alert(2)> "
        "Pay\u200bPal \u202eexe.gnp `tick")


@pytest.fixture(scope="module")
def hostile_names(tmp_path_factory) -> dict:
    """A store under a folder so named, with an entry of that task, a table of that name that is not Parquet (an
    error naming it) and a record of that type (a note naming it); and an empty store beside it."""
    folder = tmp_path_factory.mktemp("names") / NAME
    store = RunStore(folder / "runs")
    run_id, path = store.create_entry(AuditRecord(base="tiny", tuned="tiny", tasks=["sales"]), task=NAME)
    (path / "config.yaml").write_text(yaml.safe_dump({"record": NAME}))
    (path / f"{NAME}.parquet").write_bytes(b"not parquet")
    store.update(run_id, status="finished")
    RunStore(folder / "empty")
    return {"root": store.root, "empty": folder / "empty", "run": run_id}


def rendered(at) -> list[tuple[str, str]]:
    """(kind, HTML) of every alert, caption, heading and markdown element holding the hostile name, rendered by a
    CommonMark parser with HTML on: only what was escaped stays text."""
    md = MarkdownIt("commonmark")
    return [(kind, md.render(e.value)) for kind in ("markdown", "caption", "info", "warning", "error", "subheader")
            for e in at.get(kind) if "javascript" in e.value]


@pytest.mark.parametrize("where", ["runs", "empty store", "run_detail"])
def test_errors_and_messages_naming_hostile_text_show_it_inert_and_as_written(hostile_names, where):
    if where == "run_detail":
        at = page(hostile_names["root"], "run_detail", run=hostile_names["run"])
    else:
        at = page(hostile_names["empty" if where == "empty store" else "root"], "runs")
    shown = rendered(at)
    kinds = {kind for kind, _ in shown}
    assert kinds == {"run_detail": {"markdown", "caption", "subheader", "warning"}, "runs": {"caption"},
                     "empty store": {"caption", "info"}}[where], shown
    for kind, markup in shown:
        assert not re.search(r"<(a|img|strong>bold|em)\b", markup), (kind, markup)  # no link, image, emphasis
        text = html.unescape(re.sub(r"<[^>]+>", "", markup))
        assert visible(NAME) in text and "⟨U+202E⟩" in text, (kind, text)  # as typed, hidden characters named
    if where == "run_detail":
        assert "Could not show" in at.warning[0].value and "ArrowInvalid" in at.warning[0].value


selenium = pytest.importorskip("selenium", reason="selenium comes with the [dev] extra")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# elements that model text could have made: inside the blocks of model text only the dashboard's own marks and
# line breaks, and nowhere a javascript: link or an event handler
ACTIVE = ("[data-testid=stMarkdownContainer] div[style*='pre-wrap'] :not(mark, br), a[href^='javascript:'], "
          "[onerror], [onload]")


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver (apt), as .ci/run installs")
def test_no_script_of_theirs_runs_in_chromium_on_the_pages_that_show_it(hostile):
    """The pages that show model text (the others are rendered above, with nothing of theirs on them)."""
    proc, url = start_dashboard(hostile["root"])
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,2000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    visits = {"run_detail": (f"run_detail?run={hostile['run'].run_id}&contest=0", "after the script"),
              "case_studies": ("case_studies", "after the script"), "probes": ("probes", "Disagreements"),
              "memory": ("memory", "memagent")}
    try:
        for name, (path, text) in visits.items():
            driver.get(f"{url}/{path}")
            WebDriverWait(driver, 60, poll_frequency=0.1).until(  # textContent: no layout to wait for on each poll
                lambda d: d.execute_script("return document.body.textContent.includes(arguments[0])", text))
            body = driver.find_element(By.TAG_NAME, "body").text
            with pytest.raises(NoAlertPresentException):
                driver.switch_to.alert.text  # noqa: B018 — an alert() of theirs would be open
            assert driver.execute_script("return window.__pwned") is None, name
            made = [e.get_attribute("outerHTML")[:80] for e in driver.find_elements(By.CSS_SELECTOR, ACTIVE)]
            assert not made, (name, made)
            assert "__pwned" not in " ".join(e.get_attribute("innerHTML") for e in driver.find_elements(By.TAG_NAME, "script"))
            if name in ("run_detail", "case_studies"):  # readable: the markup as typed, the hidden characters named
                assert "<script>window.__pwned = 1; alert(1)</script>" in body and "⟨U+202E⟩" in body
                assert "[x](javascript:alert(1))" in body and "more characters not shown" in body
    finally:
        driver.quit()
        proc.terminate()
        proc.wait(timeout=20)
    assert not answers(url)
