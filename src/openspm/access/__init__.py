"""Authorization in one place: who a signed-in user is (`Principal`) and what they may see and change.

Every face (pages, API, exports) reads and writes through the functions here, so the rules hold the same
everywhere: a rep sees only their own data, a manager their team as of the month, admin, comp analyst and
finance everything; only admin and comp analyst change anything.
"""
