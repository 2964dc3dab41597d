"""`semifer demo`: the whole method end to end on the synthetic mini-ABAW, with a report."""
