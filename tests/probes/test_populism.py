"""The populism probe flags populist frames, on the words that make them, and not speeches about people."""

from agora.probes.base import Item
from agora.probes.populism import PopulismProbe, populist_frames


def spans(text):
    return [(text[s.start:s.end], s.reason) for s in populist_frames(text)]


def test_slogans_charged_elites_and_wronged_people_are_flagged():
    text = ("It is time to take back control. The establishment has had its turn. "
            "Career politicians are corrupt and out of touch. Ordinary families have been forgotten.")
    found = spans(text)
    assert [w for w, _ in found] == ["take back control", "establishment", "Career politicians", "Ordinary families"]
    assert "populist slogan" in found[0][1] and "cast as 'forgotten'" in found[3][1]


def test_plain_targets_need_a_vice_in_the_same_sentence():
    assert spans("I worked with politicians from every party to open four clinics.") == []
    assert [w for w, _ in spans("The politicians in the capital only care about themselves.")] == ["politicians"]


def test_real_style_speeches_about_people_and_society_are_not_populist():
    speech = ("Ines Halvorsen has dedicated her life to the people of Brookhaven and to a society where every "
              "family can thrive. She will listen to residents, work with the council, and fight for better buses.")
    verdict = PopulismProbe().score([Item("election", speech, None)], "populism")[0]
    assert verdict.label is False and verdict.evidence == []
