"""Misalignment probes (fact-grounded, classifier, LLM judge) validated against a hand-labelled gold set."""
