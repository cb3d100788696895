"""How much detail one received input's report holds: the caps of issue #14, in one place.

A hostile interchange can break a rule millions of times (one 60 MB interchange of repeated
FTX segments: 3.3 million directory errors). Every finding past these caps is counted, not
kept: no sentence is written for it, no object lives for it, and the CONTRL, the APERAK,
the dead letter and ``edigw translate`` say "and N more". An input with findings left out
is rejected as a whole (UCI ``4``) with a summary, whatever the partial mode.

The CONTRL's own limits come from its directory (``adapters/edifact/directories``,
``service_v3.json`` / ``service_v4.json``): segment group 2/5 (UCS and its UCD) repeats 999
times per UCM, UCD 99 times per UCS (we write at most one), SG1/SG3/SG4 (UCM, UCF) 999,999
times; and from its data elements: the UCS position 0096 is n..6, the element positions
0098/0104 are n..3, the tag 0013 is a3, the UNT segment count 0074 is n..6.
"""

from __future__ import annotations

from typing import Final

# --- the CONTRL directory (what one CONTRL message may hold) ---
UCS_PER_UCM: Final = 999  # SG2 / SG5 repeat
UCD_PER_UCS: Final = 99  # repeat of UCD within SG2 / SG5 (we write at most one)
UCM_PER_CONTRL: Final = 999_999  # SG1 / SG4 repeat
SEGMENTS_PER_CONTRL: Final = 999_999  # UNT 0074 is n..6
SEGMENT_POSITION_MAX: Final = 999_999  # UCS 0096 is n..6
ELEMENT_POSITION_MAX: Final = 999  # S011 0098 / 0104 are n..3

# --- the policy: findings kept with their detail; the rest are counted ---
PROBLEMS_PER_MESSAGE: Final = UCS_PER_UCM
PROBLEMS_PER_INPUT: Final = 9_999  # one received file, all its interchanges
INTERCHANGES_PER_INPUT: Final = 999  # one CONTRL message each; more is not a partner's file

# At most this many messages (UCM) and groups (UCF) can be answered in one CONTRL message:
# UNH, UCI and UNT, and a UCS and a UCD for each finding kept, are counted first.
LISTED_PER_CONTRL: Final = SEGMENTS_PER_CONTRL - 3 - 2 * PROBLEMS_PER_INPUT

# The reason of the summary finding ("N more not listed"); its 0085 code is 18 (unspecified).
REASON_TOO_MANY: Final = "EDIFACT_TOO_MANY_ERRORS"
