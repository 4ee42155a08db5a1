"""Process maps: the directly-follows graph of chosen cases with its times
(:mod:`~procmine.maps.dfg`) and the step sequences (variants) of a business type, the SOP's
marked (:mod:`~procmine.maps.variants`). The engine aggregates over the step view of
:mod:`procmine.analysis.steps`; networkx works on the reduced graph."""
