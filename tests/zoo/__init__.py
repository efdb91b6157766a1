"""The bug zoo and the correct zoo: student-style implementations of the contract.

``bug_*.py`` each hold exactly one bug; ``correct_*.py`` are independent correct
implementations. ``manifest.py`` says what the checker must conclude about each.
"""
