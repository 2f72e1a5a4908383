"""Judging what was fetched: checks (--check and its shorthands), --extract and --where.

spec.py parses the options into plain data, judge.py compiles them into the run's Judge,
which the fetching layer hands each Result with its headers and the body held for it.
"""
