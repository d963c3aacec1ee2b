"""The SimBench LV grids of the physical validation (scenario 2: PV, batteries, heat pumps and EV charging)."""

GRIDS = [
    ("1-LV-rural1--2-sw", "rural"),
    ("1-LV-semiurb4--2-sw", "semi-urban"),
    ("1-LV-urban6--2-sw", "urban"),
]
